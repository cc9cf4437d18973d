// A tiny hash table for the LRU's unit tests (bpf_lru_list_test.cc,
// bpf_lru_repair_test.cc): elements carry an LruNode and an in_table flag; the LRU
// state and the elements share one block of shared memory, so a forked child works
// on the same table.
#pragma once

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <vector>

#include "maptypes/bpf_lru_list.h"

namespace bpfemu::maptypes::lru_test {

using T = LruListType;
using Keys = std::vector<uint32_t>;

// A hash-table element: node first, hash right after it (like struct htab_elem).
struct Elem {
  LruNode node;
  uint32_t hash;
  uint32_t key;
  std::atomic<uint8_t> in_table;
};
constexpr int32_t kHashOffset = offsetof(Elem, hash) - offsetof(Elem, node);

inline size_t lru_bytes(uint32_t cpus, bool percpu) { return (BpfLru::footprint(cpus, percpu) + 63) / 64 * 64; }
inline size_t region_bytes(uint32_t n, uint32_t cpus, bool percpu) { return lru_bytes(cpus, percpu) + n * sizeof(Elem); }

// The fake table is the set of elements with in_table set; everything (LRU state and
// elements) lives in one block, so a view can be re-created over another mapping.
class FakeHtab {
 public:
  FakeHtab(void* base, uint32_t n, uint32_t cpus, bool percpu)
      : lru(BpfLru::attach(base)),
        elems_(reinterpret_cast<Elem*>(static_cast<char*>(base) + lru_bytes(cpus, percpu))),
        n_(n) {}

  // Lays out a fresh LRU and its elements in zero-filled memory (prealloc_init).
  static void create(void* base, uint32_t n, BpfLru::Params p) {
    p.hash_offset = kHashOffset;
    BpfLru* lru = BpfLru::init(base, p);
    ASSERT_NE(lru, nullptr);
    lru->populate(static_cast<char*>(base) + lru_bytes(p.nr_cpus, p.percpu), offsetof(Elem, node),
                  sizeof(Elem), n);
  }

  static uint32_t hash_of(uint32_t key) { return key * 2654435761u; }

  // htab_lru_map_update_elem with BPF_ANY: pop a node first (may evict), then link
  // it, mark it referenced if it replaces an existing key, and free the old one.
  int update(uint32_t key, int cpu) {
    LruNode* node = lru->pop_free(hash_of(key), cpu, &FakeHtab::del_from_htab, this);
    if (!node) return -ENOMEM;
    EXPECT_TRUE(owns(node));  // a pointer into this view's mapping, not another one
    Elem* e = elem(node);
    EXPECT_EQ(e->hash, hash_of(key));  // pop_free stored the hash at hash_offset
    Elem* old = find(key);
    e->key = key;
    e->in_table = 1;
    if (old) {
      BpfLru::set_ref(&e->node);
      old->in_table = 0;
      lru->push_free(&old->node);
    }
    return 0;
  }
  // Program-side lookup: marks the node (syscall lookups would not).
  bool lookup(uint32_t key) {
    Elem* e = find(key);
    if (e) BpfLru::set_ref(&e->node);
    return e != nullptr;
  }
  int erase(uint32_t key) {
    Elem* e = find(key);
    if (!e) return -ENOENT;
    e->in_table = 0;
    lru->push_free(&e->node);
    return 0;
  }
  Keys keys() const {
    Keys k;
    for (uint32_t i = 0; i < n_; i++)
      if (elems_[i].in_table) k.push_back(elems_[i].key);
    std::sort(k.begin(), k.end());
    return k;
  }
  Keys list_keys(T list, int cpu = 0) {
    Keys k;
    for (LruNode* n : lru->list_nodes(list, cpu)) k.push_back(elem(n)->key);
    return k;
  }
  Elem* find(uint32_t key) {
    for (uint32_t i = 0; i < n_; i++)
      if (elems_[i].in_table && elems_[i].key == key) return &elems_[i];
    return nullptr;
  }
  LruNode* node(uint32_t key) { return &find(key)->node; }
  int index(uint32_t key) { return static_cast<int>(find(key) - elems_); }
  int index(LruNode* n) { return static_cast<int>(elem(n) - elems_); }
  Elem* elem(LruNode* n) { return reinterpret_cast<Elem*>(n); }
  Elem* at(uint32_t i) { return &elems_[i]; }
  bool owns(LruNode* n) const {
    return reinterpret_cast<char*>(n) >= reinterpret_cast<char*>(elems_) &&
           reinterpret_cast<char*>(n) < reinterpret_cast<char*>(elems_ + n_);
  }

  BpfLru* lru;
  Keys evicted;
  int del_calls = 0;
  std::function<bool(uint32_t key)> refuse;  // simulates a bucket lock that fails

 private:
  // htab_lru_map_delete_node: unlink the element if it is still in the table.
  static bool del_from_htab(void* arg, LruNode* node) {
    auto* h = static_cast<FakeHtab*>(arg);
    Elem* e = h->elem(node);
    h->del_calls++;
    if (!e->in_table || (h->refuse && h->refuse(e->key))) return false;
    e->in_table = 0;
    h->evicted.push_back(e->key);
    return true;
  }

  Elem* elems_;
  uint32_t n_;
};

// Zero-filled shared memory (seen by forked children) holding one fake table.
struct Fixture {
  Fixture(uint32_t n, uint32_t cpus, bool percpu, uint32_t target_free = 0)
      : size((region_bytes(n, cpus, percpu) + 4095) / 4096 * 4096),
        mem(mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0)) {
    EXPECT_NE(mem, MAP_FAILED);
    BpfLru::Params p;
    p.nr_cpus = cpus;
    p.percpu = percpu;
    p.target_free = target_free ? target_free : BpfLru::target_free_for(n, cpus);
    FakeHtab::create(mem, n, p);
    h = std::make_unique<FakeHtab>(mem, n, cpus, percpu);
  }
  ~Fixture() { munmap(mem, size); }
  FakeHtab& operator*() { return *h; }
  FakeHtab* operator->() { return h.get(); }
  size_t size;
  void* mem;
  std::unique_ptr<FakeHtab> h;
};


inline bool cas_out_of_table(void*, LruNode* node) {
  uint8_t expected = 1;
  return reinterpret_cast<Elem*>(node)->in_table.compare_exchange_strong(expected, 0);
}

// Every node on exactly one list, whose type it carries; counts match; in-table
// nodes are not on a free list.
inline void check_invariants(BpfLru& lru, uint32_t n, bool percpu) {
  std::vector<LruNode*> all;
  auto take = [&](T list, int cpu) {
    const bool free = list == T::kFree || list == T::kLocalFree;
    for (LruNode* node : lru.list_nodes(list, cpu)) {
      EXPECT_EQ(node->list_type(), list);
      EXPECT_TRUE(!free || reinterpret_cast<Elem*>(node)->in_table.load() == 0);
      EXPECT_TRUE(!(percpu || list == T::kLocalPending) || node->cpu.load() == cpu);
      all.push_back(node);
    }
  };
  for (int cpu = 0; cpu < static_cast<int>(lru.nr_cpus()); cpu++) {
    if (percpu || cpu == 0) {
      take(T::kActive, cpu);
      take(T::kInactive, cpu);
      take(T::kFree, cpu);
      EXPECT_EQ(lru.list_count(T::kActive, cpu), lru.list_nodes(T::kActive, cpu).size());
      EXPECT_EQ(lru.list_count(T::kInactive, cpu), lru.list_nodes(T::kInactive, cpu).size());
    }
    if (!percpu) {
      take(T::kLocalFree, cpu);
      take(T::kLocalPending, cpu);
    }
  }
  EXPECT_EQ(all.size(), n);
  std::sort(all.begin(), all.end());
  EXPECT_EQ(std::adjacent_find(all.begin(), all.end()), all.end());
  EXPECT_EQ(lru.warnings(), 0u);
}


}  // namespace bpfemu::maptypes::lru_test
