// HASH maps without BPF_F_ZERO_SEED: open addressing with keys and values
// inline, so a lookup touches one slot (usually one cache line) instead of a
// bucket and then an element.
//
// Why a second layout is allowed: with a random seed the kernel's element order
// (which hashtab.cc reproduces for BPF_F_ZERO_SEED) is unpredictable, so only
// the set of keys, the values, the counts and the error codes are observable,
// and those are the same here.
//
// Region: slot_count slots of slot_size bytes, each
//   [u32 meta][key][pad to 8][value: round_up(value_size, 8)]
// meta = state (low 2 bits) | version (the rest); every change of a slot bumps
// the version. Linear probing from the hash scaled to [0, slot_count). At most
// two thirds of the slots are live in a table of up to kCacheResidentBytes
// (slot_count = 1.5 max_entries + 1), where a full map still has 92% of its
// keys within four slots of home and 97% within eight; four fifths in a bigger
// one (1.25 max_entries + 1: 86% and 93%), whose lookups wait on the cache more
// than on the probe, so that a smaller table pays (on a 2 MiB-L2 machine, 100k
// entries: 9.9 -> 9.3 ns per syscall-style lookup). Memory stays within 1.5x
// of the kernel's preallocated elements whatever the value size. (Those
// shares are for random keys; the multiplicative hash spreads runs of
// consecutive keys more evenly still.) detail::kFlatPadSlots slots past the
// last stay EMPTY, so the windows near home need no wrap check; the stripe
// locks (16 bytes per kStripeSlots slots) follow them.
//
// Invariants:
//  - Slots are grouped in stripes of kStripeSlots, one process-shared lock each
//    (taken over from a dead holder). A writer holds the stripes of every slot
//    its probe path reads or writes -- except the rewrite of a value whose key
//    a lock-free lookup found, which holds that slot's stripe and checks the
//    slot again (keys are unique), or, in 16-byte slots, swaps the value in
//    with one compare-and-swap of the whole slot and takes no lock at all
//    (swaps_values). Readers take no lock: they check a slot's meta before and
//    after reading it (a seqlock per slot), and wait out BUSY; 16-byte slots
//    are read whole in one atomic load where the CPU has one. Most lookups
//    only compare the slots near home, without branches (detail/flat_hash.h,
//    which prog::MapRef inlines).
//  - A live key is in exactly one slot, and no slot between its home and it is
//    EMPTY. A LIVE slot's key bytes never change while it is LIVE.
//  - Deleting leaves a TOMB. A TOMB followed by an EMPTY slot is turned EMPTY
//    (and so on backwards), which keeps the invariant above without moving any
//    live slot, so value pointers handed to programs stay put.
//  - count is the number of LIVE slots plus inserts in flight (an insert
//    reserves its place first, so concurrent inserts never overshoot
//    max_entries). A writer killed at the wrong instant may leak one unit.
//
// Known difference (README.md, "Known differences from the kernel"): an update of an existing key
// rewrites its value in place. The kernel links a new element instead, so a
// program pointer taken before the update still shows the old value there.
// Use BPF_F_ZERO_SEED (the chained layout) where that matters.
#include <algorithm>
#include <random>
#include <vector>
#if defined(__x86_64__)
#include <cpuid.h>
#endif

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "core/arch.h"
#include "core/uaccess.h"
#include "maptypes/flat_hash.h"
#include "core/cpu.h"
#include "core/faults.h"
#include "maptypes/hashtab.h"

namespace bpfemu::maptypes {
namespace {

enum SlotState : uint32_t { kEmpty = detail::kFlatEmpty, kLive = detail::kFlatLive, kTomb = 2, kBusy = detail::kFlatBusy };
constexpr uint32_t kStateMask = detail::kFlatStateMask;
constexpr uint32_t kVersionStep = 4;
constexpr uint32_t kKeyOff = detail::kFlatKeyOff;
// Slots per lock: small enough that two writers rarely meet, big enough that
// the locks of a 1M-entry map (2M slots) fit in 256 KiB.
constexpr uint32_t kStripeSlots = 128;
// Tables up to this size get the sparser slot count (slot_count()).
constexpr uint64_t kCacheResidentBytes = uint64_t{1} << 20;
// A writer that had to give up this many times takes every stripe in order.
constexpr uint32_t kAttemptsBeforeAllStripes = 64;
constexpr uint32_t kRestart = UINT32_MAX - 1;  // find_locked: could not lock in order

// One stripe's lock and the journal of the slot its holder is writing, so the
// next holder can finish the job if that writer died.
struct Stripe {
  emu::SpinLock lock;
  std::atomic<uint32_t> busy_slot;    // index + 1, 0 = none
  std::atomic<uint32_t> busy_prev;    // the slot's meta before
  std::atomic<uint32_t> busy_insert;  // 1: a new key (its count already taken)
};
static_assert(sizeof(Stripe) == 16);

// Lives in the map header's family area.
struct FlatState {
  uint64_t slot_size;
  uint64_t stripes_off;
  uint64_t seed;
  uint32_t slot_count;
  uint32_t stripe_count;
  uint32_t value_off;
  std::atomic<uint32_t> count;
};

// Maps whose slot is one 16-byte word -- [meta][4-byte key][value of at most
// 8 bytes] -- have the value of a present key rewritten by one
// compare-and-swap of the whole slot, without the stripe lock: the swap
// succeeds only if meta (state and version) and key are what the probe saw,
// so it cannot land in a slot that was deleted or reused meanwhile, and
// readers see the old value or the new one whole. Everything else that reads
// such a value reads its 8 bytes in one load, and a delete that returns the
// value swaps the tombstone in, so that a rewrite racing it either comes
// before (and is returned) or fails. Not under TSan, which cannot see the
// swap; there every rewrite locks.
#if defined(__x86_64__)
// CPUID bits, read directly: clang (14) knows neither "cmpxchg16b" nor
// "prfchw" as __builtin_cpu_supports strings.
bool cpu_has_cmpxchg16b() {
  unsigned a, b, c, d;
  return __get_cpuid(1, &a, &b, &c, &d) && (c & bit_CMPXCHG16B);
}
bool cpu_has_prfchw() {
  unsigned a, b, c, d;
  return __get_cpuid(0x80000001, &a, &b, &c, &d) && (c & bit_PRFCHW);
}
#endif

bool swaps_values(const detail::FlatHashLayout& l) {
#if defined(__x86_64__)
  return detail::flat_slot16(l, false) && cpu_has_cmpxchg16b();
#else
  (void)l;
  return false;
#endif
}

#if defined(__x86_64__)
// lock cmpxchg16b: if *p == {*lo, *hi}, stores {new_lo, new_hi}; otherwise
// loads *p into {*lo, *hi}.
inline bool cas16(void* p, uint64_t* lo, uint64_t* hi, uint64_t new_lo, uint64_t new_hi) {
  bool ok;
  asm volatile("lock cmpxchg16b %1"
               : "=@ccz"(ok), "+m"(*static_cast<unsigned __int128*>(p)), "+a"(*lo), "+d"(*hi)
               : "b"(new_lo), "c"(new_hi)
               : "memory");
  return ok;
}
#endif

// Copies a slot's value of n bytes out. Values of at most 8 bytes come from
// one 8-byte load (the slot holds round_up(n, 8) bytes), so a swap racing the
// copy cannot tear them.
inline void read_value(void* dst, const uint8_t* src, uint32_t n) {
  if (n <= 8) {
    const uint64_t w = reinterpret_cast<const std::atomic<uint64_t>*>(src)->load(std::memory_order_relaxed);
    memcpy(dst, &w, n);
  } else {
    memcpy(dst, src, n);
  }
}

class Flat {
 public:
  // Copies the geometry out of the shared state once: the probe loop's acquire
  // loads would otherwise make the compiler reload it on every step.
  explicit Flat(Map& m)
      : map_(m),
        st_(m.state<FlatState>()),
        base_(m.data()),
        slot_size_(st_.slot_size),
        seed_(st_.seed),
        n_(st_.slot_count),
        value_off_(st_.value_off),
        ks_(m.attr().key_size) {}

  FlatState& state() const { return st_; }
  uint32_t slots() const { return n_; }
  uint32_t value_size() const { return map_.attr().value_size; }
  uint32_t stripes() const { return st_.stripe_count; }
  static uint32_t stripe_of(uint32_t slot) { return slot / kStripeSlots; }
  Stripe& stripe(uint32_t s) const { return reinterpret_cast<Stripe*>(base_ + st_.stripes_off)[s]; }
  uint32_t home(const void* key) const {
    switch (ks_) {
      case 4: return home_as<4>(key);
      case 8: return home_as<8>(key);
      default: return home_as<0>(key);
    }
  }
  uint8_t* slot(uint32_t i) const { return base_ + i * slot_size_; }
  std::atomic<uint32_t>& meta(uint32_t i) const { return *reinterpret_cast<std::atomic<uint32_t>*>(slot(i)); }
  uint32_t state_of(uint32_t i) const { return meta(i).load(std::memory_order_relaxed) & kStateMask; }
  uint8_t* key_of(uint32_t i) const { return slot(i) + kKeyOff; }
  uint8_t* value_of(uint32_t i) const { return slot(i) + value_off_; }
  uint32_t next(uint32_t i) const { return i + 1 == n_ ? 0 : i + 1; }
  uint32_t prev(uint32_t i) const { return i == 0 ? n_ - 1 : i - 1; }

  bool key_is(uint32_t i, const void* key) const {
    const uint8_t* k = key_of(i);
    switch (ks_) {  // common sizes as integer compares instead of a memcmp call
      case 4: return load<uint32_t>(k) == load<uint32_t>(key);
      case 8: return load<uint64_t>(k) == load<uint64_t>(key);
      default: return memcmp(k, key, ks_) == 0;
    }
  }

  // Lock-free: the slot holding key (UINT32_MAX if none) and its meta as read.
  // A caller that reads more of the slot than the key checks afterwards that
  // meta(slot) still equals *seen (a seqlock per slot), and probes again if not.
  // probe_as<4> and <8> are for maps with that key size (0: any size).
  uint32_t probe(const void* key, uint32_t* seen) const {
    switch (ks_) {
      case 4: return probe_as<4>(key, seen);
      case 8: return probe_as<8>(key, seen);
      default: return probe_as<0>(key, seen);
    }
  }
  template <uint32_t kKeySize>
  [[gnu::always_inline]] uint32_t probe_as(const void* key, uint32_t* seen) const;
  // near_home<> for this map's key size.
  bool near(const void* key, uint32_t* slot, uint32_t* seen) const {
    switch (ks_) {
      case 4: return near_home<4>(key, slot, seen);
      case 8: return near_home<8>(key, slot, seen);
      default: return near_home<0>(key, slot, seen);
    }
  }
  // The common case on its own (see detail::flat_near_home): key sits LIVE
  // near its home. Wide keys (memcmp) only check the home slot. False says
  // nothing: probe() decides.
  template <uint32_t kKeySize>
  [[gnu::always_inline]] bool near_home(const void* key, uint32_t* slot, uint32_t* seen) const {
    if constexpr (kKeySize != 0) {
      return detail::flat_near_home<kKeySize>(layout(), key, slot, seen);
    } else {
#if BPFEMU_TSAN
      return false;  // see probe_as
#else
      const uint32_t i = home(key);
      const uint32_t m = meta(i).load(std::memory_order_acquire);
      if ((m & kStateMask) != kLive || memcmp(key_of(i), key, ks_) != 0 || !unchanged(i, m)) return false;
      *slot = i;
      *seen = m;
      return true;
#endif
    }
  }
  detail::FlatHashLayout layout() const { return {base_, slot_size_, seed_, n_, value_off_, ks_}; }
  bool unchanged(uint32_t i, uint32_t seen) const {
    std::atomic_thread_fence(std::memory_order_acquire);
    return meta(i).load(std::memory_order_relaxed) == seen;
  }
  // A reader's wait on a BUSY slot. Out of line, so that the probe loop never
  // takes this object's address (which would keep it out of registers).
  [[gnu::noinline]] static void wait_for_writer(Map& m, uint32_t slot, uint32_t spins);

  // --- writer side ---
  // Takes stripe s (blocking); a lock taken over from a dead process is repaired.
  void lock_stripe(uint32_t s) const {
    if (stripe(s).lock.lock_recovering()) repair_stripe(s);
  }
  // Marks slot i BUSY, runs write(), then makes it LIVE; the caller holds its
  // stripe. `insert`: a new key, whose count the caller has taken.
  template <class W>
  void write_slot(uint32_t i, bool insert, W&& write) const {
    Stripe& s = stripe(stripe_of(i));
    const uint32_t m = meta(i).load(std::memory_order_relaxed);
    s.busy_prev.store(m, std::memory_order_relaxed);
    s.busy_insert.store(insert ? 1 : 0, std::memory_order_relaxed);
    s.busy_slot.store(i + 1, std::memory_order_release);
    // Release stores keep the journal ahead of BUSY and LIVE ahead of clearing
    // it, even for a writer killed in between.
    meta(i).store(busy_meta(m), std::memory_order_release);
    std::atomic_thread_fence(std::memory_order_release);
    write();
    meta(i).store(live_meta(m), std::memory_order_release);
    s.busy_slot.store(0, std::memory_order_release);
  }
  void set_state(uint32_t i, uint32_t state) const {
    const uint32_t m = meta(i).load(std::memory_order_relaxed);
    meta(i).store(with_state(m, state), std::memory_order_release);
  }
  // The meta after a change of state: the version moves on.
  static uint32_t with_state(uint32_t m, uint32_t state) { return ((m & ~kStateMask) + kVersionStep) | state; }

 private:
  friend class StripeLocks;
  static uint32_t busy_meta(uint32_t m) { return ((m & ~kStateMask) + kVersionStep) | kBusy; }
  static uint32_t live_meta(uint32_t m) { return ((m & ~kStateMask) + 2 * kVersionStep) | kLive; }
  template <class T>
  static T load(const void* p) { return detail::flat_load<T>(p); }
  uint32_t scale(uint64_t h) const { return detail::flat_hash_scale(h, n_); }
  uint64_t mix(uint64_t k) const { return detail::flat_hash_mix(k, seed_); }
  // The home slot of a key of kKeySize bytes (0: ks_ bytes). 4- and 8-byte
  // keys (the common ones) get detail::flat_hash_mix, other sizes XXH3.
  template <uint32_t kKeySize>
  uint32_t home_as(const void* key) const {
    if constexpr (kKeySize == 4) return scale(mix(load<uint32_t>(key)));
    if constexpr (kKeySize == 8) return scale(mix(load<uint64_t>(key)));
    return scale(wide_hash(key));
  }
  // Out of line, so the short-key path above stays small enough to inline.
  [[gnu::noinline]] uint64_t wide_hash(const void* key) const {
    return XXH3_64bits_withSeed(key, ks_, seed_);
  }
  void repair_stripe(uint32_t s) const;

  Map& map_;
  FlatState& st_;
  uint8_t* base_;
  uint64_t slot_size_;
  uint64_t seed_;
  uint32_t n_;  // slot count
  uint32_t value_off_;
  uint32_t ks_;
};

// The stripes one writer holds: a run of consecutive stripes (wrapping past
// the last one) that grows forward as its probe advances, and backward when a
// delete clears tombstones. Deadlock-free by construction: a writer blocks on
// a lock only while every lock it holds has a lower index, in the order taken;
// anything else is a try_lock, and a failed one makes the caller give up
// (tombstone cleanup just stops) or start over.
class StripeLocks {
 public:
  // Holds stripe `first`, or every stripe when `all`.
  StripeLocks(const Flat& f, uint32_t first, bool all) : f_(f), first_(all ? 0 : first) {
    const uint32_t n = all ? f.stripes() : 1;
    for (uint32_t s = first_; count_ < n; ++s, ++count_) f_.lock_stripe(s);
  }
  ~StripeLocks() {
    for (uint32_t k = 0; k < count_; ++k) f_.stripe((first_ + k) % f_.stripes()).lock.unlock();
  }
  StripeLocks(const StripeLocks&) = delete;
  StripeLocks& operator=(const StripeLocks&) = delete;

  bool holds(uint32_t s) const { return (s + f_.stripes() - first_) % f_.stripes() < count_; }
  // Takes the stripe after the run. False: it would have to wait out of order.
  bool extend_forward() {
    if (count_ == f_.stripes()) return true;
    const uint32_t s = first_ + count_;
    if (in_order_ && s < f_.stripes()) {
      f_.lock_stripe(s);
    } else if (!f_.stripe(s % f_.stripes()).lock.try_lock()) {
      return false;
    } else {
      in_order_ = false;
    }
    ++count_;
    return true;
  }
  // Takes the stripe before the run, if free right now.
  bool extend_backward() {
    if (count_ == f_.stripes()) return true;
    const uint32_t s = (first_ + f_.stripes() - 1) % f_.stripes();
    if (!f_.stripe(s).lock.try_lock()) return false;
    first_ = s;
    ++count_;
    in_order_ = false;
    return true;
  }

 private:
  const Flat& f_;
  uint32_t first_;
  uint32_t count_ = 0;
  bool in_order_ = true;
};

// Under `locks` (grown as the probe advances): the slot holding key, or
// UINT32_MAX with *free_slot = the first TOMB on the path or the EMPTY that
// ends it; kRestart when a stripe could not be taken in order.
uint32_t find_locked(const Flat& f, StripeLocks& locks, const void* key, uint32_t* free_slot) {
  *free_slot = UINT32_MAX;
  uint32_t i = f.home(key);
  for (uint32_t n = 0; n < f.slots(); ++n, i = f.next(i)) {
    if (!locks.holds(Flat::stripe_of(i)) && !locks.extend_forward()) return kRestart;
    const uint32_t state = f.state_of(i);
    if (state == kEmpty) {
      if (*free_slot == UINT32_MAX) *free_slot = i;
      return UINT32_MAX;
    }
    if (state == kLive && f.key_is(i, key)) return i;
    if (state == kTomb && *free_slot == UINT32_MAX) *free_slot = i;
  }
  return UINT32_MAX;
}

// Runs op(locks, slot, free_slot) with the stripes of key's probe path held
// (slot, free_slot as find_locked gives them), starting over when the stripes
// could not all be taken in order.
template <class Op>
auto with_path_locked(const Flat& f, const void* key, Op&& op) {
  const uint32_t first = Flat::stripe_of(f.home(key));
  for (uint32_t attempt = 0;; ++attempt) {
    StripeLocks locks(f, first, attempt >= kAttemptsBeforeAllStripes);
    uint32_t free_slot;
    const uint32_t i = find_locked(f, locks, key, &free_slot);
    if (i != kRestart) return op(locks, i, free_slot);
  }
}

// Marks slot i (its stripe held) TOMB and copies out the value it held at
// that instant: where lock-free swaps may rewrite the value (swaps_values),
// the tombstone is swapped in with the value it goes with.
void tomb_taking_value(const Flat& f, uint32_t i, void* out, uint32_t value_size) {
#if defined(__x86_64__)
  if (swaps_values(f.layout())) {
    uint8_t* s = f.slot(i);
    uint64_t lo = reinterpret_cast<const std::atomic<uint64_t>*>(s)->load(std::memory_order_relaxed);
    uint64_t hi = reinterpret_cast<const std::atomic<uint64_t>*>(s + 8)->load(std::memory_order_relaxed);
    const auto tomb = [](uint64_t w) {
      return (w & ~uint64_t{UINT32_MAX}) | Flat::with_state(static_cast<uint32_t>(w), kTomb);
    };
    while (!cas16(s, &lo, &hi, tomb(lo), hi)) {
    }
    memcpy(out, &hi, value_size);
    return;
  }
#endif
  read_value(out, f.value_of(i), value_size);
  f.set_state(i, kTomb);
}

// Deletes the key in slot i (its stripe held), copying its value to value_out
// unless that is null.
void remove_slot(const Flat& f, StripeLocks& locks, uint32_t i, void* value_out = nullptr) {
  if (value_out != nullptr) {
    tomb_taking_value(f, i, value_out, f.value_size());
  } else {
    f.set_state(i, kTomb);
  }
  f.state().count.fetch_sub(1, std::memory_order_relaxed);
  // A tombstone right before an EMPTY slot ends no probe path that leads
  // anywhere: clear it, and the tombstones it was shielding behind it. Both
  // slots' stripes must be held (an insert could be filling the EMPTY one); a
  // stripe that is busy just ends the cleanup early, which is always safe.
  for (uint32_t j = i, n = 0; n < f.slots(); ++n) {
    if (f.state_of(j) != kTomb) return;
    const uint32_t after = f.next(j);
    if (!locks.holds(Flat::stripe_of(after)) && !locks.extend_forward()) return;
    if (f.state_of(after) != kEmpty) return;
    f.set_state(j, kEmpty);
    j = f.prev(j);
    if (!locks.holds(Flat::stripe_of(j)) && !locks.extend_backward()) return;
  }
}

void Flat::repair_stripe(uint32_t s) const {
  // The holder died. A BUSY slot it left was either a new key half written
  // (drop it, and its place in count) or a value being rewritten in place
  // (keep the key; a value wider than one store may be torn, as with an ARRAY).
  Stripe& st = stripe(s);
  const uint32_t busy = st.busy_slot.load(std::memory_order_relaxed);
  if (busy != 0 && busy <= n_) {
    const uint32_t i = busy - 1;
    const uint32_t prev = st.busy_prev.load(std::memory_order_relaxed);
    const bool insert = st.busy_insert.load(std::memory_order_relaxed) != 0;
    const uint32_t m = meta(i).load(std::memory_order_relaxed);
    if ((m & kStateMask) == kBusy) set_state(i, insert ? kTomb : kLive);
    if (insert && m != live_meta(prev)) st_.count.fetch_sub(1, std::memory_order_relaxed);
  }
  st.busy_slot.store(0, std::memory_order_relaxed);
}

void Flat::wait_for_writer(Map& m, uint32_t slot, uint32_t spins) {
  // Being written, or its writer died: now and then take the stripe's lock,
  // which repairs the slot in that case.
  if (spins % (1U << 16) == 0) {
    Flat f(m);
    f.lock_stripe(stripe_of(slot));
    f.stripe(stripe_of(slot)).lock.unlock();
  }
  cpu_relax();
}

template <uint32_t kKeySize>
inline uint32_t Flat::probe_as(const void* key, uint32_t* seen) const {
#if BPFEMU_TSAN
  // The per-slot seqlock races on purpose; under TSan, probe with the path's
  // stripes held (the callers' unchanged() check then always holds).
  return with_path_locked(*this, key, [&](StripeLocks&, uint32_t at, uint32_t) {
    if (at != UINT32_MAX) *seen = meta(at).load(std::memory_order_relaxed);
    return at;
  });
#else
  // Locals, so that the loop runs in registers: a short lookup lets the CPU
  // overlap the cache misses of consecutive lookups.
  uint8_t* const base = base_;
  const uint64_t size = slot_size_;
  const uint32_t n_slots = n_;
  uint32_t i = home_as<kKeySize>(key);
  for (uint32_t n = 0, spins = 0; n < n_slots;) {
    const uint8_t* s = base + i * size;
    const uint32_t m = reinterpret_cast<const std::atomic<uint32_t>*>(s)->load(std::memory_order_acquire);
    const uint32_t state = m & kStateMask;
    if (state == kLive) {
      bool match;
      if constexpr (kKeySize == 4) {
        match = load<uint32_t>(s + kKeyOff) == load<uint32_t>(key);
      } else if constexpr (kKeySize == 8) {
        match = load<uint64_t>(s + kKeyOff) == load<uint64_t>(key);
      } else {
        match = memcmp(s + kKeyOff, key, ks_) == 0;
      }
      // A slot reused under us could show a torn key, so a match counts only
      // if meta held still while the key was read. A 4-byte key sits 4-aligned
      // and is read in one load, so it cannot tear; the slot may still be
      // reused right after (callers that copy the value check `seen`), and a
      // program's pointer may then show the new key's value being written --
      // as in the kernel, whose preallocated elements are reused at once.
      if (match && (kKeySize == 4 || unchanged(i, m))) {
        *seen = m;
        return i;
      }
      if (match) continue;  // read this slot again
    } else if (state == kEmpty) {
      return UINT32_MAX;
    } else if (state == kBusy) {
      wait_for_writer(map_, i, ++spins);
      continue;
    }
    i = i + 1 == n_slots ? 0 : i + 1;
    ++n;
  }
  return UINT32_MAX;
#endif
}

// Copies n value bytes; the common size without a memcpy call.
inline void copy_value_bytes(void* dst, const void* src, uint32_t n) {
  if (n == 8) {
    memcpy(dst, src, 8);
  } else {
    memcpy(dst, src, n);
  }
}

// Copies slot i's key when the slot is LIVE (a consistent snapshot); false
// when it is not.
bool copy_live_key(const Flat& f, Map& map, uint32_t i, void* out) {
#if BPFEMU_TSAN
  StripeLocks locks(f, Flat::stripe_of(i), false);
  if (f.state_of(i) != kLive) return false;
  memcpy(out, f.key_of(i), map.attr().key_size);
  return true;
#else
  for (uint32_t spins = 0;;) {
    const uint32_t m = f.meta(i).load(std::memory_order_acquire);
    if ((m & kStateMask) == kBusy) {
      Flat::wait_for_writer(map, i, ++spins);
      continue;
    }
    if ((m & kStateMask) != kLive) return false;
    memcpy(out, f.key_of(i), map.attr().key_size);
    if (f.unchanged(i, m)) return true;
  }
#endif
}

class FlatHtabOps : public HtabOps {
 public:
  FlatHtabOps() : HtabOps(false, false) {}

  const MapOps& variant_for(const MapAttr&) const override { return *this; }
  // Values with lock words are never laid out here (HtabOps::variant_for).
  const uint8_t* value_containing(const Map&, const void*) const override { return nullptr; }

  void bind_view(Map& map) const override {
    const detail::FlatHashLayout& l = map.view_cache<detail::FlatHashLayout>() = Flat(map).layout();
    const bool value8 = map.attr().value_size == 8;
    emu::FastOps f{copy_value<0>, update_any};
    if (l.key_size == 4) f.lookup = value8 ? fast_lookup<4, true> : fast_lookup<4, false>;
    if (l.key_size == 8) f.lookup = value8 ? fast_lookup<8, true> : fast_lookup<8, false>;
    // Past a core's cache the second window's line is prefetched too.
    const bool big = uint64_t{l.slot_count} * l.slot_size > kCacheResidentBytes;
    if (detail::flat_slot16(l, true)) f.lookup = lookup16_for(value8, big);
#if defined(__x86_64__)
    if (swaps_values(l)) {
      f.update = cpu_has_prfchw() ? update_in_place_for<true>(value8, big)
                                                  : update_in_place_for<false>(value8, big);
    }
#endif
    if (value8) f = user_variants(f, l.key_size, big);
    map.set_fast(f);
  }

  int64_t data_size(const MapAttr& attr, const CreateEnv& env) const override {
    if (!kernel_allocation_fits(attr, env)) return -ENOMEM;
    return static_cast<int64_t>(stripes_off(attr) + uint64_t{stripe_count(attr)} * sizeof(Stripe));
  }

  int init(Map& map) const override {
    auto& st = map.state<FlatState>();
    st.slot_count = slot_count(map.attr());
    st.slot_size = slot_size(map.attr());
    st.stripes_off = stripes_off(map.attr());
    st.stripe_count = stripe_count(map.attr());
    st.value_off = emu::round_up8(kKeyOff + map.attr().key_size);
    st.seed = (uint64_t{std::random_device{}()} << 32) | std::random_device{}();
    return 0;
  }

  // The view's fast lookup (bind_view) is this map's most specialised one.
  int lookup(Map& map, const void* key, void* value, uint64_t /*flags*/) const override {
    return map.fast().lookup(map, key, value);
  }

  int update(Map& map, const void* key, const void* value, uint64_t flags) const override {
    if ((flags & ~uint64_t{BPF_F_LOCK}) > BPF_EXIST) return -EINVAL;
    if ((flags & BPF_F_LOCK) && !has_spin_lock(map)) return -EINVAL;
    Flat f(map);
    const uint32_t vs = map.attr().value_size;
    if (int r; update_near_home(f, key, value, flags, &r)) return r;
    return with_path_locked(f, key, [&](StripeLocks&, uint32_t i, uint32_t free_slot) {
      const bool exists = i != UINT32_MAX;
      if (int err = check_flags(exists ? 1 : 0, flags); err != 0) return err;
      if (exists) {
        f.write_slot(i, false, [&] { memcpy(f.value_of(i), value, vs); });
        return 0;
      }
      // A place in count first (E2BIG when full), then the element "allocation".
      auto& count = f.state().count;
      if (count.fetch_add(1, std::memory_order_relaxed) >= map.attr().max_entries) {
        count.fetch_sub(1, std::memory_order_relaxed);
        return -E2BIG;
      }
      int err = emu::fault_check(FaultSite::kElemAlloc);
      if (err == 0 && free_slot == UINT32_MAX) err = -ENOMEM;  // cannot happen: a fifth of the slots are never live
      if (err != 0) {
        count.fetch_sub(1, std::memory_order_relaxed);
        return err;
      }
      f.write_slot(free_slot, true, [&] {
        memcpy(f.key_of(free_slot), key, map.attr().key_size);
        memcpy(f.value_of(free_slot), value, vs);
      });
      return 0;
    });
  }

  // The common case of an update: key found near its home without a lock,
  // then only that slot's stripe locked and the slot checked again. Keys are
  // unique, so a LIVE slot holding key is the one to rewrite, whatever lies on
  // its probe path. False: not found there, the full path decides.
  static bool update_near_home(const Flat& f, const void* key, const void* value, uint64_t flags, int* result) {
    uint32_t i, seen;
    if (!f.near(key, &i, &seen)) return false;
    const uint32_t s = Flat::stripe_of(i);
    f.lock_stripe(s);
    const bool still = f.state_of(i) == kLive && f.key_is(i, key);
    if (still) {
      *result = (flags & ~uint64_t{BPF_F_LOCK}) == BPF_NOEXIST ? -EEXIST : 0;  // check_flags for a key that exists
      if (*result == 0) f.write_slot(i, false, [&] { copy_value_bytes(f.value_of(i), value, f.value_size()); });
    }
    f.stripe(s).lock.unlock();
    return still;
  }

  int delete_elem(Map& map, const void* key) const override { return remove_key(map, key, nullptr); }

  int lookup_and_delete(Map& map, const void* key, void* value, uint64_t /*flags*/) const override {
    return remove_key(map, key, value);
  }

  int get_next_key(Map& map, const void* key, void* next_key) const override {
    // Slot order; an absent key starts the walk over, as in the kernel.
    Flat f(map);
    uint32_t start = 0;
    if (key != nullptr) {
      uint32_t seen;
      const uint32_t at = f.probe(key, &seen);
      if (at != UINT32_MAX) start = at + 1;
    }
    for (uint32_t i = start; i < f.slots(); ++i)
      if (copy_live_key(f, map, i, next_key)) return 0;
    return -ENOENT;
  }

  void* prog_lookup(Map& map, const void* key) const override {
    switch (map.attr().key_size) {
      case 4: return value_pointer<4>(map, key);
      case 8: return value_pointer<8>(map, key);
      default: return value_pointer<0>(map, key);
    }
  }
  // A direct call of the lookup specialised for the map's key and slot size
  // (the view cache holds its geometry, see bind_view).
  void gen_lookup(Map& map, prog::InlineLookup* out) const override {
    *out = prog::InlineLookup{};
    out->map = &map;
    const auto& l = map.view_cache<detail::FlatHashLayout>();
    switch (l.key_size) {
      case 4: out->call = detail::flat_slot16(l, false) ? gen_lookup4<true> : gen_lookup4<false>; break;
      case 8: out->call = [](void* m, const void* key) { return value_pointer<8>(*static_cast<Map*>(m), key); }; break;
      default: out->call = [](void* m, const void* key) { return value_pointer<0>(*static_cast<Map*>(m), key); }; break;
    }
  }
  uint32_t live_count(const Map& map) const override { return map.state<FlatState>().count.load(); }

  // A program's update is the syscall's here (no per-CPU slots), so it takes
  // the same fast op.
  long prog_update(Map& map, const void* key, const void* value, uint64_t flags) const override {
    if ((flags & BPF_F_LOCK) == 0) return map.fast().update(map, key, value, flags);
    return update(map, key, value, flags);
  }

  long prog_delete(Map& map, const void* key) const override { return delete_elem(map, key); }

  long for_each(Map& map, ForEachCallback cb, void* ctx, uint64_t flags) const override {
    if (flags != 0) return -EINVAL;
    Flat f(map);
    long visited = 0;
    for (uint32_t i = 0; i < f.slots(); ++i) {
      if ((f.meta(i).load(std::memory_order_acquire) & kStateMask) != kLive) continue;
      ++visited;
      if (cb(map, f.key_of(i), f.value_of(i), ctx) != 0) break;
    }
    return visited;
  }

  // Like the chained table's batch with one slot per bucket: the u32 token is
  // the next slot to look at, and a batch never runs out of room mid-bucket.
  int lookup_batch(Map& map, const BatchArgs& args, bool do_delete) const override {
    if (int err = check_batch_flags(map, args.elem_flags, args.flags); err != 0) return err;
    const uint32_t max_count = *args.count;
    if (max_count == 0) return 0;
    *args.count = 0;
    uint32_t pos = 0;
    if (args.in_batch != nullptr && emu::copy_from_user(&pos, args.in_batch, sizeof(pos)) != 0) return -EFAULT;
    Flat f(map);
    if (pos >= f.slots()) return -ENOENT;
    const uint32_t ks = map.attr().key_size;
    const uint32_t vs = map.attr().value_size;
    uint32_t total = 0;
    bool full = false;
    std::vector<uint8_t> keys, values;
    while (pos < f.slots() && !full) {
      // One stripe at a time: gathered under its lock, copied out after.
      keys.clear();
      values.clear();
      uint32_t n = 0;
      {
        StripeLocks locks(f, Flat::stripe_of(pos), false);
        const uint32_t end = std::min(f.slots(), (Flat::stripe_of(pos) + 1) * kStripeSlots);
        for (; pos < end; ++pos) {
          if (f.state_of(pos) != kLive) continue;
          if (total + n == max_count) {
            full = true;
            break;
          }
          keys.resize(uint64_t{n + 1} * ks);
          values.resize(uint64_t{n + 1} * vs);
          memcpy(keys.data() + uint64_t{n} * ks, f.key_of(pos), ks);
          uint8_t* value_out = values.data() + uint64_t{n} * vs;
          if (do_delete) {
            remove_slot(f, locks, pos, value_out);
          } else {
            read_value(value_out, f.value_of(pos), vs);
          }
          ++n;
        }
      }
      if (n != 0 &&
          (emu::copy_to_user(static_cast<uint8_t*>(args.keys) + uint64_t{total} * ks, keys.data(), keys.size()) != 0 ||
           emu::copy_to_user(static_cast<uint8_t*>(args.values) + uint64_t{total} * vs, values.data(),
                             values.size()) != 0))
        return -EFAULT;
      total += n;
    }
    if (emu::copy_to_user(args.out_batch, &pos, sizeof(pos)) != 0) return -EFAULT;
    *args.count = total;
    return pos >= f.slots() ? -ENOENT : 0;
  }

 private:
  // --- fast ops (bind_view): the syscall layer's common case ---
  static const FlatHtabOps& of(const Map& map) { return static_cast<const FlatHtabOps&>(map.ops()); }
  static int update_any(Map& map, const void* key, const void* value, uint64_t flags) {
    return of(map).FlatHtabOps::update(map, key, value, flags);
  }
  // The ops bind_view picked for 8-byte values, as ops that take the caller's
  // pointers (user_fast_lookup8 / user_fast_update8): the same code with the
  // copies folded in. Any other op stays as it is (the syscall layer copies).
  static emu::FastOps user_variants(emu::FastOps f, uint32_t key_size, bool big) {
    using emu::FastOps;
    auto lookup_as = [&](auto impl, auto user) {
      if (f.lookup == impl) {
        f.lookup = user;
        f.user |= FastOps::kLookupTakesUser;
      }
    };
    if (key_size == 4) {
      lookup_as(fast_lookup<4, true>, user_fast_lookup8<uint32_t, fast_lookup<4, true>>);
      lookup_as(fast_lookup16<true, false>, user_fast_lookup8<uint32_t, fast_lookup16<true, false>>);
      lookup_as(fast_lookup16<true, true>, user_fast_lookup8<uint32_t, fast_lookup16<true, true>>);
    } else if (key_size == 8) {
      lookup_as(fast_lookup<8, true>, user_fast_lookup8<uint64_t, fast_lookup<8, true>>);
    }
#if defined(__x86_64__)
    auto update_as = [&](auto impl, auto user) {
      if (f.update == impl) {
        f.update = user;
        f.user |= FastOps::kUpdateTakesUser;
      }
    };
    if (key_size == 4) {
      update_as(fast_update_in_place<true, true, false>, user_fast_update8<uint32_t, fast_update_in_place<true, true, false>>);
      update_as(fast_update_in_place<true, true, true>, user_fast_update8<uint32_t, fast_update_in_place<true, true, true>>);
      update_as(fast_update_in_place<true, false, false>, user_fast_update8<uint32_t, fast_update_in_place<true, false, false>>);
      update_as(fast_update_in_place<true, false, true>, user_fast_update8<uint32_t, fast_update_in_place<true, false, true>>);
    }
#endif
    (void)big;
    return f;
  }

  // A lookup with the geometry from the view (no header reads): the four
  // slots from home, one value copy, the seqlock check.
  template <uint32_t kKeySize, bool kValue8>
  [[gnu::always_inline]] static int fast_lookup(Map& map, const void* key, void* value) {
    const auto& l = map.view_cache<detail::FlatHashLayout>();
    detail::FlatHit hit;
    if (detail::flat_near_home<kKeySize>(l, key, &hit)) [[likely]] {
      const uint8_t* s = hit.slot;
      read_value(value, s + l.value_off, kValue8 ? 8 : map.attr().value_size);
      std::atomic_thread_fence(std::memory_order_acquire);
      if (reinterpret_cast<const std::atomic<uint32_t>*>(s)->load(std::memory_order_relaxed) == hit.meta) return 0;
    }
    return copy_value_probing<kKeySize>(map, key, value);
  }

  using LookupFn = int (*)(Map&, const void*, void*);
  using UpdateFn = int (*)(Map&, const void*, const void*, uint64_t);
  // The fast_lookup16 / fast_update_in_place instance for flags known at run time.
  static LookupFn lookup16_for(bool value8, bool big) {
    if (value8) return big ? fast_lookup16<true, true> : fast_lookup16<true, false>;
    return big ? fast_lookup16<false, true> : fast_lookup16<false, false>;
  }
#if defined(__x86_64__)
  template <bool kPrefetchForWrite>
  static UpdateFn update_in_place_for(bool value8, bool big) {
    if (value8) {
      return big ? fast_update_in_place<true, kPrefetchForWrite, true>
                 : fast_update_in_place<true, kPrefetchForWrite, false>;
    }
    return big ? fast_update_in_place<false, kPrefetchForWrite, true>
               : fast_update_in_place<false, kPrefetchForWrite, false>;
  }
#endif

  // 16-byte slots where a 16-byte load is atomic: the value comes with the
  // snapshot that found the key. kBig: prefetch the second window's line.
  template <bool kValue8, bool kBig>
  [[gnu::always_inline]] static int fast_lookup16(Map& map, const void* key, void* value) {
    detail::FlatHit16 hit;
    if (detail::flat_near_home16<false, kBig>(map.view_cache<detail::FlatHashLayout>(), key, &hit)) [[likely]] {
      memcpy(value, &hit.value, kValue8 ? 8 : map.attr().value_size);
      return 0;
    }
    return lookup_scanning16<kValue8>(map, key, value);
  }
  // Keys past the eight slots from home, and missing ones: the windowed scan,
  // then (when it is unsure) the full probe.
  template <bool kValue8>
  [[gnu::noinline]] static int lookup_scanning16(Map& map, const void* key, void* value) {
    detail::FlatHit16 hit;
    switch (detail::flat_scan16(map.view_cache<detail::FlatHashLayout>(), key, &hit)) {
      case detail::FlatFind::kFound:
        memcpy(value, &hit.value, kValue8 ? 8 : map.attr().value_size);
        return 0;
      case detail::FlatFind::kAbsent:
        return -ENOENT;
      case detail::FlatFind::kUnsure:
        break;
    }
    return copy_value_probing<4>(map, key, value);
  }

#if defined(__x86_64__)
  // Rewrites of a present key in maps whose slots swaps_values() (see there).
  template <bool kValue8, bool kPrefetchForWrite, bool kBig>
  [[gnu::always_inline]] static int fast_update_in_place(Map& map, const void* key, const void* value, uint64_t flags) {
    if (flags > BPF_EXIST) return -EINVAL;  // BPF_F_LOCK never comes here
    detail::FlatHit16 hit;
    if (detail::flat_near_home16<kPrefetchForWrite, kBig>(map.view_cache<detail::FlatHashLayout>(), key, &hit))
        [[likely]] {
      if (flags == BPF_NOEXIST) return -EEXIST;
      if (swap_value<kValue8>(map, hit, value)) return 0;
    }
    return update_probing<kValue8>(map, key, value, flags);
  }
  // The key further from home, or absent: found by the windowed scan (or,
  // when that is unsure, the lock-free probe) it is swapped in place all the
  // same (a LIVE slot holding the key is its only one); absent keys, and
  // whatever else is not that simple, take the locked path.
  template <bool kValue8>
  [[gnu::noinline]] static int update_probing(Map& map, const void* key, const void* value, uint64_t flags) {
    if (flags != BPF_NOEXIST) {
      detail::FlatHit16 hit;
      const detail::FlatFind found = detail::flat_scan16(map.view_cache<detail::FlatHashLayout>(), key, &hit);
      if (found == detail::FlatFind::kFound && swap_value<kValue8>(map, hit, value)) return 0;
      if (found == detail::FlatFind::kAbsent) return update_any(map, key, value, flags);  // an insert
      Flat f(map);
      uint32_t seen;
      const uint32_t i = f.probe_as<4>(key, &seen);
      if (i != UINT32_MAX) {
        uint8_t* slot = f.slot(i);
        const detail::FlatHit16 hit{slot, uint64_t{detail::flat_load<uint32_t>(key)} << 32 | seen,
                                    reinterpret_cast<const std::atomic<uint64_t>*>(slot + 8)->load(std::memory_order_relaxed)};
        if (swap_value<kValue8>(map, hit, value)) return 0;
      }
    }
    return update_any(map, key, value, flags);
  }
  // Swaps the value into the slot of `hit` if the slot still holds what hit
  // saw (the swap checks meta, key and old value at once, so a torn snapshot
  // just fails); a few tries while only the value moves under us (another
  // writer of the same key).
  template <bool kValue8>
  static bool swap_value(const Map& map, const detail::FlatHit16& hit, const void* value) {
    uint64_t lo = hit.word, hi = hit.value;
    for (int tries = 0; tries < 4 && lo == hit.word; ++tries) {
      uint64_t fresh = hi;  // bytes past value_size keep what they held
      memcpy(&fresh, value, kValue8 ? 8 : map.attr().value_size);
      if (cas16(hit.slot, &lo, &hi, hit.word, fresh)) return true;
    }
    return false;
  }
#endif

  // Keys of other sizes than 4 and 8 (kKeySize 0: memcmp, home slot only);
  // the copy of a value of any other size than 8 bytes out of line.
  template <uint32_t kKeySize>
  [[gnu::noinline]] static int copy_value(Map& map, const void* key, void* value) {
    Flat f(map);
    uint32_t i, seen;
    if (!f.near_home<kKeySize>(key, &i, &seen)) return copy_value_probing<kKeySize>(map, key, value);
    if (map.attr().value_size != 8) return copy_value_at<kKeySize>(map, key, value, i, seen);
    read_value(value, f.value_of(i), 8);
    if (f.unchanged(i, seen)) return 0;
    return copy_value_probing<kKeySize>(map, key, value);
  }
  // Copies slot i's value (seen as in probe()), or probes again if it changed.
  template <uint32_t kKeySize>
  [[gnu::noinline]] static int copy_value_at(Map& map, const void* key, void* value, uint32_t i, uint32_t seen) {
    Flat f(map);
    read_value(value, f.value_of(i), map.attr().value_size);
    if (f.unchanged(i, seen)) return 0;
    return copy_value_probing<kKeySize>(map, key, value);
  }
  template <uint32_t kKeySize>
  [[gnu::noinline]] static int copy_value_probing(Map& map, const void* key, void* value) {
    Flat f(map);
    const uint32_t vs = map.attr().value_size;
#if BPFEMU_TSAN
    return with_path_locked(f, key, [&](StripeLocks&, uint32_t at, uint32_t) {  // see probe_as
      if (at == UINT32_MAX) return -ENOENT;
      memcpy(value, f.value_of(at), vs);
      return 0;
    });
#endif
    for (;;) {
      uint32_t seen;
      const uint32_t i = f.probe_as<kKeySize>(key, &seen);
      if (i == UINT32_MAX) return -ENOENT;
      read_value(value, f.value_of(i), vs);
      if (f.unchanged(i, seen)) return 0;
    }
  }
  template <bool kSlot16>
  static void* gen_lookup4(void* m, const void* key) {
    Map& map = *static_cast<Map*>(m);
    const auto& l = map.view_cache<detail::FlatHashLayout>();
    if constexpr (kSlot16) {
      detail::FlatHit16 hit;
      if (detail::flat_near_home16(l, key, &hit)) return hit.slot + 8;
    } else {
      detail::FlatHit hit;
      if (detail::flat_near_home<4>(l, key, &hit)) return hit.slot + l.value_off;
    }
    return value_pointer_probing<4>(map, key);
  }
  template <uint32_t kKeySize>
  static void* value_pointer(Map& map, const void* key) {
    Flat f(map);
    uint32_t i, seen;
    if (f.near_home<kKeySize>(key, &i, &seen)) return f.value_of(i);
    return value_pointer_probing<kKeySize>(map, key);
  }
  template <uint32_t kKeySize>
  [[gnu::noinline]] static void* value_pointer_probing(Map& map, const void* key) {
    Flat f(map);
    uint32_t seen;
    const uint32_t i = f.probe_as<kKeySize>(key, &seen);
    return i != UINT32_MAX ? f.value_of(i) : nullptr;
  }

  // A third of the slots spare while the table is small enough to stay in a
  // core's cache, where the probe's length is what costs; a fifth beyond that,
  // where what costs is the table's footprint (see the top of this file).
  static uint32_t slot_count(const MapAttr& attr) {
    // alloc_check bounds max_entries by 2^28, so this fits in 32 bits.
    const uint32_t n = attr.max_entries;
    const uint32_t sparse = n + n / 2 + 1;
    if (uint64_t{sparse} * slot_size(attr) <= kCacheResidentBytes) return sparse;
    return n + n / 4 + 1;
  }
  static uint64_t slot_size(const MapAttr& attr) {
    return emu::round_up8(kKeyOff + attr.key_size) + uint64_t{emu::round_up8(attr.value_size)};
  }
  static uint32_t stripe_count(const MapAttr& attr) { return (slot_count(attr) + kStripeSlots - 1) / kStripeSlots; }
  // After the slots and the EMPTY padding (detail::kFlatPadSlots).
  static uint64_t stripes_off(const MapAttr& attr) {
    return (uint64_t{slot_count(attr) + detail::kFlatPadSlots} * slot_size(attr) + 63) & ~uint64_t{63};
  }

  int remove_key(Map& map, const void* key, void* value_out) const {
    Flat f(map);
    return with_path_locked(f, key, [&](StripeLocks& locks, uint32_t i, uint32_t) {
      if (i == UINT32_MAX) return -ENOENT;
      remove_slot(f, locks, i, value_out);
      return 0;
    });
  }
};

const FlatHtabOps kFlat;

}  // namespace

const MapOps& flat_htab_ops() { return kFlat; }

}  // namespace bpfemu::maptypes
