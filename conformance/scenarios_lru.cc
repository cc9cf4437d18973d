// LRU_HASH and LRU_PERCPU_HASH scenarios: which keys survive is the point, so
// every scenario ends by listing the surviving keys.
#include "conformance/scenario.h"

namespace bpfemu::conformance {
namespace {

constexpr uint32_t LH = BPF_MAP_TYPE_LRU_HASH;
constexpr uint32_t LPH = BPF_MAP_TYPE_LRU_PERCPU_HASH;

void fill_and_survivors(Recorder& r, uint32_t type, uint32_t max, uint32_t inserts, uint32_t flags) {
  int fd = r.create(type, 4, 8, max, flags | BPF_F_ZERO_SEED);
  for (uint32_t k = 0; k < inserts; ++k) {
    if (type == LPH) {
      r.update(fd, u32(k), percpu_value(r, 8, static_cast<uint8_t>(k)));
    } else {
      r.update(fd, u32(k), u64(k));
    }
  }
  r.walk(fd, 4, 100000);
  r.info(fd);
}

}  // namespace

SCENARIO("LRU_HASH", "create", "rules") {
  r.create(LH, 4, 8, 4, BPF_F_NO_PREALLOC);
  r.create(LH, 4, 8, 4, BPF_F_NO_COMMON_LRU);
  r.create(LH, 4, 8, 3, BPF_F_NO_COMMON_LRU);  // rounded up to a multiple of the CPUs
  r.create(LH, 4, 8, 1, BPF_F_NO_COMMON_LRU);
  r.create(LH, 4, 8, 4, BPF_F_NO_COMMON_LRU | BPF_F_NUMA_NODE);
  r.create(LH, 0, 8, 4);
  r.create(LH, 4, 8, 0);
  r.create(LH, 4, 8, 0xFFFFFFFF, BPF_F_NO_COMMON_LRU);
  int fd = r.create(LH, 4, 8, 5, BPF_F_NO_COMMON_LRU);
  r.info(fd);
}

SCENARIO("LRU_HASH", "evict", "fill_8_plus_1") { fill_and_survivors(r, LH, 8, 9, 0); }
SCENARIO("LRU_HASH", "evict", "fill_8_plus_8") { fill_and_survivors(r, LH, 8, 16, 0); }
SCENARIO("LRU_HASH", "evict", "fill_1_entry") { fill_and_survivors(r, LH, 1, 5, 0); }
SCENARIO("LRU_HASH", "evict", "fill_3_entries") { fill_and_survivors(r, LH, 3, 10, 0); }
SCENARIO("LRU_HASH", "evict", "fill_300_plus_200") { fill_and_survivors(r, LH, 300, 500, 0); }
SCENARIO("LRU_HASH", "evict", "fill_1000_plus_1500") { fill_and_survivors(r, LH, 1000, 2500, 0); }
SCENARIO("LRU_HASH", "evict", "no_common_lru_6_plus_10") { fill_and_survivors(r, LH, 6, 16, BPF_F_NO_COMMON_LRU); }
SCENARIO("LRU_HASH", "evict", "no_common_lru_1_entry") { fill_and_survivors(r, LH, 1, 6, BPF_F_NO_COMMON_LRU); }
SCENARIO("LRU_HASH", "evict", "no_common_lru_200_plus_300") {
  fill_and_survivors(r, LH, 200, 500, BPF_F_NO_COMMON_LRU);
}

SCENARIO("LRU_HASH", "evict", "interleaved_updates_deletes") {
  int fd = r.create(LH, 4, 8, 16, BPF_F_ZERO_SEED);
  for (uint32_t round = 0; round < 6; ++round) {
    for (uint32_t k = 0; k < 12; ++k) r.update(fd, u32(round * 7 + k), u64(k));
    for (uint32_t k = 0; k < 12; k += 3) r.remove(fd, u32(round * 7 + k));
    r.update(fd, u32(round), u64(99), BPF_EXIST);
    r.update(fd, u32(round + 100), u64(99), BPF_NOEXIST);
    r.lookup_and_delete(fd, u32(round * 7 + 1));
  }
  r.walk(fd, 4);
}

SCENARIO("LRU_HASH", "update", "exist_on_evicted_key") {
  int fd = r.create(LH, 4, 8, 2, BPF_F_ZERO_SEED);
  for (uint32_t k = 0; k < 6; ++k) r.update(fd, u32(k), u64(k));
  r.walk(fd, 4);
  r.update(fd, u32(4), u64(40), BPF_EXIST);
  r.update(fd, u32(5), u64(50), BPF_NOEXIST);
  r.update(fd, u32(5), u64(51), BPF_EXIST);
  r.walk(fd, 4);
  r.update(fd, u32(1), u64(1), 3);
  r.update(fd, u32(1), u64(1), BPF_F_LOCK);
  r.lookup(fd, u32(5));
}

SCENARIO("LRU_HASH", "evict", "syscall_lookup_does_not_set_ref") {
  int fd = r.create(LH, 4, 8, 8, BPF_F_ZERO_SEED);
  for (uint32_t k = 0; k < 8; ++k) r.update(fd, u32(k), u64(k));
  for (uint32_t k = 0; k < 4; ++k) r.lookup(fd, u32(k));
  for (uint32_t k = 8; k < 12; ++k) r.update(fd, u32(k), u64(k));
  r.walk(fd, 4);
}

SCENARIO("LRU_HASH", "evict", "replacing_sets_ref") {
  int fd = r.create(LH, 4, 8, 8, BPF_F_ZERO_SEED);
  for (uint32_t k = 0; k < 8; ++k) r.update(fd, u32(k), u64(k));
  for (uint32_t k = 0; k < 3; ++k) r.update(fd, u32(k), u64(k + 100));
  for (uint32_t k = 8; k < 14; ++k) r.update(fd, u32(k), u64(k));
  r.walk(fd, 4);
}

SCENARIO("LRU_HASH", "evict", "other_cpu") {
  int fd = r.create(LH, 4, 8, 8, BPF_F_ZERO_SEED);
  for (uint32_t k = 0; k < 5; ++k) r.update(fd, u32(k), u64(k));
  r.set_cpu(1);
  for (uint32_t k = 5; k < 12; ++k) r.update(fd, u32(k), u64(k));
  r.remove(fd, u32(10));
  r.set_cpu(0);
  for (uint32_t k = 12; k < 16; ++k) r.update(fd, u32(k), u64(k));
  r.walk(fd, 4);
}

SCENARIO("LRU_HASH", "evict", "no_common_lru_other_cpu") {
  int fd = r.create(LH, 4, 8, 8, BPF_F_ZERO_SEED | BPF_F_NO_COMMON_LRU);
  for (uint32_t k = 0; k < 6; ++k) r.update(fd, u32(k), u64(k));
  r.set_cpu(1);
  for (uint32_t k = 6; k < 14; ++k) r.update(fd, u32(k), u64(k));
  r.set_cpu(0);
  r.update(fd, u32(20), u64(20));
  r.walk(fd, 4);
}

SCENARIO("LRU_HASH", "batch", "lookup_and_delete_batch") {
  int fd = r.create(LH, 4, 8, 8, BPF_F_ZERO_SEED);
  for (uint32_t k = 0; k < 10; ++k) r.update(fd, u32(k), u64(k));
  r.lookup_batch(fd, std::nullopt, 4, 4, 8, {}, true);
  for (uint32_t k = 20; k < 26; ++k) r.update(fd, u32(k), u64(k));
  r.walk(fd, 4);
}

SCENARIO("LRU_PERCPU_HASH", "evict", "fill_8_plus_4") { fill_and_survivors(r, LPH, 8, 12, 0); }
SCENARIO("LRU_PERCPU_HASH", "evict", "fill_64_plus_64") { fill_and_survivors(r, LPH, 64, 128, 0); }
SCENARIO("LRU_PERCPU_HASH", "evict", "no_common_lru_4_plus_5") {
  fill_and_survivors(r, LPH, 4, 9, BPF_F_NO_COMMON_LRU);
}

SCENARIO("LRU_PERCPU_HASH", "update", "flags_and_in_place") {
  int fd = r.create(LPH, 4, 4, 4, BPF_F_ZERO_SEED);
  for (uint32_t k = 0; k < 4; ++k) r.update(fd, u32(k), percpu_value(r, 4, static_cast<uint8_t>(k)));
  r.update(fd, u32(1), percpu_value(r, 4, 0x40), BPF_EXIST);
  r.update(fd, u32(2), percpu_value(r, 4, 0x50), BPF_ANY);
  r.update(fd, u32(3), percpu_value(r, 4, 0x60), BPF_NOEXIST);
  r.update(fd, u32(9), percpu_value(r, 4, 0x70), BPF_EXIST);
  r.walk(fd, 4);
  r.lookup(fd, u32(1));
  r.lookup(fd, u32(2));
  for (uint32_t k = 10; k < 16; ++k) r.update(fd, u32(k), percpu_value(r, 4, static_cast<uint8_t>(k)));
  r.walk(fd, 4);
  r.lookup_and_delete(fd, u32(15));
  r.update(fd, u32(1), percpu_value(r, 4, 1), 4);
}

}  // namespace bpfemu::conformance
