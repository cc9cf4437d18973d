// Unit tests of the LRU mechanics (maptypes/bpf_lru_list.*) against a tiny fake
// hash table. Expected values are derived by hand from the kernel's algorithm
// (kernel/bpf/bpf_lru_list.c, 6.18); each expectation says why. Notation in the
// comments: lists are written head..tail; "kN" is the element holding key N.
#include "tests/lru_fake_htab.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <random>
#include <thread>
#include <vector>

namespace bpfemu::maptypes {
namespace {

using namespace lru_test;

void insert_range(FakeHtab& h, uint32_t from, uint32_t to, int cpu) {
  for (uint32_t k = from; k <= to; k++) ASSERT_EQ(h.update(k, cpu), 0) << "key " << k;
}

TEST(BpfLruTargetFree, FormulaOf616AndLater) {
  // clamp((nr_elems / nr_cpus) / 2, 1, 128), integer division throughout.
  EXPECT_EQ(BpfLru::target_free_for(8, 2), 2u);       // 8/2=4, /2=2
  EXPECT_EQ(BpfLru::target_free_for(8, 1), 4u);       // 8/1=8, /2=4
  EXPECT_EQ(BpfLru::target_free_for(8, 16), 1u);      // 0 clamps up to 1
  EXPECT_EQ(BpfLru::target_free_for(3, 2), 1u);       // 1/2 = 0 -> 1
  EXPECT_EQ(BpfLru::target_free_for(1000, 4), 125u);  // 250/2
  EXPECT_EQ(BpfLru::target_free_for(10000, 4), 128u); // 1250 capped at LOCAL_FREE_TARGET
  EXPECT_EQ(BpfLru::target_free_for(10000, 79), 63u); // the commit's example: 126/2
  EXPECT_EQ(BpfLru::target_free_for(254, 1), 127u);
  EXPECT_EQ(BpfLru::target_free_for(258, 1), 128u);   // 129 capped
}

TEST(BpfLruTargetFree, ParamsAndScanLimits) {
  Fixture common(8, 2, false, BpfLru::kLocalFreeTarget);  // "6.1" profile: fixed 128
  EXPECT_EQ(common->lru->target_free(), 128u);
  EXPECT_EQ(common->lru->nr_scans(), 128u);  // LOCAL_NR_SCANS does not scale
  Fixture scaled(8, 2, false);
  EXPECT_EQ(scaled->lru->target_free(), 2u);
  EXPECT_EQ(scaled->lru->nr_scans(), 128u);
  Fixture percpu(8, 2, true);
  EXPECT_EQ(percpu->lru->target_free(), 4u);  // PERCPU_FREE_TARGET, fixed
  EXPECT_EQ(percpu->lru->nr_scans(), 4u);
}

TEST(BpfLruCommon, OneCpuEvictsInBatchesOfTargetFree) {
  Fixture h(8, 1, false);  // target_free = 4
  insert_range(*h, 1, 4, 0);
  // k1 refilled cpu0's local free list with 4 nodes from the global free list, k1..k4
  // used them; all four wait on cpu0's pending list (newest at the head).
  EXPECT_EQ(h->list_keys(T::kLocalPending), (Keys{4, 3, 2, 1}));
  EXPECT_EQ(h->list_keys(T::kInactive), Keys{});
  insert_range(*h, 5, 8, 0);
  // k5 found the local free list empty: the refill flushed k1..k4 (oldest first, each
  // to the inactive head) and took the last 4 global free nodes.
  EXPECT_EQ(h->list_keys(T::kInactive), (Keys{4, 3, 2, 1}));
  EXPECT_EQ(h->list_keys(T::kLocalPending), (Keys{8, 7, 6, 5}));
  EXPECT_EQ(h->lru->list_count(T::kInactive), 4u);
  EXPECT_TRUE(h->evicted.empty());
  const int slot_of_4 = h->index(4);

  ASSERT_EQ(h->update(9, 0), 0);
  // k9: flush k5..k8, nothing free globally, so shrink 4 from the inactive tail:
  // k1, k2, k3, k4 in that order. The freed nodes were pushed to the local free head
  // one by one, so k9 reuses k4's element.
  EXPECT_EQ(h->evicted, (Keys{1, 2, 3, 4}));
  EXPECT_EQ(h->keys(), (Keys{5, 6, 7, 8, 9}));
  EXPECT_EQ(h->index(9), slot_of_4);
  EXPECT_EQ(h->list_keys(T::kInactive), (Keys{8, 7, 6, 5}));
  EXPECT_EQ(h->lru->list_nodes(T::kLocalFree).size(), 3u);
  EXPECT_EQ(h->lru->warnings(), 0u);
}

TEST(BpfLruCommon, DesignDocExample_TwoCpusKeepSevenOfEight) {
  Fixture h(8, 2, false);  // target_free = (8/2)/2 = 2
  insert_range(*h, 1, 9, 0);
  // Refills of 2: the 9th insert shrinks exactly 2 (k1, k2) from the inactive tail.
  EXPECT_EQ(h->evicted, (Keys{1, 2}));
  EXPECT_EQ(h->keys(), (Keys{3, 4, 5, 6, 7, 8, 9}));
}

TEST(BpfLruCommon, SecondCpuEvictsFromTheSharedInactiveList) {
  Fixture h(8, 2, false);
  insert_range(*h, 1, 8, 0);
  ASSERT_EQ(h->update(9, 1), 0);
  // cpu1 has nothing pending to flush and the global free list is empty, so it
  // shrinks 2 from the global inactive tail (k1, k2); k7, k8 stay on cpu0's pending.
  EXPECT_EQ(h->evicted, (Keys{1, 2}));
  EXPECT_EQ(h->keys(), (Keys{3, 4, 5, 6, 7, 8, 9}));
  EXPECT_EQ(h->list_keys(T::kLocalPending, 0), (Keys{8, 7}));
  EXPECT_EQ(h->list_keys(T::kLocalPending, 1), (Keys{9}));
  EXPECT_EQ(h->node(9)->cpu.load(), 1);
  EXPECT_EQ(h->lru->list_nodes(T::kLocalFree, 1).size(), 1u);  // the other freed node
}

TEST(BpfLruCommon, RefBitSurvivesOneRotationAndMovesToActive) {
  Fixture h(8, 1, false);
  insert_range(*h, 1, 8, 0);  // inactive: k4..k1, pending: k8..k5
  ASSERT_TRUE(h->lookup(1));
  ASSERT_TRUE(h->lookup(2));
  EXPECT_TRUE(h->node(1)->is_ref());
  ASSERT_EQ(h->update(9, 0), 0);
  // The rotation before the shrink scans the inactive list from the tail: k1 and k2
  // are referenced, so they move to the active head with ref cleared; the shrink then
  // evicts the next 4 unreferenced from the tail.
  EXPECT_EQ(h->evicted, (Keys{3, 4, 5, 6}));
  EXPECT_EQ(h->keys(), (Keys{1, 2, 7, 8, 9}));
  EXPECT_EQ(h->list_keys(T::kActive), (Keys{2, 1}));
  EXPECT_EQ(h->list_keys(T::kInactive), (Keys{8, 7}));
  EXPECT_FALSE(h->node(1)->is_ref());
  EXPECT_EQ(h->node(1)->list_type(), T::kActive);
  EXPECT_EQ(h->lru->list_count(T::kActive), 2u);

  insert_range(*h, 10, 13, 0);
  // k10..k12 use the 3 remaining local nodes; k13 flushes k9..k12 to the inactive
  // head and evicts 4 from the inactive tail. Active nodes are never candidates
  // while inactive ones are (6 inactive vs 2 active: no active rotation).
  EXPECT_EQ(h->evicted, (Keys{3, 4, 5, 6, 7, 8, 9, 10}));
  EXPECT_EQ(h->keys(), (Keys{1, 2, 11, 12, 13}));
}

TEST(BpfLruCommon, ForceShrinkAndActiveRotationWhenInactiveRunsLow) {
  Fixture h(8, 1, false);
  insert_range(*h, 1, 8, 0);
  for (uint32_t k = 1; k <= 8; k++) ASSERT_TRUE(h->lookup(k));
  ASSERT_EQ(h->update(9, 0), 0);
  // Flush: k5..k8 are referenced, so they go to the active list (active: k8..k5).
  // Rotation: 4 inactive is not < 4 active, so no active rotation; the inactive scan
  // promotes k1..k4 (active: k4 k3 k2 k1 k8 k7 k6 k5). The shrink finds no inactive
  // node and force-shrinks ONE node from the active tail: k5.
  EXPECT_EQ(h->evicted, (Keys{5}));
  EXPECT_EQ(h->list_keys(T::kActive), (Keys{4, 3, 2, 1, 8, 7, 6}));
  EXPECT_EQ(h->keys(), (Keys{1, 2, 3, 4, 6, 7, 8, 9}));

  ASSERT_EQ(h->update(10, 0), 0);
  // Flush puts unreferenced k9 on the inactive list first; then 1 inactive < 7 active
  // triggers the active rotation, which moves all 7 (tail first) to the inactive
  // HEAD, so k9 ends up at the tail and is the first of 4 evicted.
  EXPECT_EQ(h->evicted, (Keys{5, 9, 6, 7, 8}));
  EXPECT_EQ(h->keys(), (Keys{1, 2, 3, 4, 10}));
  EXPECT_EQ(h->list_keys(T::kActive), Keys{});
}

TEST(BpfLruCommon, EvictionSkipsNodesTheTableRefuses) {
  Fixture h(8, 1, false);
  insert_range(*h, 1, 8, 0);
  h->refuse = [](uint32_t key) { return key <= 2; };
  ASSERT_EQ(h->update(9, 0), 0);
  // del_from_htab failing (e.g. bucket lock) just skips the node: the shrink keeps
  // going until it has freed 4, and k1/k2 stay at the inactive tail.
  EXPECT_EQ(h->evicted, (Keys{3, 4, 5, 6}));
  EXPECT_EQ(h->list_keys(T::kInactive), (Keys{8, 7, 2, 1}));
  EXPECT_EQ(h->del_calls, 6);
}

TEST(BpfLruCommon, PushFreeUsesTheNodesCpuAndList) {
  Fixture h(8, 2, false);  // target_free 2
  ASSERT_EQ(h->update(1, 1), 0);
  LruNode* n1 = h->node(1);
  BpfLru::set_ref(n1);
  ASSERT_EQ(h->erase(1), 0);
  // A pending node returns to the head of the local free list of the CPU that popped
  // it (node->cpu = 1), with ref cleared; push_free takes no current CPU.
  EXPECT_EQ(h->lru->list_nodes(T::kLocalFree, 1).front(), n1);
  EXPECT_EQ(h->lru->list_nodes(T::kLocalFree, 1).size(), 2u);
  EXPECT_EQ(n1->list_type(), T::kLocalFree);
  EXPECT_FALSE(n1->is_ref());
  EXPECT_TRUE(h->lru->list_nodes(T::kLocalPending, 1).empty());

  insert_range(*h, 2, 4, 0);  // k4's refill flushes k2, k3 into the inactive list
  EXPECT_EQ(h->list_keys(T::kInactive), (Keys{3, 2}));
  LruNode* n2 = h->node(2);
  ASSERT_EQ(h->erase(2), 0);
  // A node in the LRU goes to the global free head and leaves the inactive count.
  EXPECT_EQ(n2->list_type(), T::kFree);
  EXPECT_EQ(h->lru->list_nodes(T::kFree).front(), n2);
  EXPECT_EQ(h->lru->list_count(T::kInactive), 1u);

  // Freeing a free node again is the kernel's WARN_ON_ONCE: ignored.
  const auto before = h->lru->list_nodes(T::kFree);
  h->lru->push_free(n2);
  EXPECT_EQ(h->lru->warnings(), 1u);
  EXPECT_EQ(h->lru->list_nodes(T::kFree), before);
}

TEST(BpfLruCommon, StealFromAnotherCpusLocalFreeList) {
  Fixture h(4, 2, false, BpfLru::kLocalFreeTarget);  // 6.1: target 128
  ASSERT_EQ(h->update(1, 0), 0);
  // cpu0's refill grabbed all 4 nodes (fewer than 128 exist).
  EXPECT_EQ(h->lru->list_nodes(T::kLocalFree, 0).size(), 3u);
  const LruNode* cpu0_head = h->lru->list_nodes(T::kLocalFree, 0).front();
  EXPECT_EQ(h->lru->next_steal(1), 1);  // initialised to the CPU itself
  ASSERT_EQ(h->update(2, 1), 0);
  // cpu1: nothing local, nothing global to free or evict -> steal round-robin from
  // next_steal (1: empty) then cpu0, whose local free head it takes. No eviction.
  EXPECT_TRUE(h->evicted.empty());
  EXPECT_EQ(h->node(2), cpu0_head);
  EXPECT_EQ(h->node(2)->cpu.load(), 1);
  EXPECT_EQ(h->list_keys(T::kLocalPending, 1), (Keys{2}));
  EXPECT_EQ(h->lru->next_steal(1), 1);  // one past cpu0, wrapped
  EXPECT_EQ(h->keys(), (Keys{1, 2}));
}

TEST(BpfLruCommon, StealFromPendingPrefersUnreferencedOldest) {
  struct Case {
    std::vector<uint32_t> referenced;
    std::function<bool(uint32_t)> refuse;
    Keys evicted;
    int del_calls;
  };
  const Case cases[] = {
      {{}, nullptr, {1}, 1},      // oldest pending (tail) first
      {{1}, nullptr, {2}, 1},     // referenced k1 skipped in the first pass
      {{1, 2}, nullptr, {1}, 1},  // all referenced: second pass takes the tail
      // k1 refuses in the first pass; k2 goes. (Refused nodes are asked again in the
      // forced pass, but k2 already succeeded.)
      {{}, [](uint32_t k) { return k == 1; }, {2}, 2},
  };
  for (const Case& c : cases) {
    Fixture h(2, 2, false, BpfLru::kLocalFreeTarget);
    insert_range(*h, 1, 2, 0);  // both nodes on cpu0's pending list
    for (uint32_t k : c.referenced) h->lookup(k);
    h->refuse = c.refuse;
    ASSERT_EQ(h->update(3, 1), 0);
    EXPECT_EQ(h->evicted, c.evicted);
    EXPECT_EQ(h->del_calls, c.del_calls);
    EXPECT_EQ(h->list_keys(T::kLocalPending, 1), (Keys{3}));
  }
}

TEST(BpfLruCommon, StealCursorIsRoundRobinNotNearestFree) {
  Fixture h(3, 3, false, BpfLru::kLocalFreeTarget);
  ASSERT_EQ(h->update(1, 0), 0);  // cpu0 holds the other 2 nodes in its local free list
  ASSERT_EQ(h->update(2, 2), 0);  // cpu2 steals from cpu2 (empty), then cpu0
  EXPECT_EQ(h->lru->next_steal(2), 1);
  ASSERT_EQ(h->update(3, 1), 0);
  // cpu1 starts at itself (empty), then cpu2: its pending k2 is evicted although cpu0
  // still has a free node, because the search stops at the first CPU that yields one.
  EXPECT_EQ(h->evicted, (Keys{2}));
  EXPECT_EQ(h->lru->next_steal(1), 0);
  EXPECT_EQ(h->lru->list_nodes(T::kLocalFree, 0).size(), 1u);
  EXPECT_EQ(h->keys(), (Keys{1, 3}));
}

TEST(BpfLruPercpu, EachCpuHasItsOwnListsAndBatchOfFour) {
  Fixture h(8, 2, true);
  // populate: 4 consecutive elements per CPU, each added at the free head.
  for (int cpu = 0; cpu < 2; cpu++) {
    auto free_nodes = h->lru->list_nodes(T::kFree, cpu);
    ASSERT_EQ(free_nodes.size(), 4u);
    EXPECT_EQ(h->index(free_nodes.front()), cpu * 4 + 3);
    for (LruNode* n : free_nodes) EXPECT_EQ(n->cpu.load(), cpu);
  }
  insert_range(*h, 1, 4, 0);
  insert_range(*h, 10, 11, 1);
  EXPECT_EQ(h->list_keys(T::kInactive, 0), (Keys{4, 3, 2, 1}));  // no pending stage
  const int slot_of_4 = h->index(4);
  ASSERT_EQ(h->update(5, 0), 0);
  // cpu0's free list is empty: shrink PERCPU_FREE_TARGET = 4 from its inactive tail,
  // i.e. all of k1..k4; k5 reuses the last freed (k4's element). cpu1 is untouched.
  EXPECT_EQ(h->evicted, (Keys{1, 2, 3, 4}));
  EXPECT_EQ(h->index(5), slot_of_4);
  EXPECT_EQ(h->keys(), (Keys{5, 10, 11}));
  EXPECT_EQ(h->lru->list_nodes(T::kFree, 0).size(), 3u);

  // push_free goes to the node's own CPU list whoever frees it.
  LruNode* n10 = h->node(10);
  ASSERT_EQ(h->erase(10), 0);
  EXPECT_EQ(h->lru->list_nodes(T::kFree, 1).front(), n10);
  EXPECT_EQ(h->lru->list_nodes(T::kFree, 1).size(), 3u);
}

TEST(BpfLruPercpu, ReferencedNodeSurvivesShrink) {
  Fixture h(8, 2, true);
  insert_range(*h, 1, 4, 0);
  ASSERT_TRUE(h->lookup(1));
  ASSERT_EQ(h->update(5, 0), 0);
  // The rotation moves referenced k1 to active; the shrink then frees the 3
  // remaining inactive nodes (fewer than the batch of 4).
  EXPECT_EQ(h->evicted, (Keys{2, 3, 4}));
  EXPECT_EQ(h->keys(), (Keys{1, 5}));
  EXPECT_EQ(h->list_keys(T::kActive, 0), (Keys{1}));
}

TEST(BpfLruPercpu, InactiveRotationCursorWindow) {
  Fixture h(8, 1, true);  // 1 CPU, 8 nodes, nr_scans 4
  insert_range(*h, 1, 5, 0);
  // Up to here each rotation saw <= 4 nodes and ended at the node after the cursor,
  // leaving the cursor on the list head.
  EXPECT_EQ(h->lru->next_inactive_rotation(), nullptr);
  ASSERT_EQ(h->update(6, 0), 0);
  // Rotation before k6: inactive k5..k1, scan k1,k2,k3,k4 (limit 4): cursor -> k5.
  EXPECT_EQ(h->lru->next_inactive_rotation(), h->node(5));
  h->lookup(1);
  h->lookup(3);
  ASSERT_EQ(h->update(7, 0), 0);
  // Window from k5 toward the head, wrapping: k5, k6, (head), k1, k2. Only k1 is
  // promoted; k3 keeps its ref bit for now; cursor -> k3.
  EXPECT_EQ(h->list_keys(T::kActive), (Keys{1}));
  EXPECT_TRUE(h->node(3)->is_ref());
  EXPECT_EQ(h->node(3)->list_type(), T::kInactive);
  EXPECT_EQ(h->lru->next_inactive_rotation(), h->node(3));
  ASSERT_EQ(h->update(8, 0), 0);
  // Window k3, k4, k5, k6: k3 promoted; cursor -> k7.
  EXPECT_EQ(h->list_keys(T::kActive), (Keys{3, 1}));
  EXPECT_EQ(h->lru->next_inactive_rotation(), h->node(7));
  ASSERT_EQ(h->update(9, 0), 0);
  // Window k7, k8, (head), k2, k4: cursor -> k5. The free list is empty, so shrink 4
  // from the tail: k2, k4, k5, k6. Freeing the cursor's node steps it toward the
  // head (k5 -> k6 -> k7).
  EXPECT_EQ(h->evicted, (Keys{2, 4, 5, 6}));
  EXPECT_EQ(h->keys(), (Keys{1, 3, 7, 8, 9}));
  EXPECT_EQ(h->lru->next_inactive_rotation(), h->node(7));
  EXPECT_EQ(h->list_keys(T::kInactive), (Keys{9, 8, 7}));
}

// --- relocation: the same state used through different mappings ---

using Trace = std::vector<int64_t>;

// A fixed pseudo-random op sequence on 2 CPUs; `view(i)` gives the table view op i
// runs through. Records every result, the slot used, and evictions.
void run_script(const std::function<FakeHtab&(int)>& view, Trace& trace, Keys& evicted) {
  std::mt19937 rng(12345);
  for (int i = 0; i < 400; i++) {
    FakeHtab& h = view(i);
    h.evicted.clear();
    const uint32_t key = rng() % 40;
    const int cpu = static_cast<int>(rng() % 2);
    switch (rng() % 4) {
      case 0:
      case 1:
        trace.push_back(h.update(key, cpu));
        trace.push_back(h.find(key) ? h.index(key) : -1);
        EXPECT_TRUE(!h.find(key) || h.owns(h.node(key)));
        break;
      case 2:
        trace.push_back(h.lookup(key));
        break;
      default:
        trace.push_back(h.erase(key));
    }
    for (uint32_t k : h.evicted) evicted.push_back(k);
    trace.push_back(static_cast<int64_t>(h.evicted.size()));
  }
  for (uint32_t k : view(0).keys()) trace.push_back(k);
}

TEST(BpfLruRelocation, SameMemfdMappedAtDifferentAddresses) {
  constexpr uint32_t kN = 16, kCpus = 2;
  const size_t size = (region_bytes(kN, kCpus, false) + 4095) / 4096 * 4096;

  // Reference: the script on ordinary heap memory.
  Fixture ref(kN, kCpus, false);
  Trace ref_trace;
  Keys ref_evicted;
  run_script([&](int) -> FakeHtab& { return *ref; }, ref_trace, ref_evicted);
  ASSERT_FALSE(ref_evicted.empty());

  int fd = memfd_create("lru-test", 0);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ftruncate(fd, static_cast<off_t>(size)), 0);
  auto map = [&] {
    void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    EXPECT_NE(p, MAP_FAILED);
    return p;
  };
  void* a = map();
  BpfLru::Params p;
  p.nr_cpus = kCpus;
  p.target_free = BpfLru::target_free_for(kN, kCpus);
  FakeHtab::create(a, kN, p);
  void* b = map();
  // Drop the mapping the state was built in, so nothing can still point into it,
  // then map again: b and c are both live, at different addresses, and differ from a.
  ASSERT_EQ(munmap(a, size), 0);
  void* c = map();
  ASSERT_NE(b, c);
  FakeHtab hb(b, kN, kCpus, false), hc(c, kN, kCpus, false);
  ASSERT_NE(hb.lru, nullptr);
  ASSERT_NE(hc.lru, nullptr);

  Trace trace;
  Keys evicted;
  run_script([&](int i) -> FakeHtab& { return i % 2 ? hc : hb; }, trace, evicted);
  EXPECT_EQ(trace, ref_trace);
  EXPECT_EQ(evicted, ref_evicted);
  EXPECT_EQ(hb.lru->warnings(), 0u);
  munmap(b, size);
  munmap(c, size);
  close(fd);
}

// --- concurrency smoke test (run under -fsanitize=thread too) ---

void hammer(bool percpu, int threads, uint32_t cpus) {
  constexpr uint32_t kN = 64;
  Fixture h(kN, cpus, percpu);
  BpfLru* lru = h->lru;
  std::vector<std::thread> workers;
  std::atomic<int> failures{0};
  for (int t = 0; t < threads; t++) {
    workers.emplace_back([&, t] {
      const int cpu = t % static_cast<int>(cpus);
      std::mt19937 rng(t);
      std::vector<LruNode*> mine;
      for (int i = 0; i < 20000; i++) {
        const uint32_t r = rng() % 8;
        if (r < 4 || mine.empty()) {
          LruNode* node = lru->pop_free(rng(), cpu, &cas_out_of_table, nullptr);
          if (!node) {
            failures++;
            continue;
          }
          reinterpret_cast<Elem*>(node)->in_table.store(1);
          mine.push_back(node);
        } else {
          const size_t j = rng() % mine.size();
          if (r < 6) {
            BpfLru::set_ref(mine[j]);
          } else {
            uint8_t expected = 1;
            if (reinterpret_cast<Elem*>(mine[j])->in_table.compare_exchange_strong(expected, 0))
              lru->push_free(mine[j]);
            mine[j] = mine.back();
            mine.pop_back();
          }
        }
        if (mine.size() > 32) mine.erase(mine.begin());
      }
    });
  }
  for (auto& w : workers) w.join();
  check_invariants(*lru, kN, percpu);
  // With 64 nodes and at most 4 CPUs, something is always evictable or stealable.
  EXPECT_EQ(failures.load(), 0);
}

TEST(BpfLruConcurrency, CommonOneThreadPerCpu) { hammer(false, 4, 4); }
TEST(BpfLruConcurrency, CommonThreadsShareCpus) { hammer(false, 4, 2); }
TEST(BpfLruConcurrency, PercpuOneThreadPerCpu) { hammer(true, 4, 4); }

}  // namespace
}  // namespace bpfemu::maptypes
