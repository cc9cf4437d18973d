// The interpreter's form of a program: every instruction decoded once, when a
// process first runs the program, into an Op whose kind names the handler
// that executes it. The handlers of the common instructions (64-bit ALU and
// jumps, 32-bit ALU, loads and stores of each size, helper calls) do only
// their own work; the rest share one general handler that decodes the
// original instruction as it runs.
//
// Two pairs that compilers emit all the time run as one op (the op at the
// pair's first index; the second keeps its own op, for jumps that land on
// it): `rX = r10; rX += K` (a stack address) and a map lookup followed by
// `if r0 == 0 goto`.
#pragma once

#include <cstdint>
#include <vector>

struct bpf_insn;

namespace bpfemu::emu::interp {

struct HelperDef;

// X(kind) for every handler, in the order of the interpreter's dispatch table.
#define BPFEMU_INTERP_OP_KINDS(X)                                                                              \
  X(Add64K) X(Add64X) X(Sub64K) X(Sub64X) X(Mul64K) X(Mul64X) X(Or64K) X(Or64X) X(And64K) X(And64X)            \
  X(Xor64K) X(Xor64X) X(Lsh64K) X(Lsh64X) X(Rsh64K) X(Rsh64X) X(Arsh64K) X(Arsh64X) X(Mov64K) X(Mov64X)        \
  X(Add32K) X(Add32X) X(Sub32K) X(Sub32X) X(Mul32K) X(Mul32X) X(Or32K) X(Or32X) X(And32K) X(And32X)            \
  X(Xor32K) X(Xor32X) X(Lsh32K) X(Lsh32X) X(Rsh32K) X(Rsh32X) X(Arsh32K) X(Arsh32X) X(Mov32K) X(Mov32X)        \
  X(Div64K) X(Div64X) X(Mod64K) X(Mod64X)                                                                      \
  X(Ja) X(JeqK) X(JeqX) X(JneK) X(JneX) X(JgtK) X(JgtX) X(JgeK) X(JgeX) X(JltK) X(JltX) X(JleK) X(JleX)         \
  X(JsetK) X(JsetX) X(JsgtK) X(JsgtX) X(JsgeK) X(JsgeX) X(JsltK) X(JsltX) X(JsleK) X(JsleX)                    \
  X(Ldx1) X(Ldx2) X(Ldx4) X(Ldx8) X(St1) X(St2) X(St4) X(St8) X(Stx1) X(Stx2) X(Stx4) X(Stx8)                  \
  X(LdImm64) X(LdMap) X(CallHelper) X(CallLookup) X(CallLocal) X(Exit) X(General) X(End)                      \
  X(StackAddr) X(CallLookupJz)

enum class OpKind : uint8_t {
#define BPFEMU_INTERP_ENUM(k) k,
  BPFEMU_INTERP_OP_KINDS(BPFEMU_INTERP_ENUM)
#undef BPFEMU_INTERP_ENUM
};

struct Op {
  OpKind kind;
  uint8_t dst;
  uint8_t src;
  uint8_t unused = 0;
  // Loads and stores: the offset. Jumps and local calls: the target's index
  // (the End op's when it lies outside the program).
  int32_t off;
  // The immediate, sign-extended; an ld_imm64's value (kLdMap: the index of
  // its slot in the machine's per-run cache); a helper call's HelperDef.
  uint64_t imm;
};

class Code {
 public:
  // Decodes insns[0, n). Never fails: what cannot be decoded runs through the
  // General handler, which faults on it as the instruction runs.
  Code(const bpf_insn* insns, uint32_t n);
  // n + 1 ops: op i runs instruction i; op n is End (running off the end).
  const Op* ops() const { return ops_.data(); }
  // ld_imm64s of maps or map values: each has a slot in the machine's cache.
  uint32_t map_loads() const { return map_loads_; }
  // Whether the program asks for a BTF pointer (bpf_get_current_task_btf),
  // which it may load from directly as the kernel's BPF_PROBE_MEM loads do.
  bool takes_btf_pointers() const { return takes_btf_pointers_; }

 private:
  void fuse_pairs(uint32_t n);

  std::vector<Op> ops_;
  uint32_t map_loads_ = 0;
  bool takes_btf_pointers_ = false;
};

}  // namespace bpfemu::emu::interp
