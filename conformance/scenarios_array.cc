// ARRAY and PERCPU_ARRAY scenarios.
#include "conformance/scenario.h"

namespace bpfemu::conformance {
namespace {

constexpr uint32_t A = BPF_MAP_TYPE_ARRAY;
constexpr uint32_t PA = BPF_MAP_TYPE_PERCPU_ARRAY;

}  // namespace

SCENARIO("ARRAY", "create", "sizes") {
  r.create(A, 4, 8, 0);
  r.create(A, 8, 8, 4);
  r.create(A, 0, 8, 4);
  r.create(A, 4, 0, 4);
  r.create(A, 4, 1, 1);
  r.create(A, 4, 0x80000000u, 1);
  r.create(A, 4, 1 << 20, 4);
}

SCENARIO("ARRAY", "create", "flags") {
  r.create(A, 4, 8, 4, BPF_F_NO_PREALLOC);
  r.create(A, 4, 8, 4, BPF_F_MMAPABLE);
  r.create(A, 4, 8, 4, BPF_F_ZERO_SEED);
  r.create(A, 4, 8, 4, BPF_F_PRESERVE_ELEMS);
  r.create(A, 4, 8, 4, BPF_F_INNER_MAP);
  r.create(A, 4, 8, 4, BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG);
  r.create(A, 4, 8, 4, BPF_F_RDONLY | BPF_F_WRONLY);
  r.create(A, 4, 8, 4, BPF_F_NUMA_NODE);
}

SCENARIO("ARRAY", "create", "absurd_size_enomem") {
  r.create(A, 4, 1 << 20, 0xFFFFFFFF);
  r.create(A, 4, 8, 0xFFFFFFFF);
}

SCENARIO("ARRAY", "update", "flags_and_range") {
  int fd = r.create(A, 4, 8, 4);
  r.update(fd, u32(0), u64(1), BPF_ANY);
  r.update(fd, u32(1), u64(2), BPF_EXIST);
  r.update(fd, u32(2), u64(3), BPF_NOEXIST);
  r.update(fd, u32(4), u64(4), BPF_ANY);
  r.update(fd, u32(4), u64(4), BPF_NOEXIST);
  r.update(fd, u32(0xFFFFFFFF), u64(4), BPF_ANY);
  r.update(fd, u32(1), u64(5), 3);
  r.update(fd, u32(9), u64(5), 3);
  r.update(fd, u32(1), u64(5), BPF_F_LOCK);
  r.update(fd, u32(1), u64(5), BPF_F_LOCK | BPF_NOEXIST);
  for (uint32_t k = 0; k < 5; ++k) r.lookup(fd, u32(k));
}

SCENARIO("ARRAY", "lookup", "zeroed_and_flags") {
  int fd = r.create(A, 4, 12, 3);
  r.lookup(fd, u32(0));
  r.lookup(fd, u32(2));
  r.lookup(fd, u32(3));
  r.lookup(fd, u32(0), BPF_F_LOCK);
  r.lookup(fd, u32(0), 8);
  r.lookup(fd, std::nullopt);
  r.lookup(fd, u32(0), 0, 0, true);
  r.lookup(fd, u32(9), 0, 0, true);
}

SCENARIO("ARRAY", "delete", "einval") {
  int fd = r.create(A, 4, 8, 4);
  r.remove(fd, u32(0));
  r.remove(fd, u32(10));
  r.remove(fd, std::nullopt);
}

SCENARIO("ARRAY", "get_next_key", "rules") {
  int fd = r.create(A, 4, 8, 3);
  r.next_key(fd, std::nullopt, 4);
  r.next_key(fd, u32(0), 4);
  r.next_key(fd, u32(1), 4);
  r.next_key(fd, u32(2), 4);
  r.next_key(fd, u32(3), 4);
  r.next_key(fd, u32(0xFFFFFFFF), 4);
  r.walk(fd, 4);
  r.next_key(fd, u32(2), 4, true);
}

SCENARIO("ARRAY", "lookup_and_delete", "enotsupp") {
  int fd = r.create(A, 4, 8, 4);
  r.lookup_and_delete(fd, u32(0));
  r.lookup_and_delete(fd, u32(0), BPF_F_LOCK);
  r.lookup_and_delete(fd, u32(0), 2);
  r.lookup_and_delete(fd, std::nullopt);
}

SCENARIO("ARRAY", "batch", "lookup_and_update_batch") {
  int fd = r.create(A, 4, 8, 5);
  r.update_batch(fd, {u32(0), u32(1), u32(7), u32(2)}, {u64(10), u64(11), u64(17), u64(12)}, 4);
  r.lookup_batch(fd, std::nullopt, 2, 4, 8);
  r.lookup_batch(fd, 1u, 2, 4, 8);
  r.lookup_batch(fd, 3u, 5, 4, 8);
  r.lookup_batch(fd, 4u, 5, 4, 8);
  r.lookup_batch(fd, std::nullopt, 0, 4, 8);
  r.lookup_batch(fd, std::nullopt, 3, 4, 8, {}, true);
  r.delete_batch(fd, {u32(0)}, 1);
  BatchOpts o;
  o.flags = 1;
  r.lookup_batch(fd, std::nullopt, 3, 4, 8, o);
}

SCENARIO("ARRAY", "freeze", "freeze_rules") {
  int fd = r.create(A, 4, 8, 4);
  r.update(fd, u32(0), u64(1));
  r.freeze(fd);
  r.update(fd, u32(0), u64(2));
  r.lookup(fd, u32(0));
  r.freeze(fd);
  r.next_key(fd, std::nullopt, 4);
  r.update_batch(fd, {u32(1)}, {u64(1)}, 1);
  r.info(fd);
}

SCENARIO("ARRAY", "access", "rdonly_wronly_fds") {
  int ro = r.create(A, 4, 8, 4, BPF_F_RDONLY);
  r.update(ro, u32(0), u64(1));
  r.lookup(ro, u32(0));
  r.next_key(ro, std::nullopt, 4);
  r.freeze(ro);
  r.info(ro);
  int wo = r.create(A, 4, 8, 4, BPF_F_WRONLY);
  r.update(wo, u32(0), u64(1));
  r.lookup(wo, u32(0));
  r.next_key(wo, std::nullopt, 4);
  r.info(wo);
  r.freeze(wo);
  r.update(wo, u32(0), u64(1));
}

SCENARIO("ARRAY", "access", "rdonly_prog_wronly_prog") {
  int a = r.create(A, 4, 8, 4, BPF_F_RDONLY_PROG);
  r.update(a, u32(0), u64(1));
  r.lookup(a, u32(0));
  r.info(a);
  int b = r.create(A, 4, 8, 4, BPF_F_WRONLY_PROG);
  r.update(b, u32(0), u64(1));
  r.lookup(b, u32(0));
  r.freeze(b);
}

SCENARIO("PERCPU_ARRAY", "create", "sizes_and_flags") {
  r.create(PA, 4, 32 << 10, 2);
  r.create(PA, 4, (32 << 10) + 1, 2);
  r.create(PA, 4, 8, 2, BPF_F_MMAPABLE);
  r.create(PA, 4, 8, 2, BPF_F_NUMA_NODE);
  r.create(PA, 4, 8, 2, BPF_F_INNER_MAP);
  r.create(PA, 4, 8, 2, BPF_F_NO_PREALLOC);
}

SCENARIO("PERCPU_ARRAY", "update", "layout_and_flags") {
  int fd = r.create(PA, 4, 4, 3);
  r.lookup(fd, u32(0));
  r.update(fd, u32(0), percpu_value(r, 4, 1));
  r.lookup(fd, u32(0));
  r.update(fd, u32(1), percpu_value(r, 4, 2), BPF_NOEXIST);
  r.update(fd, u32(1), percpu_value(r, 4, 3), BPF_EXIST);
  r.update(fd, u32(3), percpu_value(r, 4, 4));
  r.update(fd, u32(1), percpu_value(r, 4, 5), BPF_F_LOCK);
  r.update(fd, u32(1), percpu_value(r, 4, 5), 3);
  r.lookup(fd, u32(1));
  r.lookup(fd, u32(3));
  r.lookup(fd, u32(1), BPF_F_LOCK);
}

SCENARIO("PERCPU_ARRAY", "get_next_key", "walk") {
  int fd = r.create(PA, 4, 16, 4);
  r.walk(fd, 4);
  r.remove(fd, u32(0));
  r.lookup_and_delete(fd, u32(0));
}

SCENARIO("PERCPU_ARRAY", "batch", "lookup_batch") {
  int fd = r.create(PA, 4, 4, 3);
  r.update(fd, u32(2), percpu_value(r, 4, 0x30));
  r.lookup_batch(fd, std::nullopt, 3, 4, r.sys_value_size(PA, 4));
}

}  // namespace bpfemu::conformance
