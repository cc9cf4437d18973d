// How to test a map consumer with bpfemu: the code under test takes a
// bpfemu::Backend&, the test is a bpfemu::testing::BackendTest and runs on both
// backends: the emulator (no root needed) and the real kernel (ctest label
// "kernel"; skipped with a message when bpf() is not permitted). The
// assertions are the same for both.
#include "bpfemu/testing.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "bpfemu/backend.h"

namespace {

// A small "daemon-side" component: per-port packet counters kept in a BPF hash
// map that a program would fill; this side reads, resets and reports them.
class PortCounters {
 public:
  PortCounters(bpfemu::Backend& b, uint32_t max_ports) : b_(b) {
    bpfemu::MapCreateOpts o;
    o.map_flags = BPF_F_NO_PREALLOC;
    fd_ = b_.map_create(BPF_MAP_TYPE_HASH, "port_counters", sizeof(uint16_t), sizeof(uint64_t), max_ports, &o);
  }
  ~PortCounters() {
    if (fd_ >= 0) b_.close(fd_);
  }
  bool ok() const { return fd_ >= 0; }
  // What the BPF program side would do; returns 0 or -errno (E2BIG when full).
  int count(uint16_t port, uint64_t packets) {
    uint64_t cur = 0;
    if (b_.map_lookup_elem(fd_, &port, &cur) == 0) packets += cur;
    return b_.map_update_elem(fd_, &port, &packets, BPF_ANY);
  }
  // The busiest ports, highest first.
  std::vector<std::pair<uint16_t, uint64_t>> top(size_t n) {
    std::vector<std::pair<uint16_t, uint64_t>> all;
    uint16_t key = 0, next = 0;
    const void* prev = nullptr;
    while (b_.map_get_next_key(fd_, prev, &next) == 0) {
      uint64_t v = 0;
      if (b_.map_lookup_elem(fd_, &next, &v) == 0) all.emplace_back(next, v);
      key = next;
      prev = &key;
    }
    std::sort(all.begin(), all.end(), [](auto& a, auto& b) { return a.second > b.second; });
    if (all.size() > n) all.resize(n);
    return all;
  }
  // Reads and clears every counter in one pass.
  uint64_t drain() {
    uint64_t total = 0;
    uint16_t port = 0;
    uint64_t v = 0;
    while (b_.map_get_next_key(fd_, nullptr, &port) == 0 && b_.map_lookup_and_delete_elem(fd_, &port, &v) == 0)
      total += v;
    return total;
  }

 private:
  bpfemu::Backend& b_;
  int fd_ = -1;
};

class PortCountersTest : public bpfemu::testing::BackendTest {};

TEST_P(PortCountersTest, CountsAndRanks) {
  PortCounters pc(backend(), 16);
  ASSERT_TRUE(pc.ok());
  ASSERT_EQ(pc.count(443, 10), 0);
  ASSERT_EQ(pc.count(80, 3), 0);
  ASSERT_EQ(pc.count(443, 5), 0);
  auto top = pc.top(1);
  ASSERT_EQ(top.size(), 1u);
  EXPECT_EQ(top[0].first, 443);
  EXPECT_EQ(top[0].second, 15u);
}

TEST_P(PortCountersTest, FullTableReportsE2bigLikeTheKernel) {
  PortCounters pc(backend(), 2);
  ASSERT_TRUE(pc.ok());
  ASSERT_EQ(pc.count(1, 1), 0);
  ASSERT_EQ(pc.count(2, 1), 0);
  EXPECT_EQ(pc.count(3, 1), -E2BIG);
  EXPECT_EQ(errno, E2BIG);
  EXPECT_EQ(pc.count(2, 1), 0);  // existing keys still update when full
}

TEST_P(PortCountersTest, DrainEmptiesTheMap) {
  PortCounters pc(backend(), 64);
  ASSERT_TRUE(pc.ok());
  for (uint16_t p = 1; p <= 40; ++p) ASSERT_EQ(pc.count(p, p), 0);
  EXPECT_EQ(pc.drain(), 40u * 41u / 2u);
  EXPECT_TRUE(pc.top(10).empty());
}

BPFEMU_INSTANTIATE_BACKEND_TEST(PortCountersTest);

}  // namespace
