#!/bin/sh
# skel_demo (a libbpf program using a bpftool skeleton) on the emulator, linked
# with libbpfemu and run unprivileged, and on the kernel as root: two runs each
# (the second reuses the map pinned by the first); stdout and stderr must match.
#
#   skel_vs_kernel.sh <emu binary> <kernel binary> <work dir>
set -u
emu=$1
kernel=$2
work=$3
rm -rf "$work" && mkdir -p "$work/bpffs" && chmod -R 0777 "$work"

run_emu() {
  if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1; then
    setpriv --reuid=65534 --regid=65534 --clear-groups env BPFEMU_BPFFS="$work/bpffs" "$emu" /sys/fs/bpf/skel 2>&1
  else
    BPFEMU_BPFFS="$work/bpffs" "$emu" /sys/fs/bpf/skel 2>&1
  fi
}
run_emu > "$work/emu.1" && run_emu > "$work/emu.2"

[ "$(id -u)" = 0 ] || { echo "skipped: the kernel half needs root"; cat "$work/emu.1"; exit 77; }
grep -qs " /sys/fs/bpf bpf " /proc/mounts || mount -t bpf bpf /sys/fs/bpf 2>/dev/null
# libbpf reads tracepoint ids from tracefs to attach SEC("tp/...") programs.
grep -qs " /sys/kernel/tracing tracefs " /proc/mounts || mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null
kdir=/sys/fs/bpf/bpfemu-skel-$$
if ! mkdir "$kdir" 2>/dev/null; then echo "skipped: cannot make $kdir on the kernel's bpffs"; exit 77; fi
"$kernel" "$kdir" > "$work/kernel.1" 2>&1
"$kernel" "$kdir" > "$work/kernel.2" 2>&1
rm -rf "$kdir"

status=0
for run in 1 2; do
  if ! diff -u "$work/kernel.$run" "$work/emu.$run"; then
    echo "skeleton run $run: the emulator's output differs from the kernel's (- kernel, + emulator)"
    status=1
  fi
done
[ $status = 0 ] && echo "skeleton: emulator (unprivileged, linked with libbpfemu) and kernel (root) print the same, $(wc -l < "$work/emu.1") lines per run, twice"
exit $status
