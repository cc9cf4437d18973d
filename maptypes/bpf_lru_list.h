// The kernel's BPF LRU algorithm (kernel/bpf/bpf_lru_list.c, as of Linux 6.18),
// reimplemented for maps whose storage is a shared-memory region.
//
// LRU_HASH / LRU_PERCPU_HASH never fail an insert for lack of room: they take a
// free node from this allocator, which evicts old elements (through a callback
// into the hash table) when nothing is free. Which key gets evicted is observable,
// so every list operation, scan limit and batch size follows the kernel exactly.
//
// Two flavours, chosen at init:
//  - common LRU (default): one global set of lists {active, inactive, free} under
//    one lock, plus per-CPU "local" lists {free, pending}. A CPU takes nodes from
//    its local free list; when that is empty it moves a batch of `target_free`
//    nodes from the global free list (evicting from the inactive tail when the
//    global free list runs short); when even that yields nothing it steals one node
//    from some CPU's local free or pending list, round-robin.
//  - per-CPU LRU (BPF_F_NO_COMMON_LRU): each CPU has its own {active, inactive,
//    free} set; nodes never change CPU; eviction batch is 4.
//
// Invariants:
//  - All state (headers, lists, locks, cursors) lives in one caller-provided block
//    of footprint() bytes, 64-byte aligned; the nodes live in the same mapping
//    (embedded in hash-table elements). Links are self-relative offset_ptrs, so the
//    block and its nodes work at any address and in any process, as long as the
//    whole region is mapped as one piece. The block must never be memcpy'd.
//  - Every node is on exactly one list, and node.type names that list, except
//    transiently inside pop_free (between taking a node and handing it out).
//  - Lock order: local list lock -> global list lock -> (del_from_htab's bucket
//    lock). The hash table must never call pop_free/push_free while holding a
//    bucket lock, and del_from_htab must not call back into this object.
//  - A process that dies holding list locks leaves lists half-linked. The next
//    taker of such a lock rebuilds the lists it guards from the nodes' types (and
//    owning CPUs): every node's type names the list it belongs on at every moment a
//    lock is released, so each lock's lists can be rebuilt alone (bpf_lru_repair.cc).
//  - The "current CPU" is an explicit argument; nr_cpus is the possible-CPU count
//    and CPUs are numbered 0..nr_cpus-1 (contiguous, like cpu_possible_mask here).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

#include <boost/interprocess/offset_ptr.hpp>

#include "core/spinlock.h"

namespace bpfemu::maptypes {

namespace lru_detail {
struct Repair;
}

// enum bpf_lru_list_type. The first three index a list set's lists; the last two
// are the per-CPU local lists of the common LRU. Only active/inactive are counted.
enum class LruListType : uint8_t {
  kActive = 0,
  kInactive = 1,
  kFree = 2,
  kLocalFree = 3,
  kLocalPending = 4,
  // Between two CPUs' local lists (taken by a steal, not yet added to the thief's
  // pending list): on no list. Only a dead thief leaves a node here for good.
  kInTransit = 5,
};

// A circular doubly-linked list link (the kernel's struct list_head). A list head is
// a bare LruLink; an empty list's head points to itself.
struct LruLink {
  boost::interprocess::offset_ptr<LruLink> next;
  boost::interprocess::offset_ptr<LruLink> prev;
};

// struct bpf_lru_node, embedded in each hash-table element at a fixed offset. The
// fields are atomics only because the kernel reads them outside the list locks
// (READ_ONCE/WRITE_ONCE); all accesses are relaxed, ordering comes from the locks.
struct LruNode {
  LruLink link;                // must stay first: a node's address is its link's
  std::atomic<uint16_t> cpu;   // common: CPU whose pending list holds it; percpu: owner
  std::atomic<uint8_t> type;   // an LruListType
  std::atomic<uint8_t> ref;    // "accessed since last rotation" (bpf_lru_node_set_ref)

  LruListType list_type() const { return static_cast<LruListType>(type.load(std::memory_order_relaxed)); }
  bool is_ref() const { return ref.load(std::memory_order_relaxed) != 0; }
};
static_assert(offsetof(LruNode, link) == 0);
static_assert(std::is_standard_layout_v<LruNode>);

class BpfLru {
 public:
  // Called with LRU locks held to unlink an eviction candidate from the hash table;
  // returns false if the node is not (or no longer) in the table, or the table could
  // not lock its bucket. The kernel keeps this pointer in struct bpf_lru; ours is
  // passed per call because function pointers differ between processes.
  using DelFromHtab = bool (*)(void* arg, LruNode* node);

  static constexpr uint32_t kLocalFreeTarget = 128;  // LOCAL_FREE_TARGET: 6.1 batch, later the cap
  static constexpr uint32_t kLocalNrScans = 128;     // LOCAL_NR_SCANS (not scaled by 6.16+)
  static constexpr uint32_t kPercpuFreeTarget = 4;   // PERCPU_FREE_TARGET
  static constexpr uint32_t kPercpuNrScans = 4;      // PERCPU_NR_SCANS
  static constexpr size_t kAlign = 64;               // required alignment of the block
  static constexpr int32_t kNoHashSlot = INT32_MIN;  // hash_offset value: don't store the hash

  struct Params {
    uint32_t nr_cpus = 1;       // possible CPUs, 1..65536 (node->cpu is 16 bits, like the kernel)
    bool percpu = false;        // BPF_F_NO_COMMON_LRU
    // Where pop_free stores the element's hash, in bytes from the LruNode (the
    // kernel's hash_offset = offsetof(htab_elem, hash) - offsetof(htab_elem, lru_node));
    // must be 4-byte aligned. The store is atomic, so lockless readers may race it.
    int32_t hash_offset = kNoHashSlot;
    // Common LRU only: nodes moved from the global to a local free list per refill.
    // target_free_for(max_entries, nr_cpus) for 6.16+ kernels, kLocalFreeTarget for 6.1.
    uint32_t target_free = kLocalFreeTarget;
  };

  // 6.16+ (commit d4adf1c9ee77, "bpf: lru: adjust free target to avoid global table
  // starvation"): clamp((nr_elems / nr_cpus) / 2, 1, 128), so all CPUs' local caches
  // together hold at most half the map. nr_elems is the map's max_entries.
  static uint32_t target_free_for(uint32_t nr_elems, uint32_t nr_cpus);

  // Bytes of block needed for this many CPUs and flavour.
  static size_t footprint(uint32_t nr_cpus, bool percpu);
  // Constructs the LRU state in a zero-filled block of footprint() bytes (aligned to
  // kAlign). Returns nullptr on invalid parameters or misalignment.
  static BpfLru* init(void* block, const Params& params);
  // The LRU constructed in `block` by init(), possibly through another mapping or in
  // another process; nullptr if the block does not hold one.
  static BpfLru* attach(void* block);

  // bpf_lru_populate: puts nr_elems nodes on the free list(s). Node i lives at
  // buf + i * elem_size + node_offset. Common: all on the global free list (each
  // added at the head). Per-CPU: nr_elems / nr_cpus consecutive nodes per CPU.
  // Call once, before any other op, with elements inside the same mapping.
  void populate(void* buf, uint32_t node_offset, uint32_t elem_size, uint32_t nr_elems);

  // bpf_lru_pop_free: a node for a new element, on behalf of CPU `cpu`; stores
  // `hash` at the node's hash slot before the node becomes visible to other CPUs.
  // Common: the node is put on cpu's pending list with ref cleared. Per-CPU: the
  // node goes to the head of cpu's inactive list. nullptr if nothing could be
  // freed (the hash table then fails the update with ENOMEM).
  LruNode* pop_free(uint32_t hash, int cpu, DelFromHtab del_from_htab, void* arg);

  // bpf_lru_push_free: returns a node whose element was removed from the table.
  // Uses node->cpu, never the caller's CPU: a pending node goes back to the free list
  // of the CPU that popped it; otherwise (common) to the global free list or
  // (per-CPU) to its owner's free list. Pushing an already-free node (common) is
  // ignored with a warning, as the kernel's WARN_ON_ONCE does.
  void push_free(LruNode* node);

  // bpf_lru_node_set_ref: program-side lookups (and an update that replaces an
  // existing key) mark the node; rotations and moves clear it. Writes only when not
  // already set, to keep the cache line clean. No lock, as in the kernel.
  static void set_ref(LruNode* node) {
    if (!node->ref.load(std::memory_order_relaxed)) node->ref.store(1, std::memory_order_relaxed);
  }

  // --- introspection (tests, conformance debugging); each takes the list's lock ---
  bool percpu() const { return percpu_ != 0; }
  uint32_t nr_cpus() const { return nr_cpus_; }
  uint32_t target_free() const { return target_free_; }
  uint32_t nr_scans() const { return nr_scans_; }
  // Nodes of one list, head (most recently added) to tail. `cpu` selects the per-CPU
  // list set (percpu) or local list (kLocalFree/kLocalPending); ignored for the
  // common LRU's global lists.
  std::vector<LruNode*> list_nodes(LruListType list, int cpu = 0);
  // counts[] of active/inactive kept by the kernel (0 for other lists).
  uint32_t list_count(LruListType list, int cpu = 0);
  // The inactive-rotation cursor: the node the next rotation starts at, or nullptr
  // when it rests on the list head.
  LruNode* next_inactive_rotation(int cpu = 0);
  // Common LRU: the CPU cpu's next steal attempt starts at.
  int next_steal(int cpu);
  // Number of kernel WARN_ON_ONCE conditions hit (0 in a correct caller).
  uint64_t warnings() const { return warnings_.load(std::memory_order_relaxed); }

  BpfLru(const BpfLru&) = delete;
  BpfLru& operator=(const BpfLru&) = delete;

 private:
  friend struct lru_detail::Repair;
  BpfLru() = default;
  void warn() { warnings_.fetch_add(1, std::memory_order_relaxed); }
  LruNode* common_pop_free(uint32_t hash, int cpu, DelFromHtab del, void* arg);
  LruNode* percpu_pop_free(uint32_t hash, int cpu, DelFromHtab del, void* arg);
  void store_hash(LruNode* node, uint32_t hash) const;

  std::atomic<uint32_t> magic_{0};  // set last by init(), so attach() sees a finished LRU
  uint32_t nr_cpus_ = 0;
  uint32_t percpu_ = 0;
  int32_t hash_offset_ = kNoHashSlot;
  uint32_t target_free_ = 0;
  uint32_t nr_scans_ = 0;
  std::atomic<uint64_t> warnings_{0};
  // Where populate() put the nodes, for repairs after a dead lock holder.
  boost::interprocess::offset_ptr<char> nodes_;
  uint32_t node_offset_ = 0;
  uint32_t node_stride_ = 0;
  uint32_t nr_nodes_ = 0;
};

}  // namespace bpfemu::maptypes
