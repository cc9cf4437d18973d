// BLOOM_FILTER scenarios. With BPF_F_ZERO_SEED the kernel's hashes are fixed,
// so which absent values a small filter reports as present (false positives)
// must be the same here; with a random seed only pushed values are checked.
#include <sys/mman.h>

#include <cstring>

#include "conformance/scenario.h"

namespace bpfemu::conformance {
namespace {

constexpr uint32_t B = BPF_MAP_TYPE_BLOOM_FILTER;
constexpr uint32_t kKmallocMax = 1U << 22;

// A value of `size` bytes derived from n (every byte depends on n).
Bytes value_of(uint32_t n, uint32_t size) {
  Bytes v(size);
  for (uint32_t i = 0; i < size; ++i) v[i] = static_cast<uint8_t>(n * 131 + i * 7 + (n >> 8));
  return v;
}

// Pushes values 0..pushed-1 and checks values 0..checked-1.
void push_and_check(Recorder& r, int fd, uint32_t value_size, uint32_t pushed, uint32_t checked) {
  for (uint32_t n = 0; n < pushed; ++n) r.update(fd, std::nullopt, value_of(n, value_size));
  for (uint32_t n = 0; n < checked; ++n) r.lookup_value(fd, std::nullopt, value_of(n, value_size));
}

}  // namespace

SCENARIO("BLOOM_FILTER", "create", "sizes") {
  r.create(B, 0, 8, 4);
  r.create(B, 4, 8, 4);
  r.create(B, 0, 0, 4);
  r.create(B, 0, 8, 0);
  r.create(B, 4, 0, 0);
  r.create(B, 0, 1, 1);
  r.create(B, 0, kKmallocMax, 1);
  r.create(B, 0, kKmallocMax + 1, 1);
  r.create(B, 4, kKmallocMax + 1, 0);  // the value size is checked before anything else
  r.create(B, 0, 0xFFFFFFFFu, 1);
}

SCENARIO("BLOOM_FILTER", "create", "flags") {
  r.create(B, 0, 8, 4, BPF_F_ZERO_SEED);
  r.create(B, 0, 8, 4, BPF_F_NUMA_NODE);
  r.create(B, 0, 8, 4, BPF_F_RDONLY);
  r.create(B, 0, 8, 4, BPF_F_WRONLY);
  r.create(B, 0, 8, 4, BPF_F_RDONLY | BPF_F_WRONLY);
  r.create(B, 0, 8, 4, BPF_F_RDONLY_PROG);
  r.create(B, 0, 8, 4, BPF_F_WRONLY_PROG);
  r.create(B, 0, 8, 4, BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG);
  r.create(B, 0, 8, 4, BPF_F_NO_PREALLOC);
  r.create(B, 0, 8, 4, BPF_F_NO_COMMON_LRU);
  r.create(B, 0, 8, 4, BPF_F_MMAPABLE);
  r.create(B, 0, 8, 4, BPF_F_INNER_MAP);
  r.create(B, 0, 8, 4, BPF_F_CLONE);
  r.create(B, 0, 8, 4, 1U << 20);
  r.create(B, 0, 8, 4, 0, "bad-name");
}

// map_extra: the number of hash functions in its low 4 bits (0: 5), nothing else.
SCENARIO("BLOOM_FILTER", "create", "map_extra") {
  for (uint64_t extra : {0ULL, 1ULL, 2ULL, 5ULL, 15ULL, 16ULL, 17ULL, 0xFFULL, 1ULL << 32, 1ULL << 63}) {
    int fd = r.create(B, 0, 4, 8, 0, "conf", extra);
    if (fd >= 0) r.info(fd);
  }
}

// The bit array: max_entries * k * 7 / 5 bits (in u32), rounded up to a power of
// two of at least 64; overflowing or past 2^31 bits it has 2^32 bits (512 MiB).
SCENARIO("BLOOM_FILTER", "create", "bitset_sizes_memlock") {
  struct Case {
    uint32_t max;
    uint64_t k;
  };
  for (Case c : {Case{1, 1}, Case{1, 15}, Case{9, 1}, Case{10, 1}, Case{49, 1}, Case{50, 1}, Case{100, 0},
                 Case{1000, 3}, Case{123457, 7}, Case{1533916890, 1}, Case{1533916895, 1}, Case{0x80000000u, 2},
                 Case{0x33333334u, 5}, Case{0xFFFFFFFFu, 1}}) {
    int fd = r.create(B, 0, 4, c.max, BPF_F_ZERO_SEED, "conf", c.k);
    r.memlock(fd);
    r.close(fd);
  }
  int fd = r.create(B, 0, 100, 1000, BPF_F_NUMA_NODE);
  r.memlock(fd);
  r.info(fd);
}

// A 64-bit filter with one hash function: pushing 10 values sets at most 10
// bits, so many of the 300 absent values checked collide with one.
SCENARIO("BLOOM_FILTER", "lookup", "false_positives_zero_seed") {
  int fd = r.create(B, 0, 4, 1, BPF_F_ZERO_SEED, "conf", 1);
  push_and_check(r, fd, 4, 0, 4);
  for (uint32_t v = 0; v < 10; ++v) r.update(fd, std::nullopt, u32(v * 1000));
  for (uint32_t v = 0; v < 300; ++v) r.lookup_value(fd, std::nullopt, u32(v));
}

// 64-bit filters loaded to about half their bits, so that every hash function
// decides some of the (many) false positives.
SCENARIO("BLOOM_FILTER", "lookup", "hash_function_counts") {
  for (uint64_t k : {1ULL, 2ULL, 3ULL, 4ULL, 5ULL, 0ULL, 7ULL, 11ULL, 15ULL}) {
    int fd = r.create(B, 0, 8, 1, BPF_F_ZERO_SEED, "conf", k);
    push_and_check(r, fd, 8, static_cast<uint32_t>(44 / (k == 0 ? 5 : k)) + 1, 150);
  }
}

// jhash2 (value_size % 4 == 0) and jhash (byte tails) must both match.
SCENARIO("BLOOM_FILTER", "lookup", "value_sizes") {
  for (uint32_t vs : {1u, 2u, 3u, 4u, 5u, 7u, 8u, 11u, 12u, 13u, 16u, 24u, 25u, 33u, 64u, 100u}) {
    int fd = r.create(B, 0, vs, 1, BPF_F_ZERO_SEED, "conf", 2);
    push_and_check(r, fd, vs, 20, 80);
  }
}

// A larger filter: values pushed are found, and absent ones match the kernel's
// (few) false positives.
SCENARIO("BLOOM_FILTER", "lookup", "larger_filter") {
  int fd = r.create(B, 0, 16, 200, BPF_F_ZERO_SEED);
  push_and_check(r, fd, 16, 200, 600);
}

// With a random seed the bits differ from the kernel's; pushed values are found.
SCENARIO("BLOOM_FILTER", "lookup", "random_seed_finds_pushed") {
  int fd = r.create(B, 0, 12, 64, 0, "conf", 3);
  for (uint32_t n = 0; n < 64; ++n) r.update(fd, std::nullopt, value_of(n, 12));
  for (uint32_t n = 0; n < 64; ++n) r.lookup_value(fd, std::nullopt, value_of(n, 12));
}

SCENARIO("BLOOM_FILTER", "update", "flags") {
  int fd = r.create(B, 0, 4, 4, BPF_F_ZERO_SEED);
  r.update(fd, std::nullopt, u32(1), BPF_NOEXIST);
  r.update(fd, std::nullopt, u32(2), BPF_EXIST);
  r.update(fd, std::nullopt, u32(3), 3);
  r.update(fd, std::nullopt, u32(4), BPF_F_LOCK);
  r.update(fd, std::nullopt, u32(5), 1ULL << 32);
  for (uint32_t v = 1; v <= 5; ++v) r.lookup_value(fd, std::nullopt, u32(v));
  r.update(fd, std::nullopt, u32(6), BPF_ANY);
  r.lookup_value(fd, std::nullopt, u32(6));
}

SCENARIO("BLOOM_FILTER", "lookup", "flags") {
  int fd = r.create(B, 0, 4, 4, BPF_F_ZERO_SEED);
  r.update(fd, std::nullopt, u32(1));
  r.lookup_value(fd, std::nullopt, u32(1), BPF_F_LOCK);
  r.lookup_value(fd, std::nullopt, u32(1), 1);
  r.lookup_value(fd, std::nullopt, u32(1), 2);
  r.lookup_value(fd, std::nullopt, u32(1), 1ULL << 32);
  r.lookup_value(fd, std::nullopt, u32(1));
}

SCENARIO("BLOOM_FILTER", "keys", "non_null_key") {
  int fd = r.create(B, 0, 4, 4, BPF_F_ZERO_SEED);
  r.update(fd, u32(0), u32(1));
  r.lookup_value(fd, u32(0), u32(1));
  r.lookup_and_delete(fd, u32(0));
  r.remove(fd, u32(0));
  r.next_key(fd, u32(0), 4);
  r.lookup_value(fd, std::nullopt, u32(1));
}

// The lookup reads its value buffer and never writes it: NULL is EFAULT, a
// read-only buffer is fine.
SCENARIO("BLOOM_FILTER", "lookup", "value_buffers") {
  int fd = r.create(B, 0, 8, 4, BPF_F_ZERO_SEED);
  r.update(fd, std::nullopt, std::nullopt);
  r.lookup(fd, std::nullopt, 0, 0, true);
  r.update(fd, std::nullopt, u64(7));
  r.lookup(fd, std::nullopt);  // the 0xAA.. poison as the value: absent
  void* page = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED) return r.note("mmap failed", -1);
  uint64_t seven = 7;
  memcpy(page, &seven, sizeof(seven));
  mprotect(page, 4096, PROT_READ);
  errno = 0;
  int rc = r.backend().map_lookup_elem(fd, nullptr, page);
  r.note("lookup from a read-only buffer", rc);
  munmap(page, 4096);
}

SCENARIO("BLOOM_FILTER", "delete", "eopnotsupp") {
  int fd = r.create(B, 0, 4, 4);
  r.remove(fd, std::nullopt);
  r.update(fd, std::nullopt, u32(1));
  r.remove(fd, std::nullopt);
  r.remove(fd, std::nullopt, 1);
  r.lookup_value(fd, std::nullopt, u32(1));
}

SCENARIO("BLOOM_FILTER", "get_next_key", "eopnotsupp") {
  int fd = r.create(B, 0, 4, 4);
  r.next_key(fd, std::nullopt, 0);
  r.update(fd, std::nullopt, u32(1));
  r.next_key(fd, std::nullopt, 0);
  r.walk(fd, 0);
}

SCENARIO("BLOOM_FILTER", "lookup_and_delete", "enotsupp") {
  int fd = r.create(B, 0, 4, 4);
  r.update(fd, std::nullopt, u32(1));
  r.lookup_and_delete(fd, std::nullopt);
  r.lookup_and_delete(fd, std::nullopt, BPF_F_LOCK);
  r.lookup_and_delete(fd, std::nullopt, 1);
  r.lookup_and_delete(fd, std::nullopt, 0, 0, true);
  r.lookup_value(fd, std::nullopt, u32(1));
}

SCENARIO("BLOOM_FILTER", "batch", "enotsupp") {
  int fd = r.create(B, 0, 4, 4);
  r.update(fd, std::nullopt, u32(1));
  r.lookup_batch(fd, std::nullopt, 2, 0, 4);
  r.lookup_batch(fd, std::nullopt, 2, 0, 4, {}, true);
  r.update_batch(fd, {Bytes{}}, {u32(2)}, 1);
  r.delete_batch(fd, {Bytes{}}, 1);
}

SCENARIO("BLOOM_FILTER", "freeze", "freeze_rules") {
  int fd = r.create(B, 0, 4, 4, BPF_F_ZERO_SEED);
  r.update(fd, std::nullopt, u32(1));
  r.freeze(fd);
  r.update(fd, std::nullopt, u32(2));
  r.lookup_value(fd, std::nullopt, u32(1));
  r.lookup_value(fd, std::nullopt, u32(2));
  r.remove(fd, std::nullopt);
  r.freeze(fd);
  r.info(fd);
}

SCENARIO("BLOOM_FILTER", "access", "rdonly_wronly_fds") {
  int ro = r.create(B, 0, 4, 4, BPF_F_RDONLY | BPF_F_ZERO_SEED);
  r.update(ro, std::nullopt, u32(1));
  r.lookup_value(ro, std::nullopt, u32(1));
  r.remove(ro, std::nullopt);
  r.next_key(ro, std::nullopt, 0);
  r.freeze(ro);
  r.info(ro);
  int wo = r.create(B, 0, 4, 4, BPF_F_WRONLY | BPF_F_ZERO_SEED);
  r.update(wo, std::nullopt, u32(1));
  r.lookup_value(wo, std::nullopt, u32(1));
  r.lookup_and_delete(wo, std::nullopt);
  r.remove(wo, std::nullopt);
  r.next_key(wo, std::nullopt, 0);
  r.freeze(wo);
  r.update(wo, std::nullopt, u32(2));
  const std::string path = r.pin_path("bloom");
  r.pin(wo, path);
  int ro2 = r.get(path, BPF_F_RDONLY);
  r.lookup_value(ro2, std::nullopt, u32(1));
  r.update(ro2, std::nullopt, u32(3));
  r.unpin(path);
}

// Program-side push and peek set and test the same bits as the syscalls.
SCENARIO("BLOOM_FILTER", "prog", "push_peek") {
  int fd = r.create(B, 0, 4, 2, BPF_F_ZERO_SEED, "conf", 2);
  r.prog_peek(fd, u32(1));
  r.prog_push(fd, u32(1));
  r.update(fd, std::nullopt, u32(2));
  for (uint32_t v = 0; v < 40; ++v) r.prog_peek(fd, u32(v));
  for (uint32_t v = 0; v < 40; ++v) r.lookup_value(fd, std::nullopt, u32(v));
  r.prog_push(fd, u32(3), BPF_EXIST);
  r.prog_push(fd, u32(3), BPF_NOEXIST);
  r.prog_push(fd, u32(3), BPF_F_LOCK);
  r.prog_push(fd, u32(3), 1ULL << 32);
  r.prog_peek(fd, u32(3));
  r.freeze(fd);
  r.prog_push(fd, u32(4));
  r.prog_peek(fd, u32(4));
}

SCENARIO("BLOOM_FILTER", "prog", "value_sizes") {
  for (uint32_t vs : {1u, 6u, 16u, 64u, 65u}) {
    int fd = r.create(B, 0, vs, 3, BPF_F_ZERO_SEED, "conf", 3);
    for (uint32_t n = 0; n < 3; ++n) r.prog_push(fd, value_of(n, vs));
    for (uint32_t n = 0; n < 30; ++n) r.prog_peek(fd, value_of(n, vs));
  }
}

}  // namespace bpfemu::conformance
