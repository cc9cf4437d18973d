// The LRU's shared-memory layout and list primitives, for bpf_lru_list.cc and
// bpf_lru_repair.cc only (not part of the LRU's interface).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include <boost/intrusive/circular_list_algorithms.hpp>

#include "core/faults.h"
#include "core/spinlock.h"
#include "maptypes/bpf_lru_list.h"

namespace bpfemu::maptypes::lru_detail {

using boost::interprocess::offset_ptr;
using emu::SpinLock;

inline constexpr uint32_t kMagic = 0x4c525531;  // "LRU1"
inline constexpr uint8_t kActive = static_cast<uint8_t>(LruListType::kActive);
inline constexpr uint8_t kInactive = static_cast<uint8_t>(LruListType::kInactive);
inline constexpr uint8_t kFree = static_cast<uint8_t>(LruListType::kFree);
inline constexpr uint8_t kLocalFree = static_cast<uint8_t>(LruListType::kLocalFree);
inline constexpr uint8_t kLocalPending = static_cast<uint8_t>(LruListType::kLocalPending);
inline constexpr uint8_t kInTransit = static_cast<uint8_t>(LruListType::kInTransit);
inline constexpr uint8_t kNrCounted = 2;  // NR_BPF_LRU_LIST_COUNT: active and inactive

// struct bpf_lru_list: a global (common) or per-CPU (percpu) set of lists. The lock
// gets its own cache line, as ____cacheline_aligned_in_smp does in the kernel.
struct alignas(64) LruListSet {
  LruLink lists[3];  // indexed by kActive, kInactive, kFree
  uint32_t counts[kNrCounted];
  // Where the next inactive rotation starts: a node of the inactive list or its head.
  offset_ptr<LruLink> next_inactive_rotation;
  alignas(64) SpinLock lock;
};

// struct bpf_lru_locallist: one CPU's free and pending lists (common LRU only).
struct alignas(64) LruLocalList {
  LruLink free_list;     // lists[LOCAL_FREE_LIST_IDX]
  LruLink pending_list;  // lists[LOCAL_PENDING_LIST_IDX]
  // Written without a lock by the owning CPU; atomic because two emulated threads
  // may claim the same CPU.
  std::atomic<uint16_t> next_steal;
  SpinLock lock;
};

struct LinkTraits {
  using node = LruLink;
  using node_ptr = LruLink*;
  using const_node_ptr = const LruLink*;
  static node_ptr get_next(const_node_ptr n) { return n->next.get(); }
  static void set_next(node_ptr n, node_ptr next) { n->next = next; }
  static node_ptr get_previous(const_node_ptr n) { return n->prev.get(); }
  static void set_previous(node_ptr n, node_ptr prev) { n->prev = prev; }
};
using Algo = boost::intrusive::circular_list_algorithms<LinkTraits>;

// list.h equivalents.
inline void list_add(LruLink* link, LruLink* head) { Algo::link_after(head, link); }
inline void list_del(LruLink* link) { Algo::unlink(link); }
inline void list_move(LruLink* link, LruLink* head) {
  Algo::unlink(link);
  emu::crash_point("lru.list.moving");
  Algo::link_after(head, link);
}
inline bool list_empty(const LruLink* head) { return Algo::is_empty(head); }
inline LruNode* node_of(LruLink* link) { return reinterpret_cast<LruNode*>(link); }

inline uint8_t type_of(const LruNode* n) { return n->type.load(std::memory_order_relaxed); }
inline void set_type(LruNode* n, uint8_t t) { n->type.store(t, std::memory_order_relaxed); }
inline void clear_ref(LruNode* n) { n->ref.store(0, std::memory_order_relaxed); }
inline bool is_local_type(uint8_t t) { return t >= kLocalFree; }

constexpr size_t align_up(size_t v, size_t a) { return (v + a - 1) / a * a; }
constexpr size_t header_bytes() { return align_up(sizeof(BpfLru), BpfLru::kAlign); }

// Block layout after the BpfLru header. Common: [global set][local list x nr_cpus].
// Per-CPU: [set x nr_cpus].
inline LruListSet* list_sets(BpfLru* lru) {
  return reinterpret_cast<LruListSet*>(reinterpret_cast<char*>(lru) + header_bytes());
}
inline LruLocalList* local_lists(BpfLru* lru) { return reinterpret_cast<LruLocalList*>(list_sets(lru) + 1); }

// Rebuilds the lists a lock guards after the lock was taken over from a dead
// holder (bpf_lru_repair.cc). The caller holds that lock.
struct Repair {
  // A list set: the common LRU's global one (cpu < 0) or a per-CPU one.
  static void list_set(BpfLru* lru, LruListSet& l, int cpu);
  // The common LRU's local lists of `cpu`.
  static void local_list(BpfLru* lru, LruLocalList& loc, int cpu);
};

// Holds a list set's (or a local list's) lock for a scope, repairing first when the
// lock was taken over from a dead process.
class SetGuard {
 public:
  SetGuard(BpfLru* lru, LruListSet& l, int cpu) : lock_(l.lock) {
    if (lock_.lock_recovering()) Repair::list_set(lru, l, cpu);
  }
  SetGuard(BpfLru* lru, LruLocalList& loc, int cpu) : lock_(loc.lock) {
    if (lock_.lock_recovering()) Repair::local_list(lru, loc, cpu);
  }
  ~SetGuard() { lock_.unlock(); }
  SetGuard(const SetGuard&) = delete;
  SetGuard& operator=(const SetGuard&) = delete;

 private:
  SpinLock& lock_;
};

}  // namespace bpfemu::maptypes::lru_detail
