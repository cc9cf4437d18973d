// The packet-rewriting helper calls of tc programs that the conformance
// scenario COMMON/prog/skb_rewrite_helpers and the interpreter's kernel
// comparison both run: each case one program that calls one helper.
#pragma once

#include <linux/bpf.h>

#include <cstdint>
#include <string>
#include <vector>

namespace bpfemu::conformance {

struct SkbCall {
  int32_t helper;
  // Arguments 2..5 (ctx is the first for the skb helpers); bpf_csum_diff takes
  // its first argument from the stack, bpf_redirect takes a2, a3 as its two.
  // kStackLo/kStackHi stand for the addresses of two stack words.
  int64_t a2, a3, a4, a5;
};
inline constexpr int64_t kStackLo = -1000016, kStackHi = -1000008;

// The cases: good and bad offsets, sizes and flags of bpf_skb_store_bytes,
// bpf_l3_csum_replace, bpf_l4_csum_replace, bpf_csum_diff and bpf_redirect.
const std::vector<SkbCall>& skb_helper_calls();
// A SCHED_CLS program: r6 = ctx, 16 stack bytes (0xdeadbeef 0x01020304
// 0xcafef00d 0x11223344 as u32s from fp-16), the call, exit with its result.
std::vector<bpf_insn> skb_call_prog(const SkbCall& call);
// Ethernet + IPv4 (checksum at 24) + UDP (checksum at 40, length zero at 38) +
// payload: 60 bytes.
std::vector<uint8_t> skb_helper_packet();

// The helpers that change an skb's size or layout (bpf_skb_pull_data,
// bpf_skb_change_tail, bpf_skb_change_head, bpf_skb_adjust_room,
// bpf_skb_change_proto, bpf_skb_load_bytes_relative, bpf_skb_vlan_push/pop),
// each case one
// to three calls in a row, on an IPv4, IPv6 or ARP frame.
struct SkbResizeCase {
  const char* name;
  uint16_t ethertype;  // of the input frame: 0x0800, 0x86dd or 0x0806
  std::vector<SkbCall> calls;
};
const std::vector<SkbResizeCase>& skb_resize_cases();
// A SCHED_CLS program making the case's calls with r1 = ctx, keeping the
// first two results in cb[0] and cb[1]; then cb[2] = skb->len, cb[3] = skb->protocol, cb[4] =
// data_end - data (with a VLAN helper among the calls: vlan_proto << 16 |
// vlan_tci, plus vlan_present); it returns the last call's result. bpf_skb_load_bytes_relative
// reads 8 bytes to the stack, which go to cb[2..3] in place of len and protocol.
std::vector<bpf_insn> skb_resize_prog(const SkbResizeCase& c);
// A 74-byte frame of `ethertype` (the IPv4 one as skb_helper_packet's, padded).
std::vector<uint8_t> skb_resize_packet(uint16_t ethertype);

}  // namespace bpfemu::conformance
