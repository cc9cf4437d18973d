#!/bin/sh
# The pinning examples (built against the real libbpf) give the same output on
# the emulator (LD_PRELOAD=libbpfemu.so) and on the kernel. Needs root and bpffs
# at /sys/fs/bpf for the kernel half; exits 77 (skipped) otherwise.
# Usage: compare_pinning_example.sh LOADER PRINTER LIBBPFEMU_SO WORKDIR
set -u
loader=$1 printer=$2 so=$3 work=$4

if [ "$(id -u)" != 0 ] || [ "$(stat -f -c %t /sys/fs/bpf 2>/dev/null)" != cafe4a11 ]; then
  echo "skip: needs root and bpffs mounted at /sys/fs/bpf"
  exit 77
fi
pin=/sys/fs/bpf/bpfemu_example_$$
rm -rf "$work"
mkdir -p "$work"

emu=$(env BPFEMU_BPFFS="$work/bpffs" LD_PRELOAD="$so" "$loader" "$pin" &&
      env BPFEMU_BPFFS="$work/bpffs" LD_PRELOAD="$so" "$printer" "$pin") || {
  echo "emulator run failed: $emu"
  exit 1
}
kernel=$("$loader" "$pin" && "$printer" "$pin")
status=$?
rm -f "$pin"
if [ $status != 0 ]; then
  echo "skip: kernel run failed (bpf() not permitted?): $kernel"
  exit 77
fi
rm -rf "$work"
printf 'emulator:\n%s\nkernel:\n%s\n' "$emu" "$kernel"
[ "$emu" = "$kernel" ] || { echo "outputs differ"; exit 1; }
