// Shared declarations of the hash-table family (hashtab.cc, hashtab_lru.cc).
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>

#include "core/arch.h"
#include "core/spinlock.h"
#include "core/map_ops.h"

namespace bpfemu::maptypes {

// 16 bytes, like the kernel's struct bucket. Writers hold `lock` and make `seq`
// odd while they edit the chain (a seqlock), so lookups can walk the chain
// without writing to shared memory — our stand-in for the kernel's RCU readers.
// `replacing` names the element an update is replacing while both are linked,
// so that a writer killed in between can be finished by the next one.
struct Bucket {
  std::atomic<uint32_t> head;  // first element index, 0 = empty
  emu::SpinLock lock;
  std::atomic<uint32_t> seq;
  std::atomic<uint32_t> replacing;
};
static_assert(sizeof(Bucket) == 16);

struct ElemHdr {
  std::atomic<uint32_t> next;  // next element in the bucket or free stack
  uint32_t hash;
};

class Htab;

// Holds a bucket for writing: lock, then seq odd until the guard ends. When the
// lock is taken over from a process that died holding it, the bucket is
// repaired first (see Htab::repair_bucket).
// Holds a bucket's lock to read it steadily (get_next_key, for_each's snapshot)
// without writing: seq stays as it is. A lock taken over from a dead writer is
// repaired first, as a writer would: a plain lock would leave its seq odd and
// every optimistic reader spinning.
class BucketReadGuard {
 public:
  BucketReadGuard(const Htab& h, Bucket& b);
  ~BucketReadGuard() { b_.lock.unlock(); }
  BucketReadGuard(const BucketReadGuard&) = delete;
  BucketReadGuard& operator=(const BucketReadGuard&) = delete;

 private:
  Bucket& b_;
};

class BucketWriteGuard {
 public:
  BucketWriteGuard(const Htab& h, Bucket& b);
  ~BucketWriteGuard() {
    b_.seq.store(b_.seq.load(std::memory_order_relaxed) + 1, std::memory_order_release);
    b_.lock.unlock();
  }
  BucketWriteGuard(const BucketWriteGuard&) = delete;
  BucketWriteGuard& operator=(const BucketWriteGuard&) = delete;

 private:
  Bucket& b_;
};

// Geometry, fixed at create time.
struct HtabLayout {
  uint64_t buckets_off;
  uint64_t elems_off;
  uint64_t extra_off;  // family extras (the LRU lists)
  uint64_t total;
  uint64_t capacity;   // elements in the pool (max_entries + spares)
  uint64_t elem_size;
  uint32_t n_buckets;
  uint32_t stride;     // round_up(value_size, 8)
  uint32_t lru_node_off;
  uint32_t key_off;
  uint32_t value_off;
};

// Lives in the map header's family area.
struct HtabState : HtabLayout {
  uint32_t seed;
  bool percpu;
  bool lru;
  bool zero_seed;
  bool pcpu_freelist;  // per-CPU free lists at extra_off (preallocated PERCPU_HASH)
  bool prog_init_zeroes_padding;  // the profile's prog_percpu_init_zeroes_padding
  std::atomic<uint32_t> count;       // linked elements
  std::atomic<uint32_t> next_fresh;  // first never-used element index
  std::atomic<uint64_t> free_head;   // free stack: index | (ABA tag << 32)
};

// One CPU's free list of a preallocated PERCPU_HASH (the kernel's
// pcpu_freelist): freed elements are pushed on the freeing CPU's list and popped
// from the current CPU's list first. Which element a new key gets is visible
// through the padding bytes of per-CPU values, which keep stale contents.
struct alignas(64) PcpuFreeList {
  emu::SpinLock lock;
  uint32_t head;        // freed elements, newest first, chained by ElemHdr::next
  uint32_t fresh_left;  // never-used elements this CPU was populated with
};

// A CPU's spare element for replacing an existing key (HASH only; the kernel's
// per-CPU extra_elems). 0 = none; taken with an exchange, so two threads that
// share an emulated CPU cannot take the same one.
struct alignas(64) SpareSlot {
  std::atomic<uint32_t> idx;
};

// A per-call view of one hash map's region.
class Htab {
 public:
  explicit Htab(Map& m) : m_(m), st_(m.state<HtabState>()), base_(m.data()), key_size_(m.attr().key_size) {}

  HtabState& state() const { return st_; }
  uint32_t hash(const void* key) const;
  Bucket& bucket(uint32_t hash) const { return bucket_at(hash & (st_.n_buckets - 1)); }
  Bucket& bucket_at(uint32_t i) const { return reinterpret_cast<Bucket*>(base_ + st_.buckets_off)[i]; }
  uint8_t* elem(uint32_t idx) const { return base_ + st_.elems_off + uint64_t{idx - 1} * st_.elem_size; }
  ElemHdr& hdr(uint32_t idx) const { return *reinterpret_cast<ElemHdr*>(elem(idx)); }
  uint8_t* key_of(uint32_t idx) const { return elem(idx) + st_.key_off; }
  uint8_t* value_of(uint32_t idx, uint32_t cpu = 0) const { return elem(idx) + st_.value_off + cpu * st_.stride; }
  uint8_t* extra() const { return base_ + st_.extra_off; }
  uint8_t* elems_base() const { return base_ + st_.elems_off; }
  // Element index of a pointer into element memory (e.g. an LRU node).
  uint32_t index_of(const void* p) const {
    return static_cast<uint32_t>((static_cast<const uint8_t*>(p) - (base_ + st_.elems_off)) / st_.elem_size) + 1;
  }

  // Chain operations; caller holds the bucket lock.
  uint32_t find(const Bucket& b, uint32_t hash, const void* key) const;
  // Links `fresh` at the head in place of `old` (0: nothing to replace) and
  // unlinks `old`, recording the replacement so a crash in between is repairable.
  void replace(Bucket& b, uint32_t fresh, uint32_t old) const;
  // Finishes what a writer that died holding the lock left half done.
  void repair_bucket(Bucket& b) const;
  // Lock-free lookup: calls on_found(idx) on a consistent snapshot of the chain
  // (retrying while writers are active) and returns whether the key was found.
  // on_found may run more than once; only its last run counts.
  template <class F>
  bool find_optimistic(const Bucket& b, uint32_t hash, const void* key, F&& on_found) const;
  void link_head(Bucket& b, uint32_t idx) const;
  bool unlink(Bucket& b, uint32_t idx) const;

  // This CPU's spare element (0 if none), and giving one back (false: slot full).
  uint32_t take_spare(uint32_t cpu);
  bool put_spare(uint32_t cpu, uint32_t idx);
  // Element pool: a lock-free stack, or per-CPU lists (pcpu_freelist).
  uint32_t alloc_elem();
  void free_elem(uint32_t idx);

  void copy_value_in(uint32_t idx, const void* value, bool all_cpus);
  // Fills a new per-CPU element: all CPUs from a syscall buffer, or (program
  // side) the current CPU's value with the other CPUs cleared as the profile says.
  void init_percpu_value(uint32_t idx, const void* value, bool all_cpus);
  // The value of idx as a syscall reads it (lock words zeroed; with locked,
  // under the value's lock).
  void copy_value_out(uint32_t idx, void* out, bool locked = false) const;

 private:
  bool keys_equal(const uint8_t* stored, const void* key) const {
    // Common key sizes compare as integers instead of calling memcmp.
    switch (key_size_) {
      case 4: return load<uint32_t>(stored) == load<uint32_t>(key);
      case 8: return load<uint64_t>(stored) == load<uint64_t>(key);
      case 16:
        return load<uint64_t>(stored) == load<uint64_t>(key) &&
               load<uint64_t>(stored + 8) == load<uint64_t>(static_cast<const uint8_t*>(key) + 8);
      default: return memcmp(stored, key, key_size_) == 0;
    }
  }
  template <class T>
  static T load(const void* p) {
    T v;
    memcpy(&v, p, sizeof(T));
    return v;
  }

  uint32_t fresh_elem();
  PcpuFreeList& pcpu_list(uint32_t cpu) const { return reinterpret_cast<PcpuFreeList*>(extra())[cpu]; }

  Map& m_;
  HtabState& st_;
  uint8_t* base_;
  uint32_t key_size_;
};

bool access_flags_ok(uint32_t flags);
uint32_t roundup_pow_of_two(uint32_t v);

inline BucketReadGuard::BucketReadGuard(const Htab& h, Bucket& b) : b_(b) {
  if (b_.lock.lock_recovering()) h.repair_bucket(b_);
}

inline BucketWriteGuard::BucketWriteGuard(const Htab& h, Bucket& b) : b_(b) {
  if (b_.lock.lock_recovering()) h.repair_bucket(b_);
  b_.seq.store(b_.seq.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
}

template <class F>
bool Htab::find_optimistic(const Bucket& b, uint32_t hash, const void* key, F&& on_found) const {
#if BPFEMU_TSAN
  // The seqlock's deliberate races would drown real reports: lock instead.
  BucketReadGuard g(*this, const_cast<Bucket&>(b));
  uint32_t idx = find(b, hash, key);
  if (idx != 0) on_found(idx);
  return idx != 0;
#else
  for (unsigned spins = 0;;) {
    uint32_t s1 = b.seq.load(std::memory_order_acquire);
    if (s1 & 1) {
      // A writer is active — or died mid-write: taking the lock now and then
      // repairs the bucket in the latter case.
      if (++spins % (1U << 16) == 0) BucketWriteGuard repair(*this, const_cast<Bucket&>(b));
      cpu_relax();
      continue;
    }
    // Bounded walk: a chain edited under us may be momentarily inconsistent.
    uint32_t idx = 0;
    uint64_t steps = 0;
    for (uint32_t i = b.head.load(std::memory_order_acquire); i != 0 && i <= st_.capacity && steps <= st_.capacity;
         i = hdr(i).next.load(std::memory_order_relaxed), ++steps) {
      if (hdr(i).hash == hash && keys_equal(key_of(i), key)) {
        idx = i;
        break;
      }
    }
    if (idx != 0) on_found(idx);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (b.seq.load(std::memory_order_relaxed) == s1) return idx != 0;
  }
#endif
}

// HASH without BPF_F_ZERO_SEED (hashtab_flat.cc).
const MapOps& flat_htab_ops();

class HtabOps : public MapOps {
 public:
  HtabOps(bool percpu, bool lru) : percpu_(percpu), lru_(lru) {}

  int alloc_check(MapAttr& attr, const CreateEnv& env) const override;
  int64_t data_size(const MapAttr& attr, const CreateEnv& env) const override;
  int init(Map& map) const override;
  const MapOps& variant_for(const MapAttr& attr) const override;
  uint32_t sys_value_size(const Map& map) const override;
  int lookup(Map& map, const void* key, void* value, uint64_t flags) const override;
  int update(Map& map, const void* key, const void* value, uint64_t flags) const override;
  int delete_elem(Map& map, const void* key) const override;
  int get_next_key(Map& map, const void* key, void* next_key) const override;
  int lookup_and_delete(Map& map, const void* key, void* value, uint64_t flags) const override;
  void* prog_lookup(Map& map, const void* key) const override;
  long prog_update(Map& map, const void* key, const void* value, uint64_t flags) const override;
  long prog_delete(Map& map, const void* key) const override;
  long for_each(Map& map, ForEachCallback cb, void* ctx, uint64_t flags) const override;
  int lookup_batch(Map& map, const BatchArgs& args, bool do_delete) const override;
  int update_batch(Map& map, const BatchArgs& args) const override;
  int delete_batch(Map& map, const BatchArgs& args) const override;
  uint64_t mem_usage(const Map& map) const override;
  void* prog_lookup_percpu(Map& map, const void* key, uint32_t cpu) const override;
  const uint8_t* value_containing(const Map& map, const void* p) const override;

 protected:
  static int check_flags(uint32_t old_idx, uint64_t flags);
  // Whether the memory the kernel allocates at create time could be had here.
  bool kernel_allocation_fits(const MapAttr& attr, const CreateEnv& env) const;
  // The elem_flags/flags checks of the hash batch commands.
  int check_batch_flags(const Map& map, uint64_t elem_flags, uint64_t flags) const {
    if ((elem_flags & ~uint64_t{BPF_F_LOCK}) || ((elem_flags & BPF_F_LOCK) && !has_spin_lock(map))) return -EINVAL;
    return flags != 0 ? -EINVAL : 0;
  }
  // Elements linked now (non-preallocated maps count only those in mem_usage).
  virtual uint32_t live_count(const Map& map) const;
  // Unlinks `key` (copying its value out first when value_out is set, under
  // the value's lock when locked).
  int remove_key(Map& map, const void* key, void* value_out, bool locked = false) const;
  HtabLayout layout(const MapAttr& attr, uint32_t nr_cpus) const;
  virtual int update_common(Map& map, const void* key, const void* value, uint64_t flags, bool all_cpus) const;
  // Lets go of what the value of an element leaving the table holds (its
  // timer; a hash of maps' inner map), as the kernel's element free does.
  virtual void free_value(Map& map, uint8_t* value) const;
  // Returns an unlinked element to its pool (LRU: to the LRU lists).
  virtual void release_elem(Map& map, uint32_t idx) const { Htab(map).free_elem(idx); }
  // LRU hooks: size of the per-element node, size and init of the lists.
  virtual uint32_t lru_node_size() const { return 0; }
  virtual uint64_t extra_size(const MapAttr& attr, uint32_t nr_cpus) const;
  virtual int init_extra(Map& map) const;

  bool percpu_;
  bool lru_;
};

}  // namespace bpfemu::maptypes
