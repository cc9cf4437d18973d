#include "emu/interp_code.h"

#include <linux/bpf.h>

#include "emu/interpreter.h"
#include "emu/program.h"

namespace bpfemu::emu::interp {
namespace {

constexpr uint8_t kMaxReg = BPF_REG_10;

// The 64- and 32-bit ALU kinds of a BPF_OP, as an offset from Add64K (K and
// X alternate; the 32-bit block follows the 64-bit one), or -1.
int alu_index(uint8_t op) {
  switch (op) {
    case BPF_ADD: return 0;
    case BPF_SUB: return 2;
    case BPF_MUL: return 4;
    case BPF_OR: return 6;
    case BPF_AND: return 8;
    case BPF_XOR: return 10;
    case BPF_LSH: return 12;
    case BPF_RSH: return 14;
    case BPF_ARSH: return 16;
    case BPF_MOV: return 18;
    default: return -1;
  }
}

// The 64-bit conditional jump kinds, as an offset from JeqK, or -1.
int jump_index(uint8_t op) {
  switch (op) {
    case BPF_JEQ: return 0;
    case BPF_JNE: return 2;
    case BPF_JGT: return 4;
    case BPF_JGE: return 6;
    case BPF_JLT: return 8;
    case BPF_JLE: return 10;
    case BPF_JSET: return 12;
    case BPF_JSGT: return 14;
    case BPF_JSGE: return 16;
    case BPF_JSLT: return 18;
    case BPF_JSLE: return 20;
    default: return -1;
  }
}

OpKind offset(OpKind base, int by) { return static_cast<OpKind>(static_cast<int>(base) + by); }

int size_index(uint8_t code) {
  switch (BPF_SIZE(code)) {
    case BPF_B: return 0;
    case BPF_H: return 1;
    case BPF_W: return 2;
    default: return 3;
  }
}

// What op i runs; General unless one of the specialised handlers fits.
OpKind kind_of(const bpf_insn& in, const bpf_insn* next, uint32_t* map_loads) {
  if (in.dst_reg > kMaxReg || in.src_reg > kMaxReg) return OpKind::General;
  const uint8_t cls = BPF_CLASS(in.code), op = BPF_OP(in.code);
  const int by_src = BPF_SRC(in.code) == BPF_X ? 1 : 0;
  switch (cls) {
    case BPF_ALU64:
    case BPF_ALU: {
      if (cls == BPF_ALU64 && in.off == 0 && (op == BPF_DIV || op == BPF_MOD))
        return offset(op == BPF_DIV ? OpKind::Div64K : OpKind::Mod64K, by_src);
      const int i = alu_index(op);
      if (i < 0 || in.off != 0) return OpKind::General;  // signed div/mod, neg, byte swaps, movsx
      return offset(cls == BPF_ALU64 ? OpKind::Add64K : OpKind::Add32K, i + by_src);
    }
    case BPF_JMP: {
      if (op == BPF_JA) return OpKind::Ja;
      if (op == BPF_EXIT) return OpKind::Exit;
      if (op == BPF_CALL) {
        if (in.src_reg == BPF_PSEUDO_CALL) return OpKind::CallLocal;
        if (in.src_reg != 0 || in.imm == BPF_FUNC_tail_call) return OpKind::General;
        const HelperDef* def = in.imm > 0 ? helper_by_id(static_cast<uint32_t>(in.imm)) : nullptr;
        if (def == nullptr || def->fn == nullptr) return OpKind::General;
        return in.imm == BPF_FUNC_map_lookup_elem ? OpKind::CallLookup : OpKind::CallHelper;
      }
      const int i = jump_index(op);
      return i < 0 ? OpKind::General : offset(OpKind::JeqK, i + by_src);
    }
    case BPF_JMP32:
      return op == BPF_JA ? OpKind::Ja : OpKind::General;
    case BPF_LDX:
      return BPF_MODE(in.code) == BPF_MEM ? offset(OpKind::Ldx1, size_index(in.code)) : OpKind::General;
    case BPF_ST:
      return BPF_MODE(in.code) == BPF_MEM ? offset(OpKind::St1, size_index(in.code)) : OpKind::General;
    case BPF_STX:
      return BPF_MODE(in.code) == BPF_MEM ? offset(OpKind::Stx1, size_index(in.code)) : OpKind::General;
    case BPF_LD:
      if (in.code != (BPF_LD | BPF_IMM | BPF_DW) || next == nullptr) return OpKind::General;
      if (in.src_reg == 0) return OpKind::LdImm64;
      if (in.src_reg == BPF_PSEUDO_MAP_FD || in.src_reg == BPF_PSEUDO_MAP_IDX ||
          in.src_reg == BPF_PSEUDO_MAP_VALUE || in.src_reg == BPF_PSEUDO_MAP_IDX_VALUE) {
        ++*map_loads;
        return OpKind::LdMap;
      }
      return OpKind::General;  // PSEUDO_FUNC and the rest: rare, resolved as they run
    default:
      return OpKind::General;
  }
}

}  // namespace

Code::Code(const bpf_insn* insns, uint32_t n) {
  ops_.resize(uint64_t{n} + 1);
  for (uint32_t i = 0; i < n; ++i) {
    const bpf_insn& in = insns[i];
    const uint32_t slot = map_loads_;
    Op& op = ops_[i];
    op.kind = kind_of(in, i + 1 < n ? &insns[i + 1] : nullptr, &map_loads_);
    op.dst = in.dst_reg;
    op.src = in.src_reg;
    op.off = in.off;
    op.imm = static_cast<uint64_t>(static_cast<int64_t>(in.imm));
    auto target = [n, i](int64_t rel) {
      const int64_t t = int64_t{i} + 1 + rel;
      return static_cast<int32_t>(t < 0 || t > n ? n : t);
    };
    switch (op.kind) {
      case OpKind::Ja:
        op.off = target(BPF_CLASS(in.code) == BPF_JMP32 ? in.imm : in.off);
        break;
      case OpKind::CallLocal:
        op.off = target(in.imm);
        break;
      case OpKind::CallHelper:
      case OpKind::CallLookup:
        op.imm = reinterpret_cast<uint64_t>(helper_by_id(static_cast<uint32_t>(in.imm)));
        if (in.imm == BPF_FUNC_get_current_task_btf) takes_btf_pointers_ = true;
        break;
      case OpKind::LdImm64:
        op.imm = static_cast<uint32_t>(in.imm) | (uint64_t{static_cast<uint32_t>(insns[i + 1].imm)} << 32);
        break;
      case OpKind::LdMap:
        op.imm = slot;
        break;
      default:
        if (op.kind >= OpKind::JeqK && op.kind <= OpKind::JsleX) op.off = target(in.off);
        break;
    }
  }
  ops_[n] = Op{OpKind::End, 0, 0, 0, 0, 0};
  fuse_pairs(n);
}

void Code::fuse_pairs(uint32_t n) {
  for (uint32_t i = 0; i + 1 < n; ++i) {
    Op& first = ops_[i];
    const Op& second = ops_[i + 1];
    if (first.kind == OpKind::Mov64X && first.src == BPF_REG_10 && second.kind == OpKind::Add64K &&
        second.dst == first.dst) {
      first.kind = OpKind::StackAddr;
      first.imm = second.imm;
    } else if (first.kind == OpKind::CallLookup && second.kind == OpKind::JeqK && second.dst == BPF_REG_0 &&
               second.imm == 0) {
      first.kind = OpKind::CallLookupJz;
      first.off = second.off;
    }
  }
}

}  // namespace bpfemu::emu::interp

namespace bpfemu::emu {

const interp::Code& Program::code() const {
  std::call_once(code_once_, [this] {
    code_ = std::make_unique<interp::Code>(reinterpret_cast<const bpf_insn*>(insns()), header().insn_cnt);
  });
  return *code_;
}

}  // namespace bpfemu::emu
