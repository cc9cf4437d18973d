// ARRAY and PERCPU_ARRAY, after kernel/bpf/arraymap.c.
//
// Region layout: the values, index-major, starting at offset 0 so that mmap() of
// a BPF_F_MMAPABLE array's fd sees them exactly where the kernel puts them.
// ARRAY: elem i at i * round_up(value_size, 8). PERCPU_ARRAY: elem i, cpu c at
// (i * nr_cpus + c) * round_up(value_size, 8). Every element always exists.
#include <climits>
#include <cstring>

#include "core/cpu.h"
#include "core/profile.h"
#include "core/uaccess.h"
#include "core/value_lock.h"
#include "maptypes/batch.h"
#include "maptypes/families.h"

namespace bpfemu::maptypes {
namespace {

constexpr uint32_t kArrayCreateFlags = BPF_F_NUMA_NODE | BPF_F_MMAPABLE | BPF_F_RDONLY | BPF_F_WRONLY |
                                       BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG | BPF_F_PRESERVE_ELEMS |
                                       BPF_F_INNER_MAP;
constexpr uint32_t kPcpuMinUnit = 32 << 10;
constexpr uint64_t kPage = 4096;

// Arrays use the generic lookup/update batch code and have no delete batch.
class ArrayOps : public GenericBatchOps<false> {
 public:
  explicit ArrayOps(bool percpu) : percpu_(percpu) {}

  int alloc_check(MapAttr& attr, const CreateEnv&) const override {
    bool rw_prog = (attr.map_flags & (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG)) == (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG);
    if (attr.max_entries == 0 || attr.key_size != 4 || attr.value_size == 0 ||
        (attr.map_flags & ~kArrayCreateFlags) || rw_prog || (percpu_ && (attr.map_flags & BPF_F_NUMA_NODE)))
      return -EINVAL;
    if (percpu_ && (attr.map_flags & (BPF_F_MMAPABLE | BPF_F_INNER_MAP))) return -EINVAL;
    if (attr.map_flags & BPF_F_PRESERVE_ELEMS) return -EINVAL;  // PERF_EVENT_ARRAY only
    if (attr.value_size > INT_MAX) return -E2BIG;
    if (percpu_ && emu::round_up8(attr.value_size) > kPcpuMinUnit) return -E2BIG;
    return 0;
  }

  int64_t data_size(const MapAttr& attr, const CreateEnv& env) const override {
    uint64_t elems = uint64_t{attr.max_entries} * emu::round_up8(attr.value_size);
    if (percpu_) elems *= env.nr_cpus;
    if (attr.map_flags & BPF_F_MMAPABLE) elems = (elems + kPage - 1) & ~(kPage - 1);
    // The kernel allocates (and zeroes) every element at create time.
    if (!emu::fits_in_memory(elems)) return -ENOMEM;
    return static_cast<int64_t>(elems);
  }

  int init(Map&) const override { return 0; }  // zero-filled region = all elements zero

  // Plain arrays: the syscall layer's common case as ops that take the
  // caller's pointers (a lookup copies straight out of the element; an update
  // of an 8-byte value reads it whole before it writes the element, so a bad
  // pointer never leaves half a value behind).
  void bind_view(Map& map) const override {
    MapOps::bind_view(map);
    // Lock words are never copied raw: those maps keep the generic ops.
    if (percpu_ || map.attr().record.has_fields()) return;
    map.view_cache<FastCache>() = FastCache{map.data(), stride(map), map.attr().max_entries};
    emu::FastOps f = map.fast();
    f.lookup = map.attr().value_size == 8 ? fast_lookup<true> : fast_lookup<false>;
    f.user |= emu::FastOps::kLookupTakesUser;
    if (map.attr().value_size == 8) {
      f.update = fast_update8;
      f.user |= emu::FastOps::kUpdateTakesUser;
    }
    map.set_fast(f);
  }

  bool hashed_area(const Map& map, const uint8_t** data, uint64_t* len) const override {
    if (percpu_) return false;
    *data = map.data();
    *len = uint64_t{stride(map)} * map.attr().max_entries;
    return true;
  }

  uint32_t sys_value_size(const Map& map) const override {
    return percpu_ ? stride(map) * map.nr_cpus() : map.attr().value_size;
  }

  int lookup(Map& map, const void* key, void* value, uint64_t flags) const override {
    uint32_t i = index(key);
    if (i >= map.attr().max_entries) return -ENOENT;
    if (percpu_) {
      // Each CPU's slot with its padding, special fields (kptrs) read as zero.
      for (uint32_t cpu = 0; cpu < map.nr_cpus(); ++cpu)
        emu::value_copy_out(map.attr().record, static_cast<uint8_t*>(value) + uint64_t{stride(map)} * cpu,
                            slot(map, i, cpu), stride(map), false);
    } else {
      emu::value_copy_out(map.attr().record, value, slot(map, i, 0), map.attr().value_size, flags & BPF_F_LOCK);
    }
    return 0;
  }

  int update(Map& map, const void* key, const void* value, uint64_t flags) const override {
    return update_common(map, key, value, flags, true);
  }

  int delete_elem(Map&, const void*) const override { return -EINVAL; }

  int get_next_key(Map& map, const void* key, void* next_key) const override {
    return array_get_next_key(map, key, next_key);
  }

  void* prog_lookup(Map& map, const void* key) const override {
    uint32_t i = index(key);
    if (i >= map.attr().max_entries) return nullptr;
    return slot(map, i, percpu_ ? map.current_cpu() : 0);
  }

  long prog_update(Map& map, const void* key, const void* value, uint64_t flags) const override {
    return update_common(map, key, value, flags, false);
  }

  long for_each(Map& map, ForEachCallback cb, void* ctx, uint64_t flags) const override {
    if (flags != 0) return -EINVAL;
    const uint32_t cpu = percpu_ ? map.current_cpu() : 0;
    long visited = 0;
    for (uint32_t i = 0; i < map.attr().max_entries; ++i) {
      ++visited;
      uint32_t key = i;
      if (cb(map, &key, slot(map, i, cpu), ctx) != 0) break;
    }
    return visited;
  }

  const uint8_t* value_containing(const Map& map, const void* p) const override {
    const auto* at = static_cast<const uint8_t*>(p);
    const uint64_t slots = uint64_t{map.attr().max_entries} * (percpu_ ? map.nr_cpus() : 1);
    if (at < map.data() || at >= map.data() + slots * stride(map)) return nullptr;
    const uint8_t* value = map.data() + static_cast<uint64_t>(at - map.data()) / stride(map) * stride(map);
    return at - value < map.attr().value_size ? value : nullptr;
  }

  void* prog_lookup_percpu(Map& map, const void* key, uint32_t cpu) const override {
    uint32_t i = index(key);
    if (!percpu_ || i >= map.attr().max_entries || cpu >= map.nr_cpus()) return nullptr;
    return slot(map, i, cpu);
  }

  // array_map_mmap: the values, from offset 0, up to the page-rounded end of the last one.
  bool mmapable(const Map& map) const override { return (map.attr().map_flags & BPF_F_MMAPABLE) != 0; }
  uint64_t mmap_size(const Map& map) const override {
    return (uint64_t{map.attr().max_entries} * stride(map) + kPage - 1) & ~(kPage - 1);
  }

  // array_map_mem_usage.
  uint64_t mem_usage(const Map& map) const override {
    const uint64_t entries = map.attr().max_entries;
    uint64_t usage = struct_sizes(map.profile()).bpf_array;
    if (percpu_) return usage + entries * sizeof(void*) + entries * stride(map) * map.nr_cpus();
    if (map.attr().map_flags & BPF_F_MMAPABLE)
      return ((usage + kPage - 1) & ~(kPage - 1)) + ((entries * stride(map) + kPage - 1) & ~(kPage - 1));
    return usage + entries * stride(map);
  }

  // Global data lives in plain arrays: programs address their values directly.
  bool direct_value_access(const Map&) const override { return !percpu_; }

  // The verifier inlines array lookups (array_map_gen_lookup).
  void gen_lookup(Map& map, prog::InlineLookup* out) const override {
    const uint32_t cpus = percpu_ ? map.nr_cpus() : 1;
    *out = prog::InlineLookup{};
    out->base = map.data();
    out->elem_stride = uint64_t{stride(map)} * cpus;
    out->cpu_stride = percpu_ ? stride(map) : 0;
    out->max_entries = map.attr().max_entries;
    out->nr_cpus = map.nr_cpus();
  }

 private:
  struct FastCache {
    uint8_t* base;
    uint32_t stride;
    uint32_t max_entries;
  };

  template <bool kValue8>
  static int fast_lookup(Map& map, const void* ukey, void* uvalue) {
    uint32_t i;
    if (!emu::get_user(&i, ukey)) return -EFAULT;
    const auto& c = map.view_cache<FastCache>();
    if (i >= c.max_entries) return -ENOENT;
    const uint8_t* p = c.base + uint64_t{i} * c.stride;
    if constexpr (kValue8) {
      uint64_t v;
      memcpy(&v, p, sizeof(v));
      if (emu::put_user(uvalue, v)) [[likely]]
        return 0;
      return emu::copy_to_user(uvalue, &v, sizeof(v));
    }
    return emu::copy_to_user(uvalue, p, map.attr().value_size);
  }

  static int fast_update8(Map& map, const void* ukey, const void* uvalue, uint64_t flags) {
    uint32_t i;
    uint64_t v;
    if (!emu::get_user(&i, ukey) || !emu::get_user(&v, uvalue)) return -EFAULT;
    if (flags > BPF_EXIST) return -EINVAL;  // BPF_F_LOCK never comes here
    const auto& c = map.view_cache<FastCache>();
    if (i >= c.max_entries) return -E2BIG;
    if (flags == BPF_NOEXIST) return -EEXIST;
    memcpy(c.base + uint64_t{i} * c.stride, &v, sizeof(v));
    return 0;
  }

  static uint32_t index(const void* key) {
    uint32_t i;
    memcpy(&i, key, sizeof(i));
    return i;
  }
  static uint32_t stride(const Map& map) { return emu::round_up8(map.attr().value_size); }
  uint8_t* slot(const Map& map, uint32_t i, uint32_t cpu) const {
    uint64_t n = percpu_ ? uint64_t{i} * map.nr_cpus() + cpu : i;
    return map.data() + n * stride(map);
  }

  int update_common(Map& map, const void* key, const void* value, uint64_t flags, bool all_cpus) const {
    uint32_t i = index(key);
    if (percpu_ && all_cpus) {
      if (flags > BPF_EXIST) return -EINVAL;
      if (i >= map.attr().max_entries) return -E2BIG;
      if (flags == BPF_NOEXIST) return -EEXIST;
      // User space supplies round_up(value_size, 8) bytes per CPU, padding included.
      for (uint32_t cpu = 0; cpu < map.nr_cpus(); ++cpu)
        emu::value_copy_in(map.attr().record, slot(map, i, cpu),
                           static_cast<const uint8_t*>(value) + uint64_t{stride(map)} * cpu, stride(map), false);
      return 0;
    }
    if ((flags & ~uint64_t{BPF_F_LOCK}) > BPF_EXIST) return -EINVAL;
    if (i >= map.attr().max_entries) return -E2BIG;
    if (flags & BPF_NOEXIST) return -EEXIST;
    if ((flags & BPF_F_LOCK) && !has_spin_lock(map)) return -EINVAL;
    if (percpu_) {
      emu::value_copy_in(map.attr().record, slot(map, i, map.current_cpu()), value, map.attr().value_size, false);
    } else {
      emu::value_copy_in(map.attr().record, slot(map, i, 0), value, map.attr().value_size, flags & BPF_F_LOCK);
      // As the kernel's array_map_update_elem: the element's timer goes.
      emu::value_free_fields(map, slot(map, i, 0));
    }
    return 0;
  }

  bool percpu_;
};

const ArrayOps kArray(false);
const ArrayOps kPercpuArray(true);

}  // namespace

int array_get_next_key(const Map& map, const void* key, void* next_key) {
  uint32_t i = UINT32_MAX;
  if (key != nullptr) memcpy(&i, key, sizeof(i));
  const uint32_t max = map.attr().max_entries;
  if (i < max && i + 1 == max) return -ENOENT;
  const uint32_t next = i < max ? i + 1 : 0;
  memcpy(next_key, &next, sizeof(next));
  return 0;
}

const MapOps& kArrayOps = kArray;
const MapOps& kPercpuArrayOps = kPercpuArray;

}  // namespace bpfemu::maptypes
