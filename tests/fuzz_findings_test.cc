// Answers the fuzzer's reference model first got wrong and the host kernel
// settled (each checked with a small libbpf program as root): the emulator
// already gave the kernel's answer; these keep it so.
#include <gtest/gtest.h>

#include "tests/emu_test_support.h"
#include <linux/bpf.h>
#include <stdlib.h>

#include <cerrno>
#include <filesystem>
#include <string>
#include <vector>

#include "bpfemu/emu_backend.h"
#include "bpfemu/uapi.h"
#include "emu/bpf_syscall.h"
#include "emu/bpffs.h"
#include "emu/insn_builder.h"

namespace {

class FuzzFindingsTest : public bpfemu::testsupport::PrivateBpffsTest {
 protected:
  bpfemu::MapInfo info(int fd) {
    bpfemu::MapInfo i{};
    uint32_t len = sizeof i;
    EXPECT_EQ(b_.obj_get_info_by_fd(fd, &i, &len), 0);
    return i;
  }
  int load_xdp(const std::vector<bpf_insn>& insns) { return bpfemu::testsupport::load_xdp(b_, insns); }
  bpfemu::EmuBackend b_;
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
  EXPECT_EQ(b_.close(lpm), 0);
  EXPECT_EQ(b_.close(hash), 0);
}

// htab_map_alloc(): each CPU's LRU list gets the same number of elements.
TEST_F(FuzzFindingsTest, PerCpuLruRoundsMaxEntriesUpToTheCpuCount) {
  bpfemu::MapCreateOpts o;
  o.map_flags = BPF_F_NO_COMMON_LRU;
  const uint32_t ncpus = b_.num_possible_cpus();
  int fd = b_.map_create(BPF_MAP_TYPE_LRU_PERCPU_HASH, "l", 4, 4, ncpus + 1, &o);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(info(fd).max_entries, 2 * ncpus);
  EXPECT_EQ(b_.close(fd), 0);
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
  EXPECT_EQ(b_.close(fd), 0);
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
  EXPECT_EQ(b_.close(bloom), 0);
}

// Found by bpfemu-fuzz-attr (fuzz/corpus/attr-regressions). A NULL attr is
// EFAULT (__sys_bpf: bpf_check_uarg_tail_zero, then copy_from_user, then the
// put_user of next_id), as on the host kernel; the emulator got there through
// pointer arithmetic on NULL, which UBSan (run-sanitizers.sh) reports.
TEST_F(FuzzFindingsTest, NullAttrIsEfault) {
  EXPECT_EQ(b_.bpf(BPF_MAP_GET_NEXT_ID, nullptr, 200), -EFAULT);
  int fd = b_.map_create(BPF_MAP_TYPE_ARRAY, "a", 4, 4, 1, nullptr);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(b_.bpf(BPF_MAP_GET_NEXT_ID, nullptr, 0), -EFAULT);  // size 0: next_id cannot be written back
  union bpf_attr a {};
  a.info.bpf_fd = static_cast<uint32_t>(fd);
  a.info.info_len = 232;  // past struct bpf_map_info: its tail is checked, at NULL + 80
  EXPECT_EQ(b_.bpf(BPF_OBJ_GET_INFO_BY_FD, &a, sizeof(a)), -EFAULT);
  EXPECT_EQ(b_.close(fd), 0);
}

int open_fds() {
  int n = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator("/proc/self/fd")) n++;
  return n;
}

// Found by bpfemu-fuzz-attr: a map freed when the last program holding it
// went (its fd closed first) left its data file open in this process, one fd
// and one mapping per such map for the life of the process.
TEST_F(FuzzFindingsTest, MapFreedWithItsProgramLeavesNoFd) {
  EXPECT_EQ(b_.close(b_.map_create(BPF_MAP_TYPE_ARRAY, "a", 4, 8, 1, nullptr)), 0);  // the store's own files are open now
  const int before = open_fds();
  int map = b_.map_create(BPF_MAP_TYPE_ARRAY, "a", 4, 8, 1, nullptr);
  ASSERT_GE(map, 0);
  std::vector<bpf_insn> insns;
  bpfemu::insn::ld_map(insns, BPF_REG_1, map);
  insns.push_back(bpfemu::insn::mov(BPF_REG_0, 0));
  insns.push_back(bpfemu::insn::exit());
  const int prog = load_xdp(insns);
  ASSERT_GE(prog, 0);
  EXPECT_EQ(b_.close(map), 0);  // the program still holds the map
  EXPECT_EQ(b_.close(prog), 0);  // frees the program, then the map
  EXPECT_EQ(open_fds(), before);
}

// Found by bpfemu-fuzz-attr: process_fd_array reads fd_array one fd at a
// time, so the first bad fd answers (EBADF) whatever memory follows it, and a
// count that would overflow is EINVAL; the emulator allocated and copied the
// whole array first (fd_array_cnt 0xffffffff: 16 GiB). Host kernel 6.18: as here.
TEST_F(FuzzFindingsTest, FdArrayIsReadOneFdAtATime) {
  if (bpfemu::emu::bpf_attr_size() < sizeof(bpfemu::emu::BpfAttr)) GTEST_SKIP() << "no fd_array_cnt before 6.14";
  int map = b_.map_create(BPF_MAP_TYPE_ARRAY, "a", 4, 8, 1, nullptr);
  ASSERT_GE(map, 0);
  const bpf_insn insns[] = {bpfemu::insn::mov(BPF_REG_0, 0), bpfemu::insn::exit()};
  const int32_t fds[] = {map, -1};
  auto load = [&](uint32_t cnt, const void* fd_array) {
    bpfemu::emu::BpfAttr a{};
    a.prog.prog_type = BPF_PROG_TYPE_XDP;
    a.prog.insns = reinterpret_cast<uintptr_t>(insns);
    a.prog.insn_cnt = 2;
    a.prog.license = reinterpret_cast<uintptr_t>("GPL");
    a.prog.fd_array = reinterpret_cast<uintptr_t>(fd_array);
    a.prog.fd_array_cnt = cnt;
    return b_.bpf(BPF_PROG_LOAD, &a, sizeof(a));
  };
  EXPECT_EQ(load(0xffffffffu, fds), -EINVAL);
  EXPECT_EQ(load(0x3fffffffu, fds), -EINVAL);
  EXPECT_EQ(load(0x3ffffffeu, fds), -EBADF);
  EXPECT_EQ(load(2, fds), -EBADF);
  EXPECT_EQ(load(5, nullptr), -EFAULT);
  const long prog = load(1, fds);
  EXPECT_GE(prog, 0);
  if (prog >= 0) {
    EXPECT_EQ(b_.close(static_cast<int>(prog)), 0);
  }
  EXPECT_EQ(b_.close(map), 0);
}

// Found by bpfemu-fuzz-prog (fuzz/corpus/bpfemu-fuzz-prog/regressions): the
// size of bpf_skb_load_bytes and bpf_xdp_load_bytes is ARG_CONST_SIZE, which
// the verifier refuses when 0; the emulator ran the copy with a NULL buffer
// (undefined behaviour) and answered 0. Now the run stops with EFAULT, as for
// the other helper arguments the verifier would have refused.
TEST_F(FuzzFindingsTest, ZeroSizedLoadBytesIsRefused) {
  for (uint32_t type : {BPF_PROG_TYPE_SCHED_CLS, BPF_PROG_TYPE_XDP}) {
    const int32_t helper = type == BPF_PROG_TYPE_XDP ? BPF_FUNC_xdp_load_bytes : BPF_FUNC_skb_load_bytes;
    const bpf_insn insns[] = {bpfemu::insn::mov(BPF_REG_2, 0), bpfemu::insn::mov(BPF_REG_3, 0),
                              bpfemu::insn::mov(BPF_REG_4, 0), bpfemu::insn::call(helper), bpfemu::insn::exit()};
    union bpf_attr a {};
    a.prog_type = type;
    a.insns = reinterpret_cast<uintptr_t>(insns);
    a.insn_cnt = 5;
    a.license = reinterpret_cast<uintptr_t>("GPL");
    const int prog = static_cast<int>(b_.bpf(BPF_PROG_LOAD, &a, sizeof(a)));
    ASSERT_GE(prog, 0) << type;
    uint8_t packet[64] = {};
    union bpf_attr t {};
    t.test.prog_fd = static_cast<uint32_t>(prog);
    t.test.data_in = reinterpret_cast<uintptr_t>(packet);
    t.test.data_size_in = sizeof(packet);
    EXPECT_EQ(b_.bpf(BPF_PROG_TEST_RUN, &t, sizeof(t)), -EFAULT) << type;
    EXPECT_EQ(b_.close(prog), 0);
  }
}

// Found by bpfemu-fuzz-attr: BPF_OBJ_PIN and BPF_OBJ_GET reached the store
// inside the root (/sys/fs/bpf/.bpfemu), which the emulated bpffs hides: a pin
// there outlived every unpin of the bpffs, and the raw handle files opened
// any object by id. The kernel's bpffs has no such directory: ENOENT.
TEST_F(FuzzFindingsTest, TheStoreIsNotOnTheBpffs) {
  int fd = b_.map_create(BPF_MAP_TYPE_ARRAY, "a", 4, 8, 1, nullptr);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(b_.obj_pin(fd, "/sys/fs/bpf/.bpfemu/x"), -ENOENT);
  const std::string handle = "/sys/fs/bpf/.bpfemu/map/" + std::to_string(info(fd).id);
  EXPECT_EQ(b_.obj_get(handle.c_str()), -ENOENT);
  EXPECT_EQ(b_.obj_get("/sys/fs/bpf/.bpfemu/../.bpfemu/map"), -ENOENT);
  EXPECT_EQ(b_.close(fd), 0);
}

// Found by bpfemu-fuzz-prog: a program in a PROG_ARRAY that it uses itself
// (tail calls into its own array) kept both alive after every fd was closed.
// The kernel empties a prog array when its last fd and pin go
// (map_release_uref), which breaks the cycle; a pin keeps the slots.
TEST_F(FuzzFindingsTest, ProgArrayCycleIsFreedWithTheLastFd) {
  for (bool pinned : {false, true}) {
    int array = b_.map_create(BPF_MAP_TYPE_PROG_ARRAY, "pa", 4, 4, 2, nullptr);
    ASSERT_GE(array, 0);
    std::vector<bpf_insn> insns;
    bpfemu::insn::ld_map(insns, BPF_REG_2, array);
    insns.push_back(bpfemu::insn::mov(BPF_REG_3, 0));
    insns.push_back(bpfemu::insn::call(BPF_FUNC_tail_call));
    insns.push_back(bpfemu::insn::mov(BPF_REG_0, 1));
    insns.push_back(bpfemu::insn::exit());
    const int prog = load_xdp(insns);
    ASSERT_GE(prog, 0);
    const uint32_t slot = 0;
    ASSERT_EQ(b_.map_update_elem(array, &slot, &prog, BPF_ANY), 0);
    if (pinned) {
      ASSERT_EQ(b_.obj_pin(array, "/sys/fs/bpf/pa"), 0);
    }
    ASSERT_EQ(b_.close(prog), 0);
    ASSERT_EQ(b_.close(array), 0);
    union bpf_attr next {};
    if (!pinned) {
      EXPECT_EQ(b_.bpf(BPF_MAP_GET_NEXT_ID, &next, sizeof(next)), -ENOENT);
      EXPECT_EQ(b_.bpf(BPF_PROG_GET_NEXT_ID, &next, sizeof(next)), -ENOENT);
      continue;
    }
    array = b_.obj_get("/sys/fs/bpf/pa");
    ASSERT_GE(array, 0);
    uint32_t id = 0;
    EXPECT_EQ(b_.map_lookup_elem(array, &slot, &id), 0);  // the pin kept the slot
    EXPECT_EQ(b_.bpf(BPF_PROG_GET_NEXT_ID, &next, sizeof(next)), 0);
    EXPECT_EQ(b_.obj_unpin("/sys/fs/bpf/pa"), 0);
    EXPECT_EQ(b_.close(array), 0);
    next = {};
    EXPECT_EQ(b_.bpf(BPF_MAP_GET_NEXT_ID, &next, sizeof(next)), -ENOENT);
    EXPECT_EQ(b_.bpf(BPF_PROG_GET_NEXT_ID, &next, sizeof(next)), -ENOENT);
  }
}

}  // namespace

namespace {

// An xdp_md whose data_end lies past the input: the kernel refuses it
// (EINVAL). The emulator took it as the packet's end, which let the program
// reach memory past the test's frame (found reading the frags change). The
// program below reads the byte before data_end.
TEST_F(FuzzFindingsTest, XdpMdDataEndPastTheInputIsEinval) {
  using namespace bpfemu::insn;
  const int fd = load_xdp({make(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_2, BPF_REG_1, 4, 0),  // data_end
                           make(BPF_LDX | BPF_B | BPF_MEM, BPF_REG_0, BPF_REG_2, -1, 0), exit()});
  ASSERT_GE(fd, 0);
  std::vector<uint8_t> pkt(64, 1), out(128);
  for (uint32_t data_end : {65u, 4096u, 1u << 20}) {
    const uint32_t md[6] = {0, data_end, 0, 0, 0, 0};
    union bpf_attr a {};
    a.test.prog_fd = static_cast<uint32_t>(fd);
    a.test.data_in = reinterpret_cast<uintptr_t>(pkt.data());
    a.test.data_size_in = static_cast<uint32_t>(pkt.size());
    a.test.data_out = reinterpret_cast<uintptr_t>(out.data());
    a.test.data_size_out = static_cast<uint32_t>(out.size());
    a.test.ctx_in = reinterpret_cast<uintptr_t>(md);
    a.test.ctx_size_in = sizeof(md);
    EXPECT_EQ(b_.bpf(BPF_PROG_TEST_RUN, &a, sizeof(a)), -EINVAL) << "data_end " << data_end;
  }
  const uint32_t md[6] = {0, 64, 0, 0, 0, 0};
  union bpf_attr a {};
  a.test.prog_fd = static_cast<uint32_t>(fd);
  a.test.data_in = reinterpret_cast<uintptr_t>(pkt.data());
  a.test.data_size_in = static_cast<uint32_t>(pkt.size());
  a.test.ctx_in = reinterpret_cast<uintptr_t>(md);
  a.test.ctx_size_in = sizeof(md);
  EXPECT_EQ(b_.bpf(BPF_PROG_TEST_RUN, &a, sizeof(a)), 0);
  EXPECT_EQ(a.test.retval, 1u) << "the last byte of the input";
  EXPECT_EQ(b_.close(fd), 0);
}

}  // namespace
