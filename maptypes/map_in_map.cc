// ARRAY_OF_MAPS and HASH_OF_MAPS, after kernel/bpf/map_in_map.c and the
// fd-map halves of arraymap.c and hashtab.c.
//
// An outer map's values are maps. Syscalls store one by its fd and read back
// its id; a program's lookup yields the map itself (this process's view of it),
// which the program then passes to the map helpers. A slot holds a kernel
// reference on its map (fd_objects()), dropped when the slot is emptied or
// overwritten, or when the outer map is freed (map_in_map_release).
//
// Every map stored must match the template taken from inner_map_fd at create
// time (the kernel's inner_map_meta): type, key size, value size, map flags,
// special value fields, and for arrays max_entries unless the template was
// made with BPF_F_INNER_MAP.
//
// Layouts: ARRAY_OF_MAPS slot i is a u32 map id at i * 4 (0: empty).
// HASH_OF_MAPS is a chained hash table (hashtab.cc) whose 4-byte values are
// map ids. The template lives in the family state, after the hash table's.
#include <climits>
#include <cstring>

#include "core/profile.h"
#include "maptypes/batch.h"
#include "maptypes/families.h"
#include "maptypes/hashtab.h"

namespace bpfemu::maptypes {
namespace {

constexpr uint32_t kAom = BPF_MAP_TYPE_ARRAY_OF_MAPS;
constexpr uint32_t kHom = BPF_MAP_TYPE_HASH_OF_MAPS;
constexpr uint64_t kPage = 4096;

// The kernel's inner_map_meta: what bpf_map_meta_equal compares.
struct InnerMeta {
  uint32_t map_type;
  uint32_t key_size;
  uint32_t value_size;
  uint32_t max_entries;
  uint32_t map_flags;
  emu::ValueRecord record;
  bool value_btf;  // made with a BTF value type
};

bool is_map_in_map(uint32_t type) { return type == kAom || type == kHom; }

// Whether the kernel's ops for `type` have map_meta_equal (a template may be
// one): of the emulated types, only PROG_ARRAY's leave it out (ENOTSUPP).
int inner_type_supported(uint32_t type) { return type == BPF_MAP_TYPE_PROG_ARRAY ? -kENOTSUPP : 0; }

// btf_record_equal (6.18: every special field). Before the btf_record code
// (6.1) the kernel compared the timer's offset and the kptrs only, not the
// spin lock (which a template could not have); a map without a BTF value type
// has another "no timer" offset than one with (-EINVAL, -ENOENT), so those
// two never match there.
bool fields_equal(const InnerMeta& meta, const MapAttr& m, const KernelProfile& p) {
  const emu::ValueRecord& a = meta.record;
  const emu::ValueRecord& b = m.record;
  if (p.btf_record_fields) return memcmp(&a, &b, sizeof(a)) == 0;
  return meta.value_btf == (m.btf_value_type_id != 0) && a.timer_count == b.timer_count &&
         a.timer_off == b.timer_off && a.other_count == b.other_count &&
         a.other_refcounts == b.other_refcounts && memcmp(a.other_offs, b.other_offs, sizeof(a.other_offs)) == 0 &&
         memcmp(a.other_sizes, b.other_sizes, sizeof(a.other_sizes)) == 0;
}

// bpf_map_meta_equal, and array_map_meta_equal's max_entries rule.
bool meta_equal(const InnerMeta& meta, const MapAttr& a, const KernelProfile& p) {
  if (meta.map_type != a.map_type || meta.key_size != a.key_size || meta.value_size != a.value_size ||
      meta.map_flags != a.map_flags || !fields_equal(meta, a, p))
    return false;
  const bool array = meta.map_type == BPF_MAP_TYPE_ARRAY || meta.map_type == BPF_MAP_TYPE_PERCPU_ARRAY;
  return !array || (meta.map_flags & BPF_F_INNER_MAP) || meta.max_entries == a.max_entries;
}

// bpf_map_meta_alloc: the template from the caller's inner_map_fd.
int read_meta(uint32_t ufd, const KernelProfile& p, InnerMeta* meta) {
  ObjRef ref;
  if (int e = fd_objects().get(static_cast<int>(ufd), &ref); e != 0) return e;
  const Map* inner = ref.kind == emu::ObjKind::kMap ? fd_objects().map(ref.id) : nullptr;
  // Not a map, or a second level of nesting: EINVAL.
  int err = inner == nullptr || is_map_in_map(inner->attr().map_type) ? -EINVAL
                                                                      : inner_type_supported(inner->attr().map_type);
  // 6.1 takes no template whose value has a bpf_spin_lock.
  if (err == 0 && !p.btf_record_fields && inner->attr().record.has_lock()) err = -kENOTSUPP;
  if (err == 0) {
    const MapAttr& a = inner->attr();
    *meta = InnerMeta{a.map_type, a.key_size, a.value_size, a.max_entries, a.map_flags, a.record, a.btf_value_type_id != 0};
  }
  fd_objects().put(ref);
  return err;
}

// bpf_map_fd_get_ptr: the map behind the fd in `value`, referenced, when it
// matches the template: 0 with *id set, or -EBADF / -EINVAL.
int get_inner(const Map& outer, const InnerMeta& meta, const void* value, uint32_t* id) {
  int ufd;
  memcpy(&ufd, value, sizeof(ufd));
  ObjRef ref;
  if (int e = fd_objects().get(ufd, &ref); e != 0) return e;
  const Map* inner = ref.kind == emu::ObjKind::kMap ? fd_objects().map(ref.id) : nullptr;
  if (inner == nullptr || !meta_equal(meta, inner->attr(), outer.profile())) {
    fd_objects().put(ref);
    return -EINVAL;
  }
  *id = ref.id;
  return 0;
}

void put_inner(uint32_t id) {
  if (id != 0) fd_objects().put(ObjRef{emu::ObjKind::kMap, id, 0});
}

// What a program's lookup yields: the map itself.
void* inner_map(uint32_t id) { return id != 0 ? fd_objects().map(id) : nullptr; }

uint32_t load_u32(const void* p) {
  uint32_t v;
  memcpy(&v, p, sizeof(v));
  return v;
}

// --- ARRAY_OF_MAPS ---

struct AomState {
  InnerMeta meta;
};

std::atomic<uint32_t>* aom_slot(const Map& map, uint32_t i) {
  return reinterpret_cast<std::atomic<uint32_t>*>(map.data() + uint64_t{i} * 4);
}

// The kernel's array_of_maps_map_ops: the generic lookup and update batches,
// no delete batch.
class ArrayOfMaps final : public GenericBatchOps<false> {
 public:
  // fd_array_map_alloc_check and array_map_alloc_check, then the template.
  int alloc_check(MapAttr& attr, const CreateEnv& env) const override {
    constexpr uint32_t kAllowed = BPF_F_NUMA_NODE | BPF_F_RDONLY | BPF_F_WRONLY;
    if (attr.value_size != sizeof(uint32_t) || (attr.map_flags & (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG)))
      return -EINVAL;
    if (attr.max_entries == 0 || attr.key_size != 4 || (attr.map_flags & ~kAllowed)) return -EINVAL;
    InnerMeta meta;
    return read_meta(attr.inner_map_fd, *env.profile, &meta);
  }

  int64_t data_size(const MapAttr& attr, const CreateEnv&) const override {
    return static_cast<int64_t>((uint64_t{attr.max_entries} * 4 + kPage - 1) & ~(kPage - 1));
  }

  int init(Map& map) const override {
    return read_meta(map.attr().inner_map_fd, map.profile(), &map.state<AomState>().meta);
  }

  // array_map_mem_usage: the array and one 8-byte element per slot.
  uint64_t mem_usage(const Map& map) const override {
    return struct_sizes(map.profile()).bpf_array + uint64_t{map.attr().max_entries} * 8;
  }

  // bpf_fd_array_map_lookup_elem: the inner map's id.
  int lookup(Map& map, const void* key, void* value, uint64_t) const override {
    const uint32_t id = fd_slot(map, load_u32(key));
    if (id == 0) return -ENOENT;
    memcpy(value, &id, sizeof(id));
    return 0;
  }

  // bpf_fd_array_map_update_elem: flags, then the index, then the fd.
  int update(Map& map, const void* key, const void* value, uint64_t flags) const override {
    if (flags != BPF_ANY) return -EINVAL;
    const uint32_t i = load_u32(key);
    if (i >= map.attr().max_entries) return -E2BIG;
    uint32_t id = 0;
    if (int e = get_inner(map, map.state<AomState>().meta, value, &id); e != 0) return e;
    put_inner(aom_slot(map, i)->exchange(id, std::memory_order_acq_rel));
    return 0;
  }

  // fd_array_map_delete_elem.
  int delete_elem(Map& map, const void* key) const override {
    const uint32_t i = load_u32(key);
    if (i >= map.attr().max_entries) return -E2BIG;
    const uint32_t old = aom_slot(map, i)->exchange(0, std::memory_order_acq_rel);
    if (old == 0) return -ENOENT;
    put_inner(old);
    return 0;
  }

  // array_map_get_next_key.
  int get_next_key(Map& map, const void* key, void* next_key) const override {
    return array_get_next_key(map, key, next_key);
  }

  uint32_t fd_slot(const Map& map, uint32_t index) const override {
    return index < map.attr().max_entries ? aom_slot(map, index)->load(std::memory_order_acquire) : 0;
  }

  // array_of_map_lookup_elem.
  void* prog_lookup(Map& map, const void* key) const override { return inner_map(fd_slot(map, load_u32(key))); }
};

// --- HASH_OF_MAPS ---

struct HomState : HtabState {
  InnerMeta meta;
};
static_assert(sizeof(HomState) <= emu::MapHeader::kFamilyStateSize);

// The kernel's htab_of_maps_map_ops: a plain hash table (chained, whatever the
// seed) whose values are map ids, with the hash batch commands.
class HashOfMaps final : public HtabOps {
 public:
  HashOfMaps() : HtabOps(false, false) {}

  // fd_htab_map_alloc_check, htab_map_alloc_check, then the template.
  int alloc_check(MapAttr& attr, const CreateEnv& env) const override {
    if (attr.value_size != sizeof(uint32_t)) return -EINVAL;
    if (int e = HtabOps::alloc_check(attr, env); e != 0) return e;
    InnerMeta meta;
    return read_meta(attr.inner_map_fd, *env.profile, &meta);
  }

  const MapOps& variant_for(const MapAttr&) const override { return *this; }

  int init(Map& map) const override {
    if (int e = HtabOps::init(map); e != 0) return e;
    return read_meta(map.attr().inner_map_fd, map.profile(), &map.state<HomState>().meta);
  }

  // bpf_fd_htab_map_update_elem: the fd is resolved first; the flags are
  // the hash table's. An existing key keeps its element and place in the
  // bucket, its value swapped (htab_map_update_elem_in_place).
  int update(Map& map, const void* key, const void* value, uint64_t flags) const override {
    uint32_t id = 0;
    if (int e = get_inner(map, map.state<HomState>().meta, value, &id); e != 0) return e;
    if (flags <= BPF_EXIST) {
      Htab h(map);
      const uint32_t hv = h.hash(key);
      Bucket& b = h.bucket(hv);
      uint32_t old_id = 0;
      int err = 1;  // 1: the key is not there
      {
        BucketWriteGuard g(h, b);
        if (const uint32_t idx = h.find(b, hv, key); idx != 0) {
          err = check_flags(idx, flags);
          if (err == 0) {
            memcpy(&old_id, h.value_of(idx), sizeof(old_id));
            memcpy(h.value_of(idx), &id, sizeof(id));
          }
        }
      }
      if (err == 0) {
        put_inner(old_id);
        return 0;
      }
      if (err < 0) {
        put_inner(id);
        return err;
      }
    }
    const int r = HtabOps::update(map, key, &id, flags);
    if (r != 0) put_inner(id);
    return r;
  }

  // htab_map_mem_usage: fd hash tables have no per-CPU extra elements.
  uint64_t mem_usage(const Map& map) const override {
    uint64_t usage = HtabOps::mem_usage(map);
    if (!(map.attr().map_flags & BPF_F_NO_PREALLOC))
      usage -= (struct_sizes(map.profile()).htab_elem + emu::round_up8(map.attr().key_size) + 8) * uint64_t{map.nr_cpus()};
    return usage;
  }

  // No map_lookup_and_delete_elem for fd hash tables.
  int lookup_and_delete(Map&, const void*, void*, uint64_t) const override { return -kENOTSUPP; }

  // The element's map reference goes with it (htab_put_fd_value).
  void free_value(Map&, uint8_t* value) const override { put_inner(load_u32(value)); }

  // htab_of_map_lookup_elem.
  void* prog_lookup(Map& map, const void* key) const override {
    uint32_t id = 0;
    return HtabOps::lookup(map, key, &id, 0) == 0 ? inner_map(id) : nullptr;
  }
  // The verifier keeps programs from writing to outer maps or walking them.
  long prog_update(Map&, const void*, const void*, uint64_t) const override { return -EINVAL; }
  long prog_delete(Map&, const void*) const override { return -EINVAL; }
  long for_each(Map&, ForEachCallback, void*, uint64_t) const override { return -EINVAL; }
  void* prog_lookup_percpu(Map&, const void*, uint32_t) const override { return nullptr; }
  const uint8_t* value_containing(const Map&, const void*) const override { return nullptr; }
};

const ArrayOfMaps kArrayOfMaps;
const HashOfMaps kHashOfMaps;

}  // namespace

const MapOps& kArrayOfMapsOps = kArrayOfMaps;
const MapOps& kHashOfMapsOps = kHashOfMaps;

void map_in_map_release(const emu::MapHeader& hdr, const uint8_t* data, uint64_t size) {
  if (hdr.attr.map_type == kAom) {
    for (uint64_t i = 0; i < hdr.attr.max_entries && (i + 1) * 4 <= size; ++i) put_inner(load_u32(data + i * 4));
    return;
  }
  // Every linked element of the hash table (bounded: the storage may be torn).
  HtabLayout l;  // HtabState's first part
  memcpy(&l, hdr.family, sizeof(l));
  if (l.n_buckets == 0 || uint64_t{l.n_buckets} * sizeof(Bucket) > size) return;
  for (uint32_t b = 0; b < l.n_buckets; ++b) {
    uint32_t idx = load_u32(data + l.buckets_off + uint64_t{b} * sizeof(Bucket));
    for (uint64_t steps = 0; idx != 0 && idx <= l.capacity && steps <= l.capacity; ++steps) {
      const uint64_t elem = l.elems_off + uint64_t{idx - 1} * l.elem_size;
      if (elem + l.value_off + 4 > size) break;
      put_inner(load_u32(data + elem + l.value_off));
      idx = load_u32(data + elem);  // ElemHdr::next
    }
  }
}

}  // namespace bpfemu::maptypes
