// Bob Jenkins' lookup3 hash exactly as the kernel's <linux/jhash.h> computes it.
// Used for BPF_F_ZERO_SEED hash maps so bucket placement — and therefore
// get_next_key order — equals the kernel's.
#pragma once

#include <cstdint>
#include <cstring>

namespace bpfemu::maptypes {

namespace jhash_detail {
constexpr uint32_t kInitVal = 0xdeadbeef;
constexpr uint32_t rol32(uint32_t w, unsigned s) { return (w << s) | (w >> ((32 - s) & 31)); }
inline void mix(uint32_t& a, uint32_t& b, uint32_t& c) {
  a -= c; a ^= rol32(c, 4);  c += b;
  b -= a; b ^= rol32(a, 6);  a += c;
  c -= b; c ^= rol32(b, 8);  b += a;
  a -= c; a ^= rol32(c, 16); c += b;
  b -= a; b ^= rol32(a, 19); a += c;
  c -= b; c ^= rol32(b, 4);  b += a;
}
inline void final_mix(uint32_t& a, uint32_t& b, uint32_t& c) {
  c ^= b; c -= rol32(b, 14);
  a ^= c; a -= rol32(c, 11);
  b ^= a; b -= rol32(a, 25);
  c ^= b; c -= rol32(b, 16);
  a ^= c; a -= rol32(c, 4);
  b ^= a; b -= rol32(a, 14);
  c ^= b; c -= rol32(b, 24);
}
inline uint32_t load32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);  // the kernel reads host-endian (little-endian here)
  return v;
}
}  // namespace jhash_detail

// jhash(key, length, initval). jhash2 on u32 words gives the same result on a
// little-endian host, which is why the kernel's choice between them (by
// key_size % 4) does not matter for us.
inline uint32_t jhash(const void* key, uint32_t length, uint32_t initval) {
  using namespace jhash_detail;
  const auto* k = static_cast<const uint8_t*>(key);
  uint32_t a = kInitVal + length + initval;
  uint32_t b = a, c = a;
  while (length > 12) {
    a += load32(k);
    b += load32(k + 4);
    c += load32(k + 8);
    mix(a, b, c);
    length -= 12;
    k += 12;
  }
  switch (length) {
    case 12: c += uint32_t{k[11]} << 24; [[fallthrough]];
    case 11: c += uint32_t{k[10]} << 16; [[fallthrough]];
    case 10: c += uint32_t{k[9]} << 8; [[fallthrough]];
    case 9: c += k[8]; [[fallthrough]];
    case 8: b += uint32_t{k[7]} << 24; [[fallthrough]];
    case 7: b += uint32_t{k[6]} << 16; [[fallthrough]];
    case 6: b += uint32_t{k[5]} << 8; [[fallthrough]];
    case 5: b += k[4]; [[fallthrough]];
    case 4: a += uint32_t{k[3]} << 24; [[fallthrough]];
    case 3: a += uint32_t{k[2]} << 16; [[fallthrough]];
    case 2: a += uint32_t{k[1]} << 8; [[fallthrough]];
    case 1:
      a += k[0];
      final_mix(a, b, c);
      break;
    default:
      break;
  }
  return c;
}

}  // namespace bpfemu::maptypes
