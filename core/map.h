// One emulated BPF map as this process sees it.
//
// The map's whole state lives in its Region: the family-specific data area first
// (so an mmapable array's values sit at file offset 0, as the kernel maps them),
// then the header page (ObjHeader, then MapHeader's own fields). A Map is only a
// per-process view of that region (core/object.h).
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>

#include "core/cpu.h"
#include "core/object.h"
#include "core/profile.h"
#include "core/region.h"
#include "core/spinlock.h"

namespace bpfemu::maptypes {
class MapOps;
}

namespace bpfemu::emu {

// The special fields of a map's value that the emulator keeps (the kernel's
// btf_record), found in the value's BTF type when the map is created
// (emu/btf_fields.cc). bpf_spin_lock, bpf_timer and __kptr are emulated. All
// zero: a plain value.
struct ValueRecord {
  static constexpr uint32_t kMaxFields = 11;  // BTF_FIELDS_MAX
  static constexpr uint32_t kTimerSize = 16;  // sizeof(struct bpf_timer)
  uint32_t lock_count;             // bpf_spin_lock words in the value
  uint32_t lock_off;               // the one BPF_F_LOCK and bpf_spin_lock take
  uint32_t lock_offs[kMaxFields];  // every lock word, ascending
  uint32_t timer_count;            // 0 or 1: the kernel allows one bpf_timer
  uint32_t timer_off;              // where it sits (emu/timer.h keeps its state)
  // The other special fields (kptrs, bpf_wq, bpf_refcount, bpf_list_head,
  // bpf_rb_root): syscalls read them as zero and never write them; programs
  // fill kptrs with bpf_kptr_xchg.
  uint32_t other_count;
  uint32_t other_offs[kMaxFields];
  uint32_t other_sizes[kMaxFields];
  uint32_t other_refcounts;  // bit i: other field i is a bpf_refcount, which reads as 1
  uint32_t other_kptrs;      // bit i: other field i is a __kptr, which programs fill (emu/local_obj.h)
  uint32_t other_wqs;        // bit i: other field i is a bpf_wq (emu/timer.h keeps its state)
  uint32_t other_graphs;     // bit i: other field i is a bpf_list_head or bpf_rb_root (emu/graph.h)
  bool has_lock() const { return lock_count != 0; }
  bool has_timer() const { return timer_count != 0; }
  // Whether syscall copies must go around special fields.
  bool has_fields() const { return lock_count != 0 || timer_count != 0 || other_count != 0; }
};

// The create attributes the kernel keeps (bpf_attr's map_create part).
struct MapAttr {
  uint32_t map_type = 0;
  uint32_t key_size = 0;
  uint32_t value_size = 0;
  uint32_t max_entries = 0;
  uint32_t map_flags = 0;
  uint32_t inner_map_fd = 0;
  uint32_t numa_node = 0;
  char map_name[16] = {0};
  uint32_t map_ifindex = 0;
  // As given to BPF_MAP_CREATE; in a map's header, the id of the BTF object the
  // map holds (0: none), since an fd means nothing to other processes.
  uint32_t btf_fd = 0;
  uint32_t btf_key_type_id = 0;
  uint32_t btf_value_type_id = 0;
  uint32_t btf_vmlinux_value_type_id = 0;
  uint64_t map_extra = 0;
  // 6.18's exclusive-program hash: the caller's pointer to a SHA-256 digest and
  // its size, as given to BPF_MAP_CREATE (the header keeps neither).
  uint64_t excl_prog_hash = 0;
  uint32_t excl_prog_hash_size = 0;
  // Not a create attribute: what map_check_btf found in the value type, set by
  // sys_map_create (callers leave it zero). Kept with the attributes so that
  // every process's view, and MapOps::variant_for, see it.
  ValueRecord record{};
};

// The map's part of its header page (after the ObjHeader every kind has). Room
// for a family's fixed state (counters, seeds, list heads) so families need no
// separate allocation for it.
struct MapHeader {
  static constexpr size_t kFamilyStateSize = 2048;

  ObjHeader obj;
  uint32_t nr_cpus;  // possible CPUs when created; per-CPU layouts use this
  MapAttr attr;
  char profile[16];  // kernel profile the map was created under
  std::atomic<uint32_t> frozen;
  SpinLock freeze_lock;
  uint32_t has_excl_prog;         // excl_prog_sha is set: only that program may use the map
  uint8_t excl_prog_sha[32];
  alignas(64) uint8_t family[kFamilyStateSize];
};
static_assert(sizeof(MapHeader) <= kHeaderPage);

class Map;

// A view's entry points for the syscall layer's common case: the handle's
// access is checked, key and value are non-null, lookup flags are 0 and update
// flags lack BPF_F_LOCK. Each answers exactly what the family's ops would; the
// family picks them when the view is made (MapOps::bind_view), specialised for
// the map's geometry, so the common case is one indirect call.
// Their key and value are emulator memory (the syscall layer copies between
// them and the caller; key_size and value_size, kept here, say how much),
// except for an op marked as taking the caller's pointers: that one reads the
// key and value and writes the value itself, through core/uaccess.h (see
// user_fast_lookup8 / user_fast_update8 in core/map_ops.h).
struct FastOps {
  static constexpr uint16_t kLookupTakesUser = 1;
  static constexpr uint16_t kUpdateTakesUser = 2;

  int (*lookup)(Map& map, const void* key, void* value);
  int (*update)(Map& map, const void* key, const void* value, uint64_t flags);
  uint16_t key_size = 0;    // 0 when above 0xffff (never the fast path's)
  uint16_t user = 0;        // kLookupTakesUser | kUpdateTakesUser
  uint32_t value_size = 0;  // as syscalls copy it (all CPUs for per-CPU maps)
};

class Map final : public Object {
 public:
  // The region's header must be filled in (its profile name included).
  Map(const maptypes::MapOps& ops, Region&& region)
      : Object(ObjKind::kMap, std::move(region)),
        ops_(ops),
        hdr_(this->region().at<MapHeader>(this->region().size() - kHeaderPage)),
        profile_(find_profile(hdr_->profile)) {
    if (profile_ == nullptr) profile_ = &active_profile();  // made by a build with other profiles
  }

  const maptypes::MapOps& ops() const { return ops_; }
  const MapAttr& attr() const { return hdr_->attr; }
  MapHeader& header() const { return *hdr_; }
  // Bytes of the family's data area at offset 0.
  uint64_t data_size() const { return hdr_->obj.data_size; }
  uint32_t nr_cpus() const { return hdr_->nr_cpus; }
  // The calling thread's CPU as this map sees it: below nr_cpus() even when the
  // possible-CPU count was raised after the map was made (ids wrap around).
  uint32_t current_cpu() const { return current_cpu_below(nr_cpus()); }
  // The kernel profile the map was created under (resolved once per view).
  const KernelProfile& profile() const { return *profile_; }
  bool frozen() const { return hdr_->frozen.load(std::memory_order_acquire) != 0; }

  // The family's fixed state inside the header page.
  template <class T>
  T& state() const {
    static_assert(sizeof(T) <= MapHeader::kFamilyStateSize);
    return *reinterpret_cast<T*>(hdr_->family);
  }

  const FastOps& fast() const { return fast_; }
  void set_fast(const FastOps& f) {
    const uint32_t ks = fast_.key_size, vs = fast_.value_size;
    fast_ = f;
    fast_.key_size = ks;
    fast_.value_size = vs;
  }
  void set_fast_sizes(uint32_t key_size, uint32_t value_size) {
    fast_.key_size = key_size <= 0xffff ? static_cast<uint16_t>(key_size) : 0xffff;
    fast_.value_size = value_size;
  }
  // What the fast ops keep of this view (process-local pointers into the
  // region, geometry), beside them so one cache line serves a call.
  template <class T>
  T& view_cache() {
    static_assert(sizeof(T) <= sizeof(view_cache_) && alignof(T) <= kViewCacheAlign);
    return *reinterpret_cast<T*>(view_cache_);
  }
  template <class T>
  const T& view_cache() const {
    return const_cast<Map*>(this)->view_cache<T>();
  }

 private:
  // The fast path reads this line of the view and nothing else.
  static constexpr size_t kViewCacheAlign = 8;
  alignas(64) FastOps fast_{};
  alignas(kViewCacheAlign) unsigned char view_cache_[40] = {};
  const maptypes::MapOps& ops_;
  MapHeader* hdr_;
  const KernelProfile* profile_;
};

// True when `bytes` of eagerly allocated kernel memory could be had on this host
// (families that preallocate use it to answer ENOMEM like the kernel's allocator).
bool fits_in_memory(uint64_t bytes);

inline uint32_t round_up8(uint32_t v) { return (v + 7U) & ~7U; }

}  // namespace bpfemu::emu
