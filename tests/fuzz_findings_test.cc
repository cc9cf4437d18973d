// Answers the fuzzer's reference model first got wrong and the host kernel
// settled (each checked with a small libbpf program as root): the emulator
// already gave the kernel's answer; these keep it so.
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <stdlib.h>

#include <cerrno>
#include <filesystem>
#include <string>

#include "bpfemu/emu_backend.h"
#include "bpfemu/uapi.h"
#include "emu/bpffs.h"

namespace {

class FuzzFindingsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/dev/shm/bpfemu-fuzzfind-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    setenv("BPFEMU_BPFFS", tmpl, 1);
    bpfemu::emu::reset_bpffs_root();
  }
  void TearDown() override {
    std::filesystem::remove_all(root_);
    unsetenv("BPFEMU_BPFFS");
    bpfemu::emu::reset_bpffs_root();
  }
  bpfemu::MapInfo info(int fd) {
    bpfemu::MapInfo i{};
    uint32_t len = sizeof i;
    EXPECT_EQ(b_.obj_get_info_by_fd(fd, &i, &len), 0);
    return i;
  }
  bpfemu::EmuBackend b_;
  std::string root_;
};

// bpf_fd_probe_obj(): a fd that is no BPF object is EINVAL, not EBADF.
TEST_F(FuzzFindingsTest, PinOfABadFdIsEinval) {
  EXPECT_EQ(b_.obj_pin(-1, "/sys/fs/bpf/x"), -EINVAL);
  EXPECT_EQ(b_.obj_pin(0x7ffffff0, "/sys/fs/bpf/x"), -EINVAL);
}

// bpf_map_flags_retain_permanent(): the access flags stay with the fd.
TEST_F(FuzzFindingsTest, InfoMapFlagsDropRdonlyAndWronly) {
  bpfemu::MapCreateOpts o;
  o.map_flags = BPF_F_NO_PREALLOC | BPF_F_WRONLY;
  int lpm = b_.map_create(BPF_MAP_TYPE_LPM_TRIE, "l", 8, 4, 1, &o);
  ASSERT_GE(lpm, 0);
  EXPECT_EQ(info(lpm).map_flags, uint32_t{BPF_F_NO_PREALLOC});
  o.map_flags = BPF_F_RDONLY;
  int hash = b_.map_create(BPF_MAP_TYPE_HASH, "h", 4, 4, 1, &o);
  ASSERT_GE(hash, 0);
  EXPECT_EQ(info(hash).map_flags, 0u);
  b_.close(lpm);
  b_.close(hash);
}

// htab_map_alloc(): each CPU's LRU list gets the same number of elements.
TEST_F(FuzzFindingsTest, PerCpuLruRoundsMaxEntriesUpToTheCpuCount) {
  bpfemu::MapCreateOpts o;
  o.map_flags = BPF_F_NO_COMMON_LRU;
  const uint32_t ncpus = b_.num_possible_cpus();
  int fd = b_.map_create(BPF_MAP_TYPE_LRU_PERCPU_HASH, "l", 4, 4, ncpus + 1, &o);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(info(fd).max_entries, 2 * ncpus);
  b_.close(fd);
}

// trie_lookup_elem(): a prefix longer than the trie's is no match, even for 0/0.
TEST_F(FuzzFindingsTest, LpmLookupWithTooLongAPrefixFindsNothing) {
  bpfemu::MapCreateOpts o;
  o.map_flags = BPF_F_NO_PREALLOC;
  int fd = b_.map_create(BPF_MAP_TYPE_LPM_TRIE, "l", 8, 8, 5, &o);
  ASSERT_GE(fd, 0);
  struct {
    uint32_t prefixlen;
    uint8_t data[4];
  } key = {0, {}};
  uint64_t value = 7;
  ASSERT_EQ(b_.map_update_elem(fd, &key, &value, BPF_ANY), 0);
  key = {33, {0x66, 0x89, 0, 0}};
  EXPECT_EQ(b_.map_lookup_elem(fd, &key, &value), -ENOENT);
  key.prefixlen = 32;
  EXPECT_EQ(b_.map_lookup_elem(fd, &key, &value), 0);
  b_.close(fd);
}

// __bpf_copy_key(): a key where key_size is 0 is EINVAL before the type's own answer.
TEST_F(FuzzFindingsTest, KeyOnAKeylessMapIsEinval) {
  bpfemu::MapCreateOpts o;
  o.map_extra = 3;
  int bloom = b_.map_create(BPF_MAP_TYPE_BLOOM_FILTER, "b", 0, 8, 4, &o);
  ASSERT_GE(bloom, 0);
  uint64_t key = 0, value = 0;
  EXPECT_EQ(b_.map_get_next_key(bloom, &key, &value), -EINVAL);
  EXPECT_EQ(b_.map_get_next_key(bloom, nullptr, &value), -EOPNOTSUPP);
  EXPECT_EQ(b_.map_delete_elem(bloom, &key), -EINVAL);
  EXPECT_EQ(b_.map_delete_elem(bloom, nullptr), -EOPNOTSUPP);
  EXPECT_EQ(b_.map_lookup_and_delete_elem(bloom, nullptr, &value), -bpfemu::kENOTSUPP);
  b_.close(bloom);
}

}  // namespace
