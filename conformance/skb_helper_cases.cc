#include "conformance/skb_helper_cases.h"

#include <algorithm>

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

const std::vector<SkbResizeCase>& skb_resize_cases() {
  constexpr int64_t kNet = BPF_ADJ_ROOM_NET, kMac = BPF_ADJ_ROOM_MAC;
  constexpr int64_t kV4 = BPF_F_ADJ_ROOM_ENCAP_L3_IPV4, kV6 = BPF_F_ADJ_ROOM_ENCAP_L3_IPV6;
  constexpr int64_t kGre = BPF_F_ADJ_ROOM_ENCAP_L4_GRE, kUdp = BPF_F_ADJ_ROOM_ENCAP_L4_UDP;
  constexpr int64_t kL2Eth = BPF_F_ADJ_ROOM_ENCAP_L2_ETH;
  constexpr int64_t kDecap4 = 1 << 7, kDecap6 = 1 << 8;  // BPF_F_ADJ_ROOM_DECAP_L3_IPV4/6 (6.3)
  auto l2 = [](int64_t len) { return len << 56; };     // BPF_F_ADJ_ROOM_ENCAP_L2(len)
  const int64_t kIp6 = 0xdd86, kIp = 0x0008;           // htons(ETH_P_IPV6), htons(ETH_P_IP)
  auto room = [](int64_t diff, int64_t mode, int64_t flags) {
    return SkbCall{BPF_FUNC_skb_adjust_room, diff, mode, flags, 0};
  };
  static const std::vector<SkbResizeCase> cases = {
      {"pull_data 0", 0x0800, {{BPF_FUNC_skb_pull_data, 0, 0, 0, 0}}},
      {"pull_data 74", 0x0800, {{BPF_FUNC_skb_pull_data, 74, 0, 0, 0}}},
      {"pull_data 75", 0x0800, {{BPF_FUNC_skb_pull_data, 75, 0, 0, 0}}},
      {"pull_data ~0", 0x0800, {{BPF_FUNC_skb_pull_data, 0xffffffff, 0, 0, 0}}},
      {"change_tail 40", 0x0800, {{BPF_FUNC_skb_change_tail, 40, 0, 0, 0}}},
      {"change_tail 14", 0x0800, {{BPF_FUNC_skb_change_tail, 14, 0, 0, 0}}},
      {"change_tail 13", 0x0800, {{BPF_FUNC_skb_change_tail, 13, 0, 0, 0}}},
      {"change_tail 100", 0x0800, {{BPF_FUNC_skb_change_tail, 100, 0, 0, 0}}},
      {"change_tail 3000", 0x0800, {{BPF_FUNC_skb_change_tail, 3000, 0, 0, 0}}},
      {"change_tail 16064", 0x0800, {{BPF_FUNC_skb_change_tail, 16064, 0, 0, 0}}},
      {"change_tail 16065", 0x0800, {{BPF_FUNC_skb_change_tail, 16065, 0, 0, 0}}},
      {"change_tail flags", 0x0800, {{BPF_FUNC_skb_change_tail, 60, 1, 0, 0}}},
      {"change_tail on ARP", 0x0806, {{BPF_FUNC_skb_change_tail, 20, 0, 0, 0}}},
      {"change_head 0", 0x0800, {{BPF_FUNC_skb_change_head, 0, 0, 0, 0}}},
      {"change_head 14", 0x0800, {{BPF_FUNC_skb_change_head, 14, 0, 0, 0}}},
      {"change_head 200", 0x0800, {{BPF_FUNC_skb_change_head, 200, 0, 0, 0}}},
      {"change_head flags", 0x0800, {{BPF_FUNC_skb_change_head, 14, 2, 0, 0}}},
      {"change_head ~0", 0x0800, {{BPF_FUNC_skb_change_head, 0xffffffff, 0, 0, 0}}},
      {"change_head to 16065", 0x0800, {{BPF_FUNC_skb_change_head, 16065 - 74, 0, 0, 0}}},
      {"change_head then change_tail 14", 0x0800,
       {{BPF_FUNC_skb_change_head, 8, 0, 0, 0}, {BPF_FUNC_skb_change_tail, 14, 0, 0, 0}}},
      {"adjust_room +8 net", 0x0800, {room(8, kNet, 0)}},
      {"adjust_room -8 net", 0x0800, {room(-8, kNet, 0)}},
      {"adjust_room +8 mac", 0x0800, {room(8, kMac, 0)}},
      {"adjust_room -8 mac", 0x0800, {room(-8, kMac, 0)}},
      {"adjust_room +8 net on IPv6", 0x86dd, {room(8, kNet, 0)}},
      {"adjust_room -8 net on IPv6", 0x86dd, {room(-8, kNet, 0)}},
      {"adjust_room on ARP", 0x0806, {room(8, kNet, 0)}},
      {"adjust_room mode 2", 0x0800, {room(8, 2, 0)}},
      {"adjust_room +0x1000", 0x0800, {room(0x1000, kNet, 0)}},
      {"adjust_room -0x1000", 0x0800, {room(-0x1000, kNet, 0)}},
      {"adjust_room +0xfff", 0x0800, {room(0xfff, kNet, 0)}},
      {"adjust_room -40 net (below an IPv4 header)", 0x0800, {room(-40, kNet, 0)}},
      {"adjust_room -39 mac", 0x0800, {room(-39, kMac, 0)}},
      {"adjust_room -40 mac", 0x0800, {room(-40, kMac, 0)}},
      {"adjust_room -60 mac", 0x0800, {room(-60, kMac, 0)}},
      {"adjust_room unknown flag", 0x0800, {room(8, kNet, 1 << 12)}},
      {"adjust_room flag 1 << 9", 0x0800, {room(-8, kNet, 1 << 9)}},
      {"adjust_room flag 1 << 10", 0x0800, {room(-8, kNet, 1 << 10)}},
      {"adjust_room flag 1 << 11", 0x0800, {room(-8, kNet, 1 << 11)}},
      {"adjust_room fixed gso, no csum reset", 0x0800, {room(8, kNet, BPF_F_ADJ_ROOM_FIXED_GSO | (1 << 5))}},
      {"encap ipip", 0x0800, {room(20, kMac, kV4)}},
      {"encap ipv4 udp", 0x0800, {room(28, kMac, kV4 | kUdp)}},
      {"encap ipv6 gre", 0x0800, {room(44, kMac, kV6 | kGre)}},
      {"encap ipv6 on IPv4 (protocol follows)", 0x0800, {room(40, kMac, kV6)}},
      {"encap ipv4 on IPv6 (protocol follows)", 0x86dd, {room(20, kMac, kV4)}},
      {"encap eth in udp", 0x0800, {room(42, kMac, kV4 | kUdp | kL2Eth | l2(14))}},
      {"encap l2 eth shorter than 14", 0x0800, {room(42, kMac, kV4 | kUdp | kL2Eth | l2(10))}},
      {"encap l2 longer than the room", 0x0800, {room(20, kMac, kV4 | l2(30))}},
      {"encap l2 without an l3 flag", 0x0800, {room(20, kMac, l2(8))}},
      {"encap both l3", 0x0800, {room(20, kMac, kV4 | kV6)}},
      {"encap both l4", 0x0800, {room(28, kMac, kV4 | kGre | kUdp)}},
      {"encap net mode", 0x0800, {room(20, kNet, kV4)}},
      {"encap twice", 0x0800, {room(20, kMac, kV4), room(20, kMac, kV4)}},
      {"encap then change_tail", 0x0800, {room(20, kMac, kV4), {BPF_FUNC_skb_change_tail, 60, 0, 0, 0}}},
      {"encap then shrink", 0x0800, {room(20, kMac, kV4), room(-20, kMac, 0)}},
      {"encap on shrink", 0x0800, {room(-8, kMac, kV4)}},
      {"encap, shrink, change_tail", 0x0800,
       {room(20, kMac, kV4), room(-20, kMac, 0), {BPF_FUNC_skb_change_tail, 60, 0, 0, 0}}},
      {"encap, decap, change_tail", 0x0800,
       {room(20, kMac, kV4), room(-20, kMac, kDecap4), {BPF_FUNC_skb_change_tail, 60, 0, 0, 0}}},
      {"encap, decap, encap", 0x0800, {room(20, kMac, kV4), room(-20, kMac, kDecap4), room(20, kMac, kV4)}},
      {"encap udp, then change_tail to the outer headers", 0x0800,
       {room(28, kMac, kV4 | kUdp), room(-28, kMac, kDecap4), {BPF_FUNC_skb_change_tail, 14, 0, 0, 0}}},
      {"decap ipv4", 0x0800, {room(-20, kMac, kDecap4)}},
      {"decap ipv6 on IPv4", 0x0800, {room(-20, kMac, kDecap6)}},
      {"decap both", 0x0800, {room(-20, kMac, kDecap4 | kDecap6)}},
      {"decap on grow", 0x0800, {room(20, kMac, kDecap4)}},
      {"decap ipv4 on IPv6 (protocol follows)", 0x86dd, {room(-40, kMac, kDecap4)}},
      {"change_proto 4 to 6", 0x0800, {{BPF_FUNC_skb_change_proto, kIp6, 0, 0, 0}}},
      {"change_proto 6 to 4", 0x86dd, {{BPF_FUNC_skb_change_proto, kIp, 0, 0, 0}}},
      {"change_proto 4 to 4", 0x0800, {{BPF_FUNC_skb_change_proto, kIp, 0, 0, 0}}},
      {"change_proto flags", 0x0800, {{BPF_FUNC_skb_change_proto, kIp6, 1, 0, 0}}},
      {"change_proto on ARP", 0x0806, {{BPF_FUNC_skb_change_proto, kIp6, 0, 0, 0}}},
      {"change_proto there and back", 0x0800,
       {{BPF_FUNC_skb_change_proto, kIp6, 0, 0, 0}, {BPF_FUNC_skb_change_proto, kIp, 0, 0, 0}}},
      {"load_bytes_relative mac 0", 0x0800, {{BPF_FUNC_skb_load_bytes_relative, 0, kStackLo, 8, BPF_HDR_START_MAC}}},
      {"load_bytes_relative net 4", 0x0800, {{BPF_FUNC_skb_load_bytes_relative, 4, kStackLo, 8, BPF_HDR_START_NET}}},
      {"load_bytes_relative net past the end", 0x0800,
       {{BPF_FUNC_skb_load_bytes_relative, 53, kStackLo, 8, BPF_HDR_START_NET}}},
      {"load_bytes_relative net to the end", 0x0800,
       {{BPF_FUNC_skb_load_bytes_relative, 52, kStackLo, 8, BPF_HDR_START_NET}}},
      {"load_bytes_relative header 2", 0x0800, {{BPF_FUNC_skb_load_bytes_relative, 0, kStackLo, 8, 2}}},
      {"load_bytes_relative offset 0xffff", 0x0800,
       {{BPF_FUNC_skb_load_bytes_relative, 0xffff, kStackLo, 8, BPF_HDR_START_MAC}}},
      {"vlan_push 802.1Q", 0x0800, {{BPF_FUNC_skb_vlan_push, 0x0081, 0x123, 0, 0}}},
      {"vlan_push 802.1ad", 0x0800, {{BPF_FUNC_skb_vlan_push, 0xa888, 0x0fff, 0, 0}}},
      {"vlan_push another protocol", 0x0800, {{BPF_FUNC_skb_vlan_push, 0x0008, 0x1234, 0, 0}}},
      {"vlan_push twice", 0x0800, {{BPF_FUNC_skb_vlan_push, 0x0081, 5, 0, 0}, {BPF_FUNC_skb_vlan_push, 0xa888, 6, 0, 0}}},
      {"vlan_push thrice", 0x0800,
       {{BPF_FUNC_skb_vlan_push, 0x0081, 5, 0, 0}, {BPF_FUNC_skb_vlan_push, 0x0081, 6, 0, 0},
        {BPF_FUNC_skb_vlan_push, 0x0081, 7, 0, 0}}},
      {"vlan_push, pop", 0x0800, {{BPF_FUNC_skb_vlan_push, 0x0081, 5, 0, 0}, {BPF_FUNC_skb_vlan_pop, 0, 0, 0, 0}}},
      {"vlan_push twice, pop", 0x0800,
       {{BPF_FUNC_skb_vlan_push, 0x0081, 5, 0, 0}, {BPF_FUNC_skb_vlan_push, 0xa888, 6, 0, 0},
        {BPF_FUNC_skb_vlan_pop, 0, 0, 0, 0}}},
      {"vlan_pop untagged", 0x0800, {{BPF_FUNC_skb_vlan_pop, 0, 0, 0, 0}}},
      {"vlan_pop a tag in the packet", 0x8100, {{BPF_FUNC_skb_vlan_pop, 0, 0, 0, 0}}},
      {"vlan_pop two tags in the packet", 0x88a8,
       {{BPF_FUNC_skb_vlan_pop, 0, 0, 0, 0}, {BPF_FUNC_skb_vlan_pop, 0, 0, 0, 0}}},
      {"vlan_push twice, change_tail 13", 0x0800,
       {{BPF_FUNC_skb_vlan_push, 0x0081, 5, 0, 0}, {BPF_FUNC_skb_vlan_push, 0x0081, 6, 0, 0},
        {BPF_FUNC_skb_change_tail, 13, 0, 0, 0}}},
      {"vlan_pop a tag in the packet, change_tail 13", 0x8100,
       {{BPF_FUNC_skb_vlan_pop, 0, 0, 0, 0}, {BPF_FUNC_skb_change_tail, 13, 0, 0, 0}}},
      {"vlan_push twice, change_tail 17", 0x0800,
       {{BPF_FUNC_skb_vlan_push, 0x0081, 5, 0, 0}, {BPF_FUNC_skb_vlan_push, 0x0081, 6, 0, 0},
        {BPF_FUNC_skb_change_tail, 17, 0, 0, 0}}},
      {"vlan_push twice, change_tail 18", 0x0800,
       {{BPF_FUNC_skb_vlan_push, 0x0081, 5, 0, 0}, {BPF_FUNC_skb_vlan_push, 0x0081, 6, 0, 0},
        {BPF_FUNC_skb_change_tail, 18, 0, 0, 0}}},
      {"load_bytes_relative after adjust_room", 0x0800,
       {room(8, kMac, 0), {BPF_FUNC_skb_load_bytes_relative, 0, kStackLo, 8, BPF_HDR_START_NET}}},
  };
  return cases;
}

std::vector<bpf_insn> skb_resize_prog(const SkbResizeCase& c) {
  using insn::make;
  auto ctx_word = [](uint8_t op, uint8_t reg, int16_t off) {
    return op == BPF_STX ? make(BPF_STX | BPF_W | BPF_MEM, BPF_REG_6, reg, off, 0)
                         : make(BPF_LDX | BPF_W | BPF_MEM, reg, BPF_REG_6, off, 0);
  };
  constexpr int16_t kCb = 48, kLen = 0, kProtocol = 16, kData = 76, kDataEnd = 80;
  std::vector<bpf_insn> p = {insn::movr(BPF_REG_6, BPF_REG_1), make(BPF_ST | BPF_DW | BPF_MEM, BPF_REG_10, 0, -16, 0),
                             make(BPF_ST | BPF_DW | BPF_MEM, BPF_REG_10, 0, -8, 0)};
  bool loaded = false;
  for (size_t i = 0; i < c.calls.size(); ++i) {
    const SkbCall& k = c.calls[i];
    p.push_back(insn::movr(BPF_REG_1, BPF_REG_6));
    const int64_t args[4] = {k.a2, k.a3, k.a4, k.a5};
    for (uint8_t r = 2; r <= 5; ++r) {
      if (args[r - 2] == kStackLo) {
        p.push_back(insn::movr(r, BPF_REG_10));
        p.push_back(make(BPF_ALU64 | BPF_ADD | BPF_K, r, 0, 0, -16));
      } else {
        insn::ld64(p, r, static_cast<uint64_t>(args[r - 2]));
      }
    }
    p.push_back(insn::call(k.helper));
    p.push_back(insn::movr(BPF_REG_7, BPF_REG_0));
    if (i < 2) p.push_back(ctx_word(BPF_STX, BPF_REG_0, static_cast<int16_t>(kCb + 4 * i)));
    loaded |= k.helper == BPF_FUNC_skb_load_bytes_relative;
  }
  if (loaded) {
    p.push_back(make(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_1, BPF_REG_10, -16, 0));
    p.push_back(ctx_word(BPF_STX, BPF_REG_1, kCb + 8));
    p.push_back(make(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_1, BPF_REG_10, -12, 0));
    p.push_back(ctx_word(BPF_STX, BPF_REG_1, kCb + 12));
  } else {
    p.push_back(ctx_word(BPF_LDX, BPF_REG_1, kLen));
    p.push_back(ctx_word(BPF_STX, BPF_REG_1, kCb + 8));
    p.push_back(ctx_word(BPF_LDX, BPF_REG_1, kProtocol));
    p.push_back(ctx_word(BPF_STX, BPF_REG_1, kCb + 12));
  }
  const bool vlan = std::any_of(c.calls.begin(), c.calls.end(), [](const SkbCall& k) {
    return k.helper == BPF_FUNC_skb_vlan_push || k.helper == BPF_FUNC_skb_vlan_pop;
  });
  if (vlan) {  // vlan_proto << 16 | vlan_tci, plus vlan_present
    constexpr int16_t kVlanPresent = 20, kVlanTci = 24, kVlanProto = 28;
    p.push_back(ctx_word(BPF_LDX, BPF_REG_1, kVlanProto));
    p.push_back(make(BPF_ALU64 | BPF_LSH | BPF_K, BPF_REG_1, 0, 0, 16));
    p.push_back(ctx_word(BPF_LDX, BPF_REG_2, kVlanTci));
    p.push_back(make(BPF_ALU64 | BPF_OR | BPF_X, BPF_REG_1, BPF_REG_2, 0, 0));
    p.push_back(ctx_word(BPF_LDX, BPF_REG_2, kVlanPresent));
    p.push_back(make(BPF_ALU64 | BPF_ADD | BPF_X, BPF_REG_1, BPF_REG_2, 0, 0));  // changes the sum when present
    p.push_back(ctx_word(BPF_STX, BPF_REG_1, kCb + 16));
  } else {
    p.push_back(ctx_word(BPF_LDX, BPF_REG_1, kData));
    p.push_back(ctx_word(BPF_LDX, BPF_REG_2, kDataEnd));
    p.push_back(make(BPF_ALU64 | BPF_SUB | BPF_X, BPF_REG_2, BPF_REG_1, 0, 0));
    p.push_back(ctx_word(BPF_STX, BPF_REG_2, kCb + 16));
  }
  p.push_back(insn::movr(BPF_REG_0, BPF_REG_7));
  p.push_back(insn::exit());
  return p;
}

std::vector<uint8_t> skb_resize_packet(uint16_t ethertype) {
  std::vector<uint8_t> pkt = skb_helper_packet();
  pkt.resize(74);
  for (size_t i = 60; i < pkt.size(); ++i) pkt[i] = static_cast<uint8_t>(i * 5 + 3);
  // A VLAN tag (TCI 100) before IPv4; 802.1ad: two tags (200, then 300).
  std::vector<uint8_t> tags;
  if (ethertype == 0x8100) tags = {0x81, 0x00, 0x00, 100, 0x08, 0x00};
  if (ethertype == 0x88a8) tags = {0x88, 0xa8, 0x00, 200, 0x81, 0x00, 0x01, 0x2c, 0x08, 0x00};
  if (tags.empty()) tags = {static_cast<uint8_t>(ethertype >> 8), static_cast<uint8_t>(ethertype)};
  std::copy(tags.begin(), tags.end(), pkt.begin() + 12);
  return pkt;
}

}  // namespace bpfemu::conformance
