// Values with a struct bpf_spin_lock: where the kernel finds a lock in a BTF
// type (and where it refuses one at BPF_BTF_LOAD), which map types and flags
// take such values, and what a lookup shows of the lock word (zero bytes) and
// whether BPF_F_LOCK works (EINVAL: the kernel found no lock there). Element
// ops, batches and programs on locked values: scenarios_spin_lock_ops.cc.
#include <cstring>
#include <vector>

#include "conformance/btf_builder.h"
#include "conformance/scenario.h"

namespace bpfemu::conformance {
namespace {

int create_typed(Recorder& r, int btf, uint32_t type, uint32_t ks, uint32_t vs, uint32_t max, int key, int value,
                 uint32_t flags = 0, uint64_t extra = 0) {
  MapCreateOpts o;
  o.btf_fd = static_cast<uint32_t>(btf);
  o.btf_key_type_id = static_cast<uint32_t>(key);
  o.btf_value_type_id = static_cast<uint32_t>(value);
  o.map_flags = flags;
  o.map_extra = extra;
  return r.create_opts(type, "locked", ks, vs, max, o);
}

// Creates the map and, when that works, shows what the kernel made of the
// value: an update of 0xab bytes read back (lock words come back zero) and
// whether BPF_F_LOCK is taken.
void probe_value(Recorder& r, int btf, uint32_t type, uint32_t vs, int key, int value, uint32_t max = 4) {
  const int fd = create_typed(r, btf, type, 4, vs, max, key, value);
  if (fd < 0) return;
  r.update(fd, u32(0), fill(vs, 0xab));
  r.lookup(fd, u32(0));
  r.lookup(fd, u32(0), BPF_F_LOCK);
  r.close(fd);
}

}  // namespace

SCENARIO("COMMON", "btf_load", "spin_lock_structs") {
  // Each blob holds one struct with a bpf_spin_lock member (the BTF_LOAD check
  // looks at those only) laid out one way.
  auto load = [&](const char* label, auto&& build) {
    BtfBuilder b;
    build(b);
    const int fd = load_btf(r, b.blob(), label);
    if (fd >= 0) r.close(fd);
  };
  load("lock at 4", [](BtfBuilder& b) { b.add_struct("v", 16, {{b.u32, 0}, {b.lock, 4}}); });
  load("lock at 2 (misaligned)", [](BtfBuilder& b) { b.add_struct("v", 16, {{b.u32, 0}, {b.lock, 2}}); });
  load("lock at 6 (misaligned)", [](BtfBuilder& b) { b.add_struct("v", 16, {{b.u32, 0}, {b.lock, 6}}); });
  load("two locks", [](BtfBuilder& b) { b.add_struct("v", 8, {{b.lock, 0}, {b.lock, 4}}); });
  load("lock and lock[1]", [](BtfBuilder& b) { b.add_struct("v", 8, {{b.lock, 0}, {b.array(b.lock, 1), 4}}); });
  load("lock and lock[2]", [](BtfBuilder& b) { b.add_struct("v", 12, {{b.lock, 0}, {b.array(b.lock, 2), 4}}); });
  load("lock and a nested lock", [](BtfBuilder& b) {
    const int in = b.add_struct("in", 4, {{b.lock, 0}});
    b.add_struct("v", 8, {{b.lock, 0}, {in, 4}});
  });
  load("lock and two structs with a lock in an array", [](BtfBuilder& b) {
    const int in = b.add_struct("in", 8, {{b.u32, 0}, {b.lock, 4}});
    b.add_struct("v", 24, {{b.lock, 0}, {b.array(in, 2), 8}});
  });
  load("lock and 10 nested locks", [](BtfBuilder& b) {
    const int in = b.add_struct("in", 4, {{b.lock, 0}});
    b.add_struct("v", 44, {{b.lock, 0}, {in, 4}, {in, 8}, {in, 12}, {in, 16}, {in, 20}, {in, 24}, {in, 28}, {in, 32},
                           {in, 36}, {in, 40}});
  });
  load("lock and 11 nested locks", [](BtfBuilder& b) {
    const int in = b.add_struct("in", 4, {{b.lock, 0}});
    b.add_struct("v", 48, {{b.lock, 0}, {in, 4}, {in, 8}, {in, 12}, {in, 16}, {in, 20}, {in, 24}, {in, 28}, {in, 32},
                           {in, 36}, {in, 40}, {in, 44}});
  });
  load("lock and an 8-byte struct named bpf_spin_lock", [](BtfBuilder& b) {
    const int big = b.add_struct("bpf_spin_lock", 8, {{b.u64, 0}});
    b.add_struct("v", 16, {{b.lock, 0}, {big, 8}});
  });
  load("lock, and a nested struct whose own lock is misaligned", [](BtfBuilder& b) {
    const int in = b.add_struct("in", 8, {{b.u16, 0}, {b.lock, 2}});
    b.add_struct("v", 12, {{b.lock, 0}, {in, 4}});
  });
  load("a union holding a lock", [](BtfBuilder& b) { b.add_union("u", 8, {{b.lock, 0}, {b.u64, 0}}); });
  load("lock and two bpf_timer structs", [](BtfBuilder& b) {
    const int timer = b.add_struct("bpf_timer", 16, {{b.u64, 0}, {b.u64, 8}});
    b.add_struct("v", 40, {{b.lock, 0}, {timer, 8}, {timer, 24}});
  });
}

SCENARIO("HASH", "create", "spin_lock_value_types") {
  BtfBuilder b;
  struct Case {
    const char* what;
    int type;
    uint32_t size;
  };
  const int in = b.add_struct("in", 8, {{b.u32, 0}, {b.lock, 4}});
  const int lock_only = b.add_struct("lock_only", 4, {{b.lock, 0}});
  const int mid = b.add_struct("mid", 12, {{b.u32, 0}, {in, 4}});
  const int misplaced_timer = b.add_struct("bpf_timer", 8, {{b.u64, 0}});
  const std::vector<Case> cases = {
      {"lock first", b.add_struct("v1", 16, {{b.lock, 0}, {b.u32, 4}, {b.u64, 8}}), 16},
      {"lock at 8", b.add_struct("v2", 16, {{b.u64, 0}, {b.lock, 8}, {b.u32, 12}}), 16},
      {"lock in a nested struct", b.add_struct("v3", 16, {{b.u64, 0}, {in, 8}}), 16},
      {"lock two structs deep", b.add_struct("v4", 16, {{b.u32, 0}, {mid, 4}}), 16},
      {"lock[1]", b.add_struct("v5", 8, {{b.u32, 0}, {b.array(b.lock, 1), 4}}), 8},
      {"struct[1] with a lock", b.add_struct("v6", 16, {{b.u64, 0}, {b.array(in, 1), 8}}), 16},
      {"two nested locks", b.add_struct("v7", 8, {{lock_only, 0}, {lock_only, 4}}), 8},
      {"lock and a nested lock", b.add_struct("v8", 16, {{b.lock, 0}, {b.u32, 4}, {in, 8}}), 16},
      {"typedef'd lock member", b.add_struct("v9", 8, {{b.u32, 0}, {b.typedef_of("lock_t", b.lock), 4}}), 8},
      {"volatile lock member", b.add_struct("v10", 8, {{b.u32, 0}, {b.volatile_of(b.lock), 4}}), 8},
      {"const lock member", b.add_struct("v11", 8, {{b.u32, 0}, {b.const_of(b.lock), 4}}), 8},
      {"lock in a union member",
       b.add_struct("v12", 16, {{b.u64, 0}, {b.add_union("u1", 8, {{lock_only, 0}, {b.u64, 0}}), 8}}), 16},
      {"a union value", b.add_union("u2", 8, {{lock_only, 0}, {b.u64, 0}}), 8},
      {"lock[2]", b.add_struct("v13", 12, {{b.u32, 0}, {b.array(b.lock, 2), 4}}), 12},
      {"struct[2] with a lock", b.add_struct("v14", 16, {{b.array(in, 2), 0}}), 16},
      {"lock[0]", b.add_struct("v15", 8, {{b.u64, 0}, {b.array(b.lock, 0), 8}}), 8},
      {"typedef'd value", b.typedef_of("v16_t", b.add_struct("v16", 8, {{b.u32, 0}, {b.lock, 4}})), 8},
      {"the lock itself", b.lock, 4},
      {"lock and an 8-byte bpf_timer", b.add_struct("v17", 16, {{b.lock, 0}, {misplaced_timer, 8}}), 16},
      {"11 nested locks", b.add_struct("v18", 44, {{lock_only, 0}, {lock_only, 4}, {lock_only, 8}, {lock_only, 12},
                                                   {lock_only, 16}, {lock_only, 20}, {lock_only, 24}, {lock_only, 28},
                                                   {lock_only, 32}, {lock_only, 36}, {lock_only, 40}}), 44},
      {"12 nested locks", b.add_struct("v19", 48, {{lock_only, 0}, {lock_only, 4}, {lock_only, 8}, {lock_only, 12},
                                                   {lock_only, 16}, {lock_only, 20}, {lock_only, 24}, {lock_only, 28},
                                                   {lock_only, 32}, {lock_only, 36}, {lock_only, 40}, {lock_only, 44}}),
       48},
  };
  const int btf = load_btf(r, b.blob(), "btf_load");
  if (btf < 0) return;
  for (const Case& c : cases) {
    r.note(std::string("value: ") + c.what, c.size);
    probe_value(r, btf, BPF_MAP_TYPE_HASH, c.size, b.u32, c.type);
    probe_value(r, btf, BPF_MAP_TYPE_ARRAY, c.size, b.u32, c.type);
  }
  r.close(btf);
}

SCENARIO("ARRAY", "create", "spin_lock_global_data") {
  // Global data: one ARRAY element holding a DATASEC, no key type.
  BtfBuilder b;
  const int in = b.add_struct("in", 8, {{b.u32, 0}, {b.lock, 4}});
  struct Case {
    const char* what;
    int type;
    uint32_t size;
  };
  const std::vector<Case> cases = {
      {"a lock variable", b.datasec(".data", 16, {{b.u64, 0}, {b.lock, 8}}), 16},
      {"two lock variables", b.datasec(".data.two", 8, {{b.lock, 0}, {b.lock, 4}}), 8},
      {"a misaligned lock variable", b.datasec(".data.odd", 8, {{b.u16, 0}, {b.lock, 2}}), 8},
      {"a struct variable with a lock", b.datasec(".data.in", 8, {{in, 0}}), 8},
      {"a typedef'd lock variable", b.datasec(".data.td", 8, {{b.typedef_of("lock_t", b.lock), 4}}), 8},
  };
  const int btf = load_btf(r, b.blob(), "btf_load");
  if (btf < 0) return;
  for (const Case& c : cases) {
    r.note(std::string("value: ") + c.what, c.size);
    probe_value(r, btf, BPF_MAP_TYPE_ARRAY, c.size, 0, c.type, 1);
  }
  r.close(btf);
}

SCENARIO("HASH", "create", "spin_lock_map_types") {
  BtfBuilder b;
  const int value = b.add_struct("value", 16, {{b.u32, 0}, {b.lock, 4}, {b.u64, 8}});
  const int plain = b.add_struct("plain", 16, {{b.u32, 0}, {b.u32, 4}, {b.u64, 8}});
  const int key_struct = b.add_struct("key", 4, {{b.u32, 0}});
  const int lpm_key = b.add_struct("lpm_key", 8, {{b.u32, 0}, {b.u32, 4}});
  const int btf = load_btf(r, b.blob(), "btf_load");
  if (btf < 0) return;
  auto check = [&](uint32_t type, uint32_t ks, int key, int val, uint32_t flags = 0, uint64_t extra = 0) {
    const int fd = create_typed(r, btf, type, ks, 16, 4, key, val, flags, extra);
    if (fd >= 0) r.close(fd);
  };
  for (uint32_t type : {BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_PERCPU_HASH, BPF_MAP_TYPE_PERCPU_ARRAY,
                        BPF_MAP_TYPE_LRU_HASH, BPF_MAP_TYPE_LRU_PERCPU_HASH}) {
    check(type, 4, b.u32, value);
    check(type, 4, b.u32, plain);
  }
  check(BPF_MAP_TYPE_LPM_TRIE, 8, lpm_key, value, BPF_F_NO_PREALLOC);
  check(BPF_MAP_TYPE_QUEUE, 0, 0, value);
  check(BPF_MAP_TYPE_STACK, 0, 0, value);
  check(BPF_MAP_TYPE_BLOOM_FILTER, 0, 0, value, 0, 3);
  for (uint32_t flags : {uint32_t{BPF_F_NO_PREALLOC}, uint32_t{BPF_F_ZERO_SEED}, uint32_t{BPF_F_RDONLY_PROG},
                         uint32_t{BPF_F_WRONLY_PROG}, uint32_t{BPF_F_RDONLY}, uint32_t{BPF_F_WRONLY}})
    check(BPF_MAP_TYPE_HASH, 4, b.u32, value, flags);
  check(BPF_MAP_TYPE_ARRAY, 4, b.u32, value, BPF_F_MMAPABLE);
  check(BPF_MAP_TYPE_ARRAY, 4, b.u32, value, BPF_F_RDONLY_PROG);
  check(BPF_MAP_TYPE_PERCPU_HASH, 4, b.u32, value, BPF_F_RDONLY_PROG);  // EACCES before the type's EOPNOTSUPP
  check(BPF_MAP_TYPE_ARRAY, 4, key_struct, value);                     // the array's key rule comes after
  check(BPF_MAP_TYPE_PERCPU_ARRAY, 4, key_struct, value);
  check(BPF_MAP_TYPE_HASH, 4, 0, value);   // a hash needs a key type
  check(BPF_MAP_TYPE_ARRAY, 4, 0, value);  // keyless arrays are global data only
  check(BPF_MAP_TYPE_HASH, 8, b.u32, value);
  // The map's info names the BTF types.
  const int fd = create_typed(r, btf, BPF_MAP_TYPE_HASH, 4, 16, 4, b.u32, value);
  if (fd >= 0) {
    bpf_map_info info{};
    uint32_t len = sizeof(info);
    r.note("map info", r.backend().obj_get_info_by_fd(fd, &info, &len));
    r.note("map info btf_key_type_id", info.btf_key_type_id);
    r.note("map info btf_value_type_id", info.btf_value_type_id);
    r.close(fd);
  }
  r.close(btf);
}

}  // namespace bpfemu::conformance
