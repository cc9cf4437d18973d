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

namespace bpfemu::prog {

namespace detail {
// The calling thread's CPU wrapped into [0, nr_cpus) (see bpfemu/controls.h).
uint32_t cpu_below(uint32_t nr_cpus);
}  // namespace detail

// How a program-side lookup of one map is made, as its map family says (the
// kernel's map_gen_lookup, which the verifier uses to inline lookups): arrays
// are indexed in place; every other map is one direct call of its family's
// lookup. Fixed for the map's lifetime.
struct InlineLookup {
  // Set for plain arrays: value i (CPU c) is at base + i * elem_stride + c * cpu_stride.
  uint8_t* base = nullptr;
  uint64_t elem_stride = 0;
  uint32_t cpu_stride = 0;  // 0 unless per-CPU
  uint32_t max_entries = 0;
  uint32_t nr_cpus = 1;
  // Otherwise: call(map, key).
  void* (*call)(void* map, const void* key) = nullptr;
  void* map = nullptr;
};

// Resolves a map fd once; the handle is cheap to copy and valid while the map is.
class MapRef {
 public:
  MapRef() = default;
  // An invalid ref (valid() == false) when fd is not an emulated map.
  explicit MapRef(int map_fd);
  bool valid() const { return map_ != nullptr; }

  // bpf_map_lookup_elem: pointer to the value or nullptr. Arrays are looked up
  // inline, as the kernel's verifier inlines array lookups into the program;
  // other maps call their family's lookup directly, as the verifier makes it.
  void* lookup(const void* key) const {
    if (gen_.base == nullptr) return gen_.call(gen_.map, key);
    uint32_t i;
    std::memcpy(&i, key, sizeof(i));
    if (i >= gen_.max_entries) return nullptr;
    uint8_t* p = gen_.base + i * gen_.elem_stride;
    if (gen_.cpu_stride != 0) p += uint64_t{detail::cpu_below(gen_.nr_cpus)} * gen_.cpu_stride;
    return p;
  }
  // bpf_map_update_elem: 0 or -errno (program-side: per-CPU maps update only the
  // current CPU's slot).
  long update(const void* key, const void* value, uint64_t flags) const;
  // bpf_map_delete_elem.
  long remove(const void* key) const;
  // bpf_map_push_elem, bpf_map_pop_elem, bpf_map_peek_elem (QUEUE, STACK;
  // push and peek also serve BLOOM_FILTER).
  long push(const void* value, uint64_t flags) const;
  long pop(void* value) const;
  long peek(void* value) const;
  // bpf_map_lookup_percpu_elem: the value of CPU `cpu` of a per-CPU map.
  void* lookup_percpu(const void* key, uint32_t cpu) const;
  // bpf_for_each_map_elem: cb returns 0 to continue, 1 to stop; the result is the
  // number of elements visited (the stopping one included) or -errno.
  using Callback = long (*)(const MapRef& map, const void* key, void* value, void* ctx);
  long for_each(Callback cb, void* ctx, uint64_t flags = 0) const;
  // Ring buffers (RINGBUF): bpf_ringbuf_output (0, -EINVAL for unknown flags,
  // -EAGAIN when the record does not fit); bpf_ringbuf_reserve (the record's
  // data, or nullptr), which must be followed by ringbuf_submit or
  // ringbuf_discard of that pointer on this map; bpf_ringbuf_query
  // (BPF_RB_AVAIL_DATA, _RING_SIZE, _CONS_POS, _PROD_POS). flags take
  // BPF_RB_NO_WAKEUP / BPF_RB_FORCE_WAKEUP as in the kernel.
  long ringbuf_output(const void* data, uint64_t size, uint64_t flags = 0) const;
  void* ringbuf_reserve(uint64_t size, uint64_t flags = 0) const;
  void ringbuf_submit(void* data, uint64_t flags = 0) const;
  void ringbuf_discard(void* data, uint64_t flags = 0) const;
  uint64_t ringbuf_query(uint64_t flags) const;
  // bpf_perf_event_output on a PERF_EVENT_ARRAY: `size` bytes into the perf
  // event in slot flags & BPF_F_INDEX_MASK (BPF_F_CURRENT_CPU: the current
  // CPU's), as a tracing program's call: 0 or the kernel's -errno.
  long perf_event_output(const void* data, uint64_t size, uint64_t flags = 0xffffffffULL /* BPF_F_CURRENT_CPU */) const;
  // bpf_spin_lock / bpf_spin_unlock: `lock` is the struct bpf_spin_lock of a
  // value of this map (one lookup() returned; the map was created with a BTF
  // value type that has the lock). The lock serialises with the same value's
  // lock in other threads and processes, in programs and in BPF_F_LOCK
  // syscalls. 0, or -EINVAL when `lock` is not that lock, -EDEADLK when this
  // thread holds it already (spin_lock), -EPERM when it does not hold it
  // (spin_unlock). As in a BPF program, hold one lock at a time, briefly.
  long spin_lock(void* lock) const;
  long spin_unlock(void* lock) const;

 private:
  static void* no_map(void*, const void*) { return nullptr; }

  void* map_ = nullptr;  // the emulator's view of the map
  InlineLookup gen_{nullptr, 0, 0, 0, 1, no_map, nullptr};
};

// One-shot forms of the above, by fd.
void* map_lookup_elem(int map_fd, const void* key);
long map_update_elem(int map_fd, const void* key, const void* value, uint64_t flags);
long map_delete_elem(int map_fd, const void* key);

}  // namespace bpfemu::prog
