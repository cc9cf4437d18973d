# The coreutils session bpffs_vs_kernel.sh runs on the emulator and the kernel:
# ordinary tools on /sys/fs/bpf. $P is the directory, all output goes to stdout.
session() {
  run() {
    echo "\$ $*"
    "$@" 2>&1
    echo "[exit $?]"
  }
  entries() {  # type, mode, size and links of every entry, by name (no dates or owners)
    echo "\$ entries $1"
    for e in "$1"/* "$1"/.[!.]*; do
      [ -e "$e" ] || [ -L "$e" ] || continue
      stat -c '%n %F %a %s %h' "$e" 2>&1
    done
  }
  run bpftool map create "$P/m" type array key 4 value 4 entries 1 name fsmap
  run stat -c '%F %a %s %h' "$P/m"
  run stat -f -c '%T' "$P"
  run mkdir "$P/d"
  run mkdir "$P/d"
  run stat -c '%F %s' "$P/d"
  run mv "$P/m" "$P/d/m2"
  run ls "$P/d"
  run ln -s "$P/d/m2" "$P/lnk"
  run readlink "$P/lnk"
  run stat -c '%F %s' "$P/lnk"
  run stat -L -c '%F %s' "$P/lnk"
  run bpftool map show pinned "$P/lnk"
  run ln "$P/d/m2" "$P/hard"
  run stat -c '%h' "$P/hard"
  run chmod 400 "$P/hard"
  run stat -c '%a' "$P/d/m2"
  run touch "$P/newfile"
  run cat "$P/hard"
  run test -e "$P/hard"
  run test -d "$P/d"
  run test -x "$P/hard"
  entries "$P"
  run rmdir "$P/d"
  run rm "$P/d/m2"
  run rm -f "$P/hard" "$P/lnk"
  run rmdir "$P/d"
  run bpftool map create "$P/m3" type array key 4 value 4 entries 1 name fsmap3
  run mkdir -p "$P/x/y"
  run rm -r "$P/x" "$P/m3"
  run ls -A "$P"
  run sh -c "echo hi > $P/written"
}
