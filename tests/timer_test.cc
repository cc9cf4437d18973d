// struct bpf_timer on the emulated clock: a program arms a 30 s timer on each
// element of a hash map, whose callback deletes the element. With the clock
// frozen, 29 s later nothing has gone; 2 s more and every element has. Then
// the helpers' answers (kernel/bpf/helpers.c) and the map rules around timers.
#include <bpf/btf.h>
#include <gtest/gtest.h>

#include "tests/emu_test_support.h"
#include <linux/bpf.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <ctime>
#include <vector>

#include "bpfemu/clock.h"
#include "bpfemu/emu_backend.h"
#include "bpfemu/testing.h"
#include "emu/insn_builder.h"

namespace {

using namespace bpfemu::insn;

constexpr uint64_t kSecond = 1000000000ULL;

struct Elem {
  uint64_t data;
  uint64_t timer[2];  // struct bpf_timer
};
constexpr int16_t kTimerOff = offsetof(Elem, timer);

// BTF of a 4-byte key and `struct elem { u64 data; struct bpf_timer t; }`.
struct TimerValueType {
  TimerValueType() {
    btf* b = btf__new_empty();
    const int u32 = btf__add_int(b, "u32", 4, 0);
    const int u64 = btf__add_int(b, "u64", 8, 0);
    const int opaque = btf__add_array(b, u32, u64, 2);
    const int timer = btf__add_struct(b, "bpf_timer", 16);
    btf__add_field(b, "__opaque", opaque, 0, 0);
    value_id = btf__add_struct(b, "elem", sizeof(Elem));
    btf__add_field(b, "data", u64, 0, 0);
    btf__add_field(b, "t", timer, kTimerOff * 8, 0);
    key_id = u32;
    uint32_t size = 0;
    const auto* raw = static_cast<const uint8_t*>(btf__raw_data(b, &size));
    blob.assign(raw, raw + size);
    btf__free(b);
  }
  std::vector<uint8_t> blob;
  int key_id = 0;
  int value_id = 0;
};

// ld_imm64 of the address of the instruction at `target` (BPF_PSEUDO_FUNC):
// the immediate counts from the instruction after the pair.
void ld_func(std::vector<bpf_insn>& p, uint8_t dst, size_t target) {
  const auto at = static_cast<int64_t>(p.size());
  ld64(p, dst, static_cast<uint32_t>(static_cast<int64_t>(target) - at - 1), BPF_PSEUDO_FUNC);
}

class TimerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bpfemu::testing::reset_controls();
    bpfemu::Clock::freeze();
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.btf = reinterpret_cast<uint64_t>(type_.blob.data());
    a.btf_size = static_cast<uint32_t>(type_.blob.size());
    btf_ = static_cast<int>(b_.bpf(BPF_BTF_LOAD, &a, sizeof(a)));
    ASSERT_GE(btf_, 0) << strerror(-btf_);
  }
  void TearDown() override {
    for (int fd : fds_) EXPECT_EQ(b_.close(fd), 0);
    if (btf_ >= 0) {
      EXPECT_EQ(b_.close(btf_), 0);
    }
    bpfemu::Clock::resume();
  }

  int create(uint32_t type, uint32_t max_entries) {
    bpfemu::MapCreateOpts o;
    o.btf_fd = static_cast<uint32_t>(btf_);
    o.btf_key_type_id = static_cast<uint32_t>(type_.key_id);
    o.btf_value_type_id = static_cast<uint32_t>(type_.value_id);
    const int fd = b_.map_create(type, "timers", 4, sizeof(Elem), max_entries, &o);
    if (fd >= 0) fds_.push_back(fd);
    return fd;
  }
  int load(const std::vector<bpf_insn>& insns) {
    const int fd = bpfemu::testsupport::load_xdp(b_, insns);
    EXPECT_GE(fd, 0) << strerror(-fd);
    if (fd >= 0) fds_.push_back(fd);
    return fd;
  }
  // One BPF_PROG_TEST_RUN: the program's return value (the run must succeed).
  uint32_t run(int prog) {
    uint32_t retval = 0;
    EXPECT_EQ(bpfemu::testsupport::run_on_zero_packet(b_, prog, &retval), 0);
    return retval;
  }

  // A program that arms the timer of every element of `map` for `delay` ns
  // (bpf_for_each_map_elem), with a callback that deletes the element. It
  // returns the number of elements visited; a helper that fails makes the
  // visit return 1 (stop), so fewer are counted.
  std::vector<bpf_insn> arm_all(int map, uint64_t delay) {
    return arm_all(map, delay, {call(BPF_FUNC_map_delete_elem), mov(BPF_REG_0, 0), exit()});
  }
  // The same with another callback (map, key, value).
  std::vector<bpf_insn> arm_all(int map, uint64_t delay, const std::vector<bpf_insn>& callback) {
    std::vector<bpf_insn> p;
    const size_t arm = 8, expire = 31;
    ld_map(p, BPF_REG_1, map);
    ld_func(p, BPF_REG_2, arm);
    p.push_back(mov(BPF_REG_3, 0));
    p.push_back(mov(BPF_REG_4, 0));
    p.push_back(call(BPF_FUNC_for_each_map_elem));
    p.push_back(exit());
    EXPECT_EQ(p.size(), arm);
    // arm(map, key, value, ctx): init, set the callback, start.
    p.push_back(movr(BPF_REG_6, BPF_REG_3));
    p.push_back(make(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_6, 0, 0, kTimerOff));
    p.push_back(movr(BPF_REG_1, BPF_REG_6));
    ld_map(p, BPF_REG_2, map);
    p.push_back(mov(BPF_REG_3, CLOCK_MONOTONIC));
    p.push_back(call(BPF_FUNC_timer_init));
    p.push_back(make(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_0, 0, 13, 0));  // to "stop"
    p.push_back(movr(BPF_REG_1, BPF_REG_6));
    ld_func(p, BPF_REG_2, expire);
    p.push_back(call(BPF_FUNC_timer_set_callback));
    p.push_back(make(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_0, 0, 8, 0));
    p.push_back(movr(BPF_REG_1, BPF_REG_6));
    ld64(p, BPF_REG_2, delay);
    p.push_back(mov(BPF_REG_3, 0));
    p.push_back(call(BPF_FUNC_timer_start));
    p.push_back(make(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_0, 0, 2, 0));
    p.push_back(mov(BPF_REG_0, 0));
    p.push_back(exit());
    p.push_back(mov(BPF_REG_0, 1));  // stop
    p.push_back(exit());
    EXPECT_EQ(p.size(), expire);
    p.insert(p.end(), callback.begin(), callback.end());
    return p;
  }

  bpfemu::EmuBackend b_;
  TimerValueType type_;
  int btf_ = -1;
  std::vector<int> fds_;
};

TEST_F(TimerTest, ExpiresEntriesOnAnAdvancedClock) {
  const int map = create(BPF_MAP_TYPE_HASH, 8);
  ASSERT_GE(map, 0) << strerror(-map);
  for (uint32_t key = 1; key <= 3; ++key) {
    Elem e{key * 100, {~0ULL, ~0ULL}};
    ASSERT_EQ(b_.map_update_elem(map, &key, &e, BPF_ANY), 0);
  }
  const int prog = load(arm_all(map, 30 * kSecond));
  ASSERT_GE(prog, 0);
  ASSERT_EQ(run(prog), 3U) << "every element's timer armed";
  EXPECT_EQ(bpfemu::Clock::armed_timers(), 3);

  // Lookups read the timer as zero, whatever an update or the helpers did.
  uint32_t key = 2;
  Elem e{};
  ASSERT_EQ(b_.map_lookup_elem(map, &key, &e), 0);
  EXPECT_EQ(e.data, 200U);
  EXPECT_EQ(e.timer[0], 0U);
  EXPECT_EQ(e.timer[1], 0U);

  const uint64_t before = bpfemu::Clock::now_ns(CLOCK_MONOTONIC);
  EXPECT_EQ(bpfemu::Clock::advance(29 * kSecond), 0);
  EXPECT_EQ(bpfemu::Clock::now_ns(CLOCK_MONOTONIC) - before, 29 * kSecond) << "frozen: only advance moves it";
  for (uint32_t k = 1; k <= 3; ++k) EXPECT_EQ(b_.map_lookup_elem(map, &k, &e), 0) << "key " << k;

  EXPECT_EQ(bpfemu::Clock::advance(2 * kSecond), 3);
  EXPECT_EQ(bpfemu::Clock::now_ns(CLOCK_MONOTONIC) - before, 31 * kSecond);
  uint32_t next = 0;
  EXPECT_EQ(b_.map_get_next_key(map, nullptr, &next), -ENOENT) << "the callbacks deleted every element";
  EXPECT_EQ(bpfemu::Clock::armed_timers(), 0);
}

TEST_F(TimerTest, ArrayElementsFireWithTheirIndexAndAnUpdateCancels) {
  const int map = create(BPF_MAP_TYPE_ARRAY, 2);
  ASSERT_GE(map, 0) << strerror(-map);
  // The callback deletes the element: on an array that is EINVAL and changes
  // nothing, so the timers fire and the elements stay.
  const int prog = load(arm_all(map, 5 * kSecond));
  ASSERT_GE(prog, 0);
  ASSERT_EQ(run(prog), 2U);
  EXPECT_EQ(bpfemu::Clock::armed_timers(), 2);
  // An update of an array element frees its timer (array_map_update_elem).
  uint32_t key = 0;
  Elem e{7, {0, 0}};
  ASSERT_EQ(b_.map_update_elem(map, &key, &e, BPF_ANY), 0);
  EXPECT_EQ(bpfemu::Clock::armed_timers(), 1);
  EXPECT_EQ(bpfemu::Clock::advance(5 * kSecond), 1);
  // Element 0's timer is a new one and can be set up again; element 1's was
  // initialised already: EBUSY stops the walk there (it counts as visited).
  EXPECT_EQ(run(prog), 2U);
  EXPECT_EQ(bpfemu::Clock::armed_timers(), 1);
}

TEST_F(TimerTest, KtimeReadsTheEmulatedClock) {
  std::vector<bpf_insn> p;
  p.push_back(call(BPF_FUNC_ktime_get_ns));
  p.push_back(exit());
  const int prog = load(p);
  ASSERT_GE(prog, 0);
  const uint64_t now = bpfemu::Clock::now_ns(CLOCK_MONOTONIC);
  EXPECT_EQ(run(prog), static_cast<uint32_t>(now)) << "frozen: the program reads what the test reads";
  EXPECT_EQ(bpfemu::Clock::advance(kSecond), 0);
  EXPECT_EQ(run(prog), static_cast<uint32_t>(now + kSecond));
}

// A callback that re-arms its timer fires again within the same advance, at
// each expiry; one that cancels its own timer gets EDEADLK.
TEST_F(TimerTest, CallbacksRearmAndCannotCancelThemselves) {
  const int map = create(BPF_MAP_TYPE_ARRAY, 1);
  ASSERT_GE(map, 0) << strerror(-map);
  // value->data += 1; below 3, start again in 1 s.
  std::vector<bpf_insn> rearm = {movr(BPF_REG_6, BPF_REG_3),
                                 make(BPF_LDX | BPF_DW | BPF_MEM, BPF_REG_1, BPF_REG_6, 0, 0),
                                 make(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_1, 0, 0, 1),
                                 make(BPF_STX | BPF_DW | BPF_MEM, BPF_REG_6, BPF_REG_1, 0, 0),
                                 make(BPF_JMP | BPF_JGE | BPF_K, BPF_REG_1, 0, 6, 3),
                                 movr(BPF_REG_1, BPF_REG_6),
                                 make(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_1, 0, 0, kTimerOff)};
  ld64(rearm, BPF_REG_2, kSecond);
  rearm.push_back(mov(BPF_REG_3, 0));
  rearm.push_back(call(BPF_FUNC_timer_start));
  rearm.push_back(mov(BPF_REG_0, 0));
  rearm.push_back(exit());
  const int prog = load(arm_all(map, kSecond, rearm));
  ASSERT_GE(prog, 0);
  ASSERT_EQ(run(prog), 1U);
  EXPECT_EQ(bpfemu::Clock::advance(10 * kSecond), 3) << "at 1 s, 2 s and 3 s";
  uint32_t key = 0;
  Elem e{};
  ASSERT_EQ(b_.map_lookup_elem(map, &key, &e), 0);
  EXPECT_EQ(e.data, 3U);
  EXPECT_EQ(bpfemu::Clock::armed_timers(), 0);

  // value->data = bpf_timer_cancel(own timer).
  const int map2 = create(BPF_MAP_TYPE_ARRAY, 1);
  ASSERT_GE(map2, 0) << strerror(-map2);
  const std::vector<bpf_insn> cancel_self = {movr(BPF_REG_6, BPF_REG_3),
                                             movr(BPF_REG_1, BPF_REG_6),
                                             make(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_1, 0, 0, kTimerOff),
                                             call(BPF_FUNC_timer_cancel),
                                             make(BPF_STX | BPF_DW | BPF_MEM, BPF_REG_6, BPF_REG_0, 0, 0),
                                             mov(BPF_REG_0, 0),
                                             exit()};
  const int prog2 = load(arm_all(map2, kSecond, cancel_self));
  ASSERT_GE(prog2, 0);
  ASSERT_EQ(run(prog2), 1U);
  EXPECT_EQ(bpfemu::Clock::advance(kSecond), 1);
  ASSERT_EQ(b_.map_lookup_elem(map2, &key, &e), 0);
  EXPECT_EQ(static_cast<int64_t>(e.data), -EDEADLK);
}

TEST(Clock, ResumesWhereItStood) {
  bpfemu::Clock::freeze();
  const uint64_t frozen = bpfemu::Clock::now_ns(CLOCK_BOOTTIME);
  EXPECT_EQ(bpfemu::Clock::advance(3600 * kSecond), 0);
  bpfemu::Clock::resume();
  const uint64_t after = bpfemu::Clock::now_ns(CLOCK_BOOTTIME);
  EXPECT_GE(after, frozen + 3600 * kSecond);
  EXPECT_LT(after, frozen + 3601 * kSecond) << "resume goes on from the frozen reading";
  EXPECT_FALSE(bpfemu::Clock::frozen());
}

}  // namespace
