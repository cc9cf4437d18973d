// Building BPF instructions by hand, for the tests, scenarios and benchmarks
// that load small programs without a compiler.
#pragma once

#include <linux/bpf.h>

#include <cstdint>
#include <vector>

namespace bpfemu::insn {

inline bpf_insn make(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  bpf_insn i{};
  i.code = code;
  i.dst_reg = dst & 0xf;
  i.src_reg = src & 0xf;
  i.off = off;
  i.imm = imm;
  return i;
}
inline bpf_insn mov(uint8_t dst, int32_t imm) { return make(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm); }
inline bpf_insn movr(uint8_t dst, uint8_t src) { return make(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0); }
inline bpf_insn call(int32_t helper) { return make(BPF_JMP | BPF_CALL, 0, 0, 0, helper); }
inline bpf_insn exit() { return make(BPF_JMP | BPF_EXIT, 0, 0, 0, 0); }
// ld_imm64: two instructions.
inline void ld64(std::vector<bpf_insn>& p, uint8_t dst, uint64_t v, uint8_t src = 0) {
  p.push_back(make(BPF_LD | BPF_DW | BPF_IMM, dst, src, 0, static_cast<int32_t>(v)));
  p.push_back(make(0, 0, 0, 0, static_cast<int32_t>(v >> 32)));
}
// dst = the map behind map_fd (BPF_PSEUDO_MAP_FD).
inline void ld_map(std::vector<bpf_insn>& p, uint8_t dst, int map_fd) {
  ld64(p, dst, static_cast<uint32_t>(map_fd), BPF_PSEUDO_MAP_FD);
}

// map[slot] = reg, for an ARRAY map of u64 values, by bpf_map_update_elem
// (clobbers r0-r5; the key and value go to the stack at fp-72 and fp-80).
inline void store_slot(std::vector<bpf_insn>& p, int map_fd, int32_t slot, uint8_t reg) {
  p.push_back(make(BPF_STX | BPF_MEM | BPF_DW, BPF_REG_10, reg, -80, 0));
  p.push_back(make(BPF_ST | BPF_MEM | BPF_W, BPF_REG_10, 0, -72, slot));
  ld_map(p, BPF_REG_1, map_fd);
  p.push_back(movr(BPF_REG_2, BPF_REG_10));
  p.push_back(make(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, -72));
  p.push_back(movr(BPF_REG_3, BPF_REG_10));
  p.push_back(make(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_3, 0, 0, -80));
  p.push_back(mov(BPF_REG_4, 0));
  p.push_back(call(BPF_FUNC_map_update_elem));
}

}  // namespace bpfemu::insn
