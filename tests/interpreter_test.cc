// The interpreter against the kernel: the same instructions are loaded with
// BPF_PROG_LOAD and run with BPF_PROG_TEST_RUN through Backend::bpf on the
// emulator and (as root) on the host kernel, and every result is compared:
// retval, the output packet or context, and map contents. A seeded generator
// makes programs the verifier accepts (ALU and ALU32 with every operation,
// signed division, sign extension, byte swaps, stack loads and stores of every
// size, atomics, forward branches) so the whole instruction set is compared
// op by op. Emulator-only tests check what the kernel's verifier would have
// refused: a bad access stops the run with EFAULT instead of a crash.
#include <linux/bpf.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "bpfemu/backend.h"
#include "bpfemu/programs.h"
#include "conformance/skb_helper_cases.h"
#include "emu/insn_builder.h"
#include "emu/interpreter.h"

namespace {

// --- a small assembler ---

using bpfemu::insn::ld64;
bpf_insn ins(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  return bpfemu::insn::make(code, dst, src, off, imm);
}
bpf_insn mov64(uint8_t dst, int32_t imm) { return ins(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm); }
bpf_insn mov64r(uint8_t dst, uint8_t src) { return ins(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0); }
bpf_insn add64(uint8_t dst, int32_t imm) { return ins(BPF_ALU64 | BPF_ADD | BPF_K, dst, 0, 0, imm); }
bpf_insn stx(uint8_t size, uint8_t dst, int16_t off, uint8_t src) { return ins(BPF_STX | size | BPF_MEM, dst, src, off, 0); }
bpf_insn st(uint8_t size, uint8_t dst, int16_t off, int32_t imm) { return ins(BPF_ST | size | BPF_MEM, dst, 0, off, imm); }
bpf_insn ldx(uint8_t size, uint8_t dst, uint8_t src, int16_t off) { return ins(BPF_LDX | size | BPF_MEM, dst, src, off, 0); }
bpf_insn call(int32_t helper) { return ins(BPF_JMP | BPF_CALL, 0, 0, 0, helper); }
bpf_insn jmp_imm(uint8_t op, uint8_t dst, int32_t imm, int16_t off) { return ins(BPF_JMP | op | BPF_K, dst, 0, off, imm); }
bpf_insn exit_insn() { return ins(BPF_JMP | BPF_EXIT, 0, 0, 0, 0); }

// --- the two backends through bpf(2) ---

class Bpf {
 public:
  explicit Bpf(bpfemu::Backend& b) : b_(b) {}
  bpfemu::Backend& backend() { return b_; }

  int load(uint32_t type, const std::vector<bpf_insn>& insns, uint32_t flags = 0, std::string* log = nullptr) {
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    std::vector<char> buf(log != nullptr ? 65536 : 0);
    a.prog_type = type;
    a.insns = reinterpret_cast<uint64_t>(insns.data());
    a.insn_cnt = static_cast<uint32_t>(insns.size());
    a.license = reinterpret_cast<uint64_t>("GPL");
    a.prog_flags = flags;
    if (log != nullptr) {
      a.log_buf = reinterpret_cast<uint64_t>(buf.data());
      a.log_size = static_cast<uint32_t>(buf.size());
      a.log_level = 1;
    }
    const long fd = b_.bpf(BPF_PROG_LOAD, &a, sizeof(a));
    if (log != nullptr) *log = buf.data();
    return static_cast<int>(fd);
  }

  struct Run {
    long rc = 0;
    uint32_t retval = 0;
    std::vector<uint8_t> data, ctx;
    bool operator==(const Run& o) const { return rc == o.rc && retval == o.retval && data == o.data && ctx == o.ctx; }
  };
  // test_run with data and ctx in (ctx_out only for program types that have one).
  Run run(int fd, std::vector<uint8_t> data, std::vector<uint8_t> ctx, bool ctx_out = false, uint32_t out_size = 256) {
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    Run r;
    r.data.assign(out_size, 0);
    a.test.prog_fd = static_cast<uint32_t>(fd);
    if (!data.empty()) {
      a.test.data_in = reinterpret_cast<uint64_t>(data.data());
      a.test.data_size_in = static_cast<uint32_t>(data.size());
      a.test.data_out = reinterpret_cast<uint64_t>(r.data.data());
      a.test.data_size_out = out_size;
    }
    r.ctx = ctx;
    if (!ctx.empty()) {
      a.test.ctx_in = reinterpret_cast<uint64_t>(r.ctx.data());
      a.test.ctx_size_in = static_cast<uint32_t>(ctx.size());
      if (ctx_out) {
        a.test.ctx_out = reinterpret_cast<uint64_t>(r.ctx.data());
        a.test.ctx_size_out = static_cast<uint32_t>(ctx.size());
      }
    }
    r.rc = b_.bpf(BPF_PROG_TEST_RUN, &a, sizeof(a));
    r.retval = a.test.retval;
    r.data.resize(data.empty() ? 0 : std::min<uint32_t>(a.test.data_size_out, out_size));
    return r;
  }

 private:
  bpfemu::Backend& b_;
};

std::string hex(const std::vector<uint8_t>& b) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (uint8_t c : b) {
    s += d[c >> 4];
    s += d[c & 15];
  }
  return s;
}

// --- random programs the verifier accepts ---

// A BPF_PROG_TYPE_SYSCALL program whose ctx receives r0..r9 and 16 stack
// slots at the end, so every register and stack byte is compared.
constexpr int kSlots = 16;
constexpr uint32_t kCtxSize = 10 * 8 + kSlots * 8;

class ProgramGenerator {
 public:
  explicit ProgramGenerator(uint64_t seed) : rng_(seed) {}

  size_t body_begin = 0, body_end = 0;  // the generated instructions in make()'s program

  std::vector<bpf_insn> make(int body_len) {
    std::vector<bpf_insn> p;
    p.push_back(stx(BPF_DW, BPF_REG_10, -8, BPF_REG_1));  // keep the ctx pointer
    for (int s = 0; s < kSlots; ++s) p.push_back(st(BPF_DW, BPF_REG_10, slot(s), static_cast<int32_t>(rng_())));
    for (uint8_t r = 0; r <= 9; ++r) ld64(p, r, value());
    std::vector<bpf_insn> body;
    while (static_cast<int>(body.size()) < body_len) emit(body, body_len - static_cast<int>(body.size()));
    body_begin = p.size();
    p.insert(p.end(), body.begin(), body.end());
    body_end = p.size();
    // Registers to their own stack slots below the compared ones, then all out to ctx.
    for (uint8_t r = 0; r <= 9; ++r) p.push_back(stx(BPF_DW, BPF_REG_10, static_cast<int16_t>(-8 * (kSlots + 2 + r)), r));
    p.push_back(ldx(BPF_DW, BPF_REG_1, BPF_REG_10, -8));
    for (int r = 0; r <= 9; ++r) {
      p.push_back(ldx(BPF_DW, BPF_REG_2, BPF_REG_10, static_cast<int16_t>(-8 * (kSlots + 2 + r))));
      p.push_back(stx(BPF_DW, BPF_REG_1, static_cast<int16_t>(8 * r), BPF_REG_2));
    }
    for (int s = 0; s < kSlots; ++s) {
      p.push_back(ldx(BPF_DW, BPF_REG_2, BPF_REG_10, slot(s)));
      p.push_back(stx(BPF_DW, BPF_REG_1, static_cast<int16_t>(80 + 8 * s), BPF_REG_2));
    }
    p.push_back(mov64(BPF_REG_0, 0));
    p.push_back(exit_insn());
    return p;
  }

 private:
  static int16_t slot(int s) { return static_cast<int16_t>(-16 - 8 * s); }
  uint64_t pick(uint64_t n) { return rng_() % n; }
  uint8_t reg() { return static_cast<uint8_t>(pick(10)); }
  // Values that reach the corners: small, negative, powers of two, INT_MIN.
  uint64_t value() {
    switch (pick(6)) {
      case 0: return pick(16);
      case 1: return static_cast<uint64_t>(-static_cast<int64_t>(pick(16)));
      case 2: return uint64_t{1} << pick(64);
      case 3: return uint64_t{1} << 63;
      case 4: return uint64_t{0x80000000};
      default: return rng_();
    }
  }
  int32_t imm() { return static_cast<int32_t>(value()); }

  void emit(std::vector<bpf_insn>& out, int room) {
    static const uint8_t kOps[] = {BPF_ADD, BPF_SUB, BPF_MUL, BPF_DIV, BPF_OR,  BPF_AND, BPF_LSH,
                                   BPF_RSH, BPF_NEG, BPF_MOD, BPF_XOR, BPF_MOV, BPF_ARSH};
    const uint8_t cls = pick(2) ? BPF_ALU64 : BPF_ALU;
    switch (pick(10)) {
      case 0: case 1: case 2: case 3: {  // ALU with an immediate or a register
        const uint8_t op = kOps[pick(sizeof(kOps))];
        const bool x = pick(2) != 0 && op != BPF_NEG;
        int16_t off = 0;
        if ((op == BPF_DIV || op == BPF_MOD) && pick(2)) off = 1;  // signed
        if (op == BPF_MOV && x && pick(3) == 0) {
          static const int16_t kSx64[] = {8, 16, 32}, kSx32[] = {8, 16};
          off = cls == BPF_ALU64 ? kSx64[pick(3)] : kSx32[pick(2)];
        }
        int32_t k = imm();
        if (op == BPF_LSH || op == BPF_RSH || op == BPF_ARSH) k = static_cast<int32_t>(pick(cls == BPF_ALU64 ? 64 : 32));
        if ((op == BPF_DIV || op == BPF_MOD) && k == 0) k = 7;  // the verifier refuses division by a zero immediate
        if (op == BPF_NEG) k = 0;  // NEG has no operand; its reserved fields must be zero
        out.push_back(ins(cls | op | (x ? BPF_X : BPF_K), reg(), x ? reg() : 0, off, x ? 0 : k));
        break;
      }
      case 4: {  // byte order
        static const int32_t kBits[] = {16, 32, 64};
        // ALU64 has only the unconditional swap (BSWAP, encoded as TO_LE).
        const bool wide = pick(3) == 0;
        out.push_back(ins((wide ? BPF_ALU64 : BPF_ALU) | BPF_END | (!wide && pick(2) ? BPF_TO_BE : BPF_TO_LE), reg(), 0, 0,
                          kBits[pick(3)]));
        break;
      }
      case 5: {  // store to a stack slot, any size, any offset inside it
        static const uint8_t kSizes[] = {BPF_B, BPF_H, BPF_W, BPF_DW};
        const uint8_t size = kSizes[pick(4)];
        const int bytes = size == BPF_B ? 1 : size == BPF_H ? 2 : size == BPF_W ? 4 : 8;
        const int16_t off = static_cast<int16_t>(slot(static_cast<int>(pick(kSlots))) + static_cast<int16_t>(pick(9 - bytes)) / bytes * bytes);
        out.push_back(pick(2) ? stx(size, BPF_REG_10, off, reg()) : st(size, BPF_REG_10, off, imm()));
        break;
      }
      case 6: {  // load, plain or sign-extending
        static const uint8_t kSizes[] = {BPF_B, BPF_H, BPF_W, BPF_DW};
        const uint8_t size = kSizes[pick(4)];
        const int bytes = size == BPF_B ? 1 : size == BPF_H ? 2 : size == BPF_W ? 4 : 8;
        const int16_t off = static_cast<int16_t>(slot(static_cast<int>(pick(kSlots))) + static_cast<int16_t>(pick(9 - bytes)) / bytes * bytes);
        const uint8_t mode = size != BPF_DW && pick(2) ? 0x80 /* BPF_MEMSX */ : BPF_MEM;
        out.push_back(ins(BPF_LDX | size | mode, reg(), BPF_REG_10, off, 0));
        break;
      }
      case 7: {  // atomics on a stack slot (the verifier wants the value register != r0 for cmpxchg)
        static const int32_t kAtomic[] = {BPF_ADD, BPF_OR, BPF_AND, BPF_XOR, BPF_ADD | BPF_FETCH, BPF_OR | BPF_FETCH,
                                          BPF_AND | BPF_FETCH, BPF_XOR | BPF_FETCH, BPF_XCHG, BPF_CMPXCHG};
        const bool wide = pick(2) != 0;
        const int slot_i = static_cast<int>(pick(kSlots));
        const int16_t off = static_cast<int16_t>(slot(slot_i) + (wide ? 0 : 4 * static_cast<int>(pick(2))));
        uint8_t src = reg();
        if (src == 0) src = 1;
        out.push_back(ins(BPF_STX | (wide ? BPF_DW : BPF_W) | BPF_ATOMIC, BPF_REG_10, src, off, kAtomic[pick(10)]));
        break;
      }
      default: {  // a forward branch over the next 1..3 instructions
        if (room < 3) {
          out.push_back(mov64r(reg(), reg()));
          break;
        }
        static const uint8_t kJmp[] = {BPF_JEQ, BPF_JGT, BPF_JGE, BPF_JSET, BPF_JNE, BPF_JSGT,
                                       BPF_JSGE, BPF_JLT, BPF_JLE, BPF_JSLT, BPF_JSLE};
        const bool x = pick(2) != 0;
        const int16_t skip = static_cast<int16_t>(1 + pick(2));
        out.push_back(ins((pick(2) ? BPF_JMP : BPF_JMP32) | kJmp[pick(11)] | (x ? BPF_X : BPF_K), reg(), x ? reg() : 0,
                          skip, x ? 0 : imm()));
        break;
      }
    }
  }

  std::mt19937_64 rng_;
};

// --- fixtures ---

class InterpreterVsKernel : public ::testing::Test {
 protected:
  void SetUp() override {
    emu_ = bpfemu::make_backend("emu", &why_);
    ASSERT_NE(emu_, nullptr) << why_;
    kernel_ = bpfemu::make_backend("kernel", &why_);
  }
  void need_kernel() {
    if (kernel_ == nullptr) GTEST_SKIP() << "the kernel half needs bpf() (run as root): " << why_;
  }
  std::unique_ptr<bpfemu::Backend> emu_, kernel_;
  std::string why_;
  std::vector<std::vector<std::string>> results_;
};

// Whether the kernel and the emulator leave the same state after the program
// (nullopt: the kernel's verifier refuses it).
std::optional<bool> same_on_both(Bpf& kernel, Bpf& emu, const std::vector<bpf_insn>& prog, std::string* diff) {
  const int kfd = kernel.load(BPF_PROG_TYPE_SYSCALL, prog, BPF_F_SLEEPABLE);
  if (kfd < 0) return std::nullopt;
  const int efd = emu.load(BPF_PROG_TYPE_SYSCALL, prog, BPF_F_SLEEPABLE);
  const std::vector<uint8_t> ctx(kCtxSize, 0);
  const Bpf::Run k = kernel.run(kfd, {}, ctx);
  const Bpf::Run e = efd >= 0 ? emu.run(efd, {}, ctx) : Bpf::Run{efd, 0, {}, {}};
  kernel.backend().close(kfd);
  if (efd >= 0) emu.backend().close(efd);
  if (diff != nullptr)
    *diff = "kernel rc " + std::to_string(k.rc) + " retval " + std::to_string(k.retval) + " state " + hex(k.ctx) +
            "\nemu    rc " + std::to_string(e.rc) + " retval " + std::to_string(e.retval) + " state " + hex(e.ctx);
  return k == e;
}

// Shrinks a differing program: body instructions become no-ops (r0 = r0, which
// keeps every jump's target) one at a time while the difference stays.
std::string shrink(Bpf& kernel, Bpf& emu, std::vector<bpf_insn> prog, size_t begin, size_t end) {
  const bpf_insn nop = mov64r(BPF_REG_0, BPF_REG_0);
  for (size_t i = begin; i < end; ++i) {
    const bpf_insn saved = prog[i];
    if (saved.code == nop.code && saved.dst_reg == 0 && saved.src_reg == 0) continue;
    prog[i] = nop;
    std::optional<bool> same = same_on_both(kernel, emu, prog, nullptr);
    if (!same.has_value() || *same) prog[i] = saved;  // needed for the difference (or for the verifier)
  }
  std::string out;
  char line[96];
  for (size_t i = begin; i < end; ++i) {
    const bpf_insn& in = prog[i];
    if (in.code == nop.code && in.dst_reg == 0 && in.src_reg == 0) continue;
    snprintf(line, sizeof(line), "  body[%zu]: code 0x%02x dst r%u src r%u off %d imm %d\n", i - begin, in.code,
             in.dst_reg, in.src_reg, in.off, in.imm);
    out += line;
  }
  std::string diff;
  same_on_both(kernel, emu, prog, &diff);
  return out + diff;
}

TEST_F(InterpreterVsKernel, RandomProgramsLeaveTheSameRegistersAndStack) {
  need_kernel();
  Bpf emu(*emu_), kernel(*kernel_);
  int compared = 0, refused = 0, differing = 0;
  for (uint64_t seed = 1; seed <= 3000; ++seed) {
    ProgramGenerator gen(seed);
    const std::vector<bpf_insn> prog = gen.make(static_cast<int>(8 + seed % 40));
    std::optional<bool> same = same_on_both(kernel, emu, prog, nullptr);
    if (!same.has_value()) {
      ++refused;  // the verifier's reasons are its own (e.g. a branch it cannot prove)
      continue;
    }
    ++compared;
    if (*same || ++differing > 3) continue;  // shrink the first three differences
    ADD_FAILURE() << "seed " << seed << ": the emulator differs from the kernel; the instructions that matter:\n"
                  << shrink(kernel, emu, prog, gen.body_begin, gen.body_end);
  }
  EXPECT_EQ(differing, 0);
  EXPECT_GE(compared, 2850) << refused << " programs were refused by the verifier";
}

// An XDP program that swaps the Ethernet addresses, bumps a counter in an ARRAY
// map and a HASH map keyed by the EtherType, and returns XDP_TX.
TEST_F(InterpreterVsKernel, XdpProgramWithMapsMatchesTheKernel) {
  need_kernel();
  for (bpfemu::Backend* be : {kernel_.get(), emu_.get()}) {
    Bpf b(*be);
    const int arr = be->map_create(BPF_MAP_TYPE_ARRAY, "counts", 4, 8, 4, nullptr);
    const int hash = be->map_create(BPF_MAP_TYPE_HASH, "protos", 4, 8, 16, nullptr);
    ASSERT_GE(arr, 0);
    ASSERT_GE(hash, 0);
    std::vector<bpf_insn> p;
    p.push_back(ldx(BPF_W, BPF_REG_2, BPF_REG_1, 0));  // data
    p.push_back(ldx(BPF_W, BPF_REG_3, BPF_REG_1, 4));  // data_end
    p.push_back(mov64r(BPF_REG_4, BPF_REG_2));
    p.push_back(add64(BPF_REG_4, 14));
    p.push_back(ins(BPF_JMP | BPF_JGT | BPF_X, BPF_REG_4, BPF_REG_3, 40, 0));  // to "drop"
    // swap the two 6-byte addresses, 2 + 4 bytes at a time
    p.push_back(ldx(BPF_W, BPF_REG_4, BPF_REG_2, 0));
    p.push_back(ldx(BPF_W, BPF_REG_5, BPF_REG_2, 6));
    p.push_back(stx(BPF_W, BPF_REG_2, 0, BPF_REG_5));
    p.push_back(stx(BPF_W, BPF_REG_2, 6, BPF_REG_4));
    p.push_back(ldx(BPF_H, BPF_REG_4, BPF_REG_2, 4));
    p.push_back(ldx(BPF_H, BPF_REG_5, BPF_REG_2, 10));
    p.push_back(stx(BPF_H, BPF_REG_2, 4, BPF_REG_5));
    p.push_back(stx(BPF_H, BPF_REG_2, 10, BPF_REG_4));
    p.push_back(ldx(BPF_H, BPF_REG_6, BPF_REG_2, 12));  // EtherType (network order)
    p.push_back(stx(BPF_W, BPF_REG_10, -4, BPF_REG_6));
    // counts[1] += 1 (atomically, through the value pointer)
    p.push_back(st(BPF_W, BPF_REG_10, -8, 1));
    ld64(p, BPF_REG_1, static_cast<uint32_t>(arr), BPF_PSEUDO_MAP_FD);
    p.push_back(mov64r(BPF_REG_2, BPF_REG_10));
    p.push_back(add64(BPF_REG_2, -8));
    p.push_back(call(BPF_FUNC_map_lookup_elem));
    p.push_back(jmp_imm(BPF_JEQ, BPF_REG_0, 0, 2));
    p.push_back(mov64(BPF_REG_1, 1));
    p.push_back(ins(BPF_STX | BPF_DW | BPF_ATOMIC, BPF_REG_0, BPF_REG_1, 0, BPF_ADD));
    // protos[ethertype] = lookup + 1, or 1 (BPF_NOEXIST) when absent
    ld64(p, BPF_REG_1, static_cast<uint32_t>(hash), BPF_PSEUDO_MAP_FD);
    p.push_back(mov64r(BPF_REG_2, BPF_REG_10));
    p.push_back(add64(BPF_REG_2, -4));
    p.push_back(call(BPF_FUNC_map_lookup_elem));
    p.push_back(jmp_imm(BPF_JEQ, BPF_REG_0, 0, 3));
    p.push_back(ldx(BPF_DW, BPF_REG_1, BPF_REG_0, 0));
    p.push_back(add64(BPF_REG_1, 1));
    p.push_back(ins(BPF_JMP | BPF_JA, 0, 0, 1, 0));
    p.push_back(mov64(BPF_REG_1, 1));
    p.push_back(stx(BPF_DW, BPF_REG_10, -16, BPF_REG_1));
    ld64(p, BPF_REG_1, static_cast<uint32_t>(hash), BPF_PSEUDO_MAP_FD);
    p.push_back(mov64r(BPF_REG_2, BPF_REG_10));
    p.push_back(add64(BPF_REG_2, -4));
    p.push_back(mov64r(BPF_REG_3, BPF_REG_10));
    p.push_back(add64(BPF_REG_3, -16));
    p.push_back(mov64(BPF_REG_4, BPF_ANY));
    p.push_back(call(BPF_FUNC_map_update_elem));
    p.push_back(mov64(BPF_REG_0, XDP_TX));
    p.push_back(exit_insn());
    p.push_back(mov64(BPF_REG_0, XDP_DROP));  // drop:
    p.push_back(exit_insn());
    ASSERT_EQ(p[4].off + 5, static_cast<int>(p.size()) - 2) << "the bounds check must jump to drop";
    std::string log;
    const int fd = b.load(BPF_PROG_TYPE_XDP, p, 0, &log);
    ASSERT_GE(fd, 0) << be->name() << ": " << log;
    std::vector<uint8_t> pkt(64);
    for (size_t i = 0; i < pkt.size(); ++i) pkt[i] = static_cast<uint8_t>(i * 7);
    pkt[12] = 0x08;
    pkt[13] = 0x00;
    std::vector<std::string> seen;
    for (int i = 0; i < 3; ++i) {
      Bpf::Run r = b.run(fd, pkt, {});
      seen.push_back(std::to_string(r.rc) + " " + std::to_string(r.retval) + " " + hex(r.data));
    }
    Bpf::Run small = b.run(fd, std::vector<uint8_t>(10, 1), {});
    seen.push_back("short packet: " + std::to_string(small.rc));
    uint32_t k = 1, proto = 0x0008;
    uint64_t v = 0;
    seen.push_back("counts[1] " + std::to_string(be->map_lookup_elem(arr, &k, &v)) + " " + std::to_string(v));
    seen.push_back("protos[0x0800] " + std::to_string(be->map_lookup_elem(hash, &proto, &v)) + " " + std::to_string(v));
    results_.push_back(seen);
    ASSERT_EQ(be->close(fd), 0);
    ASSERT_EQ(be->close(arr), 0);
    ASSERT_EQ(be->close(hash), 0);
  }
  ASSERT_EQ(results_.size(), 2u);
  EXPECT_EQ(results_[1], results_[0]) << "emulator (left) vs kernel (right)";
  EXPECT_EQ(results_[0][2].substr(0, 4), "0 3 ") << "XDP_TX with the packet out";
}

// Tail calls through a PROG_ARRAY: a jump to the program in a slot, a fall
// through past an empty slot, and the 33-call limit of a program that tail
// calls itself (it counts its runs in an ARRAY).
TEST_F(InterpreterVsKernel, TailCallsMatchTheKernel) {
  need_kernel();
  for (bpfemu::Backend* be : {kernel_.get(), emu_.get()}) {
    Bpf b(*be);
    const int parr = be->map_create(BPF_MAP_TYPE_PROG_ARRAY, "jumps", 4, 4, 4, nullptr);
    const int counter = be->map_create(BPF_MAP_TYPE_ARRAY, "runs", 4, 8, 1, nullptr);
    ASSERT_GE(parr, 0);
    ASSERT_GE(counter, 0);
    auto tail_call_to = [&](std::vector<bpf_insn>& p, int32_t slot) {
      ld64(p, BPF_REG_2, static_cast<uint32_t>(parr), BPF_PSEUDO_MAP_FD);
      p.push_back(mov64(BPF_REG_3, slot));
      p.push_back(call(BPF_FUNC_tail_call));
    };
    const int target = b.load(BPF_PROG_TYPE_XDP, {mov64(BPF_REG_0, XDP_TX), exit_insn()});
    std::vector<bpf_insn> looping;
    looping.push_back(mov64r(BPF_REG_6, BPF_REG_1));
    looping.push_back(st(BPF_W, BPF_REG_10, -4, 0));
    ld64(looping, BPF_REG_1, static_cast<uint32_t>(counter), BPF_PSEUDO_MAP_FD);
    looping.push_back(mov64r(BPF_REG_2, BPF_REG_10));
    looping.push_back(add64(BPF_REG_2, -4));
    looping.push_back(call(BPF_FUNC_map_lookup_elem));
    looping.push_back(jmp_imm(BPF_JEQ, BPF_REG_0, 0, 2));
    looping.push_back(mov64(BPF_REG_1, 1));
    looping.push_back(ins(BPF_STX | BPF_DW | BPF_ATOMIC, BPF_REG_0, BPF_REG_1, 0, BPF_ADD));
    looping.push_back(mov64r(BPF_REG_1, BPF_REG_6));
    tail_call_to(looping, 2);
    looping.push_back(mov64(BPF_REG_0, XDP_PASS));
    looping.push_back(exit_insn());
    const int self = b.load(BPF_PROG_TYPE_XDP, looping);
    std::vector<bpf_insn> entry;
    tail_call_to(entry, 1);
    entry.push_back(mov64(BPF_REG_0, XDP_DROP));
    entry.push_back(exit_insn());
    const int first = b.load(BPF_PROG_TYPE_XDP, entry);
    ASSERT_GE(target, 0);
    ASSERT_GE(self, 0);
    ASSERT_GE(first, 0);
    std::vector<std::string> seen;
    const std::vector<uint8_t> pkt(64, 0);
    seen.push_back("empty slot: retval " + std::to_string(b.run(first, pkt, {}).retval));
    uint32_t k = 1;
    ASSERT_EQ(be->map_update_elem(parr, &k, &target, BPF_ANY), 0);
    seen.push_back("slot 1: retval " + std::to_string(b.run(first, pkt, {}).retval));
    k = 2;
    ASSERT_EQ(be->map_update_elem(parr, &k, &self, BPF_ANY), 0);
    seen.push_back("self: retval " + std::to_string(b.run(self, pkt, {}).retval));
    uint32_t zero = 0;
    uint64_t runs = 0;
    ASSERT_EQ(be->map_lookup_elem(counter, &zero, &runs), 0);
    seen.push_back("self ran " + std::to_string(runs) + " times");
    k = 1;
    ASSERT_EQ(be->map_delete_elem(parr, &k), 0);
    seen.push_back("deleted: retval " + std::to_string(b.run(first, pkt, {}).retval));
    results_.push_back(seen);
    for (int fd : {first, self, target, parr, counter}) ASSERT_EQ(be->close(fd), 0);
  }
  ASSERT_EQ(results_.size(), 2u);
  EXPECT_EQ(results_[1], results_[0]) << "emulator (left) vs kernel (right)";
  EXPECT_EQ(results_[0][3], "self ran 34 times") << "the first run and 33 tail calls";
}

// The xdp_buff helpers: the packet grown at the head and at the tail (and
// refused beyond the frame), its length, bytes loaded from and stored into it,
// then a new header written. Every helper's answer goes to an ARRAY value.
TEST_F(InterpreterVsKernel, XdpBufferHelpersMatchTheKernel) {
  need_kernel();
  for (bpfemu::Backend* be : {kernel_.get(), emu_.get()}) {
    Bpf b(*be);
    const int results = be->map_create(BPF_MAP_TYPE_ARRAY, "answers", 4, 64, 1, nullptr);
    ASSERT_GE(results, 0);
    std::vector<bpf_insn> p;
    p.push_back(mov64r(BPF_REG_6, BPF_REG_1));
    p.push_back(st(BPF_W, BPF_REG_10, -4, 0));
    ld64(p, BPF_REG_1, static_cast<uint32_t>(results), BPF_PSEUDO_MAP_FD);
    p.push_back(mov64r(BPF_REG_2, BPF_REG_10));
    p.push_back(add64(BPF_REG_2, -4));
    p.push_back(call(BPF_FUNC_map_lookup_elem));
    const size_t null_check = p.size();
    p.push_back(jmp_imm(BPF_JEQ, BPF_REG_0, 0, 0));  // to the end, patched below
    p.push_back(mov64r(BPF_REG_9, BPF_REG_0));
    int16_t slot = 0;
    auto answer = [&](int32_t helper, std::initializer_list<int32_t> args, bool stack_buf) {
      p.push_back(mov64r(BPF_REG_1, BPF_REG_6));
      uint8_t reg = BPF_REG_2;
      for (int32_t a : args) {
        if (stack_buf && reg == BPF_REG_3) {
          p.push_back(mov64r(BPF_REG_3, BPF_REG_10));
          p.push_back(add64(BPF_REG_3, -16));
          ++reg;
        }
        p.push_back(mov64(reg++, a));
      }
      p.push_back(call(helper));
      p.push_back(stx(BPF_DW, BPF_REG_9, slot, BPF_REG_0));
      slot += 8;
    };
    answer(BPF_FUNC_xdp_adjust_head, {-14}, false);
    answer(BPF_FUNC_xdp_adjust_head, {-1000}, false);
    answer(BPF_FUNC_xdp_adjust_tail, {4}, false);
    answer(BPF_FUNC_xdp_adjust_tail, {4000}, false);
    answer(BPF_FUNC_xdp_get_buff_len, {}, false);
    answer(BPF_FUNC_xdp_load_bytes, {2, 8}, true);
    answer(BPF_FUNC_xdp_store_bytes, {20, 8}, true);
    answer(BPF_FUNC_xdp_load_bytes, {0x10000, 8}, true);
    // A new header in the grown headroom.
    p.push_back(ldx(BPF_W, BPF_REG_2, BPF_REG_6, 0));
    p.push_back(ldx(BPF_W, BPF_REG_3, BPF_REG_6, 4));
    p.push_back(mov64r(BPF_REG_4, BPF_REG_2));
    p.push_back(add64(BPF_REG_4, 14));
    p.push_back(ins(BPF_JMP | BPF_JGT | BPF_X, BPF_REG_4, BPF_REG_3, 2, 0));
    p.push_back(st(BPF_W, BPF_REG_2, 0, 0x01020304));
    p.push_back(st(BPF_H, BPF_REG_2, 12, 0x0008));
    p.push_back(mov64(BPF_REG_0, XDP_TX));
    p.push_back(exit_insn());
    p[null_check].off = static_cast<int16_t>(p.size() - null_check - 1);
    p.push_back(mov64(BPF_REG_0, XDP_ABORTED));
    p.push_back(exit_insn());
    std::string log;
    const int fd = b.load(BPF_PROG_TYPE_XDP, p, 0, &log);
    ASSERT_GE(fd, 0) << be->name() << ": " << log;
    std::vector<uint8_t> pkt(60);
    for (size_t i = 0; i < pkt.size(); ++i) pkt[i] = static_cast<uint8_t>(i + 1);
    const Bpf::Run r = b.run(fd, pkt, {});
    std::vector<uint8_t> answers(64, 0xee);
    uint32_t zero = 0;
    ASSERT_EQ(be->map_lookup_elem(results, &zero, answers.data()), 0);
    results_.push_back({std::to_string(r.rc), std::to_string(r.retval), hex(r.data), hex(answers)});
    ASSERT_EQ(be->close(fd), 0);
    ASSERT_EQ(be->close(results), 0);
  }
  ASSERT_EQ(results_.size(), 2u);
  EXPECT_EQ(results_[1], results_[0]) << "emulator (left) vs kernel (right): rc, retval, packet out, helper answers";
  EXPECT_EQ(results_[0][1], std::to_string(XDP_TX));
}

// The xdp_md fields a test run fills besides the packet pointers.
TEST_F(InterpreterVsKernel, XdpContextFieldsMatchTheKernel) {
  need_kernel();
  for (bpfemu::Backend* be : {kernel_.get(), emu_.get()}) {
    Bpf b(*be);
    std::vector<std::string> seen;
    for (int16_t off : {12, 16}) {  // ingress_ifindex, rx_queue_index
      const int fd = b.load(BPF_PROG_TYPE_XDP, {ldx(BPF_W, BPF_REG_0, BPF_REG_1, off), exit_insn()});
      ASSERT_GE(fd, 0);
      seen.push_back(std::to_string(b.run(fd, std::vector<uint8_t>(64, 0), {}).retval));
      ASSERT_EQ(be->close(fd), 0);
    }
    results_.push_back(seen);
  }
  EXPECT_EQ(results_[1], results_[0]) << "emulator (left) vs kernel (right)";
}

// The __sk_buff a test run builds, per skb program type: len, pkt_type,
// protocol, ifindex and the packet out (from the Ethernet header for tc, the
// network header for the others), for a unicast, a broadcast and a
// multicast frame.
TEST_F(InterpreterVsKernel, SkbContextMatchesTheKernel) {
  need_kernel();
  const uint32_t types[] = {BPF_PROG_TYPE_SCHED_CLS, BPF_PROG_TYPE_SCHED_ACT, BPF_PROG_TYPE_SOCKET_FILTER,
                            BPF_PROG_TYPE_CGROUP_SKB, BPF_PROG_TYPE_LWT_IN};
  // Which fields a program type may read is the verifier's business (the
  // emulator loads them all): only what the kernel loads is compared.
  std::set<std::pair<uint32_t, int16_t>> refused;
  for (bpfemu::Backend* be : {kernel_.get(), emu_.get()}) {
    Bpf b(*be);
    std::vector<std::string> seen;
    for (uint32_t type : types) {
      for (int16_t off : {0, 4, 16, 40}) {  // len, pkt_type, protocol, ifindex
        if (refused.count({type, off}) != 0) continue;
        const int fd = b.load(type, {ldx(BPF_W, BPF_REG_0, BPF_REG_1, off), exit_insn()});
        if (fd < 0) {
          ASSERT_EQ(be, kernel_.get()) << "the emulator refused type " << type << " offset " << off;
          refused.insert({type, off});
          continue;
        }
        for (uint8_t first : {0x02, 0xff, 0x01}) {  // unicast (not ours), broadcast, multicast
          std::vector<uint8_t> pkt(42, 0x11);
          std::fill(pkt.begin(), pkt.begin() + 6, first);
          pkt[12] = 0x08;
          pkt[13] = 0x06;
          const Bpf::Run r = b.run(fd, pkt, {}, false, 64);
          seen.push_back("type " + std::to_string(type) + " off " + std::to_string(off) + " dst " +
                         std::to_string(first) + ": rc " + std::to_string(r.rc) + " " + std::to_string(r.retval) +
                         " out " + std::to_string(r.data.size()));
        }
        ASSERT_EQ(be->close(fd), 0);
      }
    }
    results_.push_back(seen);
  }
  ASSERT_EQ(results_.size(), 2u);
  ASSERT_EQ(results_[1].size(), results_[0].size());
  std::string differing;
  for (size_t i = 0; i < results_[0].size(); ++i)
    if (results_[1][i] != results_[0][i]) differing += "  emulator: " + results_[1][i] + "\n  kernel:   " + results_[0][i] + "\n";
  EXPECT_EQ(differing, "");
}

// __sk_buff in and out of a tc program: the fields a caller sets in ctx_in
// (mark, priority, cb), what the program writes, and the whole ctx_out.
TEST_F(InterpreterVsKernel, SkbContextInAndOutMatchesTheKernel) {
  need_kernel();
  std::vector<bpf_insn> p = {ldx(BPF_W, BPF_REG_2, BPF_REG_1, 8),  // mark
                             add64(BPF_REG_2, 1),
                             stx(BPF_W, BPF_REG_1, 8, BPF_REG_2),
                             st(BPF_W, BPF_REG_1, 48, 7),           // cb[0]
                             st(BPF_W, BPF_REG_1, 32, 3),           // priority
                             ldx(BPF_W, BPF_REG_0, BPF_REG_1, 52),  // cb[1] as given
                             exit_insn()};
  for (bpfemu::Backend* be : {kernel_.get(), emu_.get()}) {
    Bpf b(*be);
    const int fd = b.load(BPF_PROG_TYPE_SCHED_CLS, p);
    ASSERT_GE(fd, 0);
    std::vector<uint8_t> ctx(192, 0);  // sizeof(struct __sk_buff)
    const uint32_t mark = 5, cb1 = 0x11223344;
    memcpy(ctx.data() + 8, &mark, 4);
    memcpy(ctx.data() + 52, &cb1, 4);
    std::vector<uint8_t> pkt(60, 0x22);
    const Bpf::Run r = b.run(fd, pkt, ctx, true);
    std::vector<uint8_t> bad_ctx = ctx;
    bad_ctx[0] = 1;  // len may not be set
    const Bpf::Run bad = b.run(fd, pkt, bad_ctx, true);
    results_.push_back({std::to_string(r.rc), std::to_string(r.retval), hex(r.ctx), std::to_string(bad.rc)});
    ASSERT_EQ(be->close(fd), 0);
  }
  ASSERT_EQ(results_.size(), 2u);
  EXPECT_EQ(results_[1], results_[0]) << "emulator (left) vs kernel (right): rc, retval, ctx_out, rc with len set";
}

// The packet-rewriting helpers of tc programs (conformance/skb_helper_cases.h:
// bpf_skb_store_bytes, bpf_l3/l4_csum_replace, bpf_csum_diff, bpf_redirect with
// good and bad offsets, sizes and flags): verdict, return value and packet out
// must be the kernel's, case by case.
TEST_F(InterpreterVsKernel, SkbRewriteHelpersMatchTheKernel) {
  need_kernel();
  using bpfemu::conformance::SkbCall;
  const std::vector<uint8_t> pkt = bpfemu::conformance::skb_helper_packet();
  for (bpfemu::Backend* be : {kernel_.get(), emu_.get()}) {
    Bpf b(*be);
    std::vector<std::string> seen;
    for (const SkbCall& k : bpfemu::conformance::skb_helper_calls()) {
      const int fd = b.load(BPF_PROG_TYPE_SCHED_CLS, bpfemu::conformance::skb_call_prog(k));
      if (fd < 0) {
        seen.push_back("load refused");
        continue;
      }
      const Bpf::Run r = b.run(fd, pkt, {}, false, 128);
      seen.push_back("rc " + std::to_string(r.rc) + " retval " + std::to_string(r.retval) + " out " + hex(r.data));
      ASSERT_EQ(be->close(fd), 0);
    }
    results_.push_back(seen);
  }
  ASSERT_EQ(results_.size(), 2u);
  std::string differing;
  for (size_t i = 0; i < results_[0].size(); ++i)
    if (results_[1][i] != results_[0][i])
      differing += "case " + std::to_string(i) + "\n  emulator: " + results_[1][i] + "\n  kernel:   " + results_[0][i] + "\n";
  EXPECT_EQ(differing, "");
}

// --- emulator only: what the verifier would have refused is stopped, not run ---

class InterpreterSafety : public ::testing::Test {
 protected:
  void SetUp() override {
    emu_ = bpfemu::make_backend("emu", &why_);
    ASSERT_NE(emu_, nullptr) << why_;
  }
  long run_syscall_prog(const std::vector<bpf_insn>& p) {
    Bpf b(*emu_);
    const int fd = b.load(BPF_PROG_TYPE_SYSCALL, p, BPF_F_SLEEPABLE);
    EXPECT_GE(fd, 0);
    if (fd < 0) return fd;
    std::vector<uint8_t> ctx(16, 0);
    const long rc = b.run(fd, {}, ctx).rc;
    EXPECT_EQ(emu_->close(fd), 0);
    return rc;
  }
  std::unique_ptr<bpfemu::Backend> emu_;
  std::string why_;
};

TEST_F(InterpreterSafety, OutOfBoundsAccessesStopTheRunWithEfault) {
  // A load above the frame pointer, a store through a scalar, a ctx read past its end.
  EXPECT_EQ(run_syscall_prog({ldx(BPF_DW, BPF_REG_0, BPF_REG_10, 8), exit_insn()}), -EFAULT);
  std::vector<bpf_insn> wild;
  ld64(wild, BPF_REG_2, 0x1000);
  wild.push_back(st(BPF_DW, BPF_REG_2, 0, 1));
  wild.push_back(mov64(BPF_REG_0, 0));
  wild.push_back(exit_insn());
  EXPECT_EQ(run_syscall_prog(wild), -EFAULT);
  EXPECT_EQ(run_syscall_prog({ldx(BPF_DW, BPF_REG_0, BPF_REG_1, 16), exit_insn()}), -EFAULT);
  EXPECT_EQ(run_syscall_prog({ldx(BPF_DW, BPF_REG_0, BPF_REG_1, 8), exit_insn()}), 0);  // inside the 16 bytes
}

// bpf_get_prandom_u32 repeats its sequence after bpfemu::set_prandom_seed.
TEST_F(InterpreterSafety, SeededRandomNumbersRepeat) {
  Bpf b(*emu_);
  std::vector<bpf_insn> p = {mov64r(BPF_REG_6, BPF_REG_1), call(BPF_FUNC_get_prandom_u32),
                             stx(BPF_DW, BPF_REG_6, 0, BPF_REG_0), call(BPF_FUNC_get_prandom_u32),
                             stx(BPF_DW, BPF_REG_6, 8, BPF_REG_0), mov64(BPF_REG_0, 0), exit_insn()};
  const int fd = b.load(BPF_PROG_TYPE_SYSCALL, p, BPF_F_SLEEPABLE);
  ASSERT_GE(fd, 0);
  auto draw = [&] { return b.run(fd, {}, std::vector<uint8_t>(16, 0)).ctx; };
  bpfemu::set_prandom_seed(42);
  const std::vector<uint8_t> first = draw();
  bpfemu::set_prandom_seed(42);
  EXPECT_EQ(draw(), first);
  bpfemu::set_prandom_seed(43);
  EXPECT_NE(draw(), first);
  bpfemu::set_prandom_seed(0);
  EXPECT_NE(std::vector<uint8_t>(first.begin(), first.begin() + 8), std::vector<uint8_t>(first.begin() + 8, first.end()))
      << "two draws in one run differ";
  ASSERT_EQ(emu_->close(fd), 0);
}

// Garbage programs (random opcodes from every class, random registers,
// offsets and immediates, random helper calls with garbage arguments) either
// fail to load or run to an answer: 0 or EFAULT, never a crash. (The sanitizer
// builds run this too.)
TEST_F(InterpreterSafety, RandomProgramsNeverCrashTheProcess) {
  bpfemu::emu::ScopedInsnBudget budget(20000);
  static const uint8_t kCodes[] = {
      BPF_ALU64 | BPF_ADD | BPF_X, BPF_ALU64 | BPF_MOV | BPF_K, BPF_ALU | BPF_DIV | BPF_X, BPF_ALU64 | BPF_MOD | BPF_K,
      BPF_ALU64 | BPF_LSH | BPF_X, BPF_ALU | BPF_END | BPF_TO_BE, BPF_ALU64 | BPF_NEG, BPF_LDX | BPF_MEM | BPF_DW,
      BPF_LDX | BPF_MEM | BPF_B, BPF_LDX | 0x80 | BPF_H, BPF_ST | BPF_MEM | BPF_W, BPF_STX | BPF_MEM | BPF_DW,
      BPF_STX | BPF_ATOMIC | BPF_DW, BPF_STX | BPF_ATOMIC | BPF_W, BPF_JMP | BPF_JEQ | BPF_K, BPF_JMP32 | BPF_JSGT | BPF_X,
      BPF_JMP | BPF_JA, BPF_JMP | BPF_CALL, BPF_LD | BPF_ABS | BPF_W, BPF_LD | BPF_IND | BPF_B};
  static const int32_t kHelpers[] = {BPF_FUNC_map_lookup_elem, BPF_FUNC_map_update_elem, BPF_FUNC_probe_read_kernel,
                                     BPF_FUNC_trace_printk,    BPF_FUNC_for_each_map_elem, BPF_FUNC_loop,
                                     BPF_FUNC_get_current_comm, BPF_FUNC_map_push_elem,  BPF_FUNC_tail_call};
  Bpf b(*emu_);
  std::mt19937_64 rng(7);
  int loaded = 0, ran_ok = 0, faulted = 0;
  for (int n = 0; n < 20000; ++n) {
    std::vector<bpf_insn> p;
    const int len = 1 + static_cast<int>(rng() % 24);
    for (int i = 0; i < len; ++i) {
      const uint8_t code = kCodes[rng() % sizeof(kCodes)];
      bpf_insn in = ins(code, static_cast<uint8_t>(rng() % 11), static_cast<uint8_t>(rng() % 11),
                        static_cast<int16_t>(static_cast<int>(rng() % 64) - 32), static_cast<int32_t>(rng()));
      if (code == (BPF_JMP | BPF_CALL)) in = call(kHelpers[rng() % (sizeof(kHelpers) / sizeof(kHelpers[0]))]);
      if (BPF_CLASS(code) == BPF_JMP || BPF_CLASS(code) == BPF_JMP32) in.off = static_cast<int16_t>(rng() % 4);
      if (BPF_CLASS(code) == BPF_STX && BPF_MODE(code) == BPF_ATOMIC) in.imm = BPF_ADD | BPF_FETCH;
      p.push_back(in);
    }
    p.push_back(mov64(BPF_REG_0, 0));
    p.push_back(exit_insn());
    const int fd = b.load(BPF_PROG_TYPE_SYSCALL, p, BPF_F_SLEEPABLE);
    if (fd < 0) continue;
    ++loaded;
    const long rc = b.run(fd, {}, std::vector<uint8_t>(64, 0)).rc;
    EXPECT_TRUE(rc == 0 || rc == -EFAULT) << "program " << n << ": " << rc;
    (rc == 0 ? ran_ok : faulted) += 1;
    ASSERT_EQ(emu_->close(fd), 0);
  }
  EXPECT_GT(loaded, 3000);
  EXPECT_GT(ran_ok, 400);  // jumps over code leave it unreachable: those do not load
  EXPECT_GT(faulted, 500);
  RecordProperty("loaded", loaded);
  RecordProperty("faulted", faulted);
}

TEST_F(InterpreterSafety, RunawayLoopsAndUnknownHelpersAreStopped) {
  bpfemu::emu::ScopedInsnBudget budget(100000);
  // A jump to itself that can fall through, so that every insn is reachable
  // (a bare "ja -1" leaves the exit unreachable: refused at load, EINVAL).
  EXPECT_EQ(run_syscall_prog({mov64(BPF_REG_0, 0), jmp_imm(BPF_JEQ, BPF_REG_0, 0, -1), exit_insn()}), -EFAULT);
  Bpf unreachable(*emu_);
  EXPECT_EQ(unreachable.load(BPF_PROG_TYPE_SYSCALL, {ins(BPF_JMP | BPF_JA, 0, 0, -1, 0), exit_insn()}, BPF_F_SLEEPABLE),
            -EINVAL);
  // A helper the emulator lacks is refused when the program loads, with its name.
  Bpf b(*emu_);
  EXPECT_EQ(b.load(BPF_PROG_TYPE_SYSCALL, {call(BPF_FUNC_skb_vlan_push), exit_insn()}, BPF_F_SLEEPABLE), -EINVAL);
  EXPECT_EQ(b.load(BPF_PROG_TYPE_SYSCALL, {call(5000), exit_insn()}, BPF_F_SLEEPABLE), -EINVAL);
}

}  // namespace
