#!/bin/sh
# usdt_demo on the emulator (linked with libbpfemu, unprivileged, probes fired
# with bpfemu_usdt_fire) and on the kernel as root (probes hit by running the
# probed code): what the USDT programs saw must be the same.
#
#   usdt_vs_kernel.sh <emu binary> <kernel binary> <work dir>
set -u
emu=$1
kernel=$2
work=$3
rm -rf "$work" && mkdir -p "$work/bpffs" && chmod -R 0777 "$work"
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1; then
  setpriv --reuid=65534 --regid=65534 --clear-groups env BPFEMU_BPFFS="$work/bpffs" "$emu" > "$work/emu" 2>&1
else
  BPFEMU_BPFFS="$work/bpffs" "$emu" > "$work/emu" 2>&1
fi
[ "$(id -u)" = 0 ] || { echo "skipped: the kernel half needs root"; cat "$work/emu"; exit 77; }
"$kernel" > "$work/kernel" 2>&1
if ! diff -u "$work/kernel" "$work/emu"; then
  echo "usdt: the emulator's output differs from the kernel's (- kernel, + emulator)"
  exit 1
fi
echo "usdt: emulator (unprivileged, bpfemu_usdt_fire) and kernel (root, the probed code run) saw the same:"
cat "$work/emu"
