// HASH and PERCPU_HASH scenarios.
#include "conformance/scenario.h"

namespace bpfemu::conformance {
namespace {

constexpr uint32_t H = BPF_MAP_TYPE_HASH;
constexpr uint32_t PH = BPF_MAP_TYPE_PERCPU_HASH;

}  // namespace

SCENARIO("HASH", "create", "invalid_sizes_and_entries") {
  r.create(H, 0, 8, 4);
  r.create(H, 4, 0, 4);
  r.create(H, 4, 8, 0);
  r.create(H, 4, 8, 4);
}

SCENARIO("HASH", "create", "large_key_and_value_limits") {
  r.create(H, 513, 8, 4);              // larger than MAX_BPF_STACK is still fine
  r.create(H, 4096, 4096, 4);
  r.create(H, 1 << 21, (1 << 21) - 48, 1);  // key + value reaches KMALLOC_MAX - elem header
  r.create(H, 1 << 21, (1 << 21) - 49, 1);
  r.create(H, 0xFFFFFFFF, 8, 1);
}

SCENARIO("HASH", "create", "absurd_max_entries") {
  r.create(H, 4, 8, 0xFFFFFFFF, BPF_F_NO_PREALLOC);
  r.create(H, 4, 8, (1U << 31) + 1, BPF_F_NO_PREALLOC);
  r.create(H, 4, 8, 1U << 28, BPF_F_NO_PREALLOC);
  r.create(H, 4, 8, (1U << 28) + 1, BPF_F_NO_PREALLOC);
}

SCENARIO("HASH", "create", "flags") {
  r.create(H, 4, 8, 4, BPF_F_NO_COMMON_LRU);
  r.create(H, 4, 8, 4, BPF_F_MMAPABLE);
  r.create(H, 4, 8, 4, BPF_F_RDONLY | BPF_F_WRONLY);
  r.create(H, 4, 8, 4, BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG);
  r.create(H, 4, 8, 4, BPF_F_ZERO_SEED | BPF_F_NO_PREALLOC);
  r.create(H, 4, 8, 4, 1U << 20);
  r.create(H, 4, 8, 4, BPF_F_RDONLY_PROG);
}

SCENARIO("HASH", "create", "names") {
  r.create(H, 4, 8, 4, 0, "ok_name.1");
  r.create(H, 4, 8, 4, 0, "bad-name");
  r.create(H, 4, 8, 4, 0, "with space");
  r.create(H, 4, 8, 4, 0, "a_very_long_map_name_exceeding");  // libbpf truncates to 15
  r.create(H, 4, 8, 4, 0, "");
  int fd = r.create(H, 4, 8, 4, 0, "a_very_long_map_name_exceeding");
  r.info(fd);
}

SCENARIO("HASH", "create", "map_extra_and_numa") {
  r.create(H, 4, 8, 4, 0, "x", 1);
  MapCreateOpts o;
  o.map_flags = BPF_F_NUMA_NODE;
  o.numa_node = 0;
  r.create_opts(H, "numa0", 4, 8, 4, o);
  o.numa_node = 7;
  r.create_opts(H, "numa7", 4, 8, 4, o);
  o.map_flags = 0;
  r.create_opts(H, "numa_noflag", 4, 8, 4, o);
}

SCENARIO("HASH", "update", "any_noexist_exist") {
  int fd = r.create(H, 4, 8, 4);
  r.update(fd, u32(1), u64(10), BPF_EXIST);
  r.update(fd, u32(1), u64(10), BPF_NOEXIST);
  r.update(fd, u32(1), u64(11), BPF_NOEXIST);
  r.update(fd, u32(1), u64(12), BPF_EXIST);
  r.update(fd, u32(1), u64(13), BPF_ANY);
  r.lookup(fd, u32(1));
  r.update(fd, u32(2), u64(20), BPF_ANY);
  r.lookup(fd, u32(2));
}

SCENARIO("HASH", "update", "unknown_flags") {
  int fd = r.create(H, 4, 8, 4);
  r.update(fd, u32(1), u64(1), 3);
  r.update(fd, u32(1), u64(1), 8);
  r.update(fd, u32(1), u64(1), BPF_F_LOCK);
  r.update(fd, u32(1), u64(1), 1ULL << 40);
  r.lookup(fd, u32(1));
}

SCENARIO("HASH", "update", "full_map_e2big") {
  int fd = r.create(H, 4, 8, 3);
  for (uint32_t k = 0; k < 3; ++k) r.update(fd, u32(k), u64(k));
  r.update(fd, u32(3), u64(3), BPF_ANY);
  r.update(fd, u32(3), u64(3), BPF_NOEXIST);
  r.update(fd, u32(3), u64(3), BPF_EXIST);
  r.update(fd, u32(1), u64(100), BPF_ANY);    // existing key still updatable when full
  r.update(fd, u32(1), u64(101), BPF_EXIST);
  r.remove(fd, u32(0));
  r.update(fd, u32(3), u64(3), BPF_NOEXIST);
  r.walk_set(fd, 4);
}

SCENARIO("HASH", "update", "full_map_no_prealloc") {
  int fd = r.create(H, 4, 8, 2, BPF_F_NO_PREALLOC);
  r.update(fd, u32(1), u64(1));
  r.update(fd, u32(2), u64(2));
  r.update(fd, u32(3), u64(3));
  r.update(fd, u32(2), u64(22));
  r.lookup(fd, u32(2));
  r.remove(fd, u32(1));
  r.update(fd, u32(3), u64(3));
  r.walk_set(fd, 4);
}

SCENARIO("HASH", "update", "null_key_or_value") {
  int fd = r.create(H, 4, 8, 4);
  r.update(fd, std::nullopt, u64(1));
  r.update(fd, u32(1), std::nullopt);
  r.lookup(fd, std::nullopt);
  r.lookup(fd, u32(1), 0, 0, true);
  r.update(fd, u32(1), u64(1));
  r.lookup(fd, u32(1), 0, 0, true);
  r.remove(fd, std::nullopt);
}

SCENARIO("HASH", "lookup", "missing_and_flags") {
  int fd = r.create(H, 4, 8, 4);
  r.lookup(fd, u32(7));
  r.update(fd, u32(7), u64(0x1122334455667788ULL));
  r.lookup(fd, u32(7));
  r.lookup(fd, u32(7), BPF_F_LOCK);
  r.lookup(fd, u32(7), 1);
  r.lookup(fd, u32(7), 2);
}

SCENARIO("HASH", "lookup", "odd_value_size") {
  int fd = r.create(H, 3, 5, 4);
  r.update(fd, Bytes{1, 2, 3}, Bytes{9, 8, 7, 6, 5});
  r.lookup(fd, Bytes{1, 2, 3});
  r.lookup(fd, Bytes{1, 2, 4});
  r.walk(fd, 3);
}

SCENARIO("HASH", "delete", "delete_semantics") {
  int fd = r.create(H, 4, 8, 4);
  r.remove(fd, u32(1));
  r.update(fd, u32(1), u64(1));
  r.remove(fd, u32(1));
  r.remove(fd, u32(1));
  r.lookup(fd, u32(1));
  r.update(fd, u32(1), u64(2), BPF_NOEXIST);
  r.remove(fd, u32(1), 1);
  r.remove(fd, u32(1), 7);
  r.remove(fd, u32(1), BPF_F_LOCK);
  r.remove(fd, u32(1), 2);
  r.remove(fd, u32(9), 1);
  r.lookup(fd, u32(1));
}

SCENARIO("HASH", "get_next_key", "empty_null_missing_last") {
  int fd = r.create(H, 4, 8, 8, BPF_F_ZERO_SEED);
  r.next_key(fd, std::nullopt, 4);
  r.next_key(fd, u32(5), 4);
  r.update(fd, u32(5), u64(5));
  r.next_key(fd, std::nullopt, 4);
  r.next_key(fd, u32(5), 4);
  r.next_key(fd, u32(6), 4);
  r.next_key(fd, u32(5), 4, true);
  r.next_key(fd, std::nullopt, 4, true);
}

SCENARIO("HASH", "get_next_key", "zero_seed_order") {
  int fd = r.create(H, 4, 8, 64, BPF_F_ZERO_SEED);
  for (uint32_t k = 0; k < 40; ++k) r.update(fd, u32(k * 7919), u64(k));
  r.walk(fd, 4);
  // Updating an existing key moves it to the head of its bucket.
  r.update(fd, u32(3 * 7919), u64(99));
  r.update(fd, u32(17 * 7919), u64(99), BPF_EXIST);
  r.walk(fd, 4);
  r.remove(fd, u32(0));
  r.next_key(fd, u32(0), 4);  // a deleted key restarts from the first bucket
  r.walk(fd, 4);
}

SCENARIO("HASH", "get_next_key", "zero_seed_order_odd_keys") {
  int fd = r.create(H, 6, 4, 16, BPF_F_ZERO_SEED | BPF_F_NO_PREALLOC);
  for (uint8_t k = 0; k < 12; ++k) r.update(fd, Bytes{k, 1, 2, 3, 4, static_cast<uint8_t>(k * 3)}, u32(k));
  r.walk(fd, 6);
  int fd2 = r.create(H, 13, 4, 8, BPF_F_ZERO_SEED);
  for (uint8_t k = 0; k < 8; ++k) r.update(fd2, fill(13, k), u32(k));
  r.walk(fd2, 13);
}

SCENARIO("HASH", "get_next_key", "random_seed_set") {
  int fd = r.create(H, 8, 8, 100);
  for (uint64_t k = 0; k < 50; ++k) r.update(fd, u64(k * 1000003), u64(k));
  r.walk_set(fd, 8);
}

SCENARIO("HASH", "lookup_and_delete", "basic") {
  int fd = r.create(H, 4, 8, 4);
  r.lookup_and_delete(fd, u32(1));
  r.update(fd, u32(1), u64(42));
  r.lookup_and_delete(fd, u32(1));
  r.lookup(fd, u32(1));
  r.update(fd, u32(1), u64(43));
  r.lookup_and_delete(fd, u32(1), BPF_F_LOCK);
  r.lookup_and_delete(fd, u32(1), 1);
  r.lookup_and_delete(fd, u32(1), 0, 0, true);
  r.lookup(fd, u32(1));
}

SCENARIO("PERCPU_HASH", "create", "sizes_and_flags") {
  r.create(PH, 4, 32 << 10, 4);
  r.create(PH, 4, (32 << 10) + 1, 4);
  r.create(PH, 4, 8, 4, BPF_F_NUMA_NODE);
  r.create(PH, 4, 8, 4, BPF_F_NO_PREALLOC | BPF_F_ZERO_SEED);
  r.create(PH, 4, 8, 4, BPF_F_NO_COMMON_LRU);
}

SCENARIO("PERCPU_HASH", "update", "layout_and_padding") {
  int fd = r.create(PH, 4, 4, 4);
  r.update(fd, u32(1), percpu_value(r, 4, 0x10));
  r.lookup(fd, u32(1));
  r.update(fd, u32(1), percpu_value(r, 4, 0x40), BPF_EXIST);
  r.lookup(fd, u32(1));
  r.update(fd, u32(1), percpu_value(r, 4, 0x50), BPF_NOEXIST);
  r.update(fd, u32(1), percpu_value(r, 4, 0x50), BPF_F_LOCK);
  r.update(fd, u32(2), percpu_value(r, 4, 0x60), BPF_EXIST);
}

SCENARIO("PERCPU_HASH", "update", "full_and_order") {
  int fd = r.create(PH, 4, 12, 3, BPF_F_ZERO_SEED);
  for (uint32_t k = 0; k < 4; ++k) r.update(fd, u32(k * 13), percpu_value(r, 12, static_cast<uint8_t>(k)));
  r.walk(fd, 4);
  r.update(fd, u32(13), percpu_value(r, 12, 0x77));  // in place: order unchanged
  r.walk(fd, 4);
}

SCENARIO("PERCPU_HASH", "lookup_and_delete", "basic") {
  int fd = r.create(PH, 4, 8, 4);
  r.update(fd, u32(9), percpu_value(r, 8, 0x21));
  r.lookup_and_delete(fd, u32(9));
  r.lookup_and_delete(fd, u32(9));
  r.lookup(fd, u32(9), BPF_F_LOCK);
}

SCENARIO("HASH", "batch", "lookup_batch_buckets") {
  int fd = r.create(H, 4, 8, 16, BPF_F_ZERO_SEED);
  for (uint32_t k = 0; k < 10; ++k) r.update(fd, u32(k), u64(k * 11));
  r.lookup_batch(fd, std::nullopt, 0, 4, 8);
  r.lookup_batch(fd, std::nullopt, 1, 4, 8);
  r.lookup_batch(fd, std::nullopt, 4, 4, 8);
  r.lookup_batch(fd, 5u, 4, 4, 8);
  r.lookup_batch(fd, std::nullopt, 64, 4, 8);
  r.lookup_batch(fd, 16u, 4, 4, 8);
  BatchOpts bad;
  bad.flags = 1;
  r.lookup_batch(fd, std::nullopt, 4, 4, 8, bad);
  bad.flags = 0;
  bad.elem_flags = BPF_F_LOCK;
  r.lookup_batch(fd, std::nullopt, 4, 4, 8, bad);
}

SCENARIO("HASH", "batch", "lookup_and_delete_batch") {
  int fd = r.create(H, 4, 8, 8, BPF_F_ZERO_SEED);
  for (uint32_t k = 0; k < 6; ++k) r.update(fd, u32(k), u64(k));
  r.lookup_batch(fd, std::nullopt, 3, 4, 8, {}, true);
  r.walk(fd, 4);
  r.lookup_batch(fd, std::nullopt, 100, 4, 8, {}, true);
  r.walk(fd, 4);
}

SCENARIO("HASH", "batch", "update_and_delete_batch") {
  int fd = r.create(H, 4, 8, 4, BPF_F_ZERO_SEED);
  r.update_batch(fd, {u32(1), u32(2), u32(3)}, {u64(1), u64(2), u64(3)}, 3);
  r.walk(fd, 4);
  r.update_batch(fd, {u32(4), u32(5), u32(6)}, {u64(4), u64(5), u64(6)}, 3);
  BatchOpts o;
  o.elem_flags = BPF_NOEXIST;
  r.update_batch(fd, {u32(7)}, {u64(7)}, 1, o);
  r.update_batch(fd, {u32(7)}, {u64(7)}, 0);
  r.delete_batch(fd, {u32(1), u32(9), u32(2)}, 3);
  r.walk(fd, 4);
  o.elem_flags = 0;
  o.flags = 1;
  r.delete_batch(fd, {u32(3)}, 1, o);
  r.update_batch(fd, {u32(3)}, {u64(3)}, 1, o);
  o.flags = 0;
  o.elem_flags = BPF_F_LOCK;
  r.delete_batch(fd, {u32(3)}, 1, o);
  r.update_batch(fd, {u32(3)}, {u64(3)}, 1, o);
  o.elem_flags = 2;
  r.delete_batch(fd, {u32(3)}, 1, o);
  r.walk(fd, 4);
}

SCENARIO("PERCPU_HASH", "batch", "lookup_batch_percpu") {
  int fd = r.create(PH, 4, 4, 8, BPF_F_ZERO_SEED);
  for (uint32_t k = 0; k < 5; ++k) r.update(fd, u32(k), percpu_value(r, 4, static_cast<uint8_t>(k * 16)));
  r.lookup_batch(fd, std::nullopt, 8, 4, r.sys_value_size(PH, 4));
}

}  // namespace bpfemu::conformance
