// The common case of a lookup in an open-addressing HASH map
// (maptypes/hashtab_flat.cc, which describes the layout), shared by that file
// and by prog::MapRef, which inlines it into the caller the way the kernel's
// verifier inlines array lookups. Not an API: the layout may change.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "core/arch.h"

#if defined(__SSE2__)
#include <emmintrin.h>
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
inline constexpr uint32_t kFlatEmpty = 0;
inline constexpr uint32_t kFlatLive = 1;
inline constexpr uint32_t kFlatBusy = 3;
inline constexpr uint32_t kFlatKeyOff = 4;

// Slots past the last one that a table keeps EMPTY, so that the windows a
// lookup compares (up to eight slots from home) never need a wrap check: a key
// that wrapped past the end is not in them, and the full probe finds it.
inline constexpr uint32_t kFlatPadSlots = 7;

// The hash of a 4- or 8-byte key: the seeded key times an odd constant, of
// which flat_hash_scale uses the high half (Fibonacci hashing, as the kernel's
// hash_32/hash_64 do). One multiply; XXH3's setup would cost more than the
// lookup it serves.
inline uint64_t flat_hash_mix(uint64_t key, uint64_t seed) { return (key ^ seed) * 0x9e3779b97f4a7c15ULL; }

// [0, n) from the high 32 bits of a hash without a division (Lemire's
// multiply-shift).
inline uint32_t flat_hash_scale(uint64_t h, uint32_t n) { return static_cast<uint32_t>(((h >> 32) * n) >> 32); }

template <class T>
inline T flat_load(const void* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

// Where flat_near_home found a key: its slot, that slot's index, and the meta
// its key was read with.
struct FlatHit {
  uint8_t* slot;
  uint32_t index;
  uint32_t meta;
};

// Whether a 4- or 8-byte key sits LIVE in one of the four slots from its home
// (86-92% of keys in a full map, more in one less full); if so, where (*hit).
// False says nothing: the full probe decides. The four slots are compared
// without branches -- a LIVE slot holding the key is its only slot, so the
// compares select it by conditional moves, in no particular order (should a
// delete and a new insert meanwhile show the key in two slots, either
// snapshot is one the caller's seqlock check can vouch for) -- which keeps the
// one branch left (found or not) well predicted even when the slots miss the
// cache, and the path short and free of calls: both let the CPU run several
// lookups, and their misses, at once. Slots past an EMPTY one may be compared
// too.
template <uint32_t kKeySize>
[[gnu::always_inline]] inline bool flat_near_home(const FlatHashLayout& l, const void* key, FlatHit* hit) {
  static_assert(kKeySize == 4 || kKeySize == 8);
#if BPFEMU_TSAN
  (void)l, (void)key, (void)hit;
  return false;  // the per-slot seqlock races on purpose; the full probe locks under TSan
#else
  static_assert(kFlatPadSlots >= 3, "the four slots from home must stay inside the table");
  using KeyInt = std::conditional_t<kKeySize == 4, uint32_t, uint64_t>;
  const uint64_t size = l.slot_size;  // locals: l may live in memory the loads below could alias
  const uint32_t n = l.slot_count;
  const uint32_t home = flat_hash_scale(flat_hash_mix(flat_load<KeyInt>(key), l.seed), n);
  uint8_t* const s0 = l.base + home * size;
  uint8_t* const s1 = s0 + size;
  uint8_t* const s2 = s1 + size;
  uint8_t* const s3 = s2 + size;
  const auto word = [](const uint8_t* s) {
    return reinterpret_cast<const std::atomic<uint64_t>*>(s)->load(std::memory_order_relaxed);
  };
  const uint64_t w0 = word(s0), w1 = word(s1), w2 = word(s2), w3 = word(s3);
  // One fence for the four loads: what the caller reads of the slot next is at
  // least as new as the meta read here.
  std::atomic_thread_fence(std::memory_order_acquire);
  // meta and the key's first four bytes share an aligned 8-byte word: one
  // load reads both, so that much of the key is the one meta vouches for.
  const uint64_t want = uint64_t{flat_load<uint32_t>(key)} << 32 | kFlatLive;
  constexpr uint64_t compared = 0xffffffff00000000ULL | kFlatStateMask;
  const auto holds = [&](uint64_t w) { return ((w ^ want) & compared) == 0; };
  uint8_t* p = nullptr;
  uint64_t w = 0;
  uint32_t k = 0;
  p = holds(w3) ? s3 : p, w = holds(w3) ? w3 : w, k = holds(w3) ? 3 : k;
  p = holds(w2) ? s2 : p, w = holds(w2) ? w2 : w, k = holds(w2) ? 2 : k;
  p = holds(w1) ? s1 : p, w = holds(w1) ? w1 : w, k = holds(w1) ? 1 : k;
  p = holds(w0) ? s0 : p, w = holds(w0) ? w0 : w, k = holds(w0) ? 0 : k;
  if (p == nullptr) return false;
  const uint32_t m = static_cast<uint32_t>(w);
  if constexpr (kKeySize == 8) {
    // The other four bytes, read after meta: they count only if meta held still.
    if (flat_load<uint32_t>(p + kFlatKeyOff + 4) != flat_load<uint32_t>(static_cast<const uint8_t*>(key) + 4))
      return false;
    std::atomic_thread_fence(std::memory_order_acquire);
    if (reinterpret_cast<const std::atomic<uint32_t>*>(p)->load(std::memory_order_relaxed) != m) return false;
  }
  hit->slot = p;
  hit->index = home + k;
  hit->meta = m;
  return true;
#endif
}

// The same, for callers that want the slot's index.
template <uint32_t kKeySize>
[[gnu::always_inline]] inline bool flat_near_home(const FlatHashLayout& l, const void* key, uint32_t* slot,
                                                  uint32_t* meta) {
  FlatHit hit;
  if (!flat_near_home<kKeySize>(l, key, &hit)) return false;
  *slot = hit.index;
  *meta = hit.meta;
  return true;
}

// Maps whose slot is 16 bytes -- [meta][4-byte key][value of at most 8
// bytes], the common u32 -> u64 case -- have every four slots in 64
// contiguous bytes, compared with SSE2 in a few instructions without using up
// the general-purpose registers. Where a 16-byte load is atomic (CPUs
// with AVX guarantee it for aligned loads) each slot is read in one, so
// meta, key and value come as one snapshot and need no seqlock check.
struct FlatHit16 {
  uint8_t* slot;
  uint64_t word;   // meta | key << 32, as read
  uint64_t value;  // the slot's 8 value bytes, read with word
};

// What flat_scan16 learned of a key: found (*hit filled in), absent, or
// unsure -- for the full probe to settle.
enum class FlatFind { kFound, kAbsent, kUnsure };

#if defined(__SSE2__) && !BPFEMU_TSAN
inline constexpr bool kFlatSlot16 = true;

// One 16-byte load that the compiler may not split, merge or fold into
// another instruction (MOVDQA is the form whose atomicity is guaranteed).
[[gnu::always_inline]] inline __m128i flat_load16(const uint8_t* p) {
  __m128i x;
  asm volatile("movdqa %1, %0" : "=x"(x) : "m"(*reinterpret_cast<const __m128i*>(p)));
  return x;
}

// Four slots as loaded, and which of them hold the key (bit 4i: slot i).
struct FlatWindow16 {
  __m128i x[4];
  uint32_t match;
};

// Loads the four slots at s and compares them with key (its first word
// `want`: LIVE | key << 32).
[[gnu::always_inline]] inline FlatWindow16 flat_load_window16(const uint8_t* s, uint64_t want) {
  FlatWindow16 w{{flat_load16(s), flat_load16(s + 16), flat_load16(s + 32), flat_load16(s + 48)}, 0};
  constexpr uint64_t compared = 0xffffffff00000000ULL | kFlatStateMask;
  const __m128i wanted = _mm_set1_epi64x(static_cast<int64_t>(want));
  const __m128i mask = _mm_set1_epi64x(static_cast<int64_t>(compared));
  const __m128i w01 = _mm_unpacklo_epi64(w.x[0], w.x[1]), w23 = _mm_unpacklo_epi64(w.x[2], w.x[3]);
  // Equal 32-bit halves, packed to 16-bit lanes: four mask bits per slot, all
  // four set when the slot holds the key.
  const __m128i eq = _mm_packs_epi32(_mm_cmpeq_epi32(_mm_and_si128(w01, mask), wanted),
                                     _mm_cmpeq_epi32(_mm_and_si128(w23, mask), wanted));
  uint32_t bits = static_cast<uint32_t>(_mm_movemask_epi8(eq));
  bits &= bits >> 2;
  w.match = bits & 0x1111;
  return w;
}

// The hit of a window whose match is not 0: the first matching slot, with
// the snapshot it was loaded with.
[[gnu::always_inline]] inline void flat_take_hit16(uint8_t* s, const FlatWindow16& w, FlatHit16* hit) {
  // Bit 4i marks slot i, at byte 16i of the window: the bit index times four
  // is the slot's offset, in the window and in the snapshot below.
  const uint32_t at4 = static_cast<uint32_t>(__builtin_ctz(w.match)) * 4;
  // The four snapshots as loaded (unaligned stores: an aligned stack buffer
  // would cost a push and a pop); only the halves the caller uses are read.
  uint8_t snap[64];
  _mm_storeu_si128(reinterpret_cast<__m128i*>(snap), w.x[0]);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(snap + 16), w.x[1]);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(snap + 32), w.x[2]);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(snap + 48), w.x[3]);
  hit->slot = s + at4;
  hit->word = flat_load<uint64_t>(snap + at4);
  hit->value = flat_load<uint64_t>(snap + at4 + 8);
}

// Whether key is LIVE in one of the four slots at s; if so, where, with the
// snapshot.
[[gnu::always_inline]] inline bool flat_window16(uint8_t* s, uint64_t want, FlatHit16* hit) {
  const FlatWindow16 w = flat_load_window16(s, want);
  if (w.match == 0) return false;
  flat_take_hit16(s, w, hit);
  return true;
}

// Windows flat_scan16 compares before it leaves a run to the full probe.
inline constexpr uint32_t kFlatScanWindows = 16;

// Which of a window's slots (bit 4i: slot i) are in state `state`.
[[gnu::always_inline]] inline uint32_t flat_states16(const FlatWindow16& w, uint32_t state) {
  const __m128i states = _mm_set1_epi64x(kFlatStateMask);
  const __m128i wanted = _mm_set1_epi64x(state);
  const __m128i s01 = _mm_and_si128(_mm_unpacklo_epi64(w.x[0], w.x[1]), states);
  const __m128i s23 = _mm_and_si128(_mm_unpacklo_epi64(w.x[2], w.x[3]), states);
  // The state is meta's low bits, so only each slot's first lane (bit 4i) counts.
  const __m128i eq = _mm_packs_epi32(_mm_cmpeq_epi32(s01, wanted), _mm_cmpeq_epi32(s23, wanted));
  return static_cast<uint32_t>(_mm_movemask_epi8(eq)) & 0x1111;
}

// The key's run of slots from home, four at a time, as the full probe walks it
// but without a branch per slot: found; absent when a window without the key
// holds an EMPTY slot (no live key lies past an EMPTY slot on its way from
// home) and no slot so far was BUSY (a writer's, maybe rewriting this very
// key); unsure on a BUSY slot, at the table's end (the run wraps) or after
// kFlatScanWindows windows. For keys flat_near_home16 did not find: those
// further from home, and missing ones.
inline FlatFind flat_scan16(const FlatHashLayout& l, const void* key, FlatHit16* hit) {
  const uint32_t k = flat_load<uint32_t>(key);
  const uint32_t home = flat_hash_scale(flat_hash_mix(k, l.seed), l.slot_count);
  const uint64_t want = uint64_t{k} << 32 | kFlatLive;
  for (uint32_t windows = 0, i = home; windows < kFlatScanWindows; ++windows, i += 4) {
    if (i + 4 > l.slot_count) return FlatFind::kUnsure;
    uint8_t* const s = l.base + uint64_t{i} * 16;
    const FlatWindow16 w = flat_load_window16(s, want);
    if (w.match != 0) {  // a LIVE slot holding the key is its only one
      flat_take_hit16(s, w, hit);
      return FlatFind::kFound;
    }
    if (flat_states16(w, kFlatBusy) != 0) return FlatFind::kUnsure;
    if (flat_states16(w, kFlatEmpty) != 0) return FlatFind::kAbsent;
  }
  return FlatFind::kUnsure;
}

// The eight slots from home, as two windows of four: a full map has 86-92% of
// its keys in the first and most of the rest in the second, which is much
// cheaper to look at than the probe loop's branches. (Both at once, without
// the branch, made every lookup slower.) kPrefetchForWrite (for
// callers about to swap a value in, on CPUs with PREFETCHW) asks for the
// window's lines in exclusive state at once, so the swap does not wait for a
// second round of coherence traffic: 5-10% off an update of a 1M-entry map.
// kPrefetchSecond (for tables bigger than a core's cache) also asks for the
// line the second window adds, so that a key found there (one in seven, with
// random keys) waits for one miss instead of two in a row.
template <bool kPrefetchForWrite = false, bool kPrefetchSecond = false>
[[gnu::always_inline]] inline bool flat_near_home16(const FlatHashLayout& l, const void* key, FlatHit16* hit) {
  constexpr uint32_t kWindow = 4;
  static_assert(kFlatPadSlots >= 2 * kWindow - 1, "both windows must stay inside the table");
  const uint32_t k = flat_load<uint32_t>(key);
  const uint32_t n = l.slot_count;
  const uint32_t home = flat_hash_scale(flat_hash_mix(k, l.seed), n);
  uint8_t* const s = l.base + uint64_t{home} * 16;
  if constexpr (kPrefetchForWrite) {
    asm volatile("prefetchw %0" ::"m"(*s));
    asm volatile("prefetchw %0" ::"m"(*(s + 48)));  // the line of the fourth slot, if another
  }
  if constexpr (kPrefetchSecond) {
    // The eighth slot's line: the rest of the second window is in the lines above.
    if constexpr (kPrefetchForWrite) {
      asm volatile("prefetchw %0" ::"m"(*(s + 112)));
    } else {
      _mm_prefetch(reinterpret_cast<const char*>(s + 112), _MM_HINT_T0);
    }
  }
  const uint64_t want = uint64_t{k} << 32 | kFlatLive;
  if (flat_window16(s, want, hit)) [[likely]]
    return true;
  return flat_window16(s + 16 * kWindow, want, hit);
}
#else
inline constexpr bool kFlatSlot16 = false;
template <bool kPrefetchForWrite = false, bool kPrefetchSecond = false>
[[gnu::always_inline]] inline bool flat_near_home16(const FlatHashLayout&, const void*, FlatHit16*) { return false; }
inline FlatFind flat_scan16(const FlatHashLayout&, const void*, FlatHit16*) { return FlatFind::kUnsure; }
#endif

// Whether flat_near_home16 serves a map with this layout here: 16-byte slots,
// and (for callers that rely on the snapshot) atomic 16-byte loads.
inline bool flat_slot16(const FlatHashLayout& l, bool need_atomic_snapshot) {
  if (!kFlatSlot16 || l.key_size != 4 || l.slot_size != 16 || l.value_off != 8) return false;
  if (reinterpret_cast<uintptr_t>(l.base) % 64 != 0) return false;
#if defined(__x86_64__) || defined(__i386__)
  return !need_atomic_snapshot || __builtin_cpu_supports("avx");
#else
  return !need_atomic_snapshot;
#endif
}

}  // namespace bpfemu::detail
