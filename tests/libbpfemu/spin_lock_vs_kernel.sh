#!/bin/sh
# spin_lock_object (libbpf loading a clang-built object whose values hold a
# struct bpf_spin_lock) on the emulator, linked with libbpfemu and run
# unprivileged, and on the kernel as root: the outputs must match.
#
#   spin_lock_vs_kernel.sh <emu binary> <kernel binary> <spin_lock.bpf.o> <work dir>
set -u
emu=$1
kernel=$2
obj=$3
work=$4
rm -rf "$work" && mkdir -p "$work/bpffs" && chmod -R 0777 "$work"

if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1; then
  setpriv --reuid=65534 --regid=65534 --clear-groups env BPFEMU_BPFFS="$work/bpffs" "$emu" "$obj" > "$work/emu" 2>&1
else
  BPFEMU_BPFFS="$work/bpffs" "$emu" "$obj" > "$work/emu" 2>&1
fi
emu_status=$?

[ "$(id -u)" = 0 ] || { echo "skipped: the kernel half needs root"; cat "$work/emu"; exit 77; }
"$kernel" "$obj" > "$work/kernel" 2>&1
if ! diff -u "$work/kernel" "$work/emu"; then
  echo "spin_lock_object: the emulator's output differs from the kernel's (- kernel, + emulator)"
  exit 1
fi
[ $emu_status = 0 ] || { cat "$work/emu"; exit 1; }
echo "spin_lock_object: emulator (unprivileged, linked with libbpfemu) and kernel (root) print the same"
