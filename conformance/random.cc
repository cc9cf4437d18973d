// Randomized differential mode: generator, replay, C++ emission and the CLI driver.
// The shrinker lives in random_shrink.cc.
#include "conformance/random.h"

#include "core/profile.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <sstream>

namespace bpfemu::conformance::randomized {

namespace {

// ---- deterministic randomness (hand-written distributions: same on every toolchain) ----

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t mix(uint64_t seed, uint64_t type, uint64_t salt) {
  return splitmix64(splitmix64(splitmix64(seed) ^ type) ^ salt);
}

class Rng {
 public:
  explicit Rng(uint64_t seed) : g_(seed) {}
  uint64_t next() { return g_(); }
  // Uniform in [lo, hi] (rejection sampling, no modulo bias).
  uint64_t uniform(uint64_t lo, uint64_t hi) {
    const uint64_t span = hi - lo + 1;
    if (span == 0) return next();
    const uint64_t limit = UINT64_MAX - UINT64_MAX % span;
    uint64_t x;
    do x = next();
    while (x >= limit);
    return lo + x % span;
  }
  size_t pick(size_t n) { return static_cast<size_t>(uniform(0, n - 1)); }
  // True with probability permille/1000.
  bool chance(unsigned permille) { return uniform(0, 999) < permille; }
  template <typename T, size_t N>
  T one_of(const T (&a)[N]) {
    return a[pick(N)];
  }
  // Index chosen with the given weights (sum > 0).
  size_t weighted(const std::vector<unsigned>& w) {
    uint64_t total = 0;
    for (unsigned x : w) total += x;
    uint64_t r = uniform(0, total - 1);
    for (size_t i = 0; i < w.size(); ++i) {
      if (r < w[i]) return i;
      r -= w[i];
    }
    return w.size() - 1;
  }
  Bytes bytes(size_t n) {
    Bytes b(n);
    for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(next() >> 56);
    return b;
  }

 private:
  std::mt19937_64 g_;
};

uint32_t roundup_pow2(uint32_t x) {
  uint32_t p = 1;
  while (p < x && p < (1U << 31)) p <<= 1;
  return p;
}

bool is_lru(uint32_t type) { return type == BPF_MAP_TYPE_LRU_HASH || type == BPF_MAP_TYPE_LRU_PERCPU_HASH; }
bool is_percpu(uint32_t type) {
  return type == BPF_MAP_TYPE_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_ARRAY ||
         type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

// The map's real capacity (NO_COMMON_LRU rounds max_entries to a multiple of the CPUs).
uint32_t effective_max(const MapConfig& c) {
  if (is_lru(c.type) && (c.flags & BPF_F_NO_COMMON_LRU)) {
    uint32_t n = static_cast<uint32_t>(c.ncpus);
    return (c.max_entries + n - 1) / n * n;
  }
  return c.max_entries;
}

uint32_t pick_value_size(Rng& rng) {
  static const uint32_t sizes[] = {1, 2, 3, 4, 4, 5, 7, 8, 8, 8, 12, 16, 24, 33, 64, 100};
  return rng.one_of(sizes);
}

// Key space: n distinct keys of key_size bytes. The first min(4, key_size) bytes
// carry offset + i * stride (odd stride: distinct modulo 2^8k), the rest a fixed byte.
std::vector<Bytes> hash_key_space(Rng& rng, uint32_t key_size, size_t n) {
  const uint8_t tail = static_cast<uint8_t>(rng.uniform(0, 255));
  const uint32_t stride = static_cast<uint32_t>(rng.uniform(0, 3) == 0 ? 1 : (rng.uniform(0, 0xffff) | 1));
  const uint32_t offset = static_cast<uint32_t>(rng.chance(500) ? 0 : rng.uniform(0, 0xffffffff));
  std::vector<Bytes> keys;
  for (size_t i = 0; i < n; ++i) {
    uint32_t v = offset + static_cast<uint32_t>(i) * stride;
    Bytes k(key_size, tail);
    memcpy(k.data(), &v, std::min<size_t>(4, key_size));
    keys.push_back(std::move(k));
  }
  return keys;
}

void flip_bit(Bytes& b, uint32_t bit) { b[bit / 8] ^= static_cast<uint8_t>(0x80 >> (bit % 8)); }

}  // namespace

// ---- configuration ----

size_t MapConfig::sys_value_size() const {
  return is_percpu(type) ? ((value_size + 7) & ~7U) * static_cast<size_t>(ncpus) : value_size;
}

std::string MapConfig::describe() const {
  char buf[200];
  snprintf(buf, sizeof(buf), "key=%u,value=%u,max=%u,flags=0x%x,keyspace=%zu%s%s%s", key_size, value_size,
           max_entries, flags, key_space(), ordered ? "" : ",unordered", prog_ops ? ",prog" : "",
           zero_padding ? ",zero-padding" : "");
  std::string out = buf;
  if (is_bloom()) out += ",extra=" + std::to_string(map_extra) + ",values=" + std::to_string(values.size());
  return out;
}

namespace {

// QUEUE, STACK, BLOOM_FILTER: no key. The variant picks the size: tiny rings
// hit full and empty all the time, tiny filters have many false positives. A
// bloom filter has BPF_F_ZERO_SEED (the kernel's bits exactly) except in variant
// 3, where only the answers the seed does not decide are compared.
void keyless_config(MapConfig& c, Rng& rng, int variant) {
  c.key_size = 0;
  if (c.is_queue_stack()) {
    static const uint32_t hi[] = {4, 16, 64, 300};
    c.max_entries = static_cast<uint32_t>(rng.uniform(variant == 2 ? 17 : 1, hi[variant]));
    if (variant == 1) c.flags |= BPF_F_NUMA_NODE;
  } else {
    static const uint32_t lo[] = {1, 1, 64, 1}, hi[] = {8, 64, 300, 64};
    c.max_entries = static_cast<uint32_t>(rng.uniform(lo[variant], hi[variant]));
    c.map_extra = rng.uniform(0, 15);
    c.ordered = variant != 3;
    if (c.ordered) c.flags |= BPF_F_ZERO_SEED;
    // Distinct values, 2..4 per element (at least 8; one-byte values have 256).
    const size_t want = std::max<size_t>(8, c.max_entries * rng.uniform(2, 4));
    const size_t cap = c.value_size == 1 ? 256 : want;
    std::set<Bytes> seen;
    while (seen.size() < std::min(want, cap)) {
      Bytes v = rng.bytes(c.value_size);
      if (seen.insert(v).second) c.values.push_back(std::move(v));
    }
  }
  c.prog_ops = c.value_size <= ProgSide::kMaxKeylessValue && rng.chance(500);
  if (!c.prog_ops && rng.chance(100)) c.flags |= rng.chance(500) ? BPF_F_RDONLY_PROG : BPF_F_WRONLY_PROG;
}

}  // namespace

MapConfig random_config(uint32_t type, uint64_t seed, int ncpus, PaddingMode padding) {
  Rng rng(mix(seed, type, 1));
  // Seeds 1, 2, 3, 4 walk through the type's four flag mixes (variants 0..3), so a
  // few consecutive seeds cover every mix; the rest of the config is random.
  const int variant = static_cast<int>((seed + 3) % 4);
  MapConfig c;
  c.type = type;
  c.type_name = map_type_name(type) ? map_type_name(type) : std::to_string(type);
  c.ncpus = std::max(ncpus, 1);
  c.value_size = pick_value_size(rng);
  const unsigned ks_factor = static_cast<unsigned>(rng.uniform(200, 400));  // key space = 2..4 x max
  auto key_space_size = [&](uint32_t max) { return std::max<size_t>(2, static_cast<size_t>(max) * ks_factor / 100); };
  auto pick_max = [&](uint32_t small_hi, uint32_t mid_hi, uint32_t big_hi) {
    unsigned r = static_cast<unsigned>(rng.uniform(0, 99));
    if (r < 60) return static_cast<uint32_t>(rng.uniform(1, small_hi));
    if (r < 88) return static_cast<uint32_t>(rng.uniform(small_hi + 1, mid_hi));
    return static_cast<uint32_t>(rng.uniform(mid_hi + 1, big_hi));
  };

  if (c.is_keyless()) {
    keyless_config(c, rng, variant);
    return c;
  }
  // Half the configurations can also run program-side ops (4-byte keys, 4/8-byte values).
  const bool prog_capable = !c.is_lpm() && rng.chance(500);
  if (prog_capable) c.value_size = rng.chance(500) ? 4 : 8;
  // Before 6.4 a program-side update of a per-CPU map copies round_up(value_size,
  // 8) bytes from the program's stack, so a 4-byte value brings 4 bytes of
  // whatever the kernel stack held into the slot's padding: nothing can
  // reproduce those, so such configurations use 8-byte values there.
  if (prog_capable && is_percpu(type) && active_profile().prog_percpu_init_zeroes_padding) c.value_size = 8;
  if (c.is_array()) {
    c.key_size = 4;
    c.max_entries = pick_max(16, 64, 300);
    if (type == BPF_MAP_TYPE_ARRAY && (variant == 1 || variant == 3)) c.flags |= BPF_F_MMAPABLE;
    for (uint32_t i = 0; i < c.max_entries; ++i) c.keys.push_back(u32(i));
    c.ordered = true;
  } else if (c.is_lpm()) {
    static const uint32_t odd_sizes[] = {1, 2, 3, 5, 7, 9, 13};
    static const uint32_t any_sizes[] = {1, 3, 4, 6, 8, 16, 33, 64, 256};
    uint32_t data_size = variant == 0 ? 4 : variant == 1 ? 16 : variant == 2 ? rng.one_of(odd_sizes) : rng.one_of(any_sizes);
    c.key_size = 4 + data_size;
    c.flags = BPF_F_NO_PREALLOC;
    c.max_entries = pick_max(16, 64, 200);
    const uint32_t bits = data_size * 8;
    const size_t target = key_space_size(c.max_entries);
    // Prefix lengths: the full length often, 0 sometimes, byte boundaries and random ones.
    std::set<uint32_t> prefixes;
    const size_t nprefix = static_cast<size_t>(rng.uniform(2, std::min<uint32_t>(6, bits + 1)));
    if (rng.chance(600)) prefixes.insert(bits);
    if (rng.chance(250)) prefixes.insert(0);
    while (prefixes.size() < nprefix) {
      uint32_t p = rng.chance(300) ? static_cast<uint32_t>(rng.uniform(0, data_size)) * 8
                                   : static_cast<uint32_t>(rng.uniform(0, bits));
      prefixes.insert(std::min(p, bits));
    }
    c.prefixes.assign(prefixes.begin(), prefixes.end());
    // Data: a random base with every combination of a few "branch" bits flipped, so
    // the trie branches where the prefixes are; bits below a prefix stay random.
    size_t want_data = (target + c.prefixes.size() - 1) / c.prefixes.size();
    uint32_t nbranch = 1;
    while ((1U << nbranch) < want_data && nbranch < 7 && nbranch < bits) ++nbranch;
    std::set<uint32_t> branch;
    const uint32_t top = *std::max_element(c.prefixes.begin(), c.prefixes.end());
    while (branch.size() < nbranch) {
      uint32_t hi = rng.chance(800) && top > 0 ? top : bits;  // mostly inside the prefixes
      branch.insert(static_cast<uint32_t>(rng.uniform(0, hi - 1)));
    }
    const Bytes base = rng.bytes(data_size);
    std::vector<uint32_t> bpos(branch.begin(), branch.end());
    for (uint32_t m = 0; m < (1U << nbranch); ++m) {
      Bytes d = base;
      for (uint32_t j = 0; j < nbranch; ++j)
        if (m & (1U << j)) flip_bit(d, bpos[j]);
      c.lpm_data.push_back(std::move(d));
    }
    c.ordered = true;
  } else {
    static const uint32_t key_sizes[] = {4, 4, 4, 4, 8, 8, 1, 2, 3, 5, 6, 7, 12, 13, 16, 20, 33, 64};
    c.key_size = prog_capable ? 4 : rng.one_of(key_sizes);
    bool zero_seed;
    if (is_lru(type)) {
      // max_entries below and above the CPU count; with and without the common LRU.
      const bool no_common = variant == 1 || variant == 2;
      const bool small = variant == 0 || variant == 2;
      const uint32_t n = static_cast<uint32_t>(c.ncpus);
      c.max_entries = small ? static_cast<uint32_t>(rng.uniform(1, std::max<uint32_t>(n - 1, 1)))
                            : std::max(n + 1, pick_max(std::max<uint32_t>(32, n + 1), 128, 512));
      if (no_common) c.flags |= BPF_F_NO_COMMON_LRU;
      zero_seed = rng.chance(700);
    } else {
      zero_seed = variant < 2;
      if (variant % 2 == 1) c.flags |= BPF_F_NO_PREALLOC;
      c.max_entries = pick_max(16, 64, 300);
    }
    if (c.key_size == 1) c.max_entries = std::min<uint32_t>(c.max_entries, 100);
    if (zero_seed) c.flags |= BPF_F_ZERO_SEED;
    c.ordered = zero_seed;
    size_t n = key_space_size(effective_max(c));
    if (c.key_size == 1) n = std::min<size_t>(n, 256);
    c.keys = hash_key_space(rng, c.key_size, n);
  }
  c.prog_ops = prog_capable;
  if (is_percpu(type) && (c.value_size % 8) != 0) {
    // Auto: the kernel's stale padding is only reproducible when element reuse is:
    // not with BPF_F_NO_PREALLOC (memory comes back after RCU grace periods), and
    // not when a random hash seed decides the order a batch walk frees elements in.
    c.zero_padding = padding == PaddingMode::Zero ||
                     (padding == PaddingMode::Auto && c.prog_ops && ((c.flags & BPF_F_NO_PREALLOC) || !c.ordered));
  }
  // The program-side access flags change nothing on the syscall side: they must not.
  // (They would turn program-side writes into verifier rejections: not with prog ops.)
  if (!c.prog_ops && rng.chance(100)) c.flags |= rng.chance(500) ? BPF_F_RDONLY_PROG : BPF_F_WRONLY_PROG;
  return c;
}

// ---- ops ----

const char* op_kind_name(OpKind k) {
  switch (k) {
    case OpKind::Update: return "update";
    case OpKind::Lookup: return "lookup";
    case OpKind::Delete: return "delete";
    case OpKind::LookupAndDelete: return "lookup_and_delete";
    case OpKind::NextKey: return "get_next_key";
    case OpKind::Walk: return "walk";
    case OpKind::LookupBatch: return "lookup_batch";
    case OpKind::BatchWalk: return "batch_walk";
    case OpKind::UpdateBatch: return "update_batch";
    case OpKind::DeleteBatch: return "delete_batch";
    case OpKind::ProgLookup: return "prog_lookup";
    case OpKind::ProgUpdate: return "prog_update";
    case OpKind::ProgDelete: return "prog_delete";
    case OpKind::ProgForEach: return "prog_for_each";
    case OpKind::SetCpu: return "set_cpu";
    case OpKind::ProgPush: return "prog_push";
    case OpKind::ProgPop: return "prog_pop";
    case OpKind::ProgPeek: return "prog_peek";
    case OpKind::ProgForEachDelete: return "prog_for_each_delete";
  }
  return "?";
}

namespace {

class Generator {
 public:
  Generator(const MapConfig& c, uint64_t seed) : c_(c), rng_(mix(seed, c.type, 2)) {
    const bool big = c.max_entries > 64;
    // update lookup delete l&d next walk lbatch bwalk ubatch dbatch, prog: lookup update delete for_each,
    // set_cpu, prog: push pop peek for_each_delete
    weights_ = {30, 16, 12, 6, 6, big ? 1u : 3u, 3, big ? 1u : 3u, 4, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    if (c.prog_ops) {
      weights_[10] = 12;
      weights_[11] = 8;
      weights_[12] = 3;
      weights_[13] = big ? 1 : 2;
      weights_[18] = 1;  // empties much of the map: rare
    }
    const bool cpu_matters = is_lru(c.type) || is_percpu(c.type);
    if (c.ncpus > 1 && cpu_matters) weights_[14] = 3;
    if (c.is_array()) {
      weights_[2] = 3;  // delete is always EINVAL
      weights_[3] = 2;  // lookup_and_delete is ENOTSUPP
    }
    if (!c.ordered) {
      weights_[4] = 0;  // get_next_key order depends on the hash seed
      weights_[6] = 0;  // so does where a partial batch stops
    }
    if (c.is_keyless()) {
      // Pushes and pops (peeks, checks) dominate; the rest is always an error.
      const bool p = c.prog_ops;
      if (c.is_bloom()) weights_ = {30, 30, 2, 2, 1, 0, 1, 0, 1, 1, 0, 0, 0, 0, 0, p ? 8u : 0u, 0, p ? 14u : 0u, 0};
      else weights_ = {30, 12, 2, 24, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, p ? 10u : 0u, p ? 9u : 0u, p ? 4u : 0u, 0};
    }
  }

  Op next(uint32_t id) {
    Op op;
    op.id = id;
    op.kind = static_cast<OpKind>(rng_.weighted(weights_));
    if (c_.is_keyless()) return next_keyless(std::move(op));
    const uint32_t max = effective_max(c_);
    switch (op.kind) {
      case OpKind::Update: {
        op.key = maybe_null_key(10);
        op.value = rng_.chance(5) ? std::nullopt : std::optional<Bytes>(value());
        unsigned r = static_cast<unsigned>(rng_.uniform(0, 999));
        if (r < 430) op.flags = BPF_ANY;
        else if (r < 680) op.flags = BPF_NOEXIST;
        else if (r < 940) op.flags = BPF_EXIST;
        else op.flags = bad_flags({BPF_F_LOCK, BPF_F_LOCK | BPF_EXIST, 3, 8, 16, 1ULL << 32});
        break;
      }
      case OpKind::Lookup:
        op.key = maybe_null_key(10);
        op.flags = rng_.chance(950) ? 0 : bad_flags({BPF_F_LOCK, 1, 2, 3, 8, 16, 1ULL << 32});
        break;
      case OpKind::Delete:
        op.key = maybe_null_key(10);
        op.flags = rng_.chance(970) ? 0 : bad_flags({1, 2, BPF_F_LOCK, 1ULL << 32});
        break;
      case OpKind::LookupAndDelete:
        op.key = maybe_null_key(10);
        op.flags = rng_.chance(900) ? 0 : bad_flags({BPF_F_LOCK, 1, 2, 8, 1ULL << 32});
        break;
      case OpKind::NextKey:
        op.key = rng_.chance(150) ? std::nullopt : std::optional<Bytes>(key());
        break;
      case OpKind::Walk:
        break;
      case OpKind::LookupBatch: {
        uint32_t span = c_.is_hash() ? roundup_pow2(max) : c_.is_lpm() ? c_.key_size * 8 : max;
        if (!rng_.chance(400)) op.in_batch = static_cast<uint32_t>(rng_.uniform(0, span + 1));
        op.count = static_cast<uint32_t>(rng_.uniform(0, max + 2));
        op.do_delete = rng_.chance(300);
        op.elem_flags = rng_.chance(950) ? 0 : bad_flags({BPF_F_LOCK, 1, 2, 8});
        op.flags = rng_.chance(970) ? 0 : bad_flags({1, 4, 1ULL << 32});
        break;
      }
      case OpKind::BatchWalk:
        // Unordered maps: a count no bucket can exceed, so the walk is one call and
        // only the set of pairs is compared.
        op.count = c_.ordered ? static_cast<uint32_t>(rng_.uniform(1, max + 2)) : 2 * max + 2 * c_.ncpus + 2;
        op.do_delete = rng_.chance(250);
        op.elem_flags = rng_.chance(970) ? 0 : bad_flags({BPF_F_LOCK, 1, 8});
        op.flags = rng_.chance(980) ? 0 : bad_flags({1, 1ULL << 32});
        break;
      case OpKind::UpdateBatch: {
        size_t k = static_cast<size_t>(rng_.uniform(0, std::min<uint64_t>(8, 2 * max + 1)));
        for (size_t i = 0; i < k; ++i) {
          op.keys.push_back(key());
          op.values.push_back(value());
        }
        op.count = rng_.chance(850) ? static_cast<uint32_t>(k) : static_cast<uint32_t>(rng_.uniform(0, k));
        unsigned r = static_cast<unsigned>(rng_.uniform(0, 99));
        op.elem_flags = r < 80   ? uint64_t{BPF_ANY}
                        : r < 88 ? uint64_t{BPF_NOEXIST}
                        : r < 96 ? uint64_t{BPF_EXIST}
                                 : bad_flags({BPF_F_LOCK, 3, 8});
        op.flags = rng_.chance(970) ? 0 : bad_flags({1, 1ULL << 32});
        break;
      }
      case OpKind::DeleteBatch: {
        size_t k = static_cast<size_t>(rng_.uniform(0, std::min<uint64_t>(8, max + 1)));
        for (size_t i = 0; i < k; ++i) op.keys.push_back(key());
        op.count = rng_.chance(850) ? static_cast<uint32_t>(k) : static_cast<uint32_t>(rng_.uniform(0, k));
        op.elem_flags = rng_.chance(950) ? 0 : bad_flags({BPF_F_LOCK, 1, 8});
        op.flags = rng_.chance(970) ? 0 : bad_flags({1, 1ULL << 32});
        break;
      }
      case OpKind::ProgLookup:
      case OpKind::ProgDelete:
        op.key = key();
        break;
      case OpKind::ProgUpdate: {
        op.key = key();
        op.value = rng_.chance(250) ? fill(c_.value_size, static_cast<uint8_t>(rng_.uniform(0, 3)))
                                    : rng_.bytes(c_.value_size);
        unsigned r = static_cast<unsigned>(rng_.uniform(0, 999));
        op.flags = r < 450 ? uint64_t{BPF_ANY}
                   : r < 700 ? uint64_t{BPF_NOEXIST}
                   : r < 960 ? uint64_t{BPF_EXIST}
                             : bad_flags({BPF_F_LOCK, 3, 8});
        break;
      }
      case OpKind::ProgForEach:
        op.stop_at = rng_.chance(500) ? 0 : static_cast<uint32_t>(rng_.uniform(1, max + 1));
        op.flags = rng_.chance(970) ? 0 : bad_flags({1, 2});
        break;
      case OpKind::ProgForEachDelete:
        // Which elements a partial walk deletes depends on the visiting order.
        op.stop_at = !c_.ordered || rng_.chance(400) ? 0 : static_cast<uint32_t>(rng_.uniform(1, max + 1));
        op.flags = rng_.chance(970) ? 0 : bad_flags({1, 2});
        break;
      case OpKind::SetCpu:
        op.cpu = static_cast<int>(rng_.uniform(0, static_cast<uint64_t>(c_.ncpus - 1)));
        break;
      case OpKind::ProgPush:
      case OpKind::ProgPop:
      case OpKind::ProgPeek:
        break;  // key-less maps only
    }
    return op;
  }

 private:
  // QUEUE, STACK, BLOOM_FILTER: keys are NULL but for the odd EINVAL.
  Op next_keyless(Op op) {
    auto odd_key = [&]() -> std::optional<Bytes> {
      if (!rng_.chance(30)) return std::nullopt;
      return u32(static_cast<uint32_t>(rng_.next()));
    };
    switch (op.kind) {
      case OpKind::Update:
      case OpKind::ProgPush: {
        if (op.kind == OpKind::Update) op.key = odd_key();
        op.value = op.kind == OpKind::Update && rng_.chance(5) ? std::nullopt : std::optional<Bytes>(pushed_value());
        unsigned r = static_cast<unsigned>(rng_.uniform(0, 999));
        if (c_.is_bloom()) op.flags = r < 880 ? uint64_t{BPF_ANY} : bad_flags({BPF_NOEXIST, BPF_EXIST, 3, BPF_F_LOCK, 1ULL << 32});
        else op.flags = r < 550   ? uint64_t{BPF_ANY}
                        : r < 850 ? uint64_t{BPF_EXIST}
                        : r < 900 ? uint64_t{BPF_NOEXIST}
                                  : bad_flags({3, BPF_F_LOCK, BPF_F_LOCK | BPF_EXIST, 8, 1ULL << 32});
        // A push that cannot fail: later checks of a randomly seeded filter may use it.
        if (c_.is_bloom() && !op.key && op.value && op.flags == BPF_ANY) pushed_.push_back(*op.value);
        break;
      }
      case OpKind::Lookup:
        op.key = odd_key();
        op.flags = rng_.chance(950) ? 0 : bad_flags({BPF_F_LOCK, 1, 2, 1ULL << 32});
        if (c_.is_bloom() && !rng_.chance(5)) op.value = checked_value();
        break;
      case OpKind::ProgPeek:
        if (c_.is_bloom()) op.value = checked_value();
        break;
      case OpKind::Delete:
        op.key = odd_key();
        op.flags = rng_.chance(970) ? 0 : bad_flags({1, 2});
        break;
      case OpKind::LookupAndDelete:
        op.key = odd_key();
        op.flags = rng_.chance(920) ? 0 : bad_flags({BPF_F_LOCK, 1, 2, 1ULL << 32});
        break;
      case OpKind::NextKey:
        op.key = rng_.chance(800) ? std::nullopt : std::optional<Bytes>(u32(1));
        break;
      case OpKind::LookupBatch:
      case OpKind::BatchWalk:
        if (op.kind == OpKind::LookupBatch && rng_.chance(500)) op.in_batch = 0;
        op.count = static_cast<uint32_t>(rng_.uniform(op.kind == OpKind::BatchWalk ? 1 : 0, 4));
        op.do_delete = rng_.chance(300);
        op.flags = rng_.chance(950) ? 0 : bad_flags({1});
        break;
      case OpKind::UpdateBatch:
      case OpKind::DeleteBatch:
        for (uint64_t i = 0, k = rng_.uniform(0, 2); i < k; ++i) {
          op.keys.push_back(Bytes{});
          if (op.kind == OpKind::UpdateBatch) op.values.push_back(pushed_value());
        }
        op.count = static_cast<uint32_t>(op.keys.size());
        break;
      default:
        break;
    }
    return op;
  }
  // A value to push: any bytes for a queue or stack. For a bloom filter one of
  // the first half of the value space, checks of the other half showing its false
  // positives: tiny filters (variant 0, max_entries <= 8) get all of that half and
  // so many false positives; larger ones at most max_entries values, the load
  // they were sized for, rather than a saturated bit array.
  Bytes pushed_value() {
    if (c_.is_bloom()) {
      const size_t half = c_.values.size() / 2;
      const size_t n = std::max<size_t>(1, c_.max_entries <= 8 ? half : std::min<size_t>(half, c_.max_entries));
      return c_.values[rng_.pick(n)];
    }
    return rng_.chance(250) ? fill(c_.value_size, static_cast<uint8_t>(rng_.uniform(0, 3))) : rng_.bytes(c_.value_size);
  }
  // A value to check: with a random seed, only one pushed before (or any while
  // nothing was: an empty filter has no bits set whatever the seed).
  Bytes checked_value() {
    if (!c_.ordered && !pushed_.empty()) return pushed_[rng_.pick(pushed_.size())];
    return c_.values[rng_.pick(c_.values.size())];
  }

  Bytes key() {
    if (c_.is_lpm()) {
      const uint32_t bits = (c_.key_size - 4) * 8;
      uint32_t plen = c_.prefixes[rng_.pick(c_.prefixes.size())];
      unsigned r = static_cast<unsigned>(rng_.uniform(0, 999));
      if (r < 250) plen = bits;                                              // a full-length key (lookups)
      else if (r < 280) plen = bits + static_cast<uint32_t>(rng_.uniform(1, 8));  // invalid
      return lpm_key(plen, c_.lpm_data[rng_.pick(c_.lpm_data.size())]);
    }
    if (c_.is_array() && rng_.chance(40)) {
      static const uint32_t extra[] = {0, 1, 2};
      uint32_t i = rng_.chance(800) ? c_.max_entries + rng_.one_of(extra) : 0xffffffffU;
      return u32(i);
    }
    return c_.keys[rng_.pick(c_.keys.size())];
  }
  std::optional<Bytes> maybe_null_key(unsigned permille) {
    if (rng_.chance(permille)) return std::nullopt;
    return key();
  }
  Bytes value() {
    const size_t n = c_.sys_value_size();
    Bytes v = rng_.chance(250) ? fill(n, static_cast<uint8_t>(rng_.uniform(0, 3))) : rng_.bytes(n);
    if (c_.zero_padding) {
      const size_t stride = (c_.value_size + 7) & ~size_t{7};
      for (size_t i = 0; i < n; ++i)
        if (i % stride >= c_.value_size) v[i] = 0;
    }
    return v;
  }
  uint64_t bad_flags(std::initializer_list<uint64_t> choices) {
    if (rng_.chance(150)) return 1ULL << rng_.uniform(3, 63);
    return *(choices.begin() + rng_.pick(choices.size()));
  }

  const MapConfig& c_;
  Rng rng_;
  std::vector<unsigned> weights_;
  std::vector<Bytes> pushed_;  // bloom filter values pushed so far
};

}  // namespace

std::vector<Op> generate_ops(const MapConfig& cfg, uint64_t seed, size_t n) {
  Generator g(cfg, seed);
  std::vector<Op> ops;
  ops.reserve(n);
  for (size_t i = 0; i < n; ++i) ops.push_back(g.next(static_cast<uint32_t>(i)));
  return ops;
}

// ---- replay ----

namespace {
uint32_t prog_key(const Op& op) {
  uint32_t k = 0;
  if (op.key) memcpy(&k, op.key->data(), std::min<size_t>(4, op.key->size()));
  return k;
}
}  // namespace

void apply(Recorder& r, int fd, const MapConfig& cfg, const Op& op) {
  const size_t vs = cfg.sys_value_size();
  switch (op.kind) {
    case OpKind::Update: r.update(fd, op.key, op.value, op.flags); break;
    case OpKind::Lookup:
      if (cfg.is_bloom()) {
        if (op.value) r.lookup_value(fd, op.key, *op.value, op.flags);
        else r.lookup(fd, op.key, op.flags, vs, true);
      } else {
        r.lookup(fd, op.key, op.flags, vs);
      }
      break;
    case OpKind::Delete: r.remove(fd, op.key, op.flags); break;
    case OpKind::LookupAndDelete: r.lookup_and_delete(fd, op.key, op.flags, vs); break;
    case OpKind::NextKey: r.next_key(fd, op.key, cfg.key_size); break;
    case OpKind::Walk:
      if (cfg.ordered) r.walk(fd, cfg.key_size);
      else r.walk_set(fd, cfg.key_size);
      break;
    case OpKind::LookupBatch:
      r.lookup_batch(fd, op.in_batch, op.count, cfg.key_size, vs, BatchOpts{op.elem_flags, op.flags}, op.do_delete);
      break;
    case OpKind::BatchWalk:
      r.batch_walk(fd, op.count, cfg.key_size, vs, BatchOpts{op.elem_flags, op.flags}, op.do_delete, !cfg.ordered);
      break;
    case OpKind::UpdateBatch: r.update_batch(fd, op.keys, op.values, op.count, BatchOpts{op.elem_flags, op.flags}); break;
    case OpKind::DeleteBatch: r.delete_batch(fd, op.keys, op.count, BatchOpts{op.elem_flags, op.flags}); break;
    case OpKind::ProgLookup: r.prog_lookup(fd, prog_key(op)); break;
    case OpKind::ProgUpdate: r.prog_update(fd, prog_key(op), op.value.value_or(Bytes{}), op.flags); break;
    case OpKind::ProgDelete: r.prog_delete(fd, prog_key(op)); break;
    case OpKind::ProgForEach: r.prog_for_each(fd, op.stop_at, op.flags); break;
    case OpKind::ProgForEachDelete: r.prog_for_each_delete(fd, op.stop_at, op.flags); break;
    case OpKind::SetCpu: r.set_cpu(op.cpu); break;
    case OpKind::ProgPush: r.prog_push(fd, op.value.value_or(Bytes{}), op.flags); break;
    case OpKind::ProgPop: r.prog_pop(fd); break;
    case OpKind::ProgPeek: r.prog_peek(fd, op.value.value_or(Bytes{})); break;
  }
}

namespace {

int create_on(Recorder& r, const MapConfig& c) {
  return r.create(c.type, c.key_size, c.value_size, c.max_entries, c.flags, "conf", c.map_extra);
}

std::string hexnum(uint64_t v) {
  char b[40];
  if (v < 10) snprintf(b, sizeof(b), "%llu", static_cast<unsigned long long>(v));
  else if (v > 0xffffffffULL) snprintf(b, sizeof(b), "0x%llxULL", static_cast<unsigned long long>(v));
  else snprintf(b, sizeof(b), "0x%llx", static_cast<unsigned long long>(v));
  return b;
}

std::string byte_list(const uint8_t* p, size_t n) {
  std::string s = "Bytes{";
  for (size_t i = 0; i < n; ++i) {
    char b[8];
    snprintf(b, sizeof(b), "%s0x%02x", i ? ", " : "", p[i]);
    s += b;
  }
  return s + "}";
}

bool uniform_bytes(const uint8_t* p, size_t n) {
  for (size_t i = 1; i < n; ++i)
    if (p[i] != p[0]) return false;
  return true;
}

std::string fill_expr(size_t n, uint8_t b) { return "fill(" + std::to_string(n) + ", " + hexnum(b) + ")"; }

// A C++ expression (scenario.h helpers) that builds exactly these bytes.
std::string bytes_expr(const Bytes& b, bool prefer_list = false) {
  const size_t n = b.size();
  uint32_t v32 = 0;
  uint64_t v64 = 0;
  if (prefer_list && n <= 16) return byte_list(b.data(), n);
  if (n > 0 && n != 4 && n != 8 && uniform_bytes(b.data(), n)) return fill_expr(n, b[0]);
  if (n == 4) {
    memcpy(&v32, b.data(), 4);
    return "u32(" + (v32 < 100000 ? std::to_string(v32) : hexnum(v32)) + ")";
  }
  if (n == 8) {
    memcpy(&v64, b.data(), 8);
    return "u64(" + hexnum(v64) + (v64 > 0xffffffffULL || v64 < 10 ? "" : "ULL") + ")";
  }
  if (n > 4 && uniform_bytes(b.data() + 4, n - 4)) {
    memcpy(&v32, b.data(), 4);
    return "concat(u32(" + (v32 < 100000 ? std::to_string(v32) : hexnum(v32)) + "), " + fill_expr(n - 4, b[4]) + ")";
  }
  return byte_list(b.data(), n);
}

std::string key_expr(const MapConfig& c, const std::optional<Bytes>& k) {
  if (!k) return "std::nullopt";
  if (c.is_lpm() && k->size() >= 4) {
    uint32_t plen;
    memcpy(&plen, k->data(), 4);
    return "lpm_key(" + std::to_string(plen) + ", " + bytes_expr(Bytes(k->begin() + 4, k->end()), true) + ")";
  }
  return bytes_expr(*k);
}

std::string value_expr(const std::optional<Bytes>& v) { return v ? bytes_expr(*v) : "std::nullopt"; }

std::string elem_flags_expr(uint64_t f, bool update) {
  if (update) {
    switch (f) {
      case BPF_ANY: return "BPF_ANY";
      case BPF_NOEXIST: return "BPF_NOEXIST";
      case BPF_EXIST: return "BPF_EXIST";
      case BPF_F_LOCK: return "BPF_F_LOCK";
      case BPF_F_LOCK | BPF_EXIST: return "BPF_F_LOCK | BPF_EXIST";
      default: break;
    }
  } else if (f == BPF_F_LOCK) {
    return "BPF_F_LOCK";
  }
  return hexnum(f);
}

std::string map_flags_expr(uint32_t f) {
  static const struct {
    uint32_t bit;
    const char* name;
  } names[] = {{BPF_F_NO_PREALLOC, "BPF_F_NO_PREALLOC"}, {BPF_F_NO_COMMON_LRU, "BPF_F_NO_COMMON_LRU"},
               {BPF_F_NUMA_NODE, "BPF_F_NUMA_NODE"},     {BPF_F_RDONLY, "BPF_F_RDONLY"},
               {BPF_F_WRONLY, "BPF_F_WRONLY"},           {BPF_F_ZERO_SEED, "BPF_F_ZERO_SEED"},
               {BPF_F_RDONLY_PROG, "BPF_F_RDONLY_PROG"}, {BPF_F_WRONLY_PROG, "BPF_F_WRONLY_PROG"},
               {BPF_F_MMAPABLE, "BPF_F_MMAPABLE"}};
  if (f == 0) return "0";
  std::string s;
  for (const auto& n : names) {
    if (f & n.bit) {
      s += (s.empty() ? "" : " | ") + std::string(n.name);
      f &= ~n.bit;
    }
  }
  if (f) s += (s.empty() ? "" : " | ") + hexnum(f);
  return s;
}

std::string list_expr(const std::vector<Bytes>& v, const MapConfig* keys_of) {
  std::string s = "{";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + (keys_of ? key_expr(*keys_of, v[i]) : bytes_expr(v[i]));
  return s + "}";
}

std::string batch_opts_expr(const Op& op, bool update) {
  if (op.elem_flags == 0 && op.flags == 0) return "BatchOpts{}";
  return "BatchOpts{" + elem_flags_expr(op.elem_flags, update) + ", " + hexnum(op.flags) + "}";
}

}  // namespace

std::string emit_create(const MapConfig& c) {
  const char* tn = map_type_name(c.type);
  return "int fd = r.create(" + (tn ? "BPF_MAP_TYPE_" + std::string(tn) : std::to_string(c.type)) + ", " +
         std::to_string(c.key_size) + ", " + std::to_string(c.value_size) + ", " + std::to_string(c.max_entries) +
         ", " + map_flags_expr(c.flags) + (c.map_extra ? ", \"conf\", " + std::to_string(c.map_extra) : "") + ");";
}

std::string emit_op(const MapConfig& c, const Op& op) {
  const std::string vs = std::to_string(c.sys_value_size());
  const std::string ks = std::to_string(c.key_size);
  switch (op.kind) {
    case OpKind::Update:
      return "r.update(fd, " + key_expr(c, op.key) + ", " + value_expr(op.value) + ", " +
             elem_flags_expr(op.flags, true) + ");";
    case OpKind::Lookup:
      if (c.is_bloom() && op.value)
        return "r.lookup_value(fd, " + key_expr(c, op.key) + ", " + bytes_expr(*op.value) + ", " +
               elem_flags_expr(op.flags, false) + ");";
      return "r.lookup(fd, " + key_expr(c, op.key) + ", " + elem_flags_expr(op.flags, false) + ", " + vs +
             (c.is_bloom() ? ", true" : "") + ");";
    case OpKind::Delete:
      return "r.remove(fd, " + key_expr(c, op.key) + (op.flags ? ", " + hexnum(op.flags) : "") + ");";
    case OpKind::LookupAndDelete:
      return "r.lookup_and_delete(fd, " + key_expr(c, op.key) + ", " + elem_flags_expr(op.flags, false) + ", " + vs +
             ");";
    case OpKind::NextKey: return "r.next_key(fd, " + key_expr(c, op.key) + ", " + ks + ");";
    case OpKind::Walk: return std::string(c.ordered ? "r.walk(fd, " : "r.walk_set(fd, ") + ks + ");";
    case OpKind::LookupBatch:
      return "r.lookup_batch(fd, " + (op.in_batch ? std::to_string(*op.in_batch) + "u" : "std::nullopt") + ", " +
             std::to_string(op.count) + ", " + ks + ", " + vs + ", " + batch_opts_expr(op, false) + ", " +
             (op.do_delete ? "true" : "false") + ");";
    case OpKind::BatchWalk:
      return "r.batch_walk(fd, " + std::to_string(op.count) + ", " + ks + ", " + vs + ", " + batch_opts_expr(op, false) +
             ", " + (op.do_delete ? "true" : "false") + ", " + (c.ordered ? "false" : "true") + ");";
    case OpKind::UpdateBatch:
      return "r.update_batch(fd, " + list_expr(op.keys, &c) + ", " + list_expr(op.values, nullptr) + ", " +
             std::to_string(op.count) + ", " + batch_opts_expr(op, true) + ");";
    case OpKind::DeleteBatch:
      return "r.delete_batch(fd, " + list_expr(op.keys, &c) + ", " + std::to_string(op.count) + ", " +
             batch_opts_expr(op, false) + ");";
    case OpKind::ProgLookup: return "r.prog_lookup(fd, " + hexnum(prog_key(op)) + ");";
    case OpKind::ProgUpdate:
      return "r.prog_update(fd, " + hexnum(prog_key(op)) + ", " + bytes_expr(op.value.value_or(Bytes{})) + ", " +
             elem_flags_expr(op.flags, true) + ");";
    case OpKind::ProgDelete: return "r.prog_delete(fd, " + hexnum(prog_key(op)) + ");";
    case OpKind::ProgForEach:
      return "r.prog_for_each(fd, " + std::to_string(op.stop_at) + ", " + hexnum(op.flags) + ");";
    case OpKind::ProgForEachDelete:
      return "r.prog_for_each_delete(fd, " + std::to_string(op.stop_at) + ", " + hexnum(op.flags) + ");";
    case OpKind::SetCpu: return "r.set_cpu(" + std::to_string(op.cpu) + ");";
    case OpKind::ProgPush:
      return "r.prog_push(fd, " + bytes_expr(op.value.value_or(Bytes{})) + ", " + elem_flags_expr(op.flags, true) + ");";
    case OpKind::ProgPop: return "r.prog_pop(fd);";
    case OpKind::ProgPeek: return "r.prog_peek(fd" + (op.value ? ", " + bytes_expr(*op.value) : std::string()) + ");";
  }
  return "";
}

std::string emit_scenario(const MapConfig& cfg, const std::vector<Op>& ops, const std::string& name,
                          const std::vector<std::string>& comment) {
  std::string s;
  for (const auto& line : comment) s += "// " + line + "\n";
  s += "SCENARIO(\"" + cfg.type_name + "\", \"random_repro\", \"" + name + "\") {\n";
  s += "  " + emit_create(cfg) + "\n";
  for (const Op& op : ops) s += "  " + emit_op(cfg, op) + "\n";
  if (ops.empty()) s += "  (void)fd;\n";
  s += "}\n";
  return s;
}

std::string outcome_name(const Step& s) {
  if (s.ret >= 0) return "ok";
  if (s.err == 524) return "ENOTSUPP";
  const char* n = strerrorname_np(s.err);
  return n ? n : std::to_string(s.err);
}

LockstepResult run_lockstep(Backend& a, Backend& b, const MapConfig& cfg, const std::vector<Op>& ops,
                            bool count_outcomes) {
  LockstepResult res;
  Recorder ra(a), rb(b);
  const char* kind = "create";
  auto compare = [&](const char* what) {
    res.steps += std::max(ra.steps().size(), rb.steps().size());
    if (count_outcomes && !ra.steps().empty()) ++res.outcomes[std::string(kind) + " " + outcome_name(ra.steps().back())];
    std::string d = diff_steps(ra.steps(), rb.steps());
    ra.clear_steps();
    rb.clear_steps();
    if (d.empty()) return false;
    res.differs = true;
    res.detail = std::string(what) + ": " + d;
    return true;
  };
  const int fa = create_on(ra, cfg);
  const int fb = create_on(rb, cfg);
  if (compare("create")) return res;
  for (size_t i = 0; i < ops.size(); ++i) {
    apply(ra, fa, cfg, ops[i]);
    apply(rb, fb, cfg, ops[i]);
    res.ops_run = i + 1;
    kind = op_kind_name(ops[i].kind);
    char what[80];
    snprintf(what, sizeof(what), "op #%u (%s)", ops[i].id, op_kind_name(ops[i].kind));
    if (compare(what)) return res;
  }
  return res;
}

size_t run_single(Backend& b, const MapConfig& cfg, const std::vector<Op>& ops) {
  Recorder r(b);
  const int fd = create_on(r, cfg);
  size_t steps = r.steps().size();
  r.clear_steps();
  for (const Op& op : ops) {
    apply(r, fd, cfg, op);
    steps += r.steps().size();
    r.clear_steps();
  }
  return steps;
}

// ---- the CLI driver ----

const std::vector<std::string>& supported_types() {
  static const std::vector<std::string> types = {"HASH",     "PERCPU_HASH", "ARRAY",          "PERCPU_ARRAY",
                                                 "LPM_TRIE", "LRU_HASH",    "LRU_PERCPU_HASH", "QUEUE",
                                                 "STACK",    "BLOOM_FILTER"};
  return types;
}

bool parse_seeds(const std::string& s, std::vector<uint64_t>* out) {
  std::stringstream ss(s);
  std::string item;
  std::vector<uint64_t> seeds;
  auto num = [](const std::string& t, uint64_t* v) {
    if (t.empty() || t.find_first_not_of("0123456789") != std::string::npos || t.size() > 19) return false;
    *v = std::stoull(t);
    return true;
  };
  while (std::getline(ss, item, ',')) {
    size_t dots = item.find("..");
    uint64_t a, b;
    if (dots == std::string::npos) {
      if (!num(item, &a)) return false;
      seeds.push_back(a);
    } else {
      if (!num(item.substr(0, dots), &a) || !num(item.substr(dots + 2), &b) || b < a || b - a > 100000) return false;
      for (uint64_t x = a; x <= b; ++x) seeds.push_back(x);
    }
  }
  if (seeds.empty()) return false;
  *out = std::move(seeds);
  return true;
}

RandomRunResult run_random(const RandomRunOptions& o) {
  RandomRunResult result;
  Backend* any = o.emu ? o.emu : o.kernel;
  if (any == nullptr) return result;
  const int ncpus = o.kernel ? o.kernel->num_possible_cpus() : o.emu->num_possible_cpus();
  const bool emu_cpus_differ = o.emu && o.kernel && o.emu->num_possible_cpus() != ncpus;
  for (const std::string& tname : supported_types()) {
    if (!o.types.empty() && o.types.count(tname) == 0) continue;
    const uint32_t type = map_type_from_name(tname.c_str());
    for (uint64_t seed : o.seeds) {
      const auto t0 = std::chrono::steady_clock::now();
      MapConfig cfg = random_config(type, seed, ncpus, o.padding);
      std::vector<Op> ops = generate_ops(cfg, seed, o.n_ops);
      Row row{tname, "random",
              "seed=" + std::to_string(seed) + " n=" + std::to_string(o.n_ops) + " config=" + cfg.describe(),
              o.kernel_label, "not_run", ""};
      if (o.emu && o.kernel) {
        LockstepResult res = run_lockstep(*o.emu, *o.kernel, cfg, ops, o.verbose);
        if (o.verbose) {
          std::string line;
          for (const auto& [k, n] : res.outcomes) line += " " + k + "=" + std::to_string(n);
          fprintf(stderr, "random %s seed=%llu outcomes:%s\n", tname.c_str(), static_cast<unsigned long long>(seed),
                  line.c_str());
        }
        if (!res.differs) {
          row.status = "matches";
          row.detail = std::to_string(ops.size()) + " ops, " + std::to_string(res.steps) + " steps equal";
          if (emu_cpus_differ) {
            row.status = "differs";
            row.detail += " (but the emulator has " + std::to_string(o.emu->num_possible_cpus()) + " possible CPUs, the kernel " +
                          std::to_string(ncpus) + ")";
          }
        } else {
          row.status = "differs";
          const auto ts = std::chrono::steady_clock::now();
          std::vector<Op> prefix(ops.begin(), ops.begin() + static_cast<long>(res.ops_run));
          ShrinkStats st;
          FailsFn fails = [&](const std::vector<Op>& cand) -> std::optional<size_t> {
            LockstepResult r = run_lockstep(*o.emu, *o.kernel, cfg, cand);
            if (!r.differs) return std::nullopt;
            return r.ops_run;
          };
          std::vector<Op> min = shrink(prefix, fails, variants_for(cfg), o.shrink, &st, global_variants_for(cfg));
          LockstepResult again = run_lockstep(*o.emu, *o.kernel, cfg, min);
          const double secs =
              std::chrono::duration<double>(std::chrono::steady_clock::now() - ts).count();
          char stats[200];
          snprintf(stats, sizeof(stats), "shrunk from %zu to %zu ops in %zu runs, %.1f s%s%s", prefix.size(), min.size(),
                   st.runs, secs, st.budget_exhausted ? " (budget exhausted: not minimal)" : "",
                   st.reproduced ? "" : " (did not reproduce on replay: flaky?)");
          row.detail = res.detail + " [minimal reproducer: " + std::to_string(min.size()) + " ops]";
          std::string types_arg = tname;
          std::vector<std::string> comment = {
              "bpfemu-conformance --random " + std::to_string(o.n_ops) + " --seed " + std::to_string(seed) +
                  " --types " + tname +
                  (o.padding == PaddingMode::Zero     ? " --percpu-padding zero"
                   : o.padding == PaddingMode::Random ? " --percpu-padding random"
                                                      : "") +
                  " (" + cfg.describe() + ")",
              "first difference at " + res.detail,
              std::string(stats),
              "on the reproducer: " + (again.differs ? again.detail : std::string("no difference (flaky?)")),
          };
          std::string name = "seed" + std::to_string(seed) + "_n" + std::to_string(o.n_ops);
          result.reproducers.push_back(emit_scenario(cfg, min, name, comment));
        }
      } else {
        size_t steps = run_single(*any, cfg, ops);
        row.detail = (o.not_run_reason.empty() ? std::string("only one backend ran") : o.not_run_reason) + " (" +
                     std::to_string(ops.size()) + " ops, " + std::to_string(steps) + " steps on " +
                     std::string(any->name()) + ")";
      }
      if (o.verbose) {
        const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        fprintf(stderr, "random %-16s seed=%llu n=%zu %s: %s (%.1f s)\n", tname.c_str(),
                static_cast<unsigned long long>(seed), o.n_ops, cfg.describe().c_str(), row.status.c_str(), secs);
      }
      result.rows.push_back(std::move(row));
    }
  }
  return result;
}

}  // namespace bpfemu::conformance::randomized
