// Packet-rewriting helpers of skb programs (tc and the others that may call
// them): bpf_skb_store_bytes, bpf_l3_csum_replace, bpf_l4_csum_replace,
// bpf_csum_diff, and bpf_redirect (tc and XDP). The packet of a test run is one
// linear buffer whose checksum state is CHECKSUM_NONE, so the checksum helpers
// only ever rewrite the field in the packet, as the kernel does for such an skb.
#include "emu/helpers_skb.h"

#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <vector>

#include "core/profile.h"

namespace bpfemu::emu::interp {
namespace {

uint64_t ret(long v) { return static_cast<uint64_t>(v); }

// --- the one's complement arithmetic of the kernel's checksum code ---

// csum_add / csum_sub on 32-bit partial sums: addition with the carry added back.
uint32_t csum_add(uint32_t a, uint32_t b) {
  const uint32_t s = a + b;
  return s + (s < a ? 1 : 0);
}
uint32_t csum_sub(uint32_t a, uint32_t b) { return csum_add(a, ~b); }

// csum_partial: the bytes as little-endian 16-bit words summed into `sum`, as a
// 32-bit partial sum. x86 adds 64-bit words with the carry added back and then
// folds to 32 bits; any order gives the same sum modulo 2^32 - 1, and both are
// zero only when everything is, so the 32-bit value is the same. (A buffer at
// an odd address, which x86 byte-swaps, does not occur: programs pass stack
// memory, 8-byte aligned.)
uint32_t csum_partial(const uint8_t* p, uint32_t len, uint32_t sum) {
  uint64_t acc = sum;
  uint32_t i = 0;
  for (; i + 4 <= len; i += 4) {
    uint32_t w;
    memcpy(&w, p + i, 4);
    acc += w;
  }
  if (len & 2) {
    uint16_t w;
    memcpy(&w, p + i, 2);
    acc += w;
    i += 2;
  }
  if (len & 1) acc += p[i];
  while (acc >> 32) acc = (acc & 0xffffffff) + (acc >> 32);
  return static_cast<uint32_t>(acc);
}

// csum_fold: the 32-bit partial sum folded to 16 bits and complemented.
uint16_t csum_fold(uint32_t sum) {
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}
// csum_from32to16: folded, not complemented.
uint16_t csum_from32to16(uint32_t sum) {
  sum += (sum >> 16) | (sum << 16);
  return static_cast<uint16_t>(sum >> 16);
}

uint16_t load16(const uint8_t* p) {
  uint16_t v;
  memcpy(&v, p, 2);
  return v;
}
void store16(uint8_t* p, uint16_t v) { memcpy(p, &v, 2); }

// csum_replace_by_diff / csum_replace4 / csum_replace2 on the 16-bit field at p,
// with the skb not CHECKSUM_PARTIAL (the inet_proto_ variants then do the same).
void replace_by_diff(uint8_t* p, uint32_t diff) { store16(p, csum_fold(csum_add(diff, ~uint32_t{load16(p)}))); }
void replace4(uint8_t* p, uint32_t from, uint32_t to) {
  store16(p, csum_fold(csum_add(csum_sub(~uint32_t{load16(p)}, from), to)));
}
void replace2(uint8_t* p, uint16_t from, uint16_t to) {
  // ~csum16_add(csum16_sub(~sum, old), new) with 16-bit end-around carries.
  auto add16 = [](uint16_t a, uint16_t b) {
    const uint32_t s = uint32_t{a} + b;
    return static_cast<uint16_t>(s + (s >> 16));
  };
  store16(p, static_cast<uint16_t>(~add16(add16(static_cast<uint16_t>(~load16(p)), static_cast<uint16_t>(~from)), to)));
}

// The skb of an skb program run; nullptr (and a fault) otherwise.
SkbBuff* skb_of(HelperCall& c, const char* helper) {
  if (c.env.skb == nullptr || c.a[0] != reinterpret_cast<uint64_t>(c.env.ctx)) {
    c.m.fault("%s: R1 is not an skb context", helper);
    return nullptr;
  }
  return c.env.skb;
}

// The packet of an skb program run, writable; nullptr (and a fault) otherwise.
uint8_t* skb_packet(HelperCall& c, uint32_t* len, const char* helper) {
  SkbBuff* s = skb_of(c, helper);
  if (s == nullptr) return nullptr;
  *len = s->len;
  if (*len != 0 && !c.m.check(reinterpret_cast<uint64_t>(s->begin()), *len, true, helper)) return nullptr;
  return s->begin();
}

constexpr uint64_t kHdrFieldMask = 0xf;     // BPF_F_HDR_FIELD_MASK
constexpr uint64_t kL4Ipv6 = 1ULL << 7;     // BPF_F_IPV6 (6.16+)
constexpr uint16_t kCsumMangled0 = 0xffff;  // CSUM_MANGLED_0

// The 16-bit checksum field the csum_replace helpers change: flags within
// `known`, an even offset below 64 KiB, inside the packet. *field is nullptr
// when the answer is already in r0 (EINVAL, EFAULT); false is a fault (R1 is
// not an skb).
bool csum_field(HelperCall& c, const char* helper, uint64_t known, uint64_t* r0, uint8_t** field) {
  *field = nullptr;
  uint32_t len = 0;
  uint8_t* pkt = skb_packet(c, &len, helper);
  if (pkt == nullptr) return false;
  const uint64_t offset = static_cast<uint32_t>(c.a[1]);
  if (c.a[4] & ~known) return *r0 = ret(-EINVAL), true;
  if (offset > 0xffff || (offset & 1) || offset + 2 > len) return *r0 = ret(-EFAULT), true;
  *field = pkt + offset;
  return true;
}

// The field's new checksum for a change of `from` to `to` of `width` bytes (0:
// `to` is a checksum difference). The l4 helper's 2-byte change is the 4-byte
// one of the zero-extended halves (inet_proto_csum_replace2). False: EINVAL.
bool replace_field(uint8_t* field, uint64_t width, uint64_t from, uint64_t to, bool l4) {
  switch (width) {
    case 0:
      if (from != 0) return false;
      replace_by_diff(field, static_cast<uint32_t>(to));
      return true;
    case 2:
      if (l4)
        replace4(field, static_cast<uint16_t>(from), static_cast<uint16_t>(to));
      else
        replace2(field, static_cast<uint16_t>(from), static_cast<uint16_t>(to));
      return true;
    case 4: replace4(field, static_cast<uint32_t>(from), static_cast<uint32_t>(to)); return true;
    default: return false;
  }
}

// --- the packet's size and layout ---

constexpr uint32_t kSkbMaxLen = 16064;  // SKB_MAX_ALLOC: four pages less the shared info
constexpr uint32_t kSlack = 64;         // room left around the packet when it is moved
constexpr uint16_t kProtoIp = 0x0008, kProtoIpv6 = 0xdd86;  // htons(ETH_P_IP), htons(ETH_P_IPV6)
constexpr uint32_t kIphdr = 20, kIpv6hdr = 40;
constexpr long kENOTSUPP = 524;

// Makes at least `head` bytes of room before the packet and `tail` after it:
// a new buffer holding the packet and the headers before it (the kernel's
// pskb_expand_head), so that pushing and trimming in turn cannot grow it
// without bound.
void make_room(SkbBuff& s, uint32_t head, uint32_t tail) {
  const uint32_t end = s.data + s.len;
  if (s.data >= head && s.buf.size() - end >= tail) return;
  const uint32_t lo = std::min({s.data, s.mac_header, s.network_header});
  const uint32_t hi = std::max<uint32_t>({end, std::min<uint32_t>(s.mac_header, static_cast<uint32_t>(s.buf.size())),
                                          std::min<uint32_t>(s.network_header, static_cast<uint32_t>(s.buf.size()))});
  const uint32_t before = s.data - lo;  // header bytes kept before the packet
  const uint32_t new_lo = (head > before ? head - before : 0) + kSlack;
  std::vector<uint8_t> nb(new_lo + (hi - lo) + tail + kSlack, 0);
  memcpy(nb.data() + new_lo, s.buf.data() + lo, hi - lo);
  s.buf.swap(nb);
  const auto shift = [&](uint32_t& off) { off = off - lo + new_lo; };
  shift(s.data);
  shift(s.mac_header);
  shift(s.network_header);
  if (s.transport_header != SkbBuff::kUnset) shift(s.transport_header);
}

// After a helper moved or resized the packet: the program may reach the new
// packet and no longer the old one, and its __sk_buff follows.
void relayout(HelperCall& c, SkbBuff& s, const uint8_t* old_begin) {
  c.env.memory.remove(old_begin);
  if (s.len != 0) c.env.memory.add(s.begin(), s.len, true);
  s.sync_ctx();
}

// bpf_skb_generic_push / _pop at `off` from the start, and the header moves of
// bpf_skb_net_hdr_push / _pop.
void push_at(SkbBuff& s, uint32_t off, uint32_t n) {
  const bool trans_same = s.transport_header == s.network_header;
  make_room(s, n, 0);
  s.data -= n;
  s.len += n;
  memmove(s.begin(), s.begin() + n, off);
  memset(s.begin() + off, 0, n);
  s.mac_header -= n;
  s.network_header -= n;
  if (trans_same) s.transport_header = s.network_header;
}
long pop_at(SkbBuff& s, uint32_t off, uint32_t n) {
  if (uint64_t{off} + n > s.len) return -ENOMEM;  // pskb_may_pull
  const bool trans_same = s.transport_header == s.network_header;
  memmove(s.begin() + n, s.begin(), off);
  s.data += n;
  s.len -= n;
  s.mac_header += n;
  s.network_header += n;
  if (trans_same) s.transport_header = s.network_header;
  return 0;
}

uint32_t mac_len(const SkbBuff& s) { return static_cast<uint16_t>(s.network_header - s.mac_header); }

// bpf_skb_net_base_len
uint32_t net_base_len(const SkbBuff& s) {
  return s.protocol == kProtoIp ? kIphdr : s.protocol == kProtoIpv6 ? kIpv6hdr : ~0U;
}

// A GSO skb (the caller set __sk_buff.gso_size): its gso_type is none of the
// TCP or UDP ones, which the room helpers refuse.
bool is_gso(const SkbBuff& s) {
  uint32_t gso_size;
  memcpy(&gso_size, s.ctx + 176, 4);
  return gso_size != 0;
}

long net_grow(SkbBuff& s, uint32_t off, uint32_t n, uint64_t flags) {
  const uint32_t inner_mac_len = static_cast<uint32_t>(flags >> BPF_ADJ_ROOM_ENCAP_L2_SHIFT);
  const bool encap = flags & (BPF_F_ADJ_ROOM_ENCAP_L3_IPV4 | BPF_F_ADJ_ROOM_ENCAP_L3_IPV6);
  if (is_gso(s)) return -kENOTSUPP;
  uint32_t outer_mac_len = 0;
  if (encap) {
    if ((flags & BPF_F_ADJ_ROOM_ENCAP_L3_IPV4) && (flags & BPF_F_ADJ_ROOM_ENCAP_L3_IPV6)) return -EINVAL;
    if ((flags & BPF_F_ADJ_ROOM_ENCAP_L4_GRE) && (flags & BPF_F_ADJ_ROOM_ENCAP_L4_UDP)) return -EINVAL;
    if ((flags & BPF_F_ADJ_ROOM_ENCAP_L2_ETH) && inner_mac_len < 14) return -EINVAL;
    if (s.encapsulation) return -EALREADY;
    outer_mac_len = mac_len(s);
    if (inner_mac_len > n) return -EINVAL;
  }
  push_at(s, off, n);
  if (encap) {
    s.encapsulation = true;
    s.network_header = s.data + outer_mac_len;
    if (flags & (BPF_F_ADJ_ROOM_ENCAP_L4_GRE | BPF_F_ADJ_ROOM_ENCAP_L4_UDP))
      s.transport_header = s.network_header + ((flags & BPF_F_ADJ_ROOM_ENCAP_L3_IPV6) ? kIpv6hdr : kIphdr);
    if (s.protocol == kProtoIp && (flags & BPF_F_ADJ_ROOM_ENCAP_L3_IPV6)) s.protocol = kProtoIpv6;
    else if (s.protocol == kProtoIpv6 && (flags & BPF_F_ADJ_ROOM_ENCAP_L3_IPV4)) s.protocol = kProtoIp;
  }
  return 0;
}

long net_shrink(SkbBuff& s, uint32_t off, uint32_t n, uint64_t flags, uint64_t decap_mask) {
  if (flags & ~(BPF_F_ADJ_ROOM_FIXED_GSO | decap_mask | BPF_F_ADJ_ROOM_NO_CSUM_RESET)) return -EINVAL;
  if (is_gso(s)) return -kENOTSUPP;
  if (long e = pop_at(s, off, n); e != 0) return e;
  const uint64_t decap4 = 1ULL << 7, decap6 = 1ULL << 8;
  if (s.protocol == kProtoIp && (flags & decap6)) s.protocol = kProtoIpv6;
  else if (s.protocol == kProtoIpv6 && (flags & decap4)) s.protocol = kProtoIp;
  return 0;
}

}  // namespace

// bpf_skb_pull_data: the test run's skb is linear, so only a length past the
// packet fails (pskb_may_pull); 0 means the linear part, all of it.
bool skb_pull_data(HelperCall& c, uint64_t* r0) {
  SkbBuff* s = skb_of(c, "bpf_skb_pull_data");
  if (s == nullptr) return false;
  const uint32_t n = static_cast<uint32_t>(c.a[1]);
  *r0 = n <= s->len ? 0 : ret(-ENOMEM);
  return true;
}

// bpf_skb_change_tail: between the end of the headers the skb has (network,
// or transport when set) and SKB_MAX_ALLOC; grown bytes are zeroed; an
// encapsulated skb cannot; a GSO skb stops being one.
bool skb_change_tail(HelperCall& c, uint64_t* r0) {
  SkbBuff* s = skb_of(c, "bpf_skb_change_tail");
  if (s == nullptr) return false;
  const uint32_t new_len = static_cast<uint32_t>(c.a[1]);
  uint32_t min_len = static_cast<uint32_t>(s->network_offset());
  if (s->transport_header != SkbBuff::kUnset) min_len = s->transport_header - s->data;
  if (c.a[2] != 0 || new_len > kSkbMaxLen || new_len < min_len) return *r0 = ret(-EINVAL), true;
  if (s->encapsulation) return *r0 = ret(-kENOTSUPP), true;
  const uint8_t* old = s->begin();
  if (new_len > s->len) {
    make_room(*s, 0, new_len - s->len);
    memset(s->end(), 0, new_len - s->len);
  }
  s->len = new_len;
  memset(s->ctx + 164, 0, 4);  // skb_gso_reset: gso_segs and gso_size
  memset(s->ctx + 176, 0, 4);
  relayout(c, *s, old);
  *r0 = 0;
  return true;
}

// bpf_skb_change_head: head_room zero bytes pushed before the packet, which
// become the mac header; the network header stays.
bool skb_change_head(HelperCall& c, uint64_t* r0) {
  SkbBuff* s = skb_of(c, "bpf_skb_change_head");
  if (s == nullptr) return false;
  const uint32_t room = static_cast<uint32_t>(c.a[1]);
  const uint32_t new_len = s->len + room;
  if (c.a[2] != 0 || (!is_gso(*s) && new_len > kSkbMaxLen) || new_len < s->len) return *r0 = ret(-EINVAL), true;
  const uint8_t* old = s->begin();
  make_room(*s, room, 0);
  s->data -= room;
  s->len = new_len;
  memset(s->begin(), 0, room);
  s->mac_header = s->data;
  relayout(c, *s, old);
  *r0 = 0;
  return true;
}

// bpf_skb_adjust_room: len_diff bytes added (zeroed) or removed after the mac
// header (BPF_ADJ_ROOM_MAC) or after the network header's base length
// (BPF_ADJ_ROOM_NET), with the encapsulation and decapsulation flags.
bool skb_adjust_room(HelperCall& c, uint64_t* r0) {
  SkbBuff* s = skb_of(c, "bpf_skb_adjust_room");
  if (s == nullptr) return false;
  const int32_t diff = static_cast<int32_t>(c.a[1]);
  const uint32_t mode = static_cast<uint32_t>(c.a[2]);
  const uint64_t flags = c.a[3];
  const uint64_t decap_mask = active_profile().adjust_room_decap ? (3ULL << 7) : 0;  // BPF_F_ADJ_ROOM_DECAP_L3_*
  const uint64_t known = BPF_F_ADJ_ROOM_FIXED_GSO | BPF_F_ADJ_ROOM_ENCAP_L3_IPV4 | BPF_F_ADJ_ROOM_ENCAP_L3_IPV6 |
                         BPF_F_ADJ_ROOM_ENCAP_L4_GRE | BPF_F_ADJ_ROOM_ENCAP_L4_UDP | BPF_F_ADJ_ROOM_ENCAP_L2_ETH |
                         BPF_F_ADJ_ROOM_ENCAP_L2(BPF_ADJ_ROOM_ENCAP_L2_MASK) | BPF_F_ADJ_ROOM_NO_CSUM_RESET |
                         decap_mask;
  const bool shrink = diff < 0;
  const uint32_t n = shrink ? 0U - static_cast<uint32_t>(diff) : static_cast<uint32_t>(diff);
  if (flags & ~known) return *r0 = ret(-EINVAL), true;
  if (n > 0xfff) return *r0 = ret(-EFAULT), true;
  if (s->protocol != kProtoIp && s->protocol != kProtoIpv6) return *r0 = ret(-kENOTSUPP), true;
  uint32_t off = mac_len(*s);
  if (mode == BPF_ADJ_ROOM_NET)
    off += net_base_len(*s);
  else if (mode != BPF_ADJ_ROOM_MAC)
    return *r0 = ret(-kENOTSUPP), true;
  uint32_t len_min = net_base_len(*s);
  if (flags & decap_mask) {
    if (!shrink) return *r0 = ret(-EINVAL), true;
    switch (flags & decap_mask) {
      case 1ULL << 7: len_min = kIphdr; break;
      case 1ULL << 8: len_min = kIpv6hdr; break;
      default: return *r0 = ret(-EINVAL), true;
    }
  }
  const uint32_t len_cur = s->len - static_cast<uint32_t>(s->network_offset());
  if ((shrink && (n >= len_cur || len_cur - n < len_min)) || (!shrink && s->len + n > kSkbMaxLen && !is_gso(*s)))
    return *r0 = ret(-kENOTSUPP), true;
  const uint8_t* old = s->begin();
  *r0 = ret(shrink ? net_shrink(*s, off, n, flags, decap_mask) : net_grow(*s, off, n, flags));
  relayout(c, *s, old);
  return true;
}

// bpf_skb_change_proto: IPv4 to IPv6 makes 20 zero bytes of room after the mac
// header, IPv6 to IPv4 takes them away; the program writes the new header.
bool skb_change_proto(HelperCall& c, uint64_t* r0) {
  SkbBuff* s = skb_of(c, "bpf_skb_change_proto");
  if (s == nullptr) return false;
  const uint16_t to = static_cast<uint16_t>(c.a[1]);
  if (c.a[2] != 0) return *r0 = ret(-EINVAL), true;
  const uint8_t* old = s->begin();
  constexpr uint32_t kDiff = kIpv6hdr - kIphdr;
  if (s->protocol == kProtoIp && to == kProtoIpv6) {
    push_at(*s, mac_len(*s), kDiff);
    s->protocol = kProtoIpv6;
    *r0 = 0;
  } else if (s->protocol == kProtoIpv6 && to == kProtoIp) {
    const long e = pop_at(*s, mac_len(*s), kDiff);
    if (e == 0) s->protocol = kProtoIp;
    *r0 = ret(e);
  } else {
    *r0 = ret(-kENOTSUPP);
  }
  relayout(c, *s, old);
  return true;
}

// --- VLAN tags: the hardware-accelerated one, and tags in the packet ---

constexpr uint16_t kProto8021Q = 0x0081, kProto8021AD = 0xa888;  // htons(ETH_P_8021Q), htons(ETH_P_8021AD)
constexpr uint32_t kVlanHlen = 4, kEthAlen2 = 12;

bool is_vlan_proto(uint16_t p) { return p == kProto8021Q || p == kProto8021AD; }

// __vlan_insert_tag: a tag of proto and tci between the MAC addresses and
// the ethertype.
void insert_tag(SkbBuff& s, uint16_t proto, uint16_t tci) {
  make_room(s, kVlanHlen, 0);
  s.data -= kVlanHlen;
  s.len += kVlanHlen;
  memmove(s.begin(), s.begin() + kVlanHlen, kEthAlen2);
  const uint16_t tci_be = static_cast<uint16_t>(tci >> 8 | tci << 8);
  memcpy(s.begin() + kEthAlen2, &proto, 2);
  memcpy(s.begin() + kEthAlen2 + 2, &tci_be, 2);
  s.mac_header -= kVlanHlen;
}

// __skb_vlan_pop: the tag after the MAC addresses leaves the packet; the
// protocol becomes the one it encapsulated. -errno when the skb has no room.
long remove_tag(SkbBuff& s, uint16_t* tci) {
  if (s.data != s.mac_header) return -EINVAL;  // the kernel warns: data not at the mac header
  if (s.len < 18) return -ENOMEM;              // skb_ensure_writable(VLAN_ETH_HLEN)
  uint16_t tci_be, inner;
  memcpy(&tci_be, s.begin() + 14, 2);
  memcpy(&inner, s.begin() + 16, 2);
  *tci = static_cast<uint16_t>(tci_be >> 8 | tci_be << 8);
  memmove(s.begin() + kVlanHlen, s.begin(), kEthAlen2);
  s.data += kVlanHlen;
  s.len -= kVlanHlen;
  // vlan_set_encap_proto: an ethertype, or 802.3/802.2 for a length field.
  const uint16_t host = static_cast<uint16_t>(inner >> 8 | inner << 8);
  uint16_t raw = 0;
  if (s.len >= 16) memcpy(&raw, s.begin() + 14, 2);
  s.protocol = host >= 0x0600 ? inner : raw == 0xffff ? 0x0100 : 0x0400;  // htons(ETH_P_802_3 / _802_2)
  s.mac_header += kVlanHlen;
  if (s.network_offset() < 14) s.network_header = s.data + 14;
  return 0;
}

// bpf_skb_vlan_push: the new tag goes to the accelerated slot; a tag already
// there moves into the packet first. A protocol other than 802.1Q or 802.1ad
// is taken as 802.1Q.
bool skb_vlan_push(HelperCall& c, uint64_t* r0) {
  SkbBuff* s = skb_of(c, "bpf_skb_vlan_push");
  if (s == nullptr) return false;
  uint16_t proto = static_cast<uint16_t>(c.a[1]);
  const uint16_t tci = static_cast<uint16_t>(c.a[2]);
  if (!is_vlan_proto(proto)) proto = kProto8021Q;
  const uint8_t* old = s->begin();
  if (s->vlan_present) {
    if (s->data != s->mac_header) return *r0 = ret(-EINVAL), true;  // the kernel warns: data not at the mac header
    insert_tag(*s, s->vlan_proto, s->vlan_tci);
    s->protocol = s->vlan_proto;
    if (active_profile().vlan_push_moves_network_header) s->network_header -= kVlanHlen;
  }
  s->vlan_proto = proto;
  s->vlan_tci = tci;
  s->vlan_present = true;
  relayout(c, *s, old);
  *r0 = 0;
  return true;
}

// bpf_skb_vlan_pop: the accelerated tag goes (or, without one, the tag in the
// packet); then a tag left in the packet moves to the accelerated slot.
bool skb_vlan_pop(HelperCall& c, uint64_t* r0) {
  SkbBuff* s = skb_of(c, "bpf_skb_vlan_pop");
  if (s == nullptr) return false;
  const uint8_t* old = s->begin();
  long err = 0;
  uint16_t tci = 0;
  if (s->vlan_present) {
    s->vlan_present = false;
    if (active_profile().vlan_clear_zeroes_tag) s->vlan_proto = s->vlan_tci = 0;
  } else if (is_vlan_proto(s->protocol)) {
    err = remove_tag(*s, &tci);
  } else {
    return *r0 = 0, true;
  }
  if (err == 0 && is_vlan_proto(s->protocol)) {
    const uint16_t proto = s->protocol;
    err = remove_tag(*s, &tci);
    if (err == 0) {
      s->vlan_proto = proto;
      s->vlan_tci = tci;
      s->vlan_present = true;
    }
  }
  relayout(c, *s, old);
  *r0 = ret(err);
  return true;
}

// bpf_skb_load_bytes_relative: len bytes from the mac or the network header
// on; the buffer is zeroed when they are not all in the packet.
bool skb_load_bytes_relative(HelperCall& c, uint64_t* r0) {
  SkbBuff* s = skb_of(c, "bpf_skb_load_bytes_relative");
  if (s == nullptr) return false;
  const uint32_t offset = static_cast<uint32_t>(c.a[1]), len = static_cast<uint32_t>(c.a[3]);
  const uint32_t start = static_cast<uint32_t>(c.a[4]);
  // The size is ARG_CONST_SIZE: the verifier refuses 0.
  if (len == 0) return c.m.fault("bpf_skb_load_bytes_relative: invalid zero-sized buffer");
  if (!c.m.check(c.a[2], len, true, "bpf_skb_load_bytes_relative to")) return false;
  auto* to = reinterpret_cast<uint8_t*>(c.a[2]);
  const uint64_t hdr = start == BPF_HDR_START_MAC ? s->mac_header : start == BPF_HDR_START_NET ? s->network_header : ~0ULL;
  if (offset > 0xffff || hdr == ~0ULL || hdr + offset + len > uint64_t{s->data} + s->len) {
    memset(to, 0, len);
    return *r0 = ret(-EFAULT), true;
  }
  memcpy(to, s->buf.data() + hdr + offset, len);
  *r0 = 0;
  return true;
}

// bpf_skb_store_bytes: within the packet (bpf_try_make_writable of offset +
// len); the checksum flags change nothing for a CHECKSUM_NONE skb.
bool skb_store_bytes(HelperCall& c, uint64_t* r0) {
  uint32_t len = 0;
  uint8_t* pkt = skb_packet(c, &len, "bpf_skb_store_bytes");
  if (pkt == nullptr) return false;
  const uint32_t offset = static_cast<uint32_t>(c.a[1]), n = static_cast<uint32_t>(c.a[3]);
  // The size is ARG_CONST_SIZE: the verifier refuses 0 (and the buffer may then be NULL).
  if (n == 0) return c.m.fault("bpf_skb_store_bytes: invalid zero-sized buffer");
  if (!c.m.check(c.a[2], n, false, "bpf_skb_store_bytes from")) return false;
  if (c.a[4] & ~uint64_t{BPF_F_RECOMPUTE_CSUM | BPF_F_INVALIDATE_HASH}) return *r0 = ret(-EINVAL), true;
  if (offset > INT_MAX || uint64_t{offset} + n > len) return *r0 = ret(-EFAULT), true;
  memmove(pkt + offset, reinterpret_cast<const void*>(c.a[2]), n);
  *r0 = 0;
  return true;
}

bool l3_csum_replace(HelperCall& c, uint64_t* r0) {
  const uint64_t from = c.a[2], to = c.a[3], flags = c.a[4];
  uint8_t* field = nullptr;
  if (!csum_field(c, "bpf_l3_csum_replace", kHdrFieldMask, r0, &field)) return false;
  if (field == nullptr) return true;
  if (!replace_field(field, flags & kHdrFieldMask, from, to, false)) return *r0 = ret(-EINVAL), true;
  *r0 = 0;
  return true;
}

bool l4_csum_replace(HelperCall& c, uint64_t* r0) {
  const uint64_t from = c.a[2], to = c.a[3], flags = c.a[4];
  // BPF_F_IPV6 came with 6.16, and Debian's 6.1.0-57 has it too (a stable
  // backport; checked in the VM runner).
  const uint64_t known = BPF_F_MARK_MANGLED_0 | BPF_F_MARK_ENFORCE | BPF_F_PSEUDO_HDR | kHdrFieldMask | kL4Ipv6;
  uint8_t* field = nullptr;
  if (!csum_field(c, "bpf_l4_csum_replace", known, r0, &field)) return false;
  if (field == nullptr) return true;
  const bool mangled0 = flags & BPF_F_MARK_MANGLED_0;
  if (mangled0 && !(flags & BPF_F_MARK_ENFORCE) && load16(field) == 0) return *r0 = 0, true;
  // Not CHECKSUM_PARTIAL: the pseudo-header flag changes nothing in the packet.
  if (!replace_field(field, flags & kHdrFieldMask, from, to, true)) return *r0 = ret(-EINVAL), true;
  if (mangled0 && load16(field) == 0) store16(field, kCsumMangled0);
  *r0 = 0;
  return true;
}

// bpf_csum_diff. 6.18 takes any sizes and returns a 16-bit folded sum; 6.1
// wants multiples of 4 bytes, 512 in all, and returns the 32-bit partial sum of
// the "from" words complemented followed by the "to" words.
bool csum_diff(HelperCall& c, uint64_t* r0) {
  const uint32_t from_size = static_cast<uint32_t>(c.a[1]), to_size = static_cast<uint32_t>(c.a[3]);
  const uint32_t seed = static_cast<uint32_t>(c.a[4]);
  if (from_size != 0 && !c.m.check(c.a[0], from_size, false, "bpf_csum_diff from")) return false;
  if (to_size != 0 && !c.m.check(c.a[2], to_size, false, "bpf_csum_diff to")) return false;
  const auto* from = reinterpret_cast<const uint8_t*>(c.a[0]);
  const auto* to = reinterpret_cast<const uint8_t*>(c.a[2]);
  if (!active_profile().csum_diff_folds) {
    if (((from_size | to_size) & 3) != 0 || uint64_t{from_size} + to_size > 512) return *r0 = ret(-EINVAL), true;
    uint8_t diff[512];
    for (uint32_t i = 0; i < from_size; ++i) diff[i] = static_cast<uint8_t>(~from[i]);
    if (to_size != 0) memcpy(diff + from_size, to, to_size);
    *r0 = csum_partial(diff, from_size + to_size, seed);
    return true;
  }
  uint32_t sum = seed;
  if (from_size != 0 && to_size != 0)
    sum = csum_sub(csum_partial(to, to_size, seed), csum_partial(from, from_size, 0));
  else if (to_size != 0)
    sum = csum_partial(to, to_size, seed);
  else if (from_size != 0)
    sum = ~csum_partial(from, from_size, ~seed);
  else
    return *r0 = seed, true;
  *r0 = csum_from32to16(sum);
  return true;
}

// bpf_redirect: tc answers TC_ACT_REDIRECT (TC_ACT_SHOT for flags other than
// BPF_F_INGRESS), XDP answers XDP_REDIRECT (XDP_ABORTED for any flag). A test
// run reports the verdict; nothing is sent.
bool redirect(HelperCall& c, uint64_t* r0) {
  const uint64_t flags = c.a[1];
  if (c.env.xdp != nullptr) {
    *r0 = flags != 0 ? XDP_ABORTED : XDP_REDIRECT;
    return true;
  }
  *r0 = (flags & ~uint64_t{BPF_F_INGRESS}) != 0 ? TC_ACT_SHOT : TC_ACT_REDIRECT;
  return true;
}

}  // namespace bpfemu::emu::interp
