// The common case of a lookup in an open-addressing HASH map
// (maptypes/hashtab_flat.cc, which describes the layout), shared by that file
// and by prog::MapRef, which inlines it into the caller the way the kernel's
// verifier inlines array lookups. Not an API: the layout may change.
#pragma once

#include <atomic>
#include <bit>
#include <cstdint>
#include <cstring>
#include <type_traits>

// Built with ThreadSanitizer (GCC's and clang's ways of saying so).
#if defined(__SANITIZE_THREAD__)
#define BPFEMU_DETAIL_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define BPFEMU_DETAIL_TSAN 1
#endif
#endif
#ifndef BPFEMU_DETAIL_TSAN
#define BPFEMU_DETAIL_TSAN 0
#endif

namespace bpfemu::detail {

// What an inline lookup needs to know of a map; fixed for the map's lifetime.
struct FlatHashLayout {
  uint8_t* base = nullptr;  // slot 0
  uint64_t slot_size = 0;
  uint64_t seed = 0;
  uint32_t slot_count = 0;
  uint32_t value_off = 0;  // of the value within a slot
  uint32_t key_size = 0;
};

// Slot meta: state in the low bits, a version above.
inline constexpr uint32_t kFlatStateMask = 3;
inline constexpr uint32_t kFlatLive = 1;
inline constexpr uint32_t kFlatKeyOff = 4;

// The hash of a 4- or 8-byte key: the two halves of the 128-bit product of the
// seeded key and an odd constant, folded together (boost::unordered's mixer).
// One multiply; XXH3's setup would cost more than the lookup it serves.
inline uint64_t flat_hash_mix(uint64_t key, uint64_t seed) {
  const unsigned __int128 x = static_cast<unsigned __int128>(key ^ seed) * 0x9e3779b97f4a7c15ULL;
  return static_cast<uint64_t>(x) ^ static_cast<uint64_t>(x >> 64);
}

// [0, n) from a hash without a division (Lemire's multiply-shift).
inline uint32_t flat_hash_scale(uint64_t h, uint32_t n) {
  return static_cast<uint32_t>((static_cast<uint32_t>(h) * uint64_t{n}) >> 32);
}

template <class T>
inline T flat_load(const void* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

// Whether a 4- or 8-byte key sits LIVE in one of the four slots from its home
// (92% of keys in a full map, more in one less full); if so its slot and the meta its key was read
// with. False says nothing: the full probe decides. The slots are compared
// without branches, so the one branch left (found or not) is rarely
// mispredicted even when the slots miss the cache, and the path is short and
// free of calls: both let the CPU run several lookups, and their misses, at
// once. A LIVE slot holding the key is its only slot, so slots past an EMPTY
// one may be compared too.
template <uint32_t kKeySize>
[[gnu::always_inline]] inline bool flat_near_home(const FlatHashLayout& l, const void* key, uint32_t* slot,
                                                  uint32_t* meta) {
  static_assert(kKeySize == 4 || kKeySize == 8);
#if BPFEMU_DETAIL_TSAN
  (void)l, (void)key, (void)slot, (void)meta;
  return false;  // the per-slot seqlock races on purpose; the full probe locks under TSan
#else
  constexpr uint32_t kNear = 4;
  using KeyInt = std::conditional_t<kKeySize == 4, uint32_t, uint64_t>;
  const uint64_t size = l.slot_size;  // locals: l may live in memory the loads below could alias
  const uint32_t n = l.slot_count;
  const uint32_t home = flat_hash_scale(flat_hash_mix(flat_load<KeyInt>(key), l.seed), n);
  if (home + kNear > n) return false;  // would wrap: rare
  const uint8_t* s = l.base + home * size;
  const auto word = [&](uint32_t k) {
    return reinterpret_cast<const std::atomic<uint64_t>*>(s + k * size)->load(std::memory_order_relaxed);
  };
  const uint64_t w0 = word(0), w1 = word(1), w2 = word(2), w3 = word(3);
  // One fence for the four loads: what the caller reads of the slot next is at
  // least as new as the meta read here.
  std::atomic_thread_fence(std::memory_order_acquire);
  // meta and the key's first four bytes share an aligned 8-byte word: one
  // load reads both, so that much of the key is the one meta vouches for.
  const uint64_t want = uint64_t{flat_load<uint32_t>(key)} << 32 | kFlatLive;
  constexpr uint64_t compared = 0xffffffff00000000ULL | kFlatStateMask;
  // A bit per slot that matches, then the lowest: no branch until found or not.
  const uint32_t hits = uint32_t{((w0 ^ want) & compared) == 0} | uint32_t{((w1 ^ want) & compared) == 0} << 1 |
                        uint32_t{((w2 ^ want) & compared) == 0} << 2 | uint32_t{((w3 ^ want) & compared) == 0} << 3;
  if (hits == 0) return false;
  const uint32_t found = static_cast<uint32_t>(std::countr_zero(hits));
  // The found slot's word, by conditional moves (the lowest hit wins).
  uint64_t w = w3;
  w = (hits & 4) != 0 ? w2 : w;
  w = (hits & 2) != 0 ? w1 : w;
  w = (hits & 1) != 0 ? w0 : w;
  const uint32_t m = static_cast<uint32_t>(w);
  if constexpr (kKeySize == 8) {
    // The other four bytes, read after meta: they count only if meta held still.
    const uint8_t* sk = s + found * size;
    if (flat_load<uint32_t>(sk + kFlatKeyOff + 4) != flat_load<uint32_t>(static_cast<const uint8_t*>(key) + 4))
      return false;
    std::atomic_thread_fence(std::memory_order_acquire);
    if (reinterpret_cast<const std::atomic<uint32_t>*>(sk)->load(std::memory_order_relaxed) != m) return false;
  }
  *slot = home + found;
  *meta = m;
  return true;
#endif
}

}  // namespace bpfemu::detail
