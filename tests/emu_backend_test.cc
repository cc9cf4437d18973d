// Unit tests of the emulated kernel's object model: handles, lifetime, ids,
// access modes, fork, mmap, profiles. Map semantics themselves are checked
// against the real kernel by the conformance suite.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "tests/emu_test_support.h"

#include "bpfemu/emu_backend.h"
#include "bpfemu/faults.h"
#include "emu/bpffs.h"
#include "core/cpu.h"
#include "core/host.h"
#include "emu/kernel.h"
#include "core/profile.h"

#include <bpf/btf.h>

namespace {

using bpfemu::EmuBackend;

class EmuTest : public bpfemu::testsupport::PrivateBpffsTest {
 protected:
  void SetUp() override {
    PrivateBpffsTest::SetUp();
    baseline_ = bpfemu::emu::live_map_count();
  }
  void TearDown() override {
    PrivateBpffsTest::TearDown();
    bpfemu::set_active_profile("host");
  }
  int make_array(uint32_t entries = 4, uint32_t flags = 0) {
    bpfemu::MapCreateOpts o;
    o.map_flags = flags;
    return b_.map_create(BPF_MAP_TYPE_ARRAY, "arr", 4, 8, entries, &o);
  }
  EmuBackend b_;
  int baseline_ = 0;
};

TEST_F(EmuTest, ReturnsNegativeErrnoAndSetsErrno) {
  errno = 0;
  EXPECT_EQ(b_.map_create(BPF_MAP_TYPE_HASH, "x", 0, 8, 4, nullptr), -EINVAL);
  EXPECT_EQ(errno, EINVAL);
  uint32_t k = 0;
  errno = 0;
  EXPECT_EQ(b_.map_lookup_elem(-1, &k, &k), -EBADF);
  EXPECT_EQ(errno, EBADF);
}

TEST_F(EmuTest, HandlesAreRealFdsAboveStdio) {
  int fd = make_array();
  ASSERT_GE(fd, 3);
  EXPECT_NE(fcntl(fd, F_GETFD), -1);
  EXPECT_TRUE(fcntl(fd, F_GETFD) & FD_CLOEXEC);
  EXPECT_EQ(b_.close(fd), 0);
  EXPECT_EQ(fcntl(fd, F_GETFD), -1);
}

TEST_F(EmuTest, LastCloseFreesTheMapAndItsId) {
  int fd = make_array();
  bpfemu::MapInfo info{};
  uint32_t len = sizeof(info);
  ASSERT_EQ(b_.obj_get_info_by_fd(fd, &info, &len), 0);
  EXPECT_EQ(bpfemu::emu::live_map_count(), baseline_ + 1);
  int second = b_.map_get_fd_by_id(info.id);
  ASSERT_GE(second, 0);
  EXPECT_EQ(b_.close(fd), 0);
  EXPECT_EQ(bpfemu::emu::live_map_count(), baseline_ + 1);  // second handle keeps it
  EXPECT_EQ(b_.close(second), 0);
  EXPECT_EQ(bpfemu::emu::live_map_count(), baseline_);
  EXPECT_EQ(b_.map_get_fd_by_id(info.id), -ENOENT);
}

size_t mapping_count() {
  std::ifstream maps("/proc/self/maps");
  size_t n = 0;
  for (std::string line; std::getline(maps, line);) ++n;
  return n;
}

// A suite with a private bpffs per test goes through many roots: each root's
// objects are unmapped with their last handle, and the root itself keeps no
// mapping (found by the fuzzer: a mapping per root ran into vm.max_map_count).
TEST_F(EmuTest, RootsUsedOnceKeepNoMapping) {
  auto one_root = [&](int i) {
    const std::string dir = root_ + "/r" + std::to_string(i);
    ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
    ASSERT_EQ(setenv("BPFEMU_BPFFS", dir.c_str(), 1), 0);
    bpfemu::emu::reset_bpffs_root();
    const int fd = make_array();
    ASSERT_GE(fd, 0);
    uint32_t k = 1;
    uint64_t v = 7;
    ASSERT_EQ(b_.map_update_elem(fd, &k, &v, BPF_ANY), 0);
    ASSERT_EQ(b_.close(fd), 0);
    std::filesystem::remove_all(dir);
  };
  one_root(0);  // whatever is mapped once per process
  const size_t before = mapping_count();
  for (int i = 1; i <= 200; ++i) one_root(i);
  EXPECT_LT(mapping_count(), before + 10) << "200 roots used one after the other";
  ASSERT_EQ(setenv("BPFEMU_BPFFS", root_.c_str(), 1), 0);
  bpfemu::emu::reset_bpffs_root();
}

// close and dup2 issued as raw syscalls bypass the libc wrappers that keep the
// fd table right. The slow commands check the number against what it names
// now, as the kernel resolves every fd afresh (errnos as the kernel's: EINVAL
// for a file that is no BPF object, EBADFD/EBADF for a closed number).
TEST_F(EmuTest, SlowCommandsSeeFdsReplacedByRawSyscalls) {
  const int fd = make_array();
  ASSERT_GE(fd, 0);
  const int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(null_fd, 0);
  ASSERT_EQ(syscall(SYS_dup2, null_fd, fd), fd);  // the map's number now names /dev/null
  bpfemu::MapInfo info{};
  uint32_t len = sizeof(info);
  EXPECT_EQ(b_.obj_get_info_by_fd(fd, &info, &len), -EINVAL);
  EXPECT_EQ(b_.map_freeze(fd), -EINVAL);
  EXPECT_EQ(bpfemu::emu::live_map_count(), baseline_);  // the forgotten handle let the map go
  ASSERT_EQ(syscall(SYS_close, fd), 0);
  EXPECT_EQ(b_.map_freeze(fd), -EBADF);
  ASSERT_EQ(close(null_fd), 0);

  const int closed = make_array();
  ASSERT_GE(closed, 0);
  ASSERT_EQ(syscall(SYS_close, closed), 0);
  len = sizeof(info);
  EXPECT_EQ(b_.obj_get_info_by_fd(closed, &info, &len), -EBADFD);
  EXPECT_EQ(bpfemu::emu::live_map_count(), baseline_);

  const int a = make_array(4), c = make_array(8);
  ASSERT_GE(a, 0);
  ASSERT_GE(c, 0);
  ASSERT_EQ(syscall(SYS_dup2, c, a), a);
  len = sizeof(info);
  ASSERT_EQ(b_.obj_get_info_by_fd(a, &info, &len), 0);
  EXPECT_EQ(info.max_entries, 8u);  // the map the number names now
  EXPECT_EQ(b_.close(a), 0);
  EXPECT_EQ(b_.close(c), 0);
  EXPECT_EQ(bpfemu::emu::live_map_count(), baseline_);
}

TEST_F(EmuTest, DupOutsideTheApiIsAdopted) {
  int fd = make_array();
  uint32_t k = 1;
  uint64_t v = 5, out = 0;
  ASSERT_EQ(b_.map_update_elem(fd, &k, &v, BPF_ANY), 0);
  int copy = dup(fd);  // libc dup, not through the emulator
  ASSERT_GE(copy, 0);
  EXPECT_EQ(b_.map_lookup_elem(copy, &k, &out), 0);
  EXPECT_EQ(out, 5u);
  EXPECT_EQ(b_.close(copy), 0);
  EXPECT_EQ(b_.close(fd), 0);
  EXPECT_EQ(bpfemu::emu::live_map_count(), baseline_);
}

TEST_F(EmuTest, NonMapFdIsEinval) {
  int fd = open("/dev/null", O_RDONLY);
  uint32_t k = 0;
  uint64_t v = 0;
  EXPECT_EQ(b_.map_lookup_elem(fd, &k, &v), -EINVAL);
  ::close(fd);
}

TEST_F(EmuTest, ReadOnlyHandleRejectsWrites) {
  int fd = make_array(4, BPF_F_RDONLY);
  uint32_t k = 0;
  uint64_t v = 1;
  EXPECT_EQ(b_.map_update_elem(fd, &k, &v, BPF_ANY), -EPERM);
  EXPECT_EQ(b_.map_lookup_elem(fd, &k, &v), 0);
  EXPECT_EQ(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);  // the fd itself is read-only
  b_.close(fd);
}

TEST_F(EmuTest, ForkedChildSharesTheMap) {
  int fd = make_array();
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    uint32_t k = 2;
    uint64_t v = 42;
    _exit(b_.map_update_elem(fd, &k, &v, BPF_ANY) == 0 ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  uint32_t k = 2;
  uint64_t out = 0;
  EXPECT_EQ(b_.map_lookup_elem(fd, &k, &out), 0);
  EXPECT_EQ(out, 42u);  // the child's write is visible: same memory, not a copy
  b_.close(fd);
}

// A writer dies inside a bucket's write section (seq odd, lock held). Whatever
// takes the lock next repairs the bucket: a key walk as well as a writer, or
// every optimistic lookup after it would spin for good.
TEST_F(EmuTest, KeyWalkAfterAKilledWriterRepairsTheBucket) {
  bpfemu::MapCreateOpts o;
  o.map_flags = BPF_F_ZERO_SEED;  // the chained layout, whose buckets have a seqlock
  const int fd = b_.map_create(BPF_MAP_TYPE_HASH, "h", 4, 8, 16, &o);
  ASSERT_GE(fd, 0);
  uint32_t k = 3;
  uint64_t v = 1;
  ASSERT_EQ(b_.map_update_elem(fd, &k, &v, BPF_ANY), 0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    bpfemu::arm_crash_point("htab.replace.linked", 1);
    uint64_t v2 = 2;
    (void)b_.map_update_elem(fd, &k, &v2, BPF_ANY);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 137) << "the crash point was not reached";
  uint32_t next = 0;
  ASSERT_EQ(b_.map_get_next_key(fd, nullptr, &next), 0);  // takes the dead writer's lock
  EXPECT_EQ(next, 3u);
  uint64_t out = 0;
  ASSERT_EQ(b_.map_lookup_elem(fd, &k, &out), 0);  // would spin without the repair
  EXPECT_EQ(out, 2u) << "the replacement was linked: the update is committed";
  ASSERT_EQ(b_.map_get_next_key(fd, &k, &next), -ENOENT) << "and the old element is gone";
  b_.close(fd);
}

TEST_F(EmuTest, MmapableArraySharesValuesWithSyscalls) {
  int fd = make_array(512, BPF_F_MMAPABLE);
  ASSERT_GE(fd, 0);
  auto* values = static_cast<uint64_t*>(b_.map_mmap(fd, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, 0));
  ASSERT_NE(values, MAP_FAILED);
  values[7] = 0x1234;
  uint32_t k = 7;
  uint64_t out = 0;
  EXPECT_EQ(b_.map_lookup_elem(fd, &k, &out), 0);
  EXPECT_EQ(out, 0x1234u);
  uint64_t v = 99;
  k = 8;
  EXPECT_EQ(b_.map_update_elem(fd, &k, &v, BPF_ANY), 0);
  EXPECT_EQ(values[8], 99u);
  EXPECT_EQ(b_.map_munmap(values, 4096), 0);
  b_.close(fd);
}

TEST_F(EmuTest, PinnedMapOutlivesHandlesUntilUnpinned) {
  int fd = make_array();
  ASSERT_EQ(b_.obj_pin(fd, "/sys/fs/bpf/keep"), 0);
  EXPECT_TRUE(std::filesystem::exists(root_ + "/keep"));
  EXPECT_EQ(b_.obj_pin(fd, "/sys/fs/bpf/keep"), -EEXIST);
  EXPECT_EQ(b_.obj_pin(fd, "/sys/fs/bpf/no/such/dir"), -ENOENT);
  EXPECT_EQ(b_.obj_pin(fd, "/tmp/not-bpffs"), -EPERM);
  b_.close(fd);
  int again = b_.obj_get("/sys/fs/bpf/keep");
  ASSERT_GE(again, 0);
  EXPECT_EQ(bpfemu::emu::bpffs_unpin("/sys/fs/bpf/keep"), 0);
  EXPECT_EQ(b_.obj_get("/sys/fs/bpf/keep"), -ENOENT);
  b_.close(again);
  EXPECT_EQ(bpfemu::emu::live_map_count(), baseline_);
}

TEST_F(EmuTest, ProfileSelectsRefreezeErrno) {
  ASSERT_TRUE(bpfemu::set_active_profile("6.18"));
  int fd = make_array();
  EXPECT_EQ(b_.map_freeze(fd), 0);
  EXPECT_EQ(b_.map_freeze(fd), -EPERM);  // 6.18: write permission is gone once frozen
  b_.close(fd);
  ASSERT_TRUE(bpfemu::set_active_profile("6.1"));
  fd = make_array();
  EXPECT_EQ(b_.map_freeze(fd), 0);
  EXPECT_EQ(b_.map_freeze(fd), -EBUSY);  // 6.1 checks "already frozen" first
  b_.close(fd);
}

TEST_F(EmuTest, PossibleCpusShapePerCpuValues) {
  bpfemu::set_possible_cpus(4);
  int fd = b_.map_create(BPF_MAP_TYPE_PERCPU_ARRAY, "pc", 4, 4, 2, nullptr);
  ASSERT_GE(fd, 0);
  uint64_t values[4] = {1, 2, 3, 4};  // 4 CPUs x round_up(4, 8)
  uint32_t k = 1;
  EXPECT_EQ(b_.map_update_elem(fd, &k, values, BPF_ANY), 0);
  uint64_t out[4] = {};
  EXPECT_EQ(b_.map_lookup_elem(fd, &k, out), 0);
  EXPECT_EQ(out[3], 4u);
  b_.close(fd);
  bpfemu::set_possible_cpus(0);
}

TEST_F(EmuTest, AbsurdSizesFailWithoutAllocating) {
  EXPECT_EQ(b_.map_create(BPF_MAP_TYPE_ARRAY, "big", 4, 1 << 20, 0xFFFFFFFF, nullptr), -ENOMEM);
  bpfemu::MapCreateOpts o;
  o.map_flags = BPF_F_NO_PREALLOC;
  EXPECT_EQ(b_.map_create(BPF_MAP_TYPE_HASH, "big", 4, 8, 0xFFFFFFFF, &o), -E2BIG);
  // A large sparse no-prealloc hash is fine: pages are only touched when used.
  int fd = b_.map_create(BPF_MAP_TYPE_HASH, "sparse", 8, 64, 1 << 27, &o);
  EXPECT_GE(fd, 0);
  b_.close(fd);
}

}  // namespace


namespace {

TEST_F(EmuTest, InjectedFaultsFailTheNthEventOnce) {
  bpfemu::inject_fault(bpfemu::FaultSite::kMapCreate, 2, ENOMEM);
  int a = make_array();
  EXPECT_GE(a, 0);
  EXPECT_EQ(make_array(), -ENOMEM);  // the 2nd create
  int c = make_array();
  EXPECT_GE(c, 0);  // once only
  b_.close(a);
  b_.close(c);

  int fd = b_.map_create(BPF_MAP_TYPE_HASH, "h", 4, 8, 8, nullptr);
  bpfemu::inject_fault(bpfemu::FaultSite::kElemAlloc, 1, ENOMEM);
  uint32_t k = 1;
  uint64_t v = 1;
  EXPECT_EQ(b_.map_update_elem(fd, &k, &v, BPF_ANY), -ENOMEM);
  EXPECT_EQ(b_.map_lookup_elem(fd, &k, &v), -ENOENT);  // nothing half-inserted
  EXPECT_EQ(b_.map_update_elem(fd, &k, &v, BPF_ANY), 0);
  bpfemu::clear_faults();
  b_.close(fd);
}

}  // namespace

namespace {

// Behaviours the "6.1" profile carries, each checked against a real 6.1 kernel
// by conformance/vm/run-vm.sh.
TEST_F(EmuTest, Profile61InfoStartsFromZeros) {
  auto info_ifindex = [&](int fd) {
    bpfemu::MapInfo in{};
    in.ifindex = 7;  // not filled for a plain map: 6.18 echoes it, 6.1 zeroes it
    uint32_t len = sizeof(in);
    EXPECT_EQ(b_.obj_get_info_by_fd(fd, &in, &len), 0);
    return in.ifindex;
  };
  int fd = make_array();
  EXPECT_EQ(info_ifindex(fd), 7u);
  b_.close(fd);
  ASSERT_TRUE(bpfemu::set_active_profile("6.1"));
  fd = make_array();
  EXPECT_EQ(info_ifindex(fd), 0u);
  b_.close(fd);
}

// "host" is the profile of the kernel the host runs, whatever that is.
TEST_F(EmuTest, HostProfileFollowsTheHostsKernelRelease) {
  bpfemu::FakeHost fake;
  for (const auto& [release, profile] : std::vector<std::pair<std::string, std::string>>{
           {"6.1.0-56-cloud-amd64", "6.1"}, {"6.12.48+deb13", "6.1"}, {"6.18.44-fc", "6.18"}, {"7.2.0", "6.18"}}) {
    fake.release = release;
    bpfemu::ScopedHost scoped(fake);
    ASSERT_TRUE(bpfemu::set_active_profile("host"));
    EXPECT_STREQ(bpfemu::active_profile().name, profile.c_str()) << release;
  }
  fake.cpus = 5;
  bpfemu::ScopedHost scoped(fake);
  EXPECT_EQ(b_.num_possible_cpus(), 5);
}

// Structure sizes depend on the kernel's build, not only its version: the host's
// profile takes them from the running kernel's BTF (read here with libbpf
// directly), other profiles and hosts without BTF keep the built-in ones.
TEST_F(EmuTest, HostProfileTakesStructSizesFromTheRunningKernel) {
  const bpfemu::KernelProfile& host_profile = bpfemu::profile_for_release(bpfemu::real_host().kernel_release());
  btf* vmlinux = btf__parse("/sys/kernel/btf/vmlinux", nullptr);
  if (vmlinux == nullptr) GTEST_SKIP() << "no readable /sys/kernel/btf/vmlinux on this host";
  const int id = btf__find_by_name_kind(vmlinux, "bpf_htab", BTF_KIND_STRUCT);
  ASSERT_GT(id, 0);
  const unsigned htab_size = btf__type_by_id(vmlinux, id)->size;
  btf__free(vmlinux);
  EXPECT_EQ(bpfemu::struct_sizes(host_profile).bpf_htab, htab_size);

  bpfemu::FakeHost no_btf;
  no_btf.release = bpfemu::real_host().kernel_release();
  bpfemu::ScopedHost scoped(no_btf);
  EXPECT_EQ(bpfemu::struct_sizes(host_profile).bpf_htab, host_profile.sizes.bpf_htab);
}

TEST_F(EmuTest, Profile61LpmValueLimit) {
  bpfemu::MapCreateOpts o;
  o.map_flags = BPF_F_NO_PREALLOC;
  ASSERT_TRUE(bpfemu::set_active_profile("6.1"));
  EXPECT_EQ(b_.map_create(BPF_MAP_TYPE_LPM_TRIE, "l", 8, 4194024, 1, &o), -EINVAL);  // 6.1's node header is 40 bytes
  int fd = b_.map_create(BPF_MAP_TYPE_LPM_TRIE, "l", 8, 4194008, 1, &o);
  EXPECT_GE(fd, 0);
  b_.close(fd);
  ASSERT_TRUE(bpfemu::set_active_profile("6.18"));
  fd = b_.map_create(BPF_MAP_TYPE_LPM_TRIE, "l", 8, 4194024, 1, &o);
  EXPECT_GE(fd, 0);
  b_.close(fd);
}

}  // namespace
