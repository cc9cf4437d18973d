#!/bin/sh
# Runs a test binary as user nobody when started as root (so that it sees
# /proc/kallsyms as an unprivileged user does: without addresses), with its
# own bpffs root; as is otherwise. usage: run_unprivileged.sh BPFFS_DIR BINARY
set -eu
dir=$1
shift
if [ "$(id -u)" -ne 0 ]; then
  BPFEMU_BPFFS=$dir exec "$@"
fi
command -v setpriv >/dev/null || { echo "setpriv missing" >&2; exit 77; }
rm -rf "$dir"
mkdir -p "$dir"
chown 65534:65534 "$dir"
cd /tmp
exec setpriv --reuid 65534 --regid 65534 --clear-groups env HOME=/tmp BPFEMU_BPFFS="$dir" "$@"
