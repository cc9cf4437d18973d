// Maps created with BTF key and value types (what libbpf does for every map of
// a BTF-described object): the kernel's map_check_btf answers for sizes,
// typedefs, void keys, global data sections, each family's key rules, bad BTF
// fds, and the BTF ids the map's info reports. Values with special fields
// (bpf_spin_lock ...) are not here: they are not emulated yet.
#include <bpf/btf.h>
#include <linux/btf.h>

#include <cstring>
#include <vector>

#include "conformance/scenario.h"
#include "emu/bpf_syscall.h"

namespace bpfemu::conformance {
namespace {

struct Types {
  int u32, u64, pair, u32_t, arr2, var, bss;
};

// The types every case uses, in one blob made with libbpf's BTF writer.
std::vector<uint8_t> make_btf(Types* t) {
  btf* b = btf__new_empty();
  t->u32 = btf__add_int(b, "u32", 4, 0);
  t->u64 = btf__add_int(b, "u64", 8, 0);
  t->pair = btf__add_struct(b, "pair", 8);
  btf__add_field(b, "a", t->u32, 0, 0);
  btf__add_field(b, "b", t->u32, 32, 0);
  t->u32_t = btf__add_typedef(b, "u32_t", t->u32);
  t->arr2 = btf__add_array(b, t->u32, t->u32, 2);
  t->var = btf__add_var(b, "x", BTF_VAR_GLOBAL_ALLOCATED, t->u64);
  t->bss = btf__add_datasec(b, ".bss", 8);
  btf__add_datasec_var_info(b, t->var, 0, 8);
  uint32_t size = 0;
  const auto* raw = static_cast<const uint8_t*>(btf__raw_data(b, &size));
  std::vector<uint8_t> blob(raw, raw + size);
  btf__free(b);
  return blob;
}

int load_btf(Recorder& r, const std::vector<uint8_t>& blob) {
  emu::BpfAttr a{};
  a.btf.btf = reinterpret_cast<uintptr_t>(blob.data());
  a.btf.btf_size = static_cast<uint32_t>(blob.size());
  return static_cast<int>(r.raw("btf_load", BPF_BTF_LOAD, &a, sizeof(a), true));
}

int create_btf(Recorder& r, int btf_fd, uint32_t type, uint32_t ks, uint32_t vs, uint32_t max, int key_id,
               int value_id, uint32_t flags = 0) {
  MapCreateOpts o;
  o.btf_fd = static_cast<uint32_t>(btf_fd);
  o.btf_key_type_id = static_cast<uint32_t>(key_id);
  o.btf_value_type_id = static_cast<uint32_t>(value_id);
  o.map_flags = flags;
  return r.create_opts(type, "btf_map", ks, vs, max, o);
}

}  // namespace

SCENARIO("COMMON", "btf_map", "key_and_value_types") {
  Types t{};
  const auto blob = make_btf(&t);
  const int btf = load_btf(r, blob);
  if (btf < 0) return;
  auto check = [&](uint32_t type, uint32_t ks, uint32_t vs, uint32_t max, int key, int value, uint32_t flags = 0) {
    const int fd = create_btf(r, btf, type, ks, vs, max, key, value, flags);
    if (fd >= 0) r.close(fd);
  };
  check(BPF_MAP_TYPE_HASH, 4, 8, 4, t.u32, t.u64);
  check(BPF_MAP_TYPE_HASH, 4, 8, 4, 0, t.u64);         // a hash needs a key type
  check(BPF_MAP_TYPE_HASH, 4, 8, 4, t.u32_t, t.u64);   // typedefs resolve
  check(BPF_MAP_TYPE_HASH, 4, 4, 4, t.u32, t.u64);     // value size differs
  check(BPF_MAP_TYPE_HASH, 8, 8, 4, t.u32, t.u64);     // key size differs
  check(BPF_MAP_TYPE_HASH, 8, 8, 4, t.pair, t.arr2);   // struct key, array value
  check(BPF_MAP_TYPE_HASH, 4, 8, 4, t.var, t.u64);     // a VAR has no size of its own
  check(BPF_MAP_TYPE_HASH, 4, 8, 4, t.u32, 999);       // no such type
  check(BPF_MAP_TYPE_HASH, 4, 8, 4, t.u32, 0);         // key without value type
  check(BPF_MAP_TYPE_ARRAY, 4, 8, 4, t.u32, t.u64);
  check(BPF_MAP_TYPE_ARRAY, 4, 8, 4, t.u32_t, t.u64);
  check(BPF_MAP_TYPE_ARRAY, 4, 8, 1, 0, t.bss);        // global data
  check(BPF_MAP_TYPE_ARRAY, 4, 8, 2, 0, t.bss);
  check(BPF_MAP_TYPE_ARRAY, 4, 8, 1, 0, t.u64);
  check(BPF_MAP_TYPE_ARRAY, 4, 8, 4, t.pair, t.u64);   // not an integer key
  check(BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, 4, t.u32, t.u64);
  check(BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, 1, 0, t.bss);
  check(BPF_MAP_TYPE_PERCPU_HASH, 4, 8, 4, t.u32, t.u64);
  check(BPF_MAP_TYPE_LRU_HASH, 4, 8, 4, t.u32, t.u64);
  check(BPF_MAP_TYPE_LPM_TRIE, 8, 8, 4, t.pair, t.u64, BPF_F_NO_PREALLOC);
  check(BPF_MAP_TYPE_LPM_TRIE, 8, 8, 4, t.u64, t.u64, BPF_F_NO_PREALLOC);
  check(BPF_MAP_TYPE_QUEUE, 0, 8, 4, 0, t.u64);
  check(BPF_MAP_TYPE_STACK, 0, 8, 4, 0, t.u64);
  check(BPF_MAP_TYPE_BLOOM_FILTER, 0, 8, 4, 0, t.u64);
  r.close(btf);
}

SCENARIO("COMMON", "btf_map", "bad_btf_fd_and_info") {
  Types t{};
  const auto blob = make_btf(&t);
  const int btf = load_btf(r, blob);
  if (btf < 0) return;
  const int not_btf = r.create(BPF_MAP_TYPE_ARRAY, 4, 4, 1);
  if (not_btf >= 0) {
    const int fd = create_btf(r, not_btf, BPF_MAP_TYPE_HASH, 4, 8, 4, t.u32, t.u64);
    if (fd >= 0) r.close(fd);
    r.close(not_btf);
  }
  const int bad = create_btf(r, 4000, BPF_MAP_TYPE_HASH, 4, 8, 4, t.u32, t.u64);
  if (bad >= 0) r.close(bad);
  const int fd = create_btf(r, btf, BPF_MAP_TYPE_HASH, 4, 8, 4, t.u32, t.u64);
  if (fd < 0) return;
  bpf_map_info info{};
  uint32_t len = sizeof(info);
  r.note("map info", r.backend().obj_get_info_by_fd(fd, &info, &len));
  bpf_btf_info binfo{};
  uint32_t blen = sizeof(binfo);
  r.note("btf info", r.backend().obj_get_info_by_fd(btf, &binfo, &blen));
  r.note("map info btf_id is the BTF's id", info.btf_id == binfo.id && binfo.id != 0);
  r.note("map info btf_key_type_id", info.btf_key_type_id);
  r.note("map info btf_value_type_id", info.btf_value_type_id);
  // The map holds its BTF: with the BTF's fd closed it can still be opened by id.
  r.close(btf);
  emu::BpfAttr a{};
  a.id.start_id = binfo.id;
  const long again = r.raw("btf_get_fd_by_id while the map holds it", BPF_BTF_GET_FD_BY_ID, &a, sizeof(a), true);
  if (again >= 0) r.close(static_cast<int>(again));
  r.close(fd);
}

}  // namespace bpfemu::conformance
