#!/bin/sh
# Ordinary tools (ls, stat, mkdir, mv, ln, chmod, rm, cat ...) on /sys/fs/bpf:
# under LD_PRELOAD, unprivileged, on the emulator's bpffs, and as root on the
# kernel's. The same session must print the same thing, paths aside.
#   bpffs_vs_kernel.sh <libbpfemu.so> <work dir>
set -u
dropin=$1
work=$2
here=$(cd "$(dirname "$0")" && pwd)
. "$here/bpffs_session.sh"
command -v bpftool >/dev/null 2>&1 || { echo "skipped: bpftool is not installed"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "skipped: the kernel half needs root"; exit 77; }
rm -rf "$work" && mkdir -p "$work/bpffs" && chmod -R 0777 "$work"
grep -qs " /sys/fs/bpf bpf " /proc/mounts || mount -t bpf bpf /sys/fs/bpf 2>/dev/null
kdir=/sys/fs/bpf/bpfemu-fs-$$
mkdir "$kdir" || { echo "skipped: cannot make $kdir on the kernel's bpffs"; exit 77; }
( P=$kdir; session ) > "$work/kernel.out" 2>&1
rm -rf "$kdir"
# The shell itself runs preloaded too: its builtins (test, globs, redirections) are part of the session.
cat > "$work/emu.sh" <<EOS
export P=/sys/fs/bpf/fs
mkdir -p /sys/fs/bpf/fs
. $here/bpffs_session.sh
session
EOS
if command -v setpriv >/dev/null 2>&1; then
  setpriv --reuid=65534 --regid=65534 --clear-groups env LD_PRELOAD="$dropin" BPFEMU_BPFFS="$work/bpffs" \
    sh "$work/emu.sh" > "$work/emu.out" 2>&1
else
  env LD_PRELOAD="$dropin" BPFEMU_BPFFS="$work/bpffs" sh "$work/emu.sh" > "$work/emu.out" 2>&1
fi
# Ids and the directory differ between the two runs.
sed -E -e "s#$kdir#P#g" -e 's/^[0-9]+: /ID: /' "$work/kernel.out" > "$work/kernel.norm"
sed -E -e "s#/sys/fs/bpf/fs#P#g" -e 's/^[0-9]+: /ID: /' "$work/emu.out" > "$work/emu.norm"
if diff -u "$work/kernel.norm" "$work/emu.norm" > "$work/diff"; then
  echo "bpffs: emulator and kernel answer the same ($(grep -c '^\$ ' "$work/emu.norm") commands)"
  exit 0
fi
echo "bpffs: the emulator differs from the kernel (- kernel, + emulator):"
cat "$work/diff"
exit 1
