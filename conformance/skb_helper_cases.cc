#include "conformance/skb_helper_cases.h"

#include "emu/insn_builder.h"

namespace bpfemu::conformance {

const std::vector<SkbCall>& skb_helper_calls() {
  static const std::vector<SkbCall> calls = {
      // store_bytes(skb, offset, from, len, flags)
      {BPF_FUNC_skb_store_bytes, 0, kStackLo, 4, 0},
      {BPF_FUNC_skb_store_bytes, 30, kStackLo, 8, BPF_F_RECOMPUTE_CSUM},
      {BPF_FUNC_skb_store_bytes, 54, kStackLo, 8, 0},  // runs past the end
      {BPF_FUNC_skb_store_bytes, 56, kStackLo, 4, BPF_F_INVALIDATE_HASH},
      {BPF_FUNC_skb_store_bytes, 2, kStackLo, 4, 4},   // unknown flag
      {BPF_FUNC_skb_store_bytes, 0x80000000LL, kStackLo, 4, 0},
      // l3_csum_replace(skb, offset, from, to, flags): the IPv4 checksum at 24
      {BPF_FUNC_l3_csum_replace, 24, 0x0a000001, 0xc0a80101, 4},
      {BPF_FUNC_l3_csum_replace, 24, 0x1234, 0x4321, 2},
      {BPF_FUNC_l3_csum_replace, 24, 0, 0x1111, 0},
      {BPF_FUNC_l3_csum_replace, 24, 1, 0x1111, 0},  // diff with from set
      {BPF_FUNC_l3_csum_replace, 25, 0x1234, 0x4321, 2},
      {BPF_FUNC_l3_csum_replace, 24, 0x1234, 0x4321, 3},
      {BPF_FUNC_l3_csum_replace, 24, 0x1234, 0x4321, 0x12},
      {BPF_FUNC_l3_csum_replace, 58, 0x1234, 0x4321, 2},
      // l4_csum_replace: the UDP checksum at 40
      {BPF_FUNC_l4_csum_replace, 40, 0x0a000001, 0xc0a80101, 4 | BPF_F_PSEUDO_HDR},
      {BPF_FUNC_l4_csum_replace, 40, 0x35, 0x36, 2},
      {BPF_FUNC_l4_csum_replace, 40, 0, 0x4455, 0},
      {BPF_FUNC_l4_csum_replace, 38, 0x0000, 0x0001, 2 | BPF_F_MARK_MANGLED_0},  // a zero field stays
      {BPF_FUNC_l4_csum_replace, 38, 0x0000, 0x0001, 2 | BPF_F_MARK_MANGLED_0 | BPF_F_MARK_ENFORCE},
      {BPF_FUNC_l4_csum_replace, 40, 0xffff, 0x0000, 2 | BPF_F_MARK_MANGLED_0},
      {BPF_FUNC_l4_csum_replace, 40, 0x35, 0x36, 2 | (1 << 7)},  // BPF_F_IPV6
      {BPF_FUNC_l4_csum_replace, 40, 0x35, 0x36, 2 | (1 << 8)},
      {BPF_FUNC_l4_csum_replace, 41, 0x35, 0x36, 2},
      // csum_diff(from, from_size, to, to_size, seed)
      {BPF_FUNC_csum_diff, 4, kStackHi, 4, 0},
      {BPF_FUNC_csum_diff, 8, kStackHi, 8, 0x12345678},
      {BPF_FUNC_csum_diff, 0, kStackHi, 8, 0xffff},
      {BPF_FUNC_csum_diff, 8, kStackHi, 0, 7},
      {BPF_FUNC_csum_diff, 0, kStackHi, 0, 0x55aa},
      {BPF_FUNC_csum_diff, 8, kStackHi, 8, 0},  // ends at fp: from and to are one range
      {BPF_FUNC_csum_diff, 2, kStackHi, 4, 0},  // sizes that are not multiples of 4
      {BPF_FUNC_csum_diff, 0, kStackHi, 6, 9},
      {BPF_FUNC_csum_diff, 5, kStackHi, 0, 9},
      // redirect(ifindex, flags)
      {BPF_FUNC_redirect, 1, 0, 0, 0},
      {BPF_FUNC_redirect, 1, BPF_F_INGRESS, 0, 0},
      {BPF_FUNC_redirect, 1, 2, 0, 0},
      {BPF_FUNC_redirect, 1, BPF_F_INGRESS | 2, 0, 0},
  };
  return calls;
}

std::vector<bpf_insn> skb_call_prog(const SkbCall& k) {
  using insn::make;
  auto st32 = [](int16_t off, uint32_t v) {
    return make(BPF_ST | BPF_W | BPF_MEM, BPF_REG_10, 0, off, static_cast<int32_t>(v));
  };
  auto stack_addr = [](uint8_t reg, int32_t off, std::vector<bpf_insn>& p) {
    p.push_back(insn::movr(reg, BPF_REG_10));
    p.push_back(make(BPF_ALU64 | BPF_ADD | BPF_K, reg, 0, 0, off));
  };
  std::vector<bpf_insn> p = {insn::movr(BPF_REG_6, BPF_REG_1), st32(-16, 0xdeadbeef), st32(-12, 0x01020304),
                             st32(-8, 0xcafef00d), st32(-4, 0x11223344)};
  if (k.helper == BPF_FUNC_redirect) {
    insn::ld64(p, BPF_REG_1, static_cast<uint64_t>(k.a2));
    insn::ld64(p, BPF_REG_2, static_cast<uint64_t>(k.a3));
  } else {
    if (k.helper == BPF_FUNC_csum_diff)
      stack_addr(BPF_REG_1, -16, p);
    else
      p.push_back(insn::movr(BPF_REG_1, BPF_REG_6));
    const int64_t args[4] = {k.a2, k.a3, k.a4, k.a5};
    for (uint8_t r = 2; r <= 5; ++r) {
      const int64_t v = args[r - 2];
      if (v == kStackLo || v == kStackHi)
        stack_addr(r, v == kStackLo ? -16 : -8, p);
      else
        insn::ld64(p, r, static_cast<uint64_t>(v));
    }
  }
  p.push_back(insn::call(k.helper));
  p.push_back(insn::exit());
  return p;
}

std::vector<uint8_t> skb_helper_packet() {
  std::vector<uint8_t> pkt(60, 0);
  for (size_t i = 0; i < pkt.size(); ++i) pkt[i] = static_cast<uint8_t>(i * 7 + 1);
  pkt[12] = 0x08;  // IPv4
  pkt[13] = 0x00;
  pkt[38] = 0;  // a UDP length of zero: MARK_MANGLED_0's zero field
  pkt[39] = 0;
  return pkt;
}

}  // namespace bpfemu::conformance
