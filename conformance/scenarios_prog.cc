// Program-side scenarios: map helpers called from a BPF program (run through
// BPF_PROG_TEST_RUN on the kernel, through bpfemu/prog.h on the emulator).
#include "conformance/scenario.h"

namespace bpfemu::conformance {

SCENARIO("HASH", "prog", "lookup_update_delete") {
  int fd = r.create(BPF_MAP_TYPE_HASH, 4, 8, 4, BPF_F_ZERO_SEED);
  r.prog_lookup(fd, 1);
  r.prog_update(fd, 1, u64(11));
  r.prog_update(fd, 1, u64(12), BPF_NOEXIST);
  r.prog_update(fd, 2, u64(22), BPF_EXIST);
  r.prog_update(fd, 2, u64(22), 7);
  r.prog_lookup(fd, 1);
  r.lookup(fd, u32(1));
  for (uint32_t k = 2; k < 6; ++k) r.prog_update(fd, k, u64(k));
  r.prog_delete(fd, 1);
  r.prog_delete(fd, 1);
  r.walk(fd, 4);
}

SCENARIO("HASH", "prog", "for_each_return_codes") {
  int fd = r.create(BPF_MAP_TYPE_HASH, 4, 8, 16, BPF_F_ZERO_SEED);
  r.prog_for_each(fd, 0);
  for (uint32_t k = 0; k < 10; ++k) r.update(fd, u32(k), u64(k));
  r.prog_for_each(fd, 0);
  r.prog_for_each(fd, 1);
  r.prog_for_each(fd, 4);
  r.prog_for_each(fd, 0, 1);
}

SCENARIO("ARRAY", "prog", "lookup_update_for_each") {
  int fd = r.create(BPF_MAP_TYPE_ARRAY, 4, 8, 5);
  r.prog_update(fd, 2, u64(7));
  r.prog_update(fd, 2, u64(7), BPF_NOEXIST);
  r.prog_update(fd, 5, u64(7));
  r.prog_lookup(fd, 2);
  r.prog_lookup(fd, 5);
  r.prog_delete(fd, 2);
  r.prog_for_each(fd, 0);
  r.prog_for_each(fd, 3);
  r.lookup(fd, u32(2));
}

SCENARIO("PERCPU_HASH", "prog", "updates_touch_current_cpu_only") {
  int fd = r.create(BPF_MAP_TYPE_PERCPU_HASH, 4, 4, 4);
  r.prog_update(fd, 1, u32(0x11));
  r.lookup(fd, u32(1));
  r.set_cpu(1);
  r.prog_update(fd, 1, u32(0x22), BPF_EXIST);
  r.prog_lookup(fd, 1);
  r.set_cpu(0);
  r.prog_lookup(fd, 1);
  r.lookup(fd, u32(1));
}

SCENARIO("PERCPU_ARRAY", "prog", "current_cpu_slot") {
  int fd = r.create(BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, 2);
  r.set_cpu(1);
  r.prog_update(fd, 0, u64(5));
  r.prog_lookup(fd, 0);
  r.set_cpu(0);
  r.prog_lookup(fd, 0);
  r.lookup(fd, u32(0));
}

SCENARIO("LRU_HASH", "prog", "program_lookups_set_ref_bit") {
  int fd = r.create(BPF_MAP_TYPE_LRU_HASH, 4, 8, 8, BPF_F_ZERO_SEED);
  for (uint32_t k = 0; k < 8; ++k) r.update(fd, u32(k), u64(k));
  for (uint32_t k = 0; k < 4; ++k) r.prog_lookup(fd, k);  // referenced: survive rotation
  for (uint32_t k = 8; k < 14; ++k) r.update(fd, u32(k), u64(k));
  r.walk(fd, 4);
}

SCENARIO("LRU_HASH", "prog", "program_updates_evict") {
  int fd = r.create(BPF_MAP_TYPE_LRU_HASH, 4, 8, 16, BPF_F_ZERO_SEED);
  for (uint32_t k = 0; k < 40; ++k) {
    r.prog_update(fd, k, u64(k));
    if (k % 3 == 0) r.prog_lookup(fd, k / 2);
  }
  r.walk(fd, 4);
}

SCENARIO("LRU_HASH", "prog", "no_common_lru_program_lookups") {
  int fd = r.create(BPF_MAP_TYPE_LRU_HASH, 4, 8, 8, BPF_F_ZERO_SEED | BPF_F_NO_COMMON_LRU);
  for (uint32_t k = 0; k < 8; ++k) r.update(fd, u32(k), u64(k));
  r.prog_lookup(fd, 0);
  r.prog_lookup(fd, 2);
  for (uint32_t k = 8; k < 12; ++k) r.update(fd, u32(k), u64(k));
  r.walk(fd, 4);
}

SCENARIO("LRU_PERCPU_HASH", "prog", "lookups_and_updates") {
  int fd = r.create(BPF_MAP_TYPE_LRU_PERCPU_HASH, 4, 8, 8, BPF_F_ZERO_SEED);
  for (uint32_t k = 0; k < 8; ++k) r.prog_update(fd, k, u64(k));
  r.prog_lookup(fd, 1);
  r.prog_lookup(fd, 3);
  for (uint32_t k = 8; k < 12; ++k) r.prog_update(fd, k, u64(k));
  r.walk(fd, 4);
  r.lookup(fd, u32(1));
}

}  // namespace bpfemu::conformance
