#!/bin/sh
# Debian's bpftool, unmodified, on the emulator (unprivileged, LD_PRELOAD) and on
# the kernel (as root): the same session of map commands must print the same
# thing, ids aside.
#
#   bpftool_vs_kernel.sh <libbpfemu.so> <work dir> [emu-only]
#
# Exit 77 (skipped) without bpftool, root or a usable bpf(); "emu-only" runs the
# emulator half alone and prints it (no comparison).
set -u
dropin=$1
work=$2
mode=${3:-compare}

command -v bpftool >/dev/null 2>&1 || { echo "skipped: bpftool is not installed (apt install bpftool)"; exit 77; }
rm -rf "$work" && mkdir -p "$work" && chmod 0777 "$work"

here=$(cd "$(dirname "$0")" && pwd)
. "$here/bpftool_session.sh"

# Ids differ between the two runs; the pin directory does too.
normalise() {
  sed -E -e 's/^[0-9]+: /ID: /' -e 's/"id":[0-9]+/"id":ID/' -e "s#$1#PINS#g"
}

emu_dir="$work/emu"
mkdir -p "$emu_dir/bpffs" && chmod -R 0777 "$emu_dir"
emu_script="$work/emu.sh"
{
  echo "export LD_PRELOAD=$dropin BPFEMU_BPFFS=$emu_dir/bpffs P=/sys/fs/bpf/session N=t_"
  echo "mkdir -p /sys/fs/bpf/session"
  echo ". $here/bpftool_session.sh"
  echo session
} > "$emu_script"
run_emu() {
  if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1; then
    setpriv --reuid=65534 --regid=65534 --clear-groups sh "$emu_script"
  else
    sh "$emu_script"
  fi
}
run_emu > "$work/emu.out" 2>&1
if [ "$mode" = emu-only ]; then
  cat "$work/emu.out"
  exit 0
fi

[ "$(id -u)" = 0 ] || { echo "skipped: the kernel half needs root"; exit 77; }
grep -qs " /sys/fs/bpf bpf " /proc/mounts || mount -t bpf bpf /sys/fs/bpf 2>/dev/null
kdir=/sys/fs/bpf/bpfemu-bpftool-$$
if ! mkdir "$kdir" 2>/dev/null; then echo "skipped: cannot make $kdir on the kernel's bpffs"; exit 77; fi
( P=$kdir N=t_; session ) > "$work/kernel.out" 2>&1
rm -rf "$kdir"

normalise /sys/fs/bpf/session < "$work/emu.out" > "$work/emu.norm"
normalise "$kdir" < "$work/kernel.out" > "$work/kernel.norm"
if diff -u "$work/kernel.norm" "$work/emu.norm" > "$work/diff"; then
  echo "bpftool: emulator (unprivileged, LD_PRELOAD) and kernel (root) print the same ($(grep -c '^\$ ' "$work/emu.norm") commands)"
  exit 0
fi
echo "bpftool: the emulator's output differs from the kernel's (- kernel, + emulator):"
cat "$work/diff"
exit 1
