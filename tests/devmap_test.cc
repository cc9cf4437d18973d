// DEVMAP, DEVMAP_HASH and CPUMAP on the emulator: create rules, what updates
// accept (the loopback device, programs loaded for the map's attach type,
// CPUMAP queue sizes), lookups answering program ids, deletes, the
// DEVMAP_HASH walk order, memlock, program references held by entries, and
// bpf_redirect_map's verdicts in a test run. Every expected value is what
// Linux 6.18 answered to the same calls (conformance/scenarios_devmap.cc
// compares the two sides call by call).
#include <linux/bpf.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "bpfemu/emu_backend.h"
#include "core/host.h"
#include "emu/fd_ops.h"
#include "tests/emu_test_support.h"

namespace {

constexpr uint32_t DEV = BPF_MAP_TYPE_DEVMAP;
constexpr uint32_t DEVH = BPF_MAP_TYPE_DEVMAP_HASH;
constexpr uint32_t CPU = BPF_MAP_TYPE_CPUMAP;
constexpr uint32_t kLoopback = 1;

class DevmapTest : public bpfemu::testsupport::PrivateBpffsTest {
 protected:
  void TearDown() override {
    for (int fd : fds_) EXPECT_EQ(b_.close(fd), 0);
    PrivateBpffsTest::TearDown();
  }
  int map(uint32_t type, uint32_t vs, uint32_t max, uint32_t flags = 0) {
    bpfemu::MapCreateOpts o;
    o.map_flags = flags;
    const int fd = b_.map_create(type, "m", 4, vs, max, &o);
    if (fd >= 0) fds_.push_back(fd);
    return fd;
  }
  int prog(uint32_t eat, std::vector<bpf_insn> insns = {}) {
    if (insns.empty()) insns = {{BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 2}, {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}};
    const int fd = bpfemu::testsupport::load_xdp(b_, insns, eat);
    if (fd >= 0) fds_.push_back(fd);
    return fd;
  }
  int put(int m, uint32_t key, uint32_t first, int prog_fd, uint64_t flags = BPF_ANY) {
    uint32_t v[2] = {first, static_cast<uint32_t>(prog_fd)};
    return b_.map_update_elem(m, &key, v, flags);
  }
  uint32_t prog_id(int fd) {
    bpf_prog_info info{};
    uint32_t len = sizeof(info);
    EXPECT_EQ(b_.obj_get_info_by_fd(fd, &info, &len), 0);
    return info.id;
  }
  uint64_t memlock(int fd) {
    std::string text;
    EXPECT_TRUE(bpfemu::emu::fdinfo_text(fd, &text));
    const size_t at = text.find("memlock:\t");
    EXPECT_NE(at, std::string::npos);
    return std::stoull(text.substr(at + 9));
  }
  // The verdict of an XDP program calling bpf_redirect_map(m, key, flags).
  int64_t redirect(int m, uint64_t key, uint64_t flags) {
    const std::vector<bpf_insn> insns = {
        {BPF_LD | BPF_DW | BPF_IMM, BPF_REG_1, BPF_PSEUDO_MAP_FD, 0, m},
        {0, 0, 0, 0, 0},
        {BPF_LD | BPF_DW | BPF_IMM, BPF_REG_2, 0, 0, static_cast<int32_t>(key)},
        {0, 0, 0, 0, static_cast<int32_t>(key >> 32)},
        {BPF_LD | BPF_DW | BPF_IMM, BPF_REG_3, 0, 0, static_cast<int32_t>(flags)},
        {0, 0, 0, 0, static_cast<int32_t>(flags >> 32)},
        {BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_redirect_map},
        {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
    };
    const int p = bpfemu::testsupport::load_xdp(b_, insns);
    if (p < 0) return p;
    uint32_t retval = 0;
    const long rc = bpfemu::testsupport::run_on_zero_packet(b_, p, &retval);
    EXPECT_EQ(b_.close(p), 0);
    return rc != 0 ? rc : int64_t{retval};
  }

  bpfemu::EmuBackend b_;
  std::vector<int> fds_;
};

TEST_F(DevmapTest, CreateRules) {
  for (uint32_t type : {DEV, DEVH}) {
    EXPECT_EQ(map(type, 4, 0), -EINVAL);
    EXPECT_EQ(map(type, 12, 4), -EINVAL);
    EXPECT_EQ(map(type, 4, 4, BPF_F_RDONLY_PROG), -EINVAL);
    EXPECT_EQ(map(type, 4, 4, BPF_F_NO_PREALLOC), -EINVAL);
    const int fd = map(type, 8, 4, BPF_F_RDONLY);
    ASSERT_GE(fd, 0);
    bpfemu::MapInfo info{};
    uint32_t len = sizeof(info);
    ASSERT_EQ(b_.obj_get_info_by_fd(fd, &info, &len), 0);
    EXPECT_EQ(info.map_flags, uint32_t{BPF_F_RDONLY_PROG});  // the kernel adds it; the access flag is the fd's
    EXPECT_EQ(memlock(fd), 376u);
  }
  EXPECT_EQ(map(DEVH, 4, 0x80000001u), -EINVAL);
  EXPECT_EQ(map(CPU, 4, 4, BPF_F_RDONLY), -EINVAL);
  EXPECT_EQ(map(CPU, 4, 257), -E2BIG);  // NR_CPUS of the 6.18 build checked
  const int c = map(CPU, 8, 4);
  ASSERT_GE(c, 0);
  EXPECT_EQ(memlock(c), 336u);
}

TEST_F(DevmapTest, DevmapUpdates) {
  const int m = map(DEV, 8, 4);
  ASSERT_GE(m, 0);
  EXPECT_EQ(put(m, 0, kLoopback, 0), 0);
  EXPECT_EQ(memlock(m), 440u);
  EXPECT_EQ(put(m, 0, kLoopback, 0, BPF_NOEXIST), -EEXIST);
  EXPECT_EQ(put(m, 1, kLoopback, 0, BPF_EXIST), 0);
  EXPECT_EQ(put(m, 1, kLoopback, 0, BPF_F_LOCK), -EINVAL);
  EXPECT_EQ(put(m, 9, kLoopback, 0), -E2BIG);
  EXPECT_EQ(put(m, 2, 9999, 0), -EINVAL);       // no such device
  EXPECT_EQ(put(m, 2, 0, 0), 0);                // empties the slot (and counts an item)
  EXPECT_EQ(put(m, 3, kLoopback, 55), -EINVAL);  // not a program fd
  EXPECT_EQ(put(m, 3, kLoopback, -1), 0);
  uint32_t v[2] = {0xaaaaaaaa, 0xaaaaaaaa};
  uint32_t k = 0;
  ASSERT_EQ(b_.map_lookup_elem(m, &k, v), 0);
  EXPECT_EQ(v[0], kLoopback);
  EXPECT_EQ(v[1], 0u);
  k = 2;
  EXPECT_EQ(b_.map_lookup_elem(m, &k, v), -ENOENT);
  EXPECT_EQ(b_.map_delete_elem(m, &k), 0);  // an empty slot is no error
  k = 1;
  EXPECT_EQ(b_.map_delete_elem(m, &k), 0);
  k = 9;
  EXPECT_EQ(b_.map_delete_elem(m, &k), -EINVAL);
  EXPECT_EQ(memlock(m), 568u);
  uint32_t next = 0;
  k = 3;
  EXPECT_EQ(b_.map_get_next_key(m, &k, &next), -ENOENT);
  k = 9;
  ASSERT_EQ(b_.map_get_next_key(m, &k, &next), 0);
  EXPECT_EQ(next, 0u);
}

TEST_F(DevmapTest, HashUpdatesAndOrder) {
  const int m = map(DEVH, 4, 5);
  ASSERT_GE(m, 0);
  const uint32_t lo = kLoopback;
  for (uint32_t k : {3u, 11u, 19u, 0u, 8u}) ASSERT_EQ(b_.map_update_elem(m, &k, &lo, BPF_ANY), 0);
  uint32_t k = 100;
  EXPECT_EQ(b_.map_update_elem(m, &k, &lo, BPF_ANY), -E2BIG);
  const uint32_t zero = 0;
  k = 3;
  EXPECT_EQ(b_.map_update_elem(m, &k, &zero, BPF_ANY), -EINVAL);
  EXPECT_EQ(b_.map_update_elem(m, &k, &lo, BPF_EXIST), 0);  // moves 3 to its bucket's head
  // 8 buckets: 0 and 8 share bucket 0 (8 newest), 3, 11, 19 bucket 3.
  std::vector<uint32_t> order;
  uint32_t cur = 0;
  const uint32_t* prev = nullptr;
  while (b_.map_get_next_key(m, prev, &cur) == 0 && order.size() < 10) {
    order.push_back(cur);
    prev = &cur;
  }
  EXPECT_EQ(order, (std::vector<uint32_t>{8, 0, 3, 19, 11}));
  k = 7;
  EXPECT_EQ(b_.map_delete_elem(m, &k), -ENOENT);
  k = 11;
  EXPECT_EQ(b_.map_delete_elem(m, &k), 0);
  k = 100;
  EXPECT_EQ(b_.map_update_elem(m, &k, &lo, BPF_EXIST), 0);  // BPF_EXIST needs no entry here
  EXPECT_EQ(memlock(m), 344u + 8 * 8 + 5 * 64);
}

TEST_F(DevmapTest, ProgramsInEntries) {
  const int plain = prog(0), dp = prog(BPF_XDP_DEVMAP), cp = prog(BPF_XDP_CPUMAP);
  ASSERT_GE(plain, 0);
  ASSERT_GE(dp, 0);
  ASSERT_GE(cp, 0);
  const int d = map(DEV, 8, 2), c = map(CPU, 8, 2);
  ASSERT_GE(d, 0);
  ASSERT_GE(c, 0);
  EXPECT_EQ(put(d, 0, kLoopback, plain), -EINVAL);
  EXPECT_EQ(put(d, 0, kLoopback, cp), -EINVAL);
  EXPECT_EQ(put(d, 0, kLoopback, d), -EINVAL);
  EXPECT_EQ(put(d, 0, 0, dp), -EINVAL);
  ASSERT_EQ(put(d, 0, kLoopback, dp), 0);
  EXPECT_EQ(put(c, 0, 8, plain), -ENOMEM);
  EXPECT_EQ(put(c, 0, 8, dp), -ENOMEM);
  EXPECT_EQ(put(c, 0, 8, 4000), -ENOMEM);
  ASSERT_EQ(put(c, 0, 8, cp), 0);
  uint32_t v[2] = {};
  uint32_t k = 0;
  ASSERT_EQ(b_.map_lookup_elem(d, &k, v), 0);
  EXPECT_EQ(v[0], kLoopback);
  EXPECT_EQ(v[1], prog_id(dp));
  ASSERT_EQ(b_.map_lookup_elem(c, &k, v), 0);
  EXPECT_EQ(v[0], 8u);
  EXPECT_EQ(v[1], prog_id(cp));

  // The entry holds its program: closing the fd leaves it alive until the
  // entry goes.
  const uint32_t id = prog_id(dp);
  fds_.erase(std::find(fds_.begin(), fds_.end(), dp));
  ASSERT_EQ(b_.close(dp), 0);
  union bpf_attr a {};
  a.prog_id = id;
  const long fd = b_.bpf(BPF_PROG_GET_FD_BY_ID, &a, sizeof(a));
  ASSERT_GE(fd, 0);
  ASSERT_EQ(b_.close(static_cast<int>(fd)), 0);
  ASSERT_EQ(b_.map_delete_elem(d, &k), 0);
  EXPECT_EQ(b_.bpf(BPF_PROG_GET_FD_BY_ID, &a, sizeof(a)), -ENOENT);

  // Freeing the map lets go of its entries' programs.
  const uint32_t cid = prog_id(cp);
  fds_.erase(std::find(fds_.begin(), fds_.end(), cp));
  ASSERT_EQ(b_.close(cp), 0);
  fds_.erase(std::find(fds_.begin(), fds_.end(), c));
  ASSERT_EQ(b_.close(c), 0);
  a.prog_id = cid;
  EXPECT_EQ(b_.bpf(BPF_PROG_GET_FD_BY_ID, &a, sizeof(a)), -ENOENT);
}

TEST_F(DevmapTest, CpumapUpdates) {
  const int c = map(CPU, 4, 8);
  ASSERT_GE(c, 0);
  uint32_t k = 0, q = 64;
  EXPECT_EQ(b_.map_update_elem(c, &k, &q, BPF_ANY), 0);
  EXPECT_EQ(b_.map_update_elem(c, &k, &q, BPF_NOEXIST), -EEXIST);
  EXPECT_EQ(b_.map_update_elem(c, &k, &q, BPF_EXIST), 0);
  k = 8;
  EXPECT_EQ(b_.map_update_elem(c, &k, &q, BPF_ANY), -E2BIG);
  k = static_cast<uint32_t>(bpfemu::host().possible_cpus());
  if (k < 8) {
    EXPECT_EQ(b_.map_update_elem(c, &k, &q, BPF_ANY), -ENODEV);
  }
  k = 0;
  q = 16385;
  EXPECT_EQ(b_.map_update_elem(c, &k, &q, BPF_ANY), -EOVERFLOW);
  q = 0;
  EXPECT_EQ(b_.map_update_elem(c, &k, &q, BPF_ANY), 0);  // deletes
  EXPECT_EQ(b_.map_lookup_elem(c, &k, &q), -ENOENT);
  EXPECT_EQ(b_.map_delete_elem(c, &k), 0);
  k = 8;
  EXPECT_EQ(b_.map_delete_elem(c, &k), -EINVAL);
  EXPECT_EQ(memlock(c), 304u + 8 * 8);
}

TEST_F(DevmapTest, RedirectMapVerdicts) {
  const int d = map(DEV, 4, 4), h = map(DEVH, 4, 4), c = map(CPU, 4, 4);
  ASSERT_GE(d, 0);
  ASSERT_GE(h, 0);
  ASSERT_GE(c, 0);
  const uint32_t k0 = 0, k5 = 5, lo = kLoopback, q = 16;
  ASSERT_EQ(b_.map_update_elem(d, &k0, &lo, BPF_ANY), 0);
  ASSERT_EQ(b_.map_update_elem(h, &k5, &lo, BPF_ANY), 0);
  ASSERT_EQ(b_.map_update_elem(c, &k0, &q, BPF_ANY), 0);
  EXPECT_EQ(redirect(d, 0, 0), XDP_REDIRECT);
  EXPECT_EQ(redirect(d, uint64_t{1} << 32, 0), XDP_REDIRECT);  // the key is a u32
  EXPECT_EQ(redirect(d, 1, 0), XDP_ABORTED);
  EXPECT_EQ(redirect(d, 3, XDP_PASS), XDP_PASS);
  EXPECT_EQ(redirect(d, 3, 4), XDP_ABORTED);
  EXPECT_EQ(redirect(d, 3, BPF_F_BROADCAST), XDP_REDIRECT);
  EXPECT_EQ(redirect(d, 3, uint64_t{BPF_F_EXCLUDE_INGRESS} | XDP_TX), XDP_TX);
  EXPECT_EQ(redirect(h, 5, 0), XDP_REDIRECT);
  EXPECT_EQ(redirect(h, 0, XDP_DROP), XDP_DROP);
  EXPECT_EQ(redirect(c, 0, 0), XDP_REDIRECT);
  EXPECT_EQ(redirect(c, 3, XDP_PASS), XDP_PASS);
  EXPECT_EQ(redirect(c, 0, BPF_F_BROADCAST), XDP_ABORTED);
  // Only maps that redirect may be passed to it.
  const int arr = b_.map_create(BPF_MAP_TYPE_ARRAY, "a", 4, 4, 1, nullptr);
  ASSERT_GE(arr, 0);
  fds_.push_back(arr);
  EXPECT_EQ(redirect(arr, 0, 0), -EINVAL);
}

}  // namespace
