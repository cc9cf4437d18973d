// How to test a map consumer with bpfemu: the code under test takes a
// bpfemu::Backend&, the test builds it on a backend chosen by name. This file is
// compiled twice: into bpfemu_tests with the emulator (no root needed) and into
// bpfemu_kernel_tests with the real kernel (ctest label "kernel"; skipped with a
// message when bpf() is not permitted). The assertions are the same for both.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "bpfemu/backend.h"

#ifndef BPFEMU_TEST_BACKEND
#define BPFEMU_TEST_BACKEND "emu"
#endif

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

class PortCountersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    backend_ = bpfemu::make_backend(BPFEMU_TEST_BACKEND, &why);
    if (!backend_) GTEST_SKIP() << "backend '" << BPFEMU_TEST_BACKEND << "' unavailable: " << why;
  }
  std::unique_ptr<bpfemu::Backend> backend_;
};

TEST_F(PortCountersTest, CountsAndRanks) {
  PortCounters pc(*backend_, 16);
  ASSERT_TRUE(pc.ok());
  ASSERT_EQ(pc.count(443, 10), 0);
  ASSERT_EQ(pc.count(80, 3), 0);
  ASSERT_EQ(pc.count(443, 5), 0);
  auto top = pc.top(1);
  ASSERT_EQ(top.size(), 1u);
  EXPECT_EQ(top[0].first, 443);
  EXPECT_EQ(top[0].second, 15u);
}

TEST_F(PortCountersTest, FullTableReportsE2bigLikeTheKernel) {
  PortCounters pc(*backend_, 2);
  ASSERT_EQ(pc.count(1, 1), 0);
  ASSERT_EQ(pc.count(2, 1), 0);
  EXPECT_EQ(pc.count(3, 1), -E2BIG);
  EXPECT_EQ(errno, E2BIG);
  EXPECT_EQ(pc.count(2, 1), 0);  // existing keys still update when full
}

TEST_F(PortCountersTest, DrainEmptiesTheMap) {
  PortCounters pc(*backend_, 64);
  for (uint16_t p = 1; p <= 40; ++p) ASSERT_EQ(pc.count(p, p), 0);
  EXPECT_EQ(pc.drain(), 40u * 41u / 2u);
  EXPECT_TRUE(pc.top(10).empty());
}

}  // namespace
