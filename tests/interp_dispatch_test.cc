// The interpreter's decoded form (emu/interp_code.h) and what its fast paths
// must keep: fused instruction pairs that jumps land in the middle of, the
// per-run map lookup cache switching maps at one call site, keys outside the
// stack, and backward loops. The programs run on the emulator and, as root,
// on the kernel; the kernel's results are the expectation.
#include <linux/bpf.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "bpfemu/backend.h"
#include "emu/insn_builder.h"
#include "emu/interp_code.h"

namespace {

using bpfemu::emu::interp::Code;
using bpfemu::emu::interp::OpKind;
using bpfemu::insn::ld_map;
using bpfemu::insn::make;

bpf_insn mov(uint8_t dst, int32_t imm) { return make(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm); }
bpf_insn movr(uint8_t dst, uint8_t src) { return make(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0); }
bpf_insn add(uint8_t dst, int32_t imm) { return make(BPF_ALU64 | BPF_ADD | BPF_K, dst, 0, 0, imm); }
bpf_insn addr(uint8_t dst, uint8_t src) { return make(BPF_ALU64 | BPF_ADD | BPF_X, dst, src, 0, 0); }
bpf_insn jmp(uint8_t op, uint8_t dst, int32_t imm, int16_t off) { return make(BPF_JMP | op | BPF_K, dst, 0, off, imm); }
bpf_insn ja(int16_t off) { return make(BPF_JMP | BPF_JA, 0, 0, off, 0); }
bpf_insn stx(uint8_t size, uint8_t dst, int16_t off, uint8_t src) { return make(BPF_STX | size | BPF_MEM, dst, src, off, 0); }
bpf_insn ldx(uint8_t size, uint8_t dst, uint8_t src, int16_t off) { return make(BPF_LDX | size | BPF_MEM, dst, src, off, 0); }
bpf_insn lookup() { return make(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem); }
bpf_insn exit_insn() { return make(BPF_JMP | BPF_EXIT, 0, 0, 0, 0); }

TEST(InterpCode, DecodesFusesAndClampsJumpTargets) {
  const std::vector<bpf_insn> p = {
      movr(BPF_REG_2, BPF_REG_10), add(BPF_REG_2, -4),        // 0, 1: a stack address
      lookup(), jmp(BPF_JEQ, BPF_REG_0, 0, 1),                 // 2, 3: lookup + null check
      make(BPF_ALU64 | BPF_MOD | BPF_K, BPF_REG_3, 0, 0, 7),   // 4
      make(BPF_ALU64 | BPF_MOD | BPF_K, BPF_REG_3, 0, 1, 7),   // 5: signed: the general handler
      make(BPF_JMP32 | BPF_JGT | BPF_K, BPF_REG_3, 0, 0, 1),   // 6: 32-bit compare: general
      jmp(BPF_JNE, BPF_REG_3, 0, 100),                         // 7: out of range: End
      exit_insn(),                                             // 8
  };
  const Code code(p.data(), static_cast<uint32_t>(p.size()));
  const auto* ops = code.ops();
  EXPECT_EQ(ops[0].kind, OpKind::StackAddr);
  EXPECT_EQ(static_cast<int64_t>(ops[0].imm), -4);
  EXPECT_EQ(ops[1].kind, OpKind::Add64K) << "the second half keeps its own op for jumps that land on it";
  EXPECT_EQ(ops[2].kind, OpKind::CallLookupJz);
  EXPECT_EQ(ops[2].off, 5) << "the fused null check jumps where the jeq does";
  EXPECT_EQ(ops[3].kind, OpKind::JeqK);
  EXPECT_EQ(ops[4].kind, OpKind::Mod64K);
  EXPECT_EQ(ops[5].kind, OpKind::General);
  EXPECT_EQ(ops[6].kind, OpKind::General);
  EXPECT_EQ(ops[7].kind, OpKind::JneK);
  EXPECT_EQ(ops[7].off, 9) << "a target outside the program is the End op";
  EXPECT_EQ(ops[8].kind, OpKind::Exit);
  EXPECT_EQ(ops[9].kind, OpKind::End);
  EXPECT_EQ(code.map_loads(), 0u);
}

class InterpDispatch : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    be_ = bpfemu::make_backend(GetParam(), &why_);
    if (be_ == nullptr && GetParam() == "kernel") GTEST_SKIP() << "needs bpf() (run as root): " << why_;
    ASSERT_NE(be_, nullptr) << why_;
  }
  int load(const std::vector<bpf_insn>& p) {
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.prog_type = BPF_PROG_TYPE_SYSCALL;
    a.prog_flags = BPF_F_SLEEPABLE;
    a.insns = reinterpret_cast<uint64_t>(p.data());
    a.insn_cnt = static_cast<uint32_t>(p.size());
    a.license = reinterpret_cast<uint64_t>("GPL");
    return static_cast<int>(be_->bpf(BPF_PROG_LOAD, &a, sizeof(a)));
  }
  // Runs with an 8-word ctx the program fills: 0 or -errno.
  long run(int fd, std::vector<uint64_t>* words) {
    words->assign(8, 0);
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.test.prog_fd = static_cast<uint32_t>(fd);
    a.test.ctx_in = reinterpret_cast<uint64_t>(words->data());
    a.test.ctx_size_in = 8 * sizeof(uint64_t);  // a syscall program's ctx comes back in place
    const long rc = be_->bpf(BPF_PROG_TEST_RUN, &a, sizeof(a));
    words->push_back(a.test.retval);
    return rc;
  }
  std::unique_ptr<bpfemu::Backend> be_;
  std::string why_;
};

// A loop of 12 lookups whose one call site alternates between an ARRAY (even
// keys) and a HASH (odd keys), with misses on both; then a jump into the
// second half of a stack-address pair, a jump onto a fused null check, and a
// lookup whose key lies in a map value. The kernel's results are the
// expectation (checked against the numbers below, worked out by hand).
TEST_P(InterpDispatch, FusedPairsAndTheLookupCacheKeepEveryPath) {
  const int arr = be_->map_create(BPF_MAP_TYPE_ARRAY, "arr", 4, 8, 8, nullptr);
  const int hash = be_->map_create(BPF_MAP_TYPE_HASH, "hash", 4, 8, 16, nullptr);
  ASSERT_GE(arr, 0);
  ASSERT_GE(hash, 0);
  for (uint32_t k = 0; k < 8; ++k) {
    const uint64_t v = 10 * k + 1;
    ASSERT_EQ(be_->map_update_elem(arr, &k, &v, BPF_ANY), 0);
  }
  for (uint32_t k = 0; k < 6; ++k) {
    const uint64_t v = k + 2;
    ASSERT_EQ(be_->map_update_elem(hash, &k, &v, BPF_ANY), 0);
  }
  std::vector<bpf_insn> p = {movr(BPF_REG_9, BPF_REG_1), mov(BPF_REG_6, 0), mov(BPF_REG_7, 0), mov(BPF_REG_8, 0),
                             make(BPF_ST | BPF_DW | BPF_MEM, BPF_REG_10, 0, -16, 0),
                             make(BPF_ST | BPF_DW | BPF_MEM, BPF_REG_10, 0, -24, 0)};
  const size_t loop = p.size();
  p.push_back(stx(BPF_W, BPF_REG_10, -4, BPF_REG_6));
  p.push_back(jmp(BPF_JSET, BPF_REG_6, 1, 3));  // odd: the hash
  ld_map(p, BPF_REG_1, arr);
  p.push_back(ja(2));
  ld_map(p, BPF_REG_1, hash);
  p.push_back(movr(BPF_REG_2, BPF_REG_10));
  p.push_back(add(BPF_REG_2, -4));
  p.push_back(lookup());
  p.push_back(jmp(BPF_JEQ, BPF_REG_0, 0, 3));  // miss
  p.push_back(ldx(BPF_DW, BPF_REG_1, BPF_REG_0, 0));
  p.push_back(addr(BPF_REG_7, BPF_REG_1));
  p.push_back(ja(1));
  p.push_back(add(BPF_REG_8, 1));  // miss:
  p.push_back(add(BPF_REG_6, 1));
  p.push_back(jmp(BPF_JLT, BPF_REG_6, 12, static_cast<int16_t>(static_cast<int>(loop) - static_cast<int>(p.size()) - 1)));
  p.push_back(stx(BPF_DW, BPF_REG_9, 0, BPF_REG_7));
  p.push_back(stx(BPF_DW, BPF_REG_9, 8, BPF_REG_8));
  // r3 = fp - 8, then a jump over `r3 = r10` onto `r3 += -16`: fp - 24.
  p.push_back(movr(BPF_REG_3, BPF_REG_10));
  p.push_back(add(BPF_REG_3, -8));
  p.push_back(jmp(BPF_JEQ, BPF_REG_6, 12, 1));
  p.push_back(movr(BPF_REG_3, BPF_REG_10));
  p.push_back(add(BPF_REG_3, -16));
  p.push_back(mov(BPF_REG_4, 77));
  p.push_back(stx(BPF_DW, BPF_REG_3, 0, BPF_REG_4));
  p.push_back(ldx(BPF_DW, BPF_REG_4, BPF_REG_10, -24));
  p.push_back(stx(BPF_DW, BPF_REG_9, 16, BPF_REG_4));
  // r0 = 0 and a jump onto the null check fused with the lookup before it.
  p.push_back(mov(BPF_REG_5, 0));
  p.push_back(stx(BPF_W, BPF_REG_10, -4, BPF_REG_5));
  ld_map(p, BPF_REG_1, arr);
  p.push_back(movr(BPF_REG_2, BPF_REG_10));
  p.push_back(add(BPF_REG_2, -4));
  p.push_back(mov(BPF_REG_0, 0));
  p.push_back(jmp(BPF_JEQ, BPF_REG_6, 12, 1));
  p.push_back(lookup());
  p.push_back(jmp(BPF_JEQ, BPF_REG_0, 0, 2));
  p.push_back(mov(BPF_REG_4, 111));
  p.push_back(ja(1));
  p.push_back(mov(BPF_REG_4, 222));
  p.push_back(stx(BPF_DW, BPF_REG_9, 24, BPF_REG_4));
  // hash[3] holds 5: that value, as a key, finds arr[5] (the array is the
  // cached map by then, and the key is not on the stack).
  p.push_back(mov(BPF_REG_5, 3));
  p.push_back(stx(BPF_W, BPF_REG_10, -4, BPF_REG_5));
  ld_map(p, BPF_REG_1, hash);
  p.push_back(movr(BPF_REG_2, BPF_REG_10));
  p.push_back(add(BPF_REG_2, -4));
  p.push_back(lookup());
  const size_t hash_miss = p.size();
  p.push_back(jmp(BPF_JEQ, BPF_REG_0, 0, 0));  // to the end; set below
  p.push_back(movr(BPF_REG_6, BPF_REG_0));
  ld_map(p, BPF_REG_1, arr);
  p.push_back(movr(BPF_REG_2, BPF_REG_10));
  p.push_back(add(BPF_REG_2, -4));
  p.push_back(lookup());  // arr[3]: the array becomes the cached map
  ld_map(p, BPF_REG_1, arr);  // a helper call leaves r1..r5 unreadable
  p.push_back(movr(BPF_REG_2, BPF_REG_6));
  p.push_back(lookup());  // the key in hash[3]'s value
  p.push_back(jmp(BPF_JEQ, BPF_REG_0, 0, 2));
  p.push_back(ldx(BPF_DW, BPF_REG_4, BPF_REG_0, 0));
  p.push_back(stx(BPF_DW, BPF_REG_9, 32, BPF_REG_4));
  p[hash_miss].off = static_cast<int16_t>(p.size() - hash_miss - 1);
  p.push_back(mov(BPF_REG_0, 0));
  p.push_back(exit_insn());
  const int fd = load(p);
  ASSERT_GE(fd, 0) << GetParam() << ": the program must load (errno " << -fd << ")";
  std::vector<uint64_t> out;
  ASSERT_EQ(run(fd, &out), 0);
  // Even keys 0..6 find 1 + 21 + 41 + 61; odd keys 1, 3, 5 find 3 + 5 + 7;
  // 8 and 10 miss in the array, 7, 9 and 11 in the hash.
  EXPECT_EQ(out[0], 1u + 21 + 41 + 61 + 3 + 5 + 7);
  EXPECT_EQ(out[1], 5u);
  EXPECT_EQ(out[2], 77u);
  EXPECT_EQ(out[3], 222u);
  EXPECT_EQ(out[4], 51u);
  EXPECT_EQ(be_->close(fd), 0);
  EXPECT_EQ(be_->close(arr), 0);
  EXPECT_EQ(be_->close(hash), 0);
}

INSTANTIATE_TEST_SUITE_P(Backends, InterpDispatch, ::testing::Values("emu", "kernel"),
                         [](const auto& info) { return info.param; });

}  // namespace
