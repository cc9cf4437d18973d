// BLOOM_FILTER, after kernel/bpf/bloom_filter.c.
//
// Region layout: the bit array from offset 0 as the kernel's unsigned long
// bitset[] (bit h in 64-bit word h / 64, bit h % 64). The hashes are the
// kernel's (jhash of the value with seed + i for hash function i, masked to the
// array's power-of-two size), so with BPF_F_ZERO_SEED every value sets and
// tests the same bits as on the kernel and false positives coincide.
//
// Pushes set bits with atomic ORs and peeks read them without a lock, as the
// kernel's set_bit/test_bit do: bits only ever go from 0 to 1.
#include <atomic>
#include <climits>
#include <random>

#include "core/profile.h"
#include "maptypes/families.h"
#include "maptypes/jhash.h"

namespace bpfemu::maptypes {
namespace {

constexpr uint32_t kCreateFlags = BPF_F_NUMA_NODE | BPF_F_ZERO_SEED | BPF_F_RDONLY | BPF_F_WRONLY |
                                  BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG;
// KMALLOC_MAX_SIZE with 4 KiB pages and MAX_PAGE_ORDER 10.
constexpr uint64_t kKmallocMax = uint64_t{1} << 22;
// map_extra's low 4 bits are the number of hash functions; 0 means this many.
constexpr uint32_t kDefaultHashFuncs = 5;

struct BloomState {
  uint32_t bitset_mask;
  uint32_t hash_seed;
  uint32_t nr_hash_funcs;
};

uint32_t hash_funcs(const MapAttr& attr) {
  return attr.map_extra != 0 ? static_cast<uint32_t>(attr.map_extra) : kDefaultHashFuncs;
}

// The kernel sizes the array to max_entries * k / ln 2 bits (7/5 for 1/ln 2,
// computed in u32), rounded up to a power of two of at least 64; past 2^31
// bits, or on overflow, it takes all 2^32.
uint32_t bitset_mask(const MapAttr& attr) {
  uint32_t bits = 0;
  if (__builtin_mul_overflow(attr.max_entries, hash_funcs(attr), &bits) ||
      __builtin_mul_overflow(bits / 5, uint32_t{7}, &bits) || bits > (uint32_t{1} << 31))
    return UINT32_MAX;
  if (bits <= 64) return 63;
  uint32_t p = 1;
  while (p < bits) p <<= 1;
  return p - 1;
}

// Bytes of the array: whole 64-bit words.
uint64_t bitset_bytes(uint32_t mask) { return ((uint64_t{mask} + 1 + 63) / 64) * 8; }

class BloomFilterOps : public MapOps {
 public:
  int alloc_check(MapAttr& attr, const CreateEnv&) const override {
    // The kernel's map_alloc_check only bounds the value size; map_alloc checks
    // the rest (after the generic create checks, with the same outcome here).
    if (attr.value_size > kKmallocMax) return -E2BIG;
    const uint32_t prog_rw = BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG;
    if (attr.key_size != 0 || attr.value_size == 0 || attr.max_entries == 0 || (attr.map_flags & ~kCreateFlags) ||
        (attr.map_flags & prog_rw) == prog_rw || (attr.map_extra & ~uint64_t{0xF}))
      return -EINVAL;
    return 0;
  }

  int64_t data_size(const MapAttr& attr, const CreateEnv&) const override {
    const uint64_t bytes = bitset_bytes(bitset_mask(attr));
    if (!emu::fits_in_memory(bytes)) return -ENOMEM;
    return static_cast<int64_t>(bytes);
  }

  int init(Map& map) const override {
    BloomState& st = map.state<BloomState>();
    st.nr_hash_funcs = hash_funcs(map.attr());
    st.bitset_mask = bitset_mask(map.attr());
    st.hash_seed = (map.attr().map_flags & BPF_F_ZERO_SEED) ? 0 : static_cast<uint32_t>(std::random_device{}());
    return 0;
  }

  // bloom_map_mem_usage: the structure plus the array rounded to whole longs.
  uint64_t mem_usage(const Map& map) const override {
    const uint64_t bytes = (uint64_t{map.state<BloomState>().bitset_mask} + 1 + 7) / 8;
    return struct_sizes(map.profile()).bpf_bloom_filter + ((bytes + 7) & ~uint64_t{7});
  }

  // A syscall lookup checks the value it is given (copied in) and copies
  // nothing out; an update adds a value.
  bool lookup_takes_value() const override { return true; }
  int lookup(Map& map, const void*, void* value, uint64_t) const override { return peek(map, value); }
  int update(Map& map, const void*, const void* value, uint64_t flags) const override {
    return push(map, value, flags);
  }
  int delete_elem(Map&, const void*) const override { return -EOPNOTSUPP; }
  int get_next_key(Map&, const void*, void*) const override { return -EOPNOTSUPP; }

  long prog_push(Map& map, const void* value, uint64_t flags) const override { return push(map, value, flags); }
  long prog_peek(Map& map, void* value) const override { return peek(map, value); }
  long prog_pop(Map&, void*) const override { return -EOPNOTSUPP; }
  long prog_delete(Map&, const void*) const override { return -EOPNOTSUPP; }

 private:
  static uint32_t hash(const Map& map, const BloomState& st, const void* value, uint32_t i) {
    // The kernel uses jhash2 on whole u32 words when value_size % 4 == 0; on a
    // little-endian host that is the same function as jhash.
    return jhash(value, map.attr().value_size, st.hash_seed + i) & st.bitset_mask;
  }
  static uint64_t* word(const Map& map, uint32_t h) { return reinterpret_cast<uint64_t*>(map.data()) + h / 64; }

  static int push(Map& map, const void* value, uint64_t flags) {
    if (flags != BPF_ANY) return -EINVAL;
    const BloomState& st = map.state<BloomState>();
    for (uint32_t i = 0; i < st.nr_hash_funcs; ++i) {
      const uint32_t h = hash(map, st, value, i);
      std::atomic_ref<uint64_t>(*word(map, h)).fetch_or(uint64_t{1} << (h % 64), std::memory_order_relaxed);
    }
    return 0;
  }

  static int peek(Map& map, const void* value) {
    const BloomState& st = map.state<BloomState>();
    for (uint32_t i = 0; i < st.nr_hash_funcs; ++i) {
      const uint32_t h = hash(map, st, value, i);
      const uint64_t w = std::atomic_ref<uint64_t>(*word(map, h)).load(std::memory_order_relaxed);
      if ((w & (uint64_t{1} << (h % 64))) == 0) return -ENOENT;
    }
    return 0;
  }
};

const BloomFilterOps kBloomFilter;

}  // namespace

const MapOps& kBloomFilterOps = kBloomFilter;

}  // namespace bpfemu::maptypes
