// struct bpf_wq on the emulated clock: a program initialises an array
// element's bpf_wq, sets a callback that counts in the element and starts it
// (kfuncs bpf_wq_init, bpf_wq_set_callback_impl, bpf_wq_start, called by
// their ids in the running kernel's BTF, as libbpf resolves them). The work
// runs at the next Clock::run_due_timers (or advance), once however often it
// was started meanwhile; an update of the element frees its bpf_wq.
#include <bpf/btf.h>
#include <gtest/gtest.h>

#include "tests/emu_test_support.h"
#include <linux/bpf.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <vector>

#include "bpfemu/clock.h"
#include "bpfemu/emu_backend.h"
#include "bpfemu/testing.h"
#include "emu/insn_builder.h"

namespace {

using namespace bpfemu::insn;

struct Elem {
  uint64_t count;
  uint64_t wq[2];  // struct bpf_wq
};
constexpr int16_t kWqOff = offsetof(Elem, wq);

// The BTF id of kfunc `name` in the running kernel's BTF, or -1.
int kfunc_id(const char* name) {
  btf* vm = btf__load_vmlinux_btf();
  if (vm == nullptr) return -1;
  const int id = btf__find_by_name_kind(vm, name, BTF_KIND_FUNC);
  btf__free(vm);
  return id;
}

bpf_insn kfunc_call(int id) { return make(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_KFUNC_CALL, 0, id); }

class WqTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bpfemu::testing::reset_controls();
    bpfemu::Clock::freeze();
    init_ = kfunc_id("bpf_wq_init");
    set_cb_ = kfunc_id("bpf_wq_set_callback_impl");
    start_ = kfunc_id("bpf_wq_start");
    if (init_ < 0 || set_cb_ < 0 || start_ < 0) GTEST_SKIP() << "the running kernel's BTF has no bpf_wq kfuncs";
    btf* b = btf__new_empty();
    const int u32 = btf__add_int(b, "u32", 4, 0);
    const int u64 = btf__add_int(b, "u64", 8, 0);
    const int opaque = btf__add_array(b, u32, u64, 2);
    const int wq = btf__add_struct(b, "bpf_wq", 16);
    btf__add_field(b, "__opaque", opaque, 0, 0);
    const int value = btf__add_struct(b, "elem", sizeof(Elem));
    btf__add_field(b, "count", u64, 0, 0);
    btf__add_field(b, "w", wq, kWqOff * 8, 0);
    uint32_t size = 0;
    const void* raw = btf__raw_data(b, &size);
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.btf = reinterpret_cast<uint64_t>(raw);
    a.btf_size = size;
    btf_ = static_cast<int>(b_.bpf(BPF_BTF_LOAD, &a, sizeof(a)));
    btf__free(b);
    ASSERT_GE(btf_, 0) << strerror(-btf_);
    bpfemu::MapCreateOpts o;
    o.btf_fd = static_cast<uint32_t>(btf_);
    o.btf_key_type_id = static_cast<uint32_t>(u32);
    o.btf_value_type_id = static_cast<uint32_t>(value);
    map_ = b_.map_create(BPF_MAP_TYPE_ARRAY, "wqs", 4, sizeof(Elem), 1, &o);
    ASSERT_GE(map_, 0) << strerror(-map_);
  }
  void TearDown() override {
    if (prog_ >= 0) {
      EXPECT_EQ(b_.close(prog_), 0);
    }
    if (map_ >= 0) {
      EXPECT_EQ(b_.close(map_), 0);
    }
    if (btf_ >= 0) {
      EXPECT_EQ(b_.close(btf_), 0);
    }
    bpfemu::Clock::resume();
  }

  // Element 0's wq: init (an error ends the run with 1), set the callback,
  // start it (errors: 2, 3); the callback adds 1 to the element's count.
  std::vector<bpf_insn> start_work() {
    std::vector<bpf_insn> p;
    p.push_back(make(BPF_ST | BPF_MEM | BPF_W, BPF_REG_10, 0, -4, 0));
    ld_map(p, BPF_REG_1, map_);
    p.push_back(movr(BPF_REG_2, BPF_REG_10));
    p.push_back(make(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, -4));
    p.push_back(call(BPF_FUNC_map_lookup_elem));
    p.push_back(make(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_0, 0, 2, 0));
    p.push_back(mov(BPF_REG_0, 9));
    p.push_back(exit());
    p.push_back(movr(BPF_REG_6, BPF_REG_0));
    p.push_back(make(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_6, 0, 0, kWqOff));
    p.push_back(movr(BPF_REG_1, BPF_REG_6));
    ld_map(p, BPF_REG_2, map_);
    p.push_back(mov(BPF_REG_3, 0));
    p.push_back(kfunc_call(init_));
    p.push_back(mov(BPF_REG_7, 1));
    const size_t to_fail1 = p.size();
    p.push_back(make(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_0, 0, 0, 0));
    p.push_back(movr(BPF_REG_1, BPF_REG_6));
    const size_t ld_cb = p.size();
    ld64(p, BPF_REG_2, 0, BPF_PSEUDO_FUNC);
    p.push_back(mov(BPF_REG_3, 0));
    p.push_back(mov(BPF_REG_4, 0));
    p.push_back(kfunc_call(set_cb_));
    p.push_back(mov(BPF_REG_7, 2));
    const size_t to_fail2 = p.size();
    p.push_back(make(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_0, 0, 0, 0));
    p.push_back(movr(BPF_REG_1, BPF_REG_6));
    p.push_back(mov(BPF_REG_2, 0));
    p.push_back(kfunc_call(start_));
    p.push_back(mov(BPF_REG_7, 3));
    const size_t to_fail3 = p.size();
    p.push_back(make(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_0, 0, 0, 0));
    p.push_back(mov(BPF_REG_0, 0));
    p.push_back(exit());
    const size_t fail = p.size();
    p.push_back(movr(BPF_REG_0, BPF_REG_7));
    p.push_back(exit());
    for (size_t j : {to_fail1, to_fail2, to_fail3}) p[j].off = static_cast<int16_t>(fail - j - 1);
    // callback(map, key, value): value->count += 1
    const size_t cb = p.size();
    p[ld_cb].imm = static_cast<int32_t>(cb - ld_cb - 1);
    p.push_back(make(BPF_LDX | BPF_MEM | BPF_DW, BPF_REG_1, BPF_REG_3, 0, 0));
    p.push_back(make(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_1, 0, 0, 1));
    p.push_back(make(BPF_STX | BPF_MEM | BPF_DW, BPF_REG_3, BPF_REG_1, 0, 0));
    p.push_back(mov(BPF_REG_0, 0));
    p.push_back(exit());
    return p;
  }
  uint64_t count() {
    uint32_t key = 0;
    Elem e{};
    EXPECT_EQ(b_.map_lookup_elem(map_, &key, &e), 0);
    EXPECT_EQ(e.wq[0] | e.wq[1], 0U) << "the bpf_wq reads as zero";
    return e.count;
  }

  bpfemu::EmuBackend b_;
  int init_ = -1, set_cb_ = -1, start_ = -1;
  int btf_ = -1, map_ = -1, prog_ = -1;
};

TEST_F(WqTest, WorkRunsOnTheEmulatedClock) {
  prog_ = bpfemu::testsupport::load_xdp(b_, start_work());
  ASSERT_GE(prog_, 0) << strerror(-prog_);
  uint32_t retval = 99;
  ASSERT_EQ(bpfemu::testsupport::run_on_zero_packet(b_, prog_, &retval), 0);
  ASSERT_EQ(retval, 0U);
  EXPECT_EQ(count(), 0U) << "the work waits for the clock";
  EXPECT_EQ(bpfemu::Clock::armed_timers(), 1);
  EXPECT_EQ(bpfemu::Clock::run_due_timers(), 1);
  EXPECT_EQ(count(), 1U);
  EXPECT_EQ(bpfemu::Clock::advance(1000), 0) << "it ran once";
  // A second run finds the wq initialised already (-EBUSY ends it with 1).
  ASSERT_EQ(bpfemu::testsupport::run_on_zero_packet(b_, prog_, &retval), 0);
  EXPECT_EQ(retval, 1U);
  // An update of the element frees its bpf_wq: init works again.
  uint32_t key = 0;
  Elem e{10, {0, 0}};
  ASSERT_EQ(b_.map_update_elem(map_, &key, &e, BPF_ANY), 0);
  ASSERT_EQ(bpfemu::testsupport::run_on_zero_packet(b_, prog_, &retval), 0);
  ASSERT_EQ(retval, 0U);
  EXPECT_EQ(bpfemu::Clock::advance(1), 1);
  EXPECT_EQ(count(), 11U);
}

}  // namespace
