# The bpftool session bpftool_vs_kernel.sh runs on the emulator and on the kernel.
# One session; $P is the pin directory, $N a name prefix unique to the run.
session() {
  bt() {
    echo "\$ bpftool $*"
    bpftool "$@" 2>&1
    echo "[exit $?]"
  }
  # BPF_F_ZERO_SEED: the kernel's element order is then fixed, so walks compare.
  bt map create "$P/hash" type hash key 4 value 8 entries 4 name ${N}hash flags 0x40
  bt map update pinned "$P/hash" key 1 0 0 0 value 0x11 0 0 0 0 0 0 0
  bt map update pinned "$P/hash" key 2 0 0 0 value 0x22 0 0 0 0 0 0 0 noexist
  bt map update pinned "$P/hash" key 2 0 0 0 value 0x23 0 0 0 0 0 0 0 noexist
  bt map update pinned "$P/hash" key 9 0 0 0 value 0x99 0 0 0 0 0 0 0 exist
  bt map update pinned "$P/hash" key 2 0 0 0 value 0x24 0 0 0 0 0 0 0 exist
  bt map lookup pinned "$P/hash" key 2 0 0 0
  bt map lookup pinned "$P/hash" key 7 0 0 0
  bt map getnext pinned "$P/hash" key 7 0 0 0
  bt map delete pinned "$P/hash" key 1 0 0 0
  bt map delete pinned "$P/hash" key 1 0 0 0
  bt map dump pinned "$P/hash"
  bt map show pinned "$P/hash"
  bt map freeze pinned "$P/hash"
  bt map update pinned "$P/hash" key 3 0 0 0 value 0x33 0 0 0 0 0 0 0
  bt map freeze pinned "$P/hash"
  bt -j map show pinned "$P/hash"

  bt map create "$P/array" type array key 4 value 4 entries 3 name ${N}array
  bt map update pinned "$P/array" key 1 0 0 0 value 7 0 0 0
  bt map update pinned "$P/array" key 5 0 0 0 value 7 0 0 0
  bt map update pinned "$P/array" key 1 0 0 0 value 8 0 0 0 noexist
  bt map delete pinned "$P/array" key 1 0 0 0
  bt map dump pinned "$P/array"
  bt map getnext pinned "$P/array"
  bt map getnext pinned "$P/array" key 2 0 0 0
  bt map show pinned "$P/array"

  bt map create "$P/lru" type lru_hash key 4 value 4 entries 8 name ${N}lru
  for k in 1 2 3 4 5 6 7 8 9 10; do bt map update pinned "$P/lru" key $k 0 0 0 value $k 0 0 0; done
  bt map show pinned "$P/lru"

  bt map create "$P/lpm" type lpm_trie key 8 value 4 entries 8 name ${N}lpm flags 1
  bt map create "$P/lpm_bad" type lpm_trie key 8 value 4 entries 8 name ${N}lpmbad
  bt map update pinned "$P/lpm" key 24 0 0 0 10 0 1 0 value 1 0 0 0
  bt map update pinned "$P/lpm" key 16 0 0 0 10 0 0 0 value 2 0 0 0
  bt map update pinned "$P/lpm" key 32 0 0 0 10 0 1 7 value 3 0 0 0
  bt map lookup pinned "$P/lpm" key 32 0 0 0 10 0 1 9
  bt map lookup pinned "$P/lpm" key 32 0 0 0 10 0 9 9
  bt map lookup pinned "$P/lpm" key 32 0 0 0 11 0 9 9
  bt map dump pinned "$P/lpm"
  bt map show pinned "$P/lpm"

  bt map create "$P/queue" type queue key 0 value 4 entries 2 name ${N}queue
  bt map push pinned "$P/queue" value 1 0 0 0
  bt map enqueue pinned "$P/queue" value 2 0 0 0
  bt map push pinned "$P/queue" value 3 0 0 0
  bt map peek pinned "$P/queue"
  bt map pop pinned "$P/queue"
  bt map dequeue pinned "$P/queue"
  bt map pop pinned "$P/queue"
  bt map show pinned "$P/queue"

  bt map create "$P/stack" type stack key 0 value 4 entries 2 name ${N}stack
  bt map push pinned "$P/stack" value 1 0 0 0
  bt map push pinned "$P/stack" value 2 0 0 0
  bt map push pinned "$P/stack" value 3 0 0 0
  bt map peek pinned "$P/stack"
  bt map pop pinned "$P/stack"
  bt map pop pinned "$P/stack"
  bt map pop pinned "$P/stack"
  bt map show pinned "$P/stack"

  bt map create "$P/bloom" type bloom_filter key 0 value 4 entries 16 name ${N}bloom
  bt map push pinned "$P/bloom" value 1 0 0 0
  bt map peek pinned "$P/bloom" value 1 0 0 0
  bt map show pinned "$P/bloom"

  # Pinning another name, listing, and the filesystem view of the pins.
  bt map pin pinned "$P/array" "$P/array2"
  bt map pin pinned "$P/array" "$P/array2"
  bt map show pinned "$P/array2"
  bt map show pinned "$P/nope"
  echo "\$ bpftool map list (maps of this session)"
  bpftool map list 2>&1 | awk -v n="$N" '/^[0-9]+: /{keep = index($0, "name " n) > 0} keep'
  echo "\$ ls $P"
  ls "$P" 2>&1
  rm -f "$P/array2"
  echo "\$ ls $P (after rm array2)"
  ls "$P" 2>&1
}

