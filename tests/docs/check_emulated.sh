#!/bin/sh
# docs/emulated.md's list of map types is the emulated ones in
# core/map_types.def (ops other than NotEmulated), in that order, and each has
# rows in the conformance table.
# Usage: check_emulated.sh SOURCE_DIR BPFEMU_CONFORMANCE
set -eu
src=$1 conformance=$2

expected=$(sed -n 's/^BPF_MAP_TYPE(\([A-Z_0-9]*\), *[0-9]*, *\([A-Za-z]*\),.*/\1 \2/p' "$src/core/map_types.def" |
  awk '$2 != "NotEmulated" { print "- `" $1 "`" }')
listed=$(sed -n '/<!-- emulated-types:begin/,/<!-- emulated-types:end/p' "$src/docs/emulated.md" | grep '^- ' || true)
if [ -z "$expected" ] || [ "$expected" != "$listed" ]; then
  echo "docs/emulated.md lists:" >&2
  echo "$listed" >&2
  echo "core/map_types.def emulates (paste between the markers):" >&2
  echo "$expected" >&2
  exit 1
fi

table=$("$conformance" --backend emu)
for t in $(echo "$expected" | tr -d '`-'); do
  echo "$table" | grep -q "^$t " || { echo "no conformance rows for $t" >&2; exit 1; }
done
echo "docs/emulated.md: $(echo "$expected" | wc -l) emulated map types, all in the conformance table"
