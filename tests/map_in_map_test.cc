// ARRAY_OF_MAPS and HASH_OF_MAPS on the emulator: the template rules at
// create, what an update accepts, lookups answering ids, the lifetime of
// inner maps held only by slots, the batch commands, memlock, and a program
// that looks a map up in an outer map and then uses it. Every expected value
// is what Linux 6.18 answered to the same calls (conformance/
// scenarios_map_in_map.cc compares the two sides call by call).
#include <linux/bpf.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "bpfemu/emu_backend.h"
#include "core/host.h"
#include "emu/fd_ops.h"
#include "tests/emu_test_support.h"

namespace {

constexpr uint32_t AOM = BPF_MAP_TYPE_ARRAY_OF_MAPS;
constexpr uint32_t HOM = BPF_MAP_TYPE_HASH_OF_MAPS;
constexpr int kENOTSUPP = 524;

class MapInMapTest : public bpfemu::testsupport::PrivateBpffsTest {
 protected:
  void TearDown() override {
    for (int fd : fds_) EXPECT_EQ(b_.close(fd), 0);
    PrivateBpffsTest::TearDown();
  }
  // A map, kept open until the end of the test; its fd or -errno.
  int map(uint32_t type, uint32_t ks, uint32_t vs, uint32_t max, uint32_t flags = 0, int inner = 0) {
    bpfemu::MapCreateOpts o;
    o.map_flags = flags;
    o.inner_map_fd = static_cast<uint32_t>(inner);
    const int fd = b_.map_create(type, "m", ks, vs, max, &o);
    if (fd >= 0) fds_.push_back(fd);
    return fd;
  }
  int close(int fd) {
    fds_.erase(std::remove(fds_.begin(), fds_.end(), fd), fds_.end());
    return b_.close(fd);
  }
  uint32_t id_of(int fd) {
    bpfemu::MapInfo info{};
    uint32_t len = sizeof(info);
    EXPECT_EQ(b_.obj_get_info_by_fd(fd, &info, &len), 0);
    return info.id;
  }
  // 1 when the map with this id exists, else -errno of map_get_fd_by_id.
  int alive(uint32_t id) {
    const int fd = b_.map_get_fd_by_id(id);
    if (fd < 0) return fd;
    EXPECT_EQ(b_.close(fd), 0);
    return 1;
  }
  int store(int outer, uint32_t key, int inner, uint64_t flags = BPF_ANY) {
    return b_.map_update_elem(outer, &key, &inner, flags);
  }
  // The id slot `key` answers, or -errno.
  int64_t slot(int outer, uint32_t key) {
    uint32_t id = 0;
    const int rc = b_.map_lookup_elem(outer, &key, &id);
    return rc != 0 ? rc : int64_t{id};
  }
  uint64_t memlock(int fd) {
    std::string text;
    EXPECT_TRUE(bpfemu::emu::fdinfo_text(fd, &text));
    const size_t at = text.find("memlock:\t");
    EXPECT_NE(at, std::string::npos);
    return std::stoull(text.substr(at + 9));
  }

  bpfemu::EmuBackend b_;
  std::vector<int> fds_;
};

TEST_F(MapInMapTest, CreateNeedsAUsableTemplate) {
  const int arr = map(BPF_MAP_TYPE_ARRAY, 4, 8, 4);
  const int progs = map(BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 4);
  const int perf = map(BPF_MAP_TYPE_PERF_EVENT_ARRAY, 4, 4, 4);
  ASSERT_GE(arr, 0);
  ASSERT_GE(progs, 0);
  ASSERT_GE(perf, 0);
  for (uint32_t type : {AOM, HOM}) {
    EXPECT_EQ(map(type, 4, 4, 4, 0, 4000), -EBADF);     // a closed fd
    EXPECT_EQ(map(type, 4, 8, 4, 0, 4000), -EINVAL);    // sizes are checked before the template
    EXPECT_EQ(map(type, 4, 4, 4, 0, progs), -kENOTSUPP);  // PROG_ARRAY has no map_meta_equal
    const int outer = map(type, 4, 4, 2, 0, arr);
    ASSERT_GE(outer, 0);
    EXPECT_EQ(map(AOM, 4, 4, 4, 0, outer), -EINVAL);  // one level of nesting only
    EXPECT_EQ(map(HOM, 4, 4, 4, 0, outer), -EINVAL);
    EXPECT_GE(map(type, 4, 4, 4, 0, perf), 0);  // a perf event array may be one
  }
  EXPECT_EQ(map(AOM, 8, 4, 4, 0, arr), -EINVAL);
  EXPECT_EQ(map(AOM, 4, 4, 4, BPF_F_INNER_MAP, arr), -EINVAL);
  EXPECT_EQ(map(AOM, 4, 4, 4, BPF_F_RDONLY_PROG, arr), -EINVAL);
  EXPECT_GE(map(HOM, 64, 4, 4, BPF_F_NO_PREALLOC, arr), 0);
  EXPECT_EQ(map(HOM, 4, 8, 4, 0, arr), -EINVAL);
}

TEST_F(MapInMapTest, UpdatesMatchTheTemplate) {
  const int hash = map(BPF_MAP_TYPE_HASH, 4, 8, 4);
  const int arr = map(BPF_MAP_TYPE_ARRAY, 4, 8, 4);
  const int flexible = map(BPF_MAP_TYPE_ARRAY, 4, 8, 4, BPF_F_INNER_MAP);
  ASSERT_GE(hash, 0);
  ASSERT_GE(arr, 0);
  ASSERT_GE(flexible, 0);
  const int by_hash = map(AOM, 4, 4, 4, 0, hash);
  const int by_arr = map(HOM, 4, 4, 4, 0, arr);
  const int by_flexible = map(AOM, 4, 4, 4, 0, flexible);
  ASSERT_GE(by_hash, 0);
  ASSERT_GE(by_arr, 0);
  ASSERT_GE(by_flexible, 0);
  // Hash maps of another max_entries match; arrays must have the template's,
  // unless it was made with BPF_F_INNER_MAP.
  EXPECT_EQ(store(by_hash, 0, map(BPF_MAP_TYPE_HASH, 4, 8, 8)), 0);
  EXPECT_EQ(store(by_hash, 0, map(BPF_MAP_TYPE_HASH, 4, 16, 4)), -EINVAL);
  EXPECT_EQ(store(by_hash, 0, map(BPF_MAP_TYPE_HASH, 4, 8, 4, BPF_F_NO_PREALLOC)), -EINVAL);
  EXPECT_EQ(store(by_hash, 0, map(BPF_MAP_TYPE_LRU_HASH, 4, 8, 4)), -EINVAL);
  EXPECT_EQ(store(by_hash, 0, map(BPF_MAP_TYPE_HASH, 4, 8, 4, BPF_F_RDONLY)), 0);  // fd access is not a map flag
  EXPECT_EQ(store(by_arr, 0, map(BPF_MAP_TYPE_ARRAY, 4, 8, 8)), -EINVAL);
  EXPECT_EQ(store(by_flexible, 0, map(BPF_MAP_TYPE_ARRAY, 4, 8, 64, BPF_F_INNER_MAP)), 0);
  EXPECT_EQ(store(by_flexible, 0, map(BPF_MAP_TYPE_ARRAY, 4, 8, 64)), -EINVAL);
  EXPECT_EQ(store(by_hash, 0, 4000), -EBADF);
  EXPECT_EQ(store(by_hash, 0, by_arr), -EINVAL);
}

TEST_F(MapInMapTest, ArrayOfMapsSlots) {
  const int a = map(BPF_MAP_TYPE_ARRAY, 4, 8, 4);
  ASSERT_GE(a, 0);
  const int outer = map(AOM, 4, 4, 3, 0, a);
  ASSERT_GE(outer, 0);
  EXPECT_EQ(store(outer, 0, a, BPF_NOEXIST), -EINVAL);  // BPF_ANY only
  EXPECT_EQ(store(outer, 0, a, BPF_EXIST), -EINVAL);
  EXPECT_EQ(store(outer, 3, a), -E2BIG);
  EXPECT_EQ(slot(outer, 0), -ENOENT);
  EXPECT_EQ(store(outer, 0, a), 0);
  EXPECT_EQ(slot(outer, 0), int64_t{id_of(a)});
  EXPECT_EQ(slot(outer, 3), -ENOENT);
  uint32_t key = 1, value = 0;
  EXPECT_EQ(b_.map_delete_elem(outer, &key), -ENOENT);
  key = 3;
  EXPECT_EQ(b_.map_delete_elem(outer, &key), -E2BIG);
  key = 0;
  EXPECT_EQ(b_.map_lookup_and_delete_elem(outer, &key, &value), -kENOTSUPP);
  // The generic batch lookup skips empty slots; there is no delete batch.
  uint32_t keys[3], values[3], count = 3, token = 0;
  EXPECT_EQ(b_.map_lookup_batch(outer, nullptr, &token, keys, values, &count, nullptr), -ENOENT);
  EXPECT_EQ(count, 1u);
  EXPECT_EQ(keys[0], 0u);
  EXPECT_EQ(values[0], id_of(a));
  count = 3;
  EXPECT_EQ(b_.map_delete_batch(outer, keys, &count, nullptr), -kENOTSUPP);
  count = 3;
  EXPECT_EQ(b_.map_lookup_and_delete_batch(outer, nullptr, &token, keys, values, &count, nullptr), -kENOTSUPP);
  // array_map_mem_usage: struct bpf_array (312 bytes) and 8 bytes a slot;
  // the kernel answered 336.
  bpfemu::FakeHost no_btf;
  bpfemu::ScopedHost host(no_btf);
  EXPECT_EQ(memlock(outer), 336u);
}

TEST_F(MapInMapTest, HashOfMapsFlagsAndMemlock) {
  bpfemu::FakeHost no_btf;  // 2 possible CPUs, the 6.18 profile's built-in structure sizes
  bpfemu::ScopedHost host(no_btf);
  const int a = map(BPF_MAP_TYPE_HASH, 4, 8, 4);
  ASSERT_GE(a, 0);
  const int outer = map(HOM, 8, 4, 2, BPF_F_ZERO_SEED, a);
  ASSERT_GE(outer, 0);
  auto put = [&](uint64_t key, uint64_t flags) { return b_.map_update_elem(outer, &key, &a, flags); };
  EXPECT_EQ(put(1, BPF_EXIST), -ENOENT);
  EXPECT_EQ(put(1, BPF_NOEXIST), 0);
  EXPECT_EQ(put(1, BPF_NOEXIST), -EEXIST);
  EXPECT_EQ(put(1, 4), -EINVAL);
  EXPECT_EQ(put(2, BPF_ANY), 0);
  EXPECT_EQ(put(3, BPF_ANY), -E2BIG);
  EXPECT_EQ(put(2, BPF_ANY), 0);  // replacing when full
  uint64_t key = 1;
  uint32_t id = 0;
  EXPECT_EQ(b_.map_lookup_elem(outer, &key, &id), 0);
  EXPECT_EQ(id, id_of(a));
  EXPECT_EQ(b_.map_lookup_and_delete_elem(outer, &key, &id), -kENOTSUPP);
  // htab_map_mem_usage, without the per-CPU extra elements fd hash tables
  // lack: struct bpf_htab, then 240 bytes (2 buckets, the per-CPU lock
  // counts, 2 elements of 64 bytes, the extra-element pointers). The 6.18
  // machine here answered 1072, its struct bpf_htab being 832 bytes; the
  // profile's built-in size is 896.
  EXPECT_EQ(memlock(outer), 896u + 240);
}

// A slot holds its map: alive after its last fd closes, freed when no slot
// holds it any more or the outer map goes.
TEST_F(MapInMapTest, SlotsHoldInnerMaps) {
  for (uint32_t type : {AOM, HOM}) {
    const int tmpl = map(BPF_MAP_TYPE_HASH, 4, 8, 4);
    const int a = map(BPF_MAP_TYPE_HASH, 4, 8, 4);
    const int b = map(BPF_MAP_TYPE_HASH, 4, 8, 4);
    ASSERT_GE(tmpl, 0);
    ASSERT_GE(a, 0);
    ASSERT_GE(b, 0);
    const uint32_t ida = id_of(a), idb = id_of(b);
    const int outer = map(type, 4, 4, 4, 0, tmpl);
    ASSERT_GE(outer, 0);
    uint32_t k = 1;
    uint64_t v = 11;
    ASSERT_EQ(b_.map_update_elem(a, &k, &v, BPF_ANY), 0);
    ASSERT_EQ(store(outer, 0, a), 0);
    ASSERT_EQ(store(outer, 1, a), 0);
    ASSERT_EQ(store(outer, 2, b), 0);
    ASSERT_EQ(close(a), 0);
    ASSERT_EQ(close(b), 0);
    EXPECT_EQ(alive(ida), 1);
    const int again = b_.map_get_fd_by_id(ida);
    ASSERT_GE(again, 0);
    v = 0;
    EXPECT_EQ(b_.map_lookup_elem(again, &k, &v), 0);
    EXPECT_EQ(v, 11u);
    EXPECT_EQ(b_.close(again), 0);
    k = 0;
    EXPECT_EQ(b_.map_delete_elem(outer, &k), 0);
    EXPECT_EQ(alive(ida), 1);  // slot 1 still holds it
    k = 1;
    EXPECT_EQ(b_.map_delete_elem(outer, &k), 0);
    EXPECT_EQ(alive(ida), -ENOENT);
    EXPECT_EQ(alive(idb), 1);
    ASSERT_EQ(close(outer), 0);
    EXPECT_EQ(alive(idb), -ENOENT);  // the kernel drops it a moment later, from a work queue
  }
}

// Threads storing, replacing and deleting slots at once leave no reference
// behind: once the outer map and the inner maps' fds are gone, so are they.
TEST_F(MapInMapTest, ConcurrentSlotChurnLeaksNoReference) {
  for (uint32_t type : {AOM, HOM}) {
    std::vector<int> inner;
    std::vector<uint32_t> ids;
    for (int i = 0; i < 4; ++i) {
      inner.push_back(map(BPF_MAP_TYPE_ARRAY, 4, 8, 2));
      ASSERT_GE(inner.back(), 0);
      ids.push_back(id_of(inner.back()));
    }
    const int outer = map(type, 4, 4, 8, 0, inner[0]);
    ASSERT_GE(outer, 0);
    std::vector<std::thread> threads;
    std::atomic<int> bad{0};
    for (int t = 0; t < 2; ++t) {
      threads.emplace_back([&, t] {
        for (uint32_t n = 0; n < 2000; ++n) {
          const uint32_t key = (n * 7 + static_cast<uint32_t>(t)) % 8;
          if (n % 3 == 2) {
            const int rc = b_.map_delete_elem(outer, &key);
            if (rc != 0 && rc != -ENOENT) ++bad;
          } else {
            const int fd = inner[(n + static_cast<uint32_t>(t)) % inner.size()];
            if (b_.map_update_elem(outer, &key, &fd, BPF_ANY) != 0) ++bad;
          }
        }
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(bad.load(), 0);
    ASSERT_EQ(close(outer), 0);
    for (int fd : inner) ASSERT_EQ(close(fd), 0);
    for (uint32_t id : ids) EXPECT_EQ(alive(id), -ENOENT);
  }
}

// A program looks slot 0 up in the outer map, then key 1 in the map it got,
// and returns that value (99: a lookup found nothing).
TEST_F(MapInMapTest, ProgramLooksUpThroughTheOuterMap) {
  const int inner = map(BPF_MAP_TYPE_ARRAY, 4, 8, 4);
  ASSERT_GE(inner, 0);
  for (uint32_t type : {AOM, HOM}) {
    const int outer = map(type, 4, 4, 4, 0, inner);
    ASSERT_GE(outer, 0);
    const std::vector<bpf_insn> insns = {
        {BPF_ST | BPF_MEM | BPF_W, BPF_REG_10, 0, -4, 0},
        {BPF_LD | BPF_DW | BPF_IMM, BPF_REG_1, BPF_PSEUDO_MAP_FD, 0, outer},
        {0, 0, 0, 0, 0},
        {BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, BPF_REG_10, 0, 0},
        {BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, -4},
        {BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem},
        {BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_0, 0, 8, 0},
        {BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_1, BPF_REG_0, 0, 0},
        {BPF_ST | BPF_MEM | BPF_W, BPF_REG_10, 0, -8, 1},
        {BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, BPF_REG_10, 0, 0},
        {BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, -8},
        {BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem},
        {BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_0, 0, 2, 0},
        {BPF_LDX | BPF_MEM | BPF_DW, BPF_REG_0, BPF_REG_0, 0, 0},
        {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
        {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 99},
        {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
    };
    const int prog = bpfemu::testsupport::load_xdp(b_, insns);
    ASSERT_GE(prog, 0);
    auto run = [&] {
      uint32_t retval = 0;
      EXPECT_EQ(bpfemu::testsupport::run_on_zero_packet(b_, prog, &retval), 0);
      return retval;
    };
    EXPECT_EQ(run(), 99u);  // slot 0 is empty
    ASSERT_EQ(store(outer, 0, inner), 0);
    uint32_t k = 1;
    uint64_t v = 42;
    ASSERT_EQ(b_.map_update_elem(inner, &k, &v, BPF_ANY), 0);
    EXPECT_EQ(run(), 42u);
    EXPECT_EQ(b_.close(prog), 0);
  }
}

// The verifier refuses a program that updates or deletes in an outer map.
TEST_F(MapInMapTest, ProgramsMayNotWriteOuterMaps) {
  const int inner = map(BPF_MAP_TYPE_ARRAY, 4, 8, 4);
  ASSERT_GE(inner, 0);
  const int outer = map(HOM, 4, 4, 4, 0, inner);
  ASSERT_GE(outer, 0);
  for (int func : {BPF_FUNC_map_update_elem, BPF_FUNC_map_delete_elem}) {
    const std::vector<bpf_insn> insns = {
        {BPF_ST | BPF_MEM | BPF_W, BPF_REG_10, 0, -8, 0},
        {BPF_ST | BPF_MEM | BPF_W, BPF_REG_10, 0, -4, 0},
        {BPF_LD | BPF_DW | BPF_IMM, BPF_REG_1, BPF_PSEUDO_MAP_FD, 0, outer},
        {0, 0, 0, 0, 0},
        {BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, BPF_REG_10, 0, 0},
        {BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, -4},
        {BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_3, BPF_REG_10, 0, 0},
        {BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_3, 0, 0, -8},
        {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_4, 0, 0, 0},
        {BPF_JMP | BPF_CALL, 0, 0, 0, func},
        {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0},
        {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
    };
    EXPECT_EQ(bpfemu::testsupport::load_xdp(b_, insns), -EINVAL);
  }
}

}  // namespace
