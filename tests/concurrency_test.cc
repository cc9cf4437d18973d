// Concurrent use of one map from several threads (run under TSan in CI's
// sanitizer build): every thread owns a disjoint key range, so the final
// contents are known exactly even though operations interleave.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <set>
#include <thread>
#include <vector>

#include "bpfemu/emu_backend.h"
#include "bpfemu/prog.h"

namespace {

constexpr int kThreads = 4;
constexpr uint32_t kKeysPerThread = 200;

void hammer(bpfemu::Backend& b, int fd, int t, bool lru) {
  for (int round = 0; round < 20; ++round) {
    for (uint32_t i = 0; i < kKeysPerThread; ++i) {
      uint32_t k = t * kKeysPerThread + i;
      uint64_t v = k + round;
      b.map_update_elem(fd, &k, &v, BPF_ANY);
      uint64_t out;
      if (b.map_lookup_elem(fd, &k, &out) == 0 && !lru) {
        ASSERT_EQ(out, v);
      }
      if (i % 3 == 0) b.map_delete_elem(fd, &k);
      uint32_t next;
      b.map_get_next_key(fd, &k, &next);
    }
  }
}

std::set<uint32_t> keys_of(bpfemu::Backend& b, int fd) {
  std::set<uint32_t> keys;
  uint32_t cur = 0, next = 0;
  const void* prev = nullptr;
  while (b.map_get_next_key(fd, prev, &next) == 0) {
    keys.insert(next);
    cur = next;
    prev = &cur;
  }
  return keys;
}

// Both HASH layouts: chained (BPF_F_ZERO_SEED) and open addressing (random seed).
class HashLayouts : public ::testing::TestWithParam<uint32_t> {};

TEST_P(HashLayouts, ThreadsOnDisjointKeys) {
  bpfemu::EmuBackend b;
  bpfemu::MapCreateOpts opts;
  opts.map_flags = GetParam();
  int fd = b.map_create(BPF_MAP_TYPE_HASH, "h", 4, 8, kThreads * kKeysPerThread, &opts);
  ASSERT_GE(fd, 0) << strerror(-fd);
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t) ts.emplace_back([&, t] { hammer(b, fd, t, false); });
  for (auto& t : ts) t.join();
  std::set<uint32_t> keys = keys_of(b, fd);
  EXPECT_EQ(keys.size(), static_cast<size_t>(kThreads) * (kKeysPerThread - (kKeysPerThread + 2) / 3));
  for (uint32_t k : keys) EXPECT_NE(k % kKeysPerThread % 3, 0u);
  b.close(fd);
}

INSTANTIATE_TEST_SUITE_P(Concurrency, HashLayouts, ::testing::Values(0u, uint32_t{BPF_F_ZERO_SEED}),
                         [](const auto& info) { return std::string(info.param ? "Chained" : "Flat"); });

TEST(Concurrency, LruNeverExceedsCapacity) {
  bpfemu::EmuBackend b;
  int fd = b.map_create(BPF_MAP_TYPE_LRU_HASH, "l", 4, 8, 128, nullptr);
  ASSERT_GE(fd, 0) << strerror(-fd);
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t) ts.emplace_back([&, t] { hammer(b, fd, t, true); });
  for (auto& t : ts) t.join();
  EXPECT_LE(keys_of(b, fd).size(), 128u);
  b.close(fd);
}

TEST(Concurrency, ProgramSideAtomicIncrements) {
  bpfemu::EmuBackend b;
  int fd = b.map_create(BPF_MAP_TYPE_ARRAY, "a", 4, 8, 1, nullptr);
  ASSERT_GE(fd, 0) << strerror(-fd);
  bpfemu::prog::MapRef map(fd);
  ASSERT_TRUE(map.valid());
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t)
    ts.emplace_back([&] {
      uint32_t k = 0;
      for (int i = 0; i < 10000; ++i) __atomic_fetch_add(static_cast<uint64_t*>(map.lookup(&k)), 1, __ATOMIC_RELAXED);
    });
  for (auto& t : ts) t.join();
  uint32_t k = 0;
  uint64_t v = 0;
  ASSERT_EQ(b.map_lookup_elem(fd, &k, &v), 0);
  EXPECT_EQ(v, kThreads * 10000u);
  b.close(fd);
}

}  // namespace
