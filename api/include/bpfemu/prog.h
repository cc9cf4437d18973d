// Program-side access to emulated maps: what a BPF program's helper calls do.
//
// bpf_map_lookup_elem() in a program returns a pointer into the map's value
// (the current CPU's slot for per-CPU maps) that stays valid as long as the
// kernel's would (elements are preallocated in the map's region), sets the LRU
// reference bit, and so on. Code written like a BPF program can be compiled
// natively against these and run against the same maps a test inspects through
// the syscall-style Backend API.
#pragma once

#include <cstdint>
#include <cstring>

#include "bpfemu/detail/flat_hash.h"

namespace bpfemu::emu {
class Map;
}  // namespace bpfemu::emu

namespace bpfemu::prog {

namespace detail {
// The calling thread's CPU wrapped into [0, nr_cpus) (see emu/cpu.h).
uint32_t cpu_below(uint32_t nr_cpus);
}  // namespace detail

// Resolves a map fd once; the handle is cheap to copy and valid while the map is.
class MapRef {
 public:
  MapRef() = default;
  // An invalid ref (valid() == false) when fd is not an emulated map.
  explicit MapRef(int map_fd);
  bool valid() const { return map_ != nullptr; }

  // bpf_map_lookup_elem: pointer to the value or nullptr. Arrays are looked up
  // inline, as the kernel's verifier inlines array lookups into the program;
  // so is the common case in a HASH map with 4-byte keys (the rest of its
  // lookup is a direct call, as the verifier makes it).
  void* lookup(const void* key) const {
    if (array_.base == nullptr) {
      if (hash_.base != nullptr) {
        if (hash_slot16_) {
          bpfemu::detail::FlatHit16 hit;
          if (bpfemu::detail::flat_near_home16(hash_, key, &hit)) return hit.slot + 8;
        } else {
          bpfemu::detail::FlatHit hit;
          if (bpfemu::detail::flat_near_home<4>(hash_, key, &hit)) return hit.slot + hash_.value_off;
        }
      }
      if (lookup_fn_ != nullptr) return lookup_fn_(*static_cast<emu::Map*>(map_), key);
      return lookup_call(key);
    }
    uint32_t i;
    std::memcpy(&i, key, sizeof(i));
    if (i >= array_.max_entries) return nullptr;
    uint8_t* p = array_.base + i * array_.elem_stride;
    if (array_.cpu_stride != 0) p += uint64_t{detail::cpu_below(array_.nr_cpus)} * array_.cpu_stride;
    return p;
  }
  // bpf_map_update_elem: 0 or -errno (program-side: per-CPU maps update only the
  // current CPU's slot).
  long update(const void* key, const void* value, uint64_t flags) const;
  // bpf_map_delete_elem.
  long remove(const void* key) const;
  // bpf_for_each_map_elem: cb returns 0 to continue, 1 to stop; the result is the
  // number of elements visited (the stopping one included) or -errno.
  using Callback = long (*)(const MapRef& map, const void* key, void* value, void* ctx);
  long for_each(Callback cb, void* ctx, uint64_t flags = 0) const;

 private:
  void* lookup_call(const void* key) const;

  void* map_ = nullptr;  // emu::Map*
  void* (*lookup_fn_)(emu::Map&, const void*) = nullptr;  // the family's direct lookup, if it has one
  struct {
    uint8_t* base = nullptr;  // set for plain arrays only
    uint64_t elem_stride = 0;
    uint32_t cpu_stride = 0;
    uint32_t max_entries = 0;
    uint32_t nr_cpus = 1;
  } array_;
  bpfemu::detail::FlatHashLayout hash_;  // base set for open-addressing HASH maps with 4-byte keys
  bool hash_slot16_ = false;             // ... whose slots are 16 bytes (detail::flat_near_home16)
};

// One-shot forms of the above, by fd.
void* map_lookup_elem(int map_fd, const void* key);
long map_update_elem(int map_fd, const void* key, const void* value, uint64_t flags);
long map_delete_elem(int map_fd, const void* key);

}  // namespace bpfemu::prog
