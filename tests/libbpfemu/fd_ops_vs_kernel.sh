#!/bin/sh
# fd_ops_probe on the kernel (as root) and on the emulator (unprivileged,
# LD_PRELOAD): plain syscalls on BPF fds must answer the same.
#   fd_ops_vs_kernel.sh <fd_ops_probe> <libbpfemu.so> <work dir>
set -u
probe=$1
dropin=$2
work=$3
rm -rf "$work" && mkdir -p "$work/bpffs" && chmod -R 0777 "$work"

[ "$(id -u)" = 0 ] || { echo "skipped: the kernel half needs root"; exit 77; }
if ! "$probe" > "$work/kernel.out" 2>&1; then
  if grep -q "setup failed" "$work/kernel.out"; then echo "skipped: bpf() is not usable here"; exit 77; fi
fi
run_emu() {
  if command -v setpriv >/dev/null 2>&1; then
    setpriv --reuid=65534 --regid=65534 --clear-groups env LD_PRELOAD="$dropin" BPFEMU_BPFFS="$work/bpffs" "$probe"
  else
    env LD_PRELOAD="$dropin" BPFEMU_BPFFS="$work/bpffs" "$probe"
  fi
}
run_emu > "$work/emu.out" 2>&1
if diff -u "$work/kernel.out" "$work/emu.out" > "$work/diff"; then
  echo "fd ops: emulator and kernel answer the same ($(wc -l < "$work/emu.out") lines)"
  exit 0
fi
echo "fd ops: the emulator differs from the kernel (- kernel, + emulator):"
cat "$work/diff"
exit 1
