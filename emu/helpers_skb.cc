// Packet-rewriting helpers of skb programs (tc and the others that may call
// them): bpf_skb_store_bytes, bpf_l3_csum_replace, bpf_l4_csum_replace,
// bpf_csum_diff, and bpf_redirect (tc and XDP). The packet of a test run is one
// linear buffer whose checksum state is CHECKSUM_NONE, so the checksum helpers
// only ever rewrite the field in the packet, as the kernel does for such an skb.
#include "emu/helpers_skb.h"

#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include <cerrno>
#include <climits>
#include <cstring>

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

// The packet of an skb program run, writable; nullptr (and a fault) otherwise.
uint8_t* skb_packet(HelperCall& c, uint32_t* len, const char* helper) {
  const uint8_t* pkt = c.env.ctx_model != nullptr ? c.env.ctx_model->packet(len) : nullptr;
  if (pkt == nullptr || c.a[0] != reinterpret_cast<uint64_t>(c.env.ctx)) {
    c.m.fault("%s: R1 is not an skb context", helper);
    return nullptr;
  }
  if (*len != 0 && !c.m.check(reinterpret_cast<uint64_t>(pkt), *len, true, helper)) return nullptr;
  return const_cast<uint8_t*>(pkt);  // the run's own frame, writable as checked
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

}  // namespace

// bpf_skb_store_bytes: within the packet (bpf_try_make_writable of offset +
// len); the checksum flags change nothing for a CHECKSUM_NONE skb.
bool skb_store_bytes(HelperCall& c, uint64_t* r0) {
  uint32_t len = 0;
  uint8_t* pkt = skb_packet(c, &len, "bpf_skb_store_bytes");
  if (pkt == nullptr) return false;
  const uint32_t offset = static_cast<uint32_t>(c.a[1]), n = static_cast<uint32_t>(c.a[3]);
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
