// BLOOM_FILTER on its own: the bit-array size (through memlock), the kernel's
// bit layout with BPF_F_ZERO_SEED (predicted here from jhash), no false
// negatives with a random seed, lookups that never write the caller's buffer,
// and pushes from threads and from a forked process losing no bits. (The
// kernel's answers are compared by conformance/scenarios_bloom.cc.)
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "bpfemu/emu_backend.h"
#include "bpfemu/prog.h"
#include "core/host.h"
#include "emu/fd_ops.h"
#include "maptypes/jhash.h"

namespace {

constexpr uint32_t B = BPF_MAP_TYPE_BLOOM_FILTER;

class BloomTest : public ::testing::Test {
 protected:
  int make(uint32_t value_size, uint32_t max_entries, uint32_t flags = 0, uint64_t hash_funcs = 0) {
    bpfemu::MapCreateOpts o;
    o.map_flags = flags;
    o.map_extra = hash_funcs;
    int fd = b_.map_create(B, "bloom", 0, value_size, max_entries, &o);
    EXPECT_GE(fd, 0);
    fds_.push_back(fd);
    return fd;
  }
  void TearDown() override {
    for (int fd : fds_) EXPECT_EQ(b_.close(fd), 0);
  }
  uint64_t memlock(int fd) {
    std::string text;
    EXPECT_TRUE(bpfemu::emu::fdinfo_text(fd, &text));
    size_t at = text.find("memlock:\t");
    EXPECT_NE(at, std::string::npos);
    return std::stoull(text.substr(at + 9));
  }
  int push(int fd, uint32_t v, uint64_t flags = BPF_ANY) { return b_.map_update_elem(fd, nullptr, &v, flags); }
  int check(int fd, uint32_t v) { return b_.map_lookup_elem(fd, nullptr, &v); }

  bpfemu::EmuBackend b_;
  std::vector<int> fds_;
};

// bloom_map_mem_usage: sizeof(struct bpf_bloom_filter) (312 on 6.18) plus the
// bit array: max_entries * k * 7 / 5 bits, a power of two of at least 64.
TEST_F(BloomTest, BitArraySize) {
  bpfemu::FakeHost no_btf;  // the 6.18 profile's built-in structure sizes
  bpfemu::ScopedHost host(no_btf);
  EXPECT_EQ(memlock(make(4, 1, 0, 1)), 312u + 8);         // 1 * 1 * 7 / 5 -> 64 bits
  EXPECT_EQ(memlock(make(4, 49, 0, 1)), 312u + 8);        // 9 * 7 = 63 bits -> 64
  EXPECT_EQ(memlock(make(4, 50, 0, 1)), 312u + 16);       // 70 bits -> 128
  EXPECT_EQ(memlock(make(4, 100, 0, 0)), 312u + 128);     // k 5: 700 bits -> 1024
  EXPECT_EQ(memlock(make(4, 1000, 0, 3)), 312u + 1024);   // 4200 bits -> 8192
}

TEST_F(BloomTest, CreateRules) {
  bpfemu::MapCreateOpts o;
  o.map_extra = 16;
  EXPECT_EQ(b_.map_create(B, "b", 0, 4, 4, &o), -EINVAL);
  o.map_extra = 15;
  int fd = b_.map_create(B, "b", 0, 4, 4, &o);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(b_.close(fd), 0);
  EXPECT_EQ(b_.map_create(B, "b", 4, 4, 4, nullptr), -EINVAL);
  EXPECT_EQ(b_.map_create(B, "b", 0, 0, 4, nullptr), -EINVAL);
  EXPECT_EQ(b_.map_create(B, "b", 0, 4, 0, nullptr), -EINVAL);
  EXPECT_EQ(b_.map_create(B, "b", 4, (1U << 22) + 1, 4, nullptr), -E2BIG);  // before the key check
  o.map_extra = 0;
  o.map_flags = BPF_F_NO_PREALLOC;
  EXPECT_EQ(b_.map_create(B, "b", 0, 4, 4, &o), -EINVAL);
}

// With a zero seed and one hash function in a 64-bit array, value v uses bit
// jhash(v, 4, 0) & 63: a check answers "present" exactly when that bit was set.
TEST_F(BloomTest, ZeroSeedUsesTheKernelsBits) {
  int fd = make(4, 1, BPF_F_ZERO_SEED, 1);
  bool set[64] = {};
  for (uint32_t v = 0; v < 10; ++v) {
    ASSERT_EQ(push(fd, v * 7919), 0);
    uint32_t pushed = v * 7919;
    set[bpfemu::maptypes::jhash(&pushed, 4, 0) & 63] = true;
  }
  int false_positives = 0;
  for (uint32_t v = 0; v < 1000; ++v) {
    const bool expect = set[bpfemu::maptypes::jhash(&v, 4, 0) & 63];
    ASSERT_EQ(check(fd, v), expect ? 0 : -ENOENT) << v;
    false_positives += expect && v % 7919 != 0;
  }
  EXPECT_GT(false_positives, 0);  // the scenario does exercise collisions
}

TEST_F(BloomTest, RandomSeedHasNoFalseNegatives) {
  int fd = make(4, 5000, 0, 4);
  for (uint32_t v = 0; v < 5000; ++v) ASSERT_EQ(push(fd, v * 3 + 1), 0);
  for (uint32_t v = 0; v < 5000; ++v) ASSERT_EQ(check(fd, v * 3 + 1), 0) << v;
}

TEST_F(BloomTest, LookupNeverWritesTheBuffer) {
  int fd = make(12, 8, BPF_F_ZERO_SEED);
  uint8_t value[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  uint8_t copy[12];
  memcpy(copy, value, sizeof(value));
  EXPECT_EQ(b_.map_lookup_elem(fd, nullptr, value), -ENOENT);
  EXPECT_EQ(b_.map_update_elem(fd, nullptr, value, BPF_ANY), 0);
  EXPECT_EQ(b_.map_lookup_elem(fd, nullptr, value), 0);
  EXPECT_EQ(memcmp(value, copy, sizeof(value)), 0);
  EXPECT_EQ(b_.map_lookup_elem(fd, nullptr, nullptr), -EFAULT);
}

TEST_F(BloomTest, FlagsKeysAndUnsupportedOps) {
  int fd = make(4, 8, BPF_F_ZERO_SEED);
  uint32_t key = 0, v = 5;
  EXPECT_EQ(push(fd, 5, BPF_EXIST), -EINVAL);
  EXPECT_EQ(push(fd, 5, BPF_NOEXIST), -EINVAL);
  EXPECT_EQ(push(fd, 5, BPF_F_LOCK), -EINVAL);
  EXPECT_EQ(check(fd, 5), -ENOENT);
  EXPECT_EQ(b_.map_update_elem(fd, &key, &v, BPF_ANY), -EINVAL);
  EXPECT_EQ(b_.map_lookup_elem(fd, &key, &v), -EINVAL);
  EXPECT_EQ(b_.map_delete_elem(fd, nullptr), -EOPNOTSUPP);
  EXPECT_EQ(b_.map_get_next_key(fd, nullptr, &key), -EOPNOTSUPP);
  EXPECT_EQ(b_.map_lookup_and_delete_elem(fd, nullptr, &v), -524);  // ENOTSUPP
}

TEST_F(BloomTest, ProgramHelpersSetAndTestTheSameBits) {
  int fd = make(4, 64, BPF_F_ZERO_SEED, 3);
  bpfemu::prog::MapRef m(fd);
  ASSERT_TRUE(m.valid());
  uint32_t v = 42, other = 43;
  EXPECT_EQ(m.peek(&v), -ENOENT);
  EXPECT_EQ(m.push(&v, BPF_EXIST), -EINVAL);
  EXPECT_EQ(m.push(&v, BPF_ANY), 0);
  EXPECT_EQ(m.peek(&v), 0);
  EXPECT_EQ(check(fd, 42), 0);
  EXPECT_EQ(push(fd, 43), 0);
  EXPECT_EQ(m.peek(&other), 0);
  EXPECT_EQ(m.pop(&v), -EOPNOTSUPP);
  EXPECT_EQ(m.remove(&v), -EOPNOTSUPP);
}

// Threads OR bits into the same words: none may be lost.
TEST_F(BloomTest, ConcurrentPushesLoseNoBits) {
  int fd = make(4, 4000, 0, 2);
  constexpr uint32_t kThreads = 4, kEach = 1000;
  std::vector<std::thread> ts;
  for (uint32_t t = 0; t < kThreads; ++t)
    ts.emplace_back([&, t] {
      for (uint32_t i = 0; i < kEach; ++i) {
        uint32_t v = t * kEach + i;
        EXPECT_EQ(b_.map_update_elem(fd, nullptr, &v, BPF_ANY), 0);
      }
    });
  for (auto& t : ts) t.join();
  for (uint32_t v = 0; v < kThreads * kEach; ++v) ASSERT_EQ(check(fd, v), 0) << v;
}

TEST_F(BloomTest, ForkedProcessPushesIntoTheSameFilter) {
  int fd = make(4, 4000, 0, 3);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    bool ok = true;
    for (uint32_t v = 0; v < 2000; ++v) ok = ok && push(fd, 2 * v) == 0;
    _exit(ok ? 0 : 1);
  }
  for (uint32_t v = 0; v < 2000; ++v) ASSERT_EQ(push(fd, 2 * v + 1), 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
  for (uint32_t v = 0; v < 4000; ++v) ASSERT_EQ(check(fd, v), 0) << v;
}

}  // namespace
