// USDT programs (bpf/usdt_demo.bpf.c) attached through libbpf's own USDT
// support (bpf_program__attach_usdt: the probe's notes in this binary, its
// argument specs in the program's maps, a uprobe per site with the spec's id as
// cookie) and fired with bpfemu_usdt_fire, unprivileged: the arguments reach
// BPF_USDT whether the site passes them in registers (usdt_request.c) or in
// memory off %rbp (usdt_probes.c, built without optimisation). Linked with
// libbpfemu before libbpf, as bpf_object_test.cc is.
#include <errno.h>

#include <cstdint>
#include <cstring>
#include <string>

#include <bpf/libbpf.h>
#include <gtest/gtest.h>

#include "bpfemu/programs.h"
#include "usdt_demo.skel.h"

extern "C" void bpfemu_usdt_request(int id, long latency, const char* name);
extern "C" void bpfemu_usdt_spilled(short a, long b, unsigned char c);

namespace {

constexpr const char* kSelf = "/proc/self/exe";

class Usdt : public ::testing::Test {
 protected:
  void SetUp() override {
    skel_ = usdt_demo__open_and_load();
    ASSERT_NE(skel_, nullptr) << strerror(errno);
    request_ = bpf_program__attach_usdt(skel_->progs.on_request, -1, kSelf, "bpfemu_test", "request", nullptr);
    ASSERT_NE(request_, nullptr) << strerror(errno);
    spilled_ = bpf_program__attach_usdt(skel_->progs.on_spilled, -1, kSelf, "bpfemu_test", "spilled", nullptr);
    ASSERT_NE(spilled_, nullptr) << strerror(errno);
  }
  void TearDown() override {
    EXPECT_EQ(bpf_link__destroy(request_), 0);
    EXPECT_EQ(bpf_link__destroy(spilled_), 0);
    usdt_demo__destroy(skel_);
  }

  usdt_demo* skel_ = nullptr;
  bpf_link* request_ = nullptr;
  bpf_link* spilled_ = nullptr;
};

TEST_F(Usdt, RegisterArgumentsReachTheProgram) {
  const char name[] = "checkout";
  const uint64_t args[3] = {static_cast<uint64_t>(-7), 123456789012ULL, reinterpret_cast<uint64_t>(name)};
  ASSERT_EQ(bpfemu_usdt_fire(kSelf, "bpfemu_test", "request", args, 3, -1), 1);
  EXPECT_EQ(skel_->bss->requests, 1u);
  EXPECT_EQ(skel_->bss->last_id, -7) << "an int argument is sign-extended by its spec's negative size";
  EXPECT_EQ(skel_->bss->last_latency, 123456789012LL);
  EXPECT_STREQ(skel_->bss->last_name, "checkout");
}

// The -O0 site passes its arguments as memory operands off %rbp: each is read
// at its size (a short, a long, an unsigned char) from where %rbp points.
TEST_F(Usdt, MemoryArgumentsAreReadAtTheirSize) {
  const uint64_t args[3] = {static_cast<uint64_t>(-3), 0x1122334455667788ULL, 0x1C8};
  ASSERT_EQ(bpfemu_usdt_fire(kSelf, "bpfemu_test", "spilled", args, 3, -1), 1);
  EXPECT_EQ(skel_->bss->spills, 1u);
  EXPECT_EQ(skel_->bss->spilled_a, -3);
  EXPECT_EQ(skel_->bss->spilled_b, 0x1122334455667788LL);
  EXPECT_EQ(skel_->bss->spilled_c, 0xC8) << "an unsigned char argument keeps its low byte, zero-extended";
}

// Nothing runs by itself: calling the probed code is not firing it.
TEST_F(Usdt, ProbedCodeRunningDoesNotFireThePrograms) {
  bpfemu_usdt_request(1, 2, "x");
  bpfemu_usdt_spilled(1, 2, 3);
  EXPECT_EQ(skel_->bss->requests, 0u);
  EXPECT_EQ(skel_->bss->spills, 0u);
}

TEST_F(Usdt, UnknownProbeAndWrongArgumentCountAreRefused) {
  const uint64_t args[3] = {1, 2, 3};
  EXPECT_EQ(bpfemu_usdt_fire(kSelf, "bpfemu_test", "nosuch", args, 3, -1), -ENOENT);
  EXPECT_EQ(bpfemu_usdt_fire(kSelf, "bpfemu_test", "request", args, 2, -1), -EINVAL);
  EXPECT_EQ(bpfemu_usdt_fire("/nonexistent/binary", "bpfemu_test", "request", args, 3, -1), -ENOENT);
  EXPECT_EQ(skel_->bss->requests, 0u);
}

// Detached, the programs no longer run.
TEST_F(Usdt, DetachedProgramsDoNotRun) {
  ASSERT_EQ(bpf_link__destroy(request_), 0);
  request_ = nullptr;
  const uint64_t args[3] = {1, 2, reinterpret_cast<uint64_t>("x")};
  EXPECT_EQ(bpfemu_usdt_fire(kSelf, "bpfemu_test", "request", args, 3, -1), 0);
  EXPECT_EQ(skel_->bss->requests, 0u);
}

}  // namespace
