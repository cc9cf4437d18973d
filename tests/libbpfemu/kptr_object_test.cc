// Local kptrs through libbpf on the emulator, without root: programs make
// objects with bpf_obj_new, stash them in a map value's __kptr field with
// bpf_kptr_xchg and take them back in a later run (conformance/bpf/
// prog_kptr.bpf.c; scenarios_kptr.cc compares it with the kernel). Then
// programs the kernel's verifier would refuse (bpf/kptr_misuse.bpf.c): each
// run stops with an error, and the process goes on.
#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <string>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>

#include "conformance/kptr_tag.h"
#include "private_bpffs_root.h"

namespace {

const bool g_private_root = take_private_bpffs_root();

using bpfemu::conformance::tag_kptrs;

struct KptrArgs {  // struct kptr_args of prog_kptr.bpf.c
  uint32_t op, key;
  int64_t arg;
  int64_t out[4];
};

class KptrObjectTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(g_private_root) << "ctest sets BPFEMU_BPFFS"; }
  void TearDown() override {
    if (obj_ != nullptr) bpf_object__close(obj_);
  }

  void load(const char* path) {
    obj_ = bpf_object__open_file(path, nullptr);
    ASSERT_NE(obj_, nullptr) << strerror(errno);
    ASSERT_EQ(tag_kptrs(obj_, "value", {"n", "c"}), 0);
    ASSERT_EQ(bpf_object__load(obj_), 0);
  }
  int prog(const char* name) {
    bpf_program* p = bpf_object__find_program_by_name(obj_, name);
    return p != nullptr ? bpf_program__fd(p) : -1;
  }
  // One run of `name` with ctx in and out; the run's result (-errno).
  int run(const char* name, void* ctx, uint32_t size, uint32_t* retval = nullptr) {
    LIBBPF_OPTS(bpf_test_run_opts, t, .ctx_in = ctx, .ctx_size_in = size);
    const int fd = prog(name);
    if (fd < 0) return -ENOENT;
    const int r = bpf_prog_test_run_opts(fd, &t) == 0 ? 0 : -errno;
    if (retval != nullptr) *retval = t.retval;
    return r;
  }
  KptrArgs kptr(const char* name, uint32_t key, int64_t arg) {
    KptrArgs a{0, key, arg, {}};
    uint32_t retval = 99;
    EXPECT_EQ(run(name, &a, sizeof(a), &retval), 0) << name;
    EXPECT_EQ(retval, 0u) << name;
    return a;
  }

  bpf_object* obj_ = nullptr;
};

TEST_F(KptrObjectTest, StashedObjectComesBackInALaterRun) {
  load(KPTR_OBJ);
  KptrArgs a = kptr("kptr_take", 0, 0);
  EXPECT_EQ(a.out[2], -1);  // nothing stashed yet
  a = kptr("kptr_stash", 0, 5);
  EXPECT_EQ(a.out[2], 0);  // the field was empty
  // The syscall side reads the kptr field as zero.
  const int map = bpf_object__find_map_fd_by_name(obj_, "stash");
  ASSERT_GE(map, 0);
  uint32_t key = 0;
  uint64_t value[3] = {1, 1, 1};
  ASSERT_EQ(bpf_map_lookup_elem(map, &key, value), 0);
  EXPECT_EQ(value[1], 0u);
  a = kptr("kptr_modify", 0, 100);
  EXPECT_EQ(a.out[0], 5);
  EXPECT_EQ(a.out[1], 10);
  a = kptr("kptr_stash", 0, 7);  // hands back the node of 5 (now 105)
  EXPECT_EQ(a.out[0], 105);
  EXPECT_EQ(a.out[2], 1);
  a = kptr("kptr_take", 0, 0);
  EXPECT_EQ(a.out[0], 7);
  a = kptr("kptr_take", 0, 0);
  EXPECT_EQ(a.out[2], -1);
}

TEST_F(KptrObjectTest, RefcountedObjectHasTwoReferences) {
  load(KPTR_OBJ);
  KptrArgs a = kptr("kptr_ref_stash", 1, 9);
  EXPECT_EQ(a.out[0], 0);
  EXPECT_EQ(a.out[1], 9);  // the second reference reads the same object
  a = kptr("kptr_ref_stash", 1, 11);
  EXPECT_EQ(a.out[0], 9);
  a = kptr("kptr_ref_take", 1, 0);
  EXPECT_EQ(a.out[0], 11);
  a = kptr("kptr_ref_take", 1, 0);
  EXPECT_EQ(a.out[2], -1);
}

TEST_F(KptrObjectTest, UpdatingTheElementDropsTheStashedObject) {
  load(KPTR_OBJ);
  kptr("kptr_stash", 0, 3);
  const int map = bpf_object__find_map_fd_by_name(obj_, "stash");
  ASSERT_GE(map, 0);
  uint32_t key = 0;
  const uint64_t value[3] = {4, 0, 0};
  ASSERT_EQ(bpf_map_update_elem(map, &key, value, BPF_ANY), 0);
  EXPECT_EQ(kptr("kptr_take", 0, 0).out[2], -1);
}

// What the verifier refuses stops the run with an error instead.
TEST_F(KptrObjectTest, MisusedObjectsStopTheRun) {
  load(KPTR_MISUSE_OBJ);
  for (const char* name : {"use_after_drop", "drop_ctx", "double_drop", "leak", "xchg_ctx", "forge_field"}) {
    int64_t out = 0;
    EXPECT_NE(run(name, &out, sizeof(out)), 0) << name;
  }
  int64_t out = 0;
  ASSERT_EQ(run("new_and_drop", &out, sizeof(out)), 0);
  EXPECT_EQ(out, 7);
  // The map is still usable, its field empty.
  const int map = bpf_object__find_map_fd_by_name(obj_, "stash");
  ASSERT_GE(map, 0);
  uint32_t key = 0;
  uint64_t value[3] = {1, 1, 1};
  ASSERT_EQ(bpf_map_lookup_elem(map, &key, value), 0);
  EXPECT_EQ(value[1], 0u);
}

}  // namespace
