// Lists and rbtrees of local kptrs in map values, on the emulator: programs
// (conformance/bpf/prog_graph.bpf.c, loaded through libbpf) push and add
// objects under the value's bpf_spin_lock in one run and read, pop and remove
// them in later ones; the objects a root still holds go when its element is
// deleted, replaced or (arrays) updated, or the map is freed, which
// live_objects() counts. Then programs the kernel's verifier refuses
// (tests/bpf/graph_misuse.bpf.c): each run stops with an error, and nothing
// leaks or stays locked. scenarios_kfuncs.cc compares the same program with
// the kernel.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>

#include "api/libbpfemu/route.h"
#include "bpfemu/emu_backend.h"
#include "bpfemu/testing.h"
#include "conformance/prog_side.h"
#include "emu/local_obj.h"

namespace {

using bpfemu::conformance::ProgSide;

struct Out {
  uint32_t retval = 99;
  int64_t v[4] = {};
};

// struct value of prog_graph.bpf.c: x, then the lock and four roots.
struct Value {
  int64_t x;
  uint8_t rest[72];
};
static_assert(sizeof(Value) == 80);

constexpr uint32_t kArray0 = 0, kArray1 = 1, kHash0 = 2, kHash1 = 3;  // graph_args.key

class GraphKfuncTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bpfemu::testing::reset_controls();
    base_ = bpfemu::emu::live_objects();
    side_ = ProgSide::for_backend(backend_);
    ASSERT_EQ(side_->graph_load(), 0);
    arr_ = side_->graph_map_fd("garr");
    hash_ = side_->graph_map_fd("ghash");
    ASSERT_GE(arr_, 0);
    ASSERT_GE(hash_, 0);
  }
  void TearDown() override {
    side_->graph_unload();
    // Whatever the maps held went with them.
    EXPECT_EQ(bpfemu::emu::live_objects(), base_);
  }

  // One run that must succeed with retval 0.
  Out run(const char* prog, uint32_t op, uint32_t key, int64_t arg) {
    Out o;
    EXPECT_EQ(side_->graph_run(prog, op, key, arg, &o.retval, o.v), 0) << prog;
    EXPECT_EQ(o.retval, 0u) << prog;
    return o;
  }
  // A run's retval, which must succeed.
  uint32_t retval_of(const char* prog, uint32_t key) {
    Out o;
    EXPECT_EQ(side_->graph_run(prog, 0, key, 0, &o.retval, o.v), 0) << prog;
    return o.retval;
  }
  size_t live() const { return bpfemu::emu::live_objects() - base_; }
  int update(int fd, uint32_t key, int64_t x, uint64_t flags) {
    Value v{};
    v.x = x;
    return backend_.map_update_elem(fd, &key, &v, flags);
  }

  bpfemu::EmuBackend backend_;
  std::unique_ptr<ProgSide> side_;
  size_t base_ = 0;
  int arr_ = -1, hash_ = -1;
};

TEST_F(GraphKfuncTest, ListKeepsItsOrderAcrossRuns) {
  EXPECT_EQ(run("list_pop", 0, kArray0, 0).v[1], 0);  // empty
  Out o = run("list_push", 0, kArray0, 1);
  EXPECT_EQ(o.v[0], 0);  // pushed
  EXPECT_EQ(o.v[1], 1);  // read back under the lock
  EXPECT_EQ(run("list_push", 0, kArray0, 2).v[0], 0);
  EXPECT_EQ(run("list_push", 1, kArray0, 3).v[0], 0);  // front: 3 1 2
  EXPECT_EQ(live(), 3u);
  o = run("list_peek", 0, kArray0, 10);  // 3 becomes 13, in place
  EXPECT_EQ(o.v[0], 3);
  EXPECT_EQ(o.v[1], 1);
  EXPECT_EQ(run("list_peek", 1, kArray0, 0).v[0], 2);
  o = run("list_pop", 1, kArray0, 0);
  EXPECT_EQ(o.v[0], 2);
  EXPECT_EQ(o.v[1], 1);
  EXPECT_EQ(run("list_pop", 0, kArray0, 0).v[0], 13);
  EXPECT_EQ(run("list_pop", 0, kArray0, 0).v[0], 1);
  EXPECT_EQ(run("list_pop", 0, kArray0, 0).v[1], 0);
  EXPECT_EQ(live(), 0u);  // each popped object was dropped
}

TEST_F(GraphKfuncTest, RbtreeOrdersByTheProgramsLess) {
  EXPECT_EQ(retval_of("tree_first", kHash0), 1u);  // no element
  ASSERT_EQ(update(hash_, 0, 1, BPF_ANY), 0);
  EXPECT_EQ(run("tree_first", 0, kHash0, 0).v[2], 0);  // empty
  const int64_t keys[] = {5, 3, 8, 3, -4};
  for (uint32_t i = 0; i < 5; ++i) EXPECT_EQ(run("tree_add", i, kHash0, keys[i]).v[0], 0);
  EXPECT_EQ(live(), 5u);
  Out o = run("tree_first", 0, kHash0, 0);
  EXPECT_EQ(o.v[0], -4);
  EXPECT_EQ(o.v[2], 1);
  // Equal keys come out in the order they went in (op is the value).
  const int64_t want[][2] = {{-4, 4}, {3, 1}, {3, 3}, {5, 0}, {8, 2}};
  for (const auto& w : want) {
    o = run("tree_pop", 0, kHash0, 0);
    EXPECT_EQ(o.v[0], w[0]);
    EXPECT_EQ(o.v[1], w[1]);
    EXPECT_EQ(o.v[2], 1);
  }
  EXPECT_EQ(run("tree_pop", 0, kHash0, 0).v[2], 0);
  EXPECT_EQ(live(), 0u);
}

TEST_F(GraphKfuncTest, RefcountedNodeSitsInAListAndATree) {
  Out o = run("ref_both", 0, kArray1, 4);
  EXPECT_EQ(o.v[0], 0);
  EXPECT_EQ(o.v[1], 0);
  EXPECT_EQ(run("ref_both", 0, kArray1, 2).v[0], 0);
  EXPECT_EQ(live(), 2u);  // two objects, each in both
  // A node already in a list: the push fails and drops the new reference.
  o = run("ref_repush", 0, kArray1, 0);
  EXPECT_EQ(o.v[0], -EINVAL);
  EXPECT_EQ(o.v[1], 2);
  EXPECT_EQ(live(), 2u);
  o = run("ref_take", 0, kArray1, 0);  // the list's first, the tree's smallest
  EXPECT_EQ(o.v[0], 4);
  EXPECT_EQ(o.v[1], 2);
  EXPECT_EQ(live(), 2u);  // each still in the other root
  o = run("ref_take", 0, kArray1, 0);
  EXPECT_EQ(o.v[0], 2);
  EXPECT_EQ(o.v[1], 4);
  EXPECT_EQ(live(), 0u);
  o = run("ref_take", 0, kArray1, 0);
  EXPECT_EQ(o.v[0], -1);
  EXPECT_EQ(o.v[1], -1);
}

TEST_F(GraphKfuncTest, ArrayUpdateDropsWhatTheRootsHold) {
  run("list_push", 0, kArray0, 1);
  run("tree_add", 0, kArray0, 2);
  run("ref_both", 0, kArray0, 3);
  EXPECT_EQ(live(), 3u);
  // As on the kernel, even an update with BPF_F_LOCK frees the roots.
  ASSERT_EQ(update(arr_, 0, 7, BPF_F_LOCK), 0);
  EXPECT_EQ(live(), 0u);
  EXPECT_EQ(run("list_pop", 0, kArray0, 0).v[1], 0);
  EXPECT_EQ(run("tree_pop", 0, kArray0, 0).v[2], 0);
  run("list_push", 0, kArray0, 4);
  ASSERT_EQ(update(arr_, 0, 8, BPF_ANY), 0);
  EXPECT_EQ(live(), 0u);
}

TEST_F(GraphKfuncTest, HashDeleteAndReplaceDropWhatTheRootsHold) {
  EXPECT_EQ(retval_of("list_push", kHash0), 1u);  // no element yet
  ASSERT_EQ(update(hash_, 0, 1, BPF_ANY), 0);
  run("list_push", 0, kHash0, 1);
  run("list_push", 0, kHash0, 2);
  run("tree_add", 0, kHash0, 3);
  run("ref_both", 0, kHash0, 4);
  EXPECT_EQ(live(), 4u);
  {
    const uint32_t key = 0;
    ASSERT_EQ(backend_.map_delete_elem(hash_, &key), 0);
  }
  EXPECT_EQ(live(), 0u);
  ASSERT_EQ(update(hash_, 0, 2, BPF_ANY), 0);
  EXPECT_EQ(run("list_pop", 0, kHash0, 0).v[1], 0);  // the new element's list is empty
  run("list_push", 0, kHash0, 5);
  run("tree_add", 0, kHash0, 6);
  // An in-place update with BPF_F_LOCK keeps them; a replacement drops them.
  ASSERT_EQ(update(hash_, 0, 3, BPF_F_LOCK), 0);
  EXPECT_EQ(live(), 2u);
  EXPECT_EQ(run("list_peek", 0, kHash0, 0).v[0], 5);
  ASSERT_EQ(update(hash_, 0, 4, BPF_EXIST), 0);
  EXPECT_EQ(live(), 0u);
}

// As on the kernel: a root that goes leaves the nodes of the objects it
// dropped marked as in a list, so one that lives on cannot be pushed again.
TEST_F(GraphKfuncTest, NodeOfAFreedRootCannotBePushedAgain) {
  ASSERT_EQ(update(hash_, 0, 1, BPF_ANY), 0);
  const Out o = run("ref_orphan", 0, kHash0, 6);
  EXPECT_EQ(o.v[0], 0);
  EXPECT_EQ(o.v[1], -EINVAL);
  EXPECT_EQ(o.v[2], 6);
  EXPECT_EQ(live(), 0u);  // the failed push dropped the last reference
  const Out t = run("ref_take", 0, kHash0, 0);
  EXPECT_EQ(t.v[0], -1);
  EXPECT_EQ(t.v[1], -1);
}

TEST_F(GraphKfuncTest, FreeingTheMapsDropsWhatTheirRootsHold) {
  ASSERT_EQ(update(hash_, 1, 1, BPF_ANY), 0);
  for (uint32_t key : {kArray0, kArray1, kHash1}) {
    run("list_push", 0, key, 1);
    run("tree_add", 0, key, 2);
    run("ref_both", 0, key, 3);
  }
  EXPECT_EQ(live(), 9u);
  side_->graph_unload();
  EXPECT_EQ(live(), 0u);
  ASSERT_EQ(side_->graph_load(), 0);  // for TearDown
}

// What the verifier refuses stops the run with an error instead.
TEST_F(GraphKfuncTest, MisusedRootsStopTheRun) {
  bpfemu::dropin::EmuRoute route;
  bpf_object* obj = bpf_object__open_file(GRAPH_MISUSE_OBJ, nullptr);
  ASSERT_NE(obj, nullptr) << strerror(errno);
  ASSERT_EQ(bpf_object__load(obj), 0);
  auto run_misuse = [&](const char* name, int64_t* out0) {
    bpf_program* p = bpf_object__find_program_by_name(obj, name);
    if (p == nullptr) return -ENOENT;
    struct {
      uint32_t op, key;
      int64_t arg;
      int64_t out[4];
    } a{};
    LIBBPF_OPTS(bpf_test_run_opts, t, .ctx_in = &a, .ctx_size_in = sizeof(a));
    const int r = bpf_prog_test_run_opts(bpf_program__fd(p), &t) == 0 ? 0 : -errno;
    if (out0 != nullptr) *out0 = a.out[0];
    return r == 0 ? static_cast<int>(t.retval) : r;
  };
  for (const char* name : {"push_unlocked", "push_other_value", "push_twice", "touch_after_unlock"}) {
    EXPECT_LT(run_misuse(name, nullptr), 0) << name;
  }
  // push_twice's first push and touch_after_unlock's add stand; the rest went
  // with the runs.
  EXPECT_EQ(live(), 2u);
  EXPECT_LT(run_misuse("pop_and_leak", nullptr), 0);  // exits holding what it popped
  EXPECT_EQ(live(), 1u);
  // The lock is free: later runs take it.
  int64_t v = -1;
  EXPECT_EQ(run_misuse("list_pop", &v), 0);
  EXPECT_EQ(v, 0);  // empty
  EXPECT_EQ(run_misuse("tree_pop", &v), 0);
  EXPECT_EQ(v, 0);  // the key of touch_after_unlock's node
  EXPECT_EQ(live(), 0u);
  bpf_object__close(obj);
}

}  // namespace
