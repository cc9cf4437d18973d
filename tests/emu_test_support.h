// What the emulator-only unit tests share: a private bpffs for each test, and
// loading a small program through the emulated bpf(2).
#pragma once

#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "bpfemu/backend.h"
#include "emu/bpffs.h"

namespace bpfemu::testsupport {

// A test whose pins live in a fresh directory of its own (BPFEMU_BPFFS),
// removed with them afterwards.
class PrivateBpffsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/dev/shm/bpfemu-unit-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    setenv("BPFEMU_BPFFS", tmpl, 1);
    emu::reset_bpffs_root();
  }
  void TearDown() override {
    std::filesystem::remove_all(root_);
    unsetenv("BPFEMU_BPFFS");
    emu::reset_bpffs_root();
  }
  std::string root_;
};

// An XDP program of these instructions, GPL, loaded for expected_attach_type
// `eat`: its fd, or -errno.
inline int load_xdp(Backend& b, const std::vector<bpf_insn>& insns, uint32_t eat = 0) {
  union bpf_attr a {};
  a.prog_type = BPF_PROG_TYPE_XDP;
  a.expected_attach_type = eat;
  a.insns = reinterpret_cast<uint64_t>(insns.data());
  a.insn_cnt = static_cast<uint32_t>(insns.size());
  a.license = reinterpret_cast<uint64_t>("GPL");
  return static_cast<int>(b.bpf(BPF_PROG_LOAD, &a, sizeof(a)));
}

// One BPF_PROG_TEST_RUN of prog with a 64-byte zeroed packet: the syscall's
// result, and the program's return value in *retval.
inline long run_on_zero_packet(Backend& b, int prog, uint32_t* retval) {
  uint8_t pkt[64] = {};
  union bpf_attr a {};
  a.test.prog_fd = static_cast<uint32_t>(prog);
  a.test.data_in = reinterpret_cast<uint64_t>(pkt);
  a.test.data_size_in = sizeof(pkt);
  const long rc = b.bpf(BPF_PROG_TEST_RUN, &a, sizeof(a));
  *retval = a.test.retval;
  return rc;
}

}  // namespace bpfemu::testsupport
