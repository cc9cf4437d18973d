// QUEUE and STACK scenarios. Each QS_SCENARIO runs once per type: the two
// differ only in which end a peek or pop takes.
#include <sys/sysinfo.h>

#include "conformance/scenario.h"

namespace bpfemu::conformance {
namespace {

// QS_SCENARIO("op", "name") { ... r and type (QUEUE or STACK) in scope ... }
#define QS_SCENARIO(op, name)                                                                              \
  static void BPFEMU_CAT(qs_fn_, __LINE__)(Recorder & r, uint32_t type);                                 \
  static Registrar BPFEMU_CAT(qs_queue_, __LINE__)(                                                      \
      "QUEUE", op, name, [](Recorder& r) { BPFEMU_CAT(qs_fn_, __LINE__)(r, BPF_MAP_TYPE_QUEUE); });      \
  static Registrar BPFEMU_CAT(qs_stack_, __LINE__)(                                                      \
      "STACK", op, name, [](Recorder& r) { BPFEMU_CAT(qs_fn_, __LINE__)(r, BPF_MAP_TYPE_STACK); });      \
  static void BPFEMU_CAT(qs_fn_, __LINE__)(Recorder & r, uint32_t type)

constexpr uint32_t kKmallocMax = 1U << 22;

// Pops until empty (at most limit times), recording each.
void drain(Recorder& r, int fd, int limit = 16) {
  for (int i = 0; i < limit; ++i)
    if (r.lookup_and_delete(fd, std::nullopt) != 0) break;
}

QS_SCENARIO("create", "sizes") {
  r.create(type, 0, 8, 4);
  r.create(type, 4, 8, 4);
  r.create(type, 0, 0, 4);
  r.create(type, 0, 8, 0);
  r.create(type, 0, 0, 0);
  r.create(type, 4, 0, 0);
  r.create(type, 0, 1, 1);
  r.create(type, 0, kKmallocMax, 1);
  r.create(type, 0, kKmallocMax + 1, 1);
  r.create(type, 4, kKmallocMax + 1, 1);  // the key size is checked first
  r.create(type, 0, 0x80000000u, 1);
  r.create(type, 0, 0xFFFFFFFFu, 1);
}

// 6.18 has no bound on max_entries * value_size (6.12's source refuses
// max_entries >= U32_MAX / value_size): these rings take 4 GiB each, so each is
// closed at once. max_entries U32_MAX makes the u32 slot count wrap to 0.
QS_SCENARIO("create", "huge_rings") {
  // Where the kernel could not get 4 GiB, it would answer ENOMEM and the
  // emulator (which allocates lazily) would not: both sides skip alike.
  struct sysinfo si {};
  if (sysinfo(&si) != 0 || uint64_t{si.totalram} * si.mem_unit < (uint64_t{16} << 30))
    return r.note("skipped: under 16 GiB of memory", 0);
  int a = r.create(type, 0, 8, 0x1FFFFFFF);
  r.memlock(a);
  r.update(a, std::nullopt, u64(1));
  r.lookup(a, std::nullopt);
  r.close(a);
  int b = r.create(type, 0, 1, 0xFFFFFFFF);
  r.memlock(b);
  r.update(b, std::nullopt, fill(1, 1));
  r.update(b, std::nullopt, fill(1, 2), BPF_EXIST);
  r.lookup(b, std::nullopt);
  r.lookup_and_delete(b, std::nullopt);
  r.close(b);
}

QS_SCENARIO("create", "flags") {
  r.create(type, 0, 8, 4, BPF_F_NUMA_NODE);
  r.create(type, 0, 8, 4, BPF_F_RDONLY);
  r.create(type, 0, 8, 4, BPF_F_WRONLY);
  r.create(type, 0, 8, 4, BPF_F_RDONLY | BPF_F_WRONLY);
  r.create(type, 0, 8, 4, BPF_F_RDONLY_PROG);
  r.create(type, 0, 8, 4, BPF_F_WRONLY_PROG);
  r.create(type, 0, 8, 4, BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG);
  r.create(type, 0, 8, 4, BPF_F_NO_PREALLOC);
  r.create(type, 0, 8, 4, BPF_F_NO_COMMON_LRU);
  r.create(type, 0, 8, 4, BPF_F_ZERO_SEED);
  r.create(type, 0, 8, 4, BPF_F_MMAPABLE);
  r.create(type, 0, 8, 4, BPF_F_INNER_MAP);
  r.create(type, 0, 8, 4, BPF_F_PRESERVE_ELEMS);
  r.create(type, 0, 8, 4, BPF_F_CLONE);
  r.create(type, 0, 8, 4, 1U << 20);
  r.create(type, 0, 8, 4, 0, "conf", 1);
  r.create(type, 0, 8, 4, 0, "bad-name");
}

QS_SCENARIO("create", "info_and_memlock") {
  int a = r.create(type, 0, 8, 4, BPF_F_NUMA_NODE | BPF_F_RDONLY_PROG, "qs_info");
  r.info(a);
  r.memlock(a);
  int b = r.create(type, 0, 3, 1000);
  r.info(b);
  r.memlock(b);
  int c = r.create(type, 0, 4096, 1, BPF_F_WRONLY);
  r.info(c);
  r.memlock(c);
  r.info(a, 40);
}

QS_SCENARIO("push_pop", "order") {
  int fd = r.create(type, 0, 4, 8);
  r.lookup(fd, std::nullopt);
  r.lookup_and_delete(fd, std::nullopt);
  for (uint32_t v = 1; v <= 5; ++v) r.update(fd, std::nullopt, u32(v));
  r.lookup(fd, std::nullopt);
  r.lookup(fd, std::nullopt);
  r.lookup_and_delete(fd, std::nullopt);
  r.lookup(fd, std::nullopt);
  r.update(fd, std::nullopt, u32(6));
  drain(r, fd);
  r.lookup(fd, std::nullopt);
}

QS_SCENARIO("push_pop", "odd_value_sizes") {
  for (uint32_t vs : {1u, 3u, 5u, 7u, 13u, 100u}) {
    int fd = r.create(type, 0, vs, 3);
    r.update(fd, std::nullopt, fill(vs, 0x11));
    Bytes v(vs);
    for (uint32_t i = 0; i < vs; ++i) v[i] = static_cast<uint8_t>(i + 1);
    r.update(fd, std::nullopt, v);
    r.lookup(fd, std::nullopt);
    drain(r, fd);
  }
}

// The ring wraps around many times; order survives.
QS_SCENARIO("push_pop", "wrap_around") {
  int fd = r.create(type, 0, 8, 3);
  uint64_t next = 1;
  for (int round = 0; round < 7; ++round) {
    for (int i = 0; i < 2; ++i) r.update(fd, std::nullopt, u64(next++));
    r.lookup_and_delete(fd, std::nullopt);
    r.update(fd, std::nullopt, u64(next++));
    r.lookup(fd, std::nullopt);
    r.lookup_and_delete(fd, std::nullopt);
  }
  drain(r, fd);
}

QS_SCENARIO("push", "full") {
  int fd = r.create(type, 0, 4, 3);
  for (uint32_t v = 1; v <= 4; ++v) r.update(fd, std::nullopt, u32(v));
  r.update(fd, std::nullopt, u32(5), BPF_ANY);
  r.lookup(fd, std::nullopt);
  drain(r, fd);
}

// BPF_EXIST on a full map drops the oldest element (the queue's next pop, the
// stack's bottom) to make room; on a map with room it is a plain push.
QS_SCENARIO("push", "exist_evicts_oldest") {
  int fd = r.create(type, 0, 4, 3);
  r.update(fd, std::nullopt, u32(1), BPF_EXIST);
  r.update(fd, std::nullopt, u32(2), BPF_EXIST);
  r.update(fd, std::nullopt, u32(3));
  for (uint32_t v = 4; v <= 9; ++v) {
    r.update(fd, std::nullopt, u32(v), BPF_EXIST);
    r.lookup(fd, std::nullopt);
  }
  r.update(fd, std::nullopt, u32(10));
  drain(r, fd);
  int one = r.create(type, 0, 8, 1);
  r.update(one, std::nullopt, u64(1));
  r.update(one, std::nullopt, u64(2));
  r.update(one, std::nullopt, u64(3), BPF_EXIST);
  r.lookup(one, std::nullopt);
  r.lookup_and_delete(one, std::nullopt);
  r.lookup_and_delete(one, std::nullopt);
}

QS_SCENARIO("push", "flags") {
  int fd = r.create(type, 0, 4, 4);
  r.update(fd, std::nullopt, u32(1), BPF_NOEXIST);
  r.update(fd, std::nullopt, u32(2), 3);
  r.update(fd, std::nullopt, u32(3), 4);
  r.update(fd, std::nullopt, u32(4), BPF_F_LOCK);
  r.update(fd, std::nullopt, u32(5), BPF_F_LOCK | BPF_EXIST);
  r.update(fd, std::nullopt, u32(6), 1ULL << 32);
  r.update(fd, std::nullopt, u32(7), (1ULL << 32) | BPF_EXIST);
  r.update(fd, std::nullopt, u32(8), 8);
  drain(r, fd);
}

QS_SCENARIO("peek_pop", "flags") {
  int fd = r.create(type, 0, 4, 4);
  r.update(fd, std::nullopt, u32(1));
  r.update(fd, std::nullopt, u32(2));
  r.lookup(fd, std::nullopt, BPF_F_LOCK);
  r.lookup(fd, std::nullopt, 1);
  r.lookup(fd, std::nullopt, 2);
  r.lookup(fd, std::nullopt, 1ULL << 32);
  r.lookup_and_delete(fd, std::nullopt, BPF_F_LOCK);
  r.lookup_and_delete(fd, std::nullopt, 1);
  r.lookup_and_delete(fd, std::nullopt, 2);
  r.lookup_and_delete(fd, std::nullopt, 1ULL << 32);
  drain(r, fd);
  r.lookup(fd, std::nullopt, BPF_F_LOCK);
  r.lookup_and_delete(fd, std::nullopt, BPF_F_LOCK);
}

// A key must be NULL (key_size 0); every other call is EINVAL.
QS_SCENARIO("keys", "non_null_key") {
  int fd = r.create(type, 0, 4, 4);
  r.update(fd, u32(0), u32(1));
  r.update(fd, u32(0), std::nullopt);
  r.update(fd, std::nullopt, u32(2));
  r.lookup(fd, u32(0));
  r.lookup(fd, u32(0), BPF_F_LOCK);
  r.lookup_and_delete(fd, u32(0));
  r.remove(fd, u32(0));
  r.next_key(fd, u32(0), 4);
  r.lookup(fd, std::nullopt);
}

QS_SCENARIO("values", "null_and_bad_buffers") {
  int fd = r.create(type, 0, 8, 4);
  r.update(fd, std::nullopt, std::nullopt);
  r.lookup(fd, std::nullopt, 0, 0, true);  // empty: ENOENT before the copy out
  r.lookup_and_delete(fd, std::nullopt, 0, 0, true);
  r.update(fd, std::nullopt, u64(1));
  r.update(fd, std::nullopt, u64(2));
  r.lookup(fd, std::nullopt, 0, 0, true);
  r.lookup(fd, std::nullopt);
  r.lookup_and_delete(fd, std::nullopt, 0, 0, true);  // pops, then fails the copy
  r.lookup(fd, std::nullopt);
  drain(r, fd);
}

QS_SCENARIO("delete", "einval") {
  int fd = r.create(type, 0, 4, 4);
  r.remove(fd, std::nullopt);
  r.update(fd, std::nullopt, u32(1));
  r.remove(fd, std::nullopt);
  r.remove(fd, std::nullopt, 1);
  r.lookup(fd, std::nullopt);
}

QS_SCENARIO("get_next_key", "einval") {
  int fd = r.create(type, 0, 4, 4);
  r.next_key(fd, std::nullopt, 0);
  r.update(fd, std::nullopt, u32(1));
  r.next_key(fd, std::nullopt, 0);
  r.next_key(fd, std::nullopt, 0, true);
  r.walk(fd, 0);
}

QS_SCENARIO("batch", "enotsupp") {
  int fd = r.create(type, 0, 4, 4);
  r.update(fd, std::nullopt, u32(1));
  r.lookup_batch(fd, std::nullopt, 2, 0, 4);
  r.lookup_batch(fd, std::nullopt, 2, 0, 4, {}, true);
  r.update_batch(fd, {Bytes{}}, {u32(2)}, 1);
  r.delete_batch(fd, {Bytes{}}, 1);
  BatchOpts bad;
  bad.flags = 1;
  r.lookup_batch(fd, std::nullopt, 2, 0, 4, bad);
  int ro = r.create(type, 0, 4, 4, BPF_F_RDONLY);
  r.update_batch(ro, {Bytes{}}, {u32(2)}, 1);
  r.lookup_and_delete(fd, std::nullopt);
}

// Freezing takes write access from syscalls: pushes and pops fail, peeks work.
QS_SCENARIO("freeze", "freeze_rules") {
  int fd = r.create(type, 0, 4, 4);
  r.update(fd, std::nullopt, u32(1));
  r.update(fd, std::nullopt, u32(2));
  r.freeze(fd);
  r.update(fd, std::nullopt, u32(3));
  r.update(fd, std::nullopt, u32(3), BPF_EXIST);
  r.lookup(fd, std::nullopt);
  r.lookup_and_delete(fd, std::nullopt);
  r.remove(fd, std::nullopt);
  r.freeze(fd);
  r.info(fd);
  r.lookup(fd, std::nullopt);
}

QS_SCENARIO("access", "rdonly_wronly_fds") {
  int ro = r.create(type, 0, 4, 4, BPF_F_RDONLY);
  r.update(ro, std::nullopt, u32(1));
  r.lookup(ro, std::nullopt);
  r.lookup_and_delete(ro, std::nullopt);
  r.remove(ro, std::nullopt);
  r.next_key(ro, std::nullopt, 0);
  r.freeze(ro);
  r.info(ro);
  int wo = r.create(type, 0, 4, 4, BPF_F_WRONLY);
  r.update(wo, std::nullopt, u32(1));
  r.lookup(wo, std::nullopt);
  r.lookup_and_delete(wo, std::nullopt);
  r.remove(wo, std::nullopt);
  r.next_key(wo, std::nullopt, 0);
  r.freeze(wo);
  r.update(wo, std::nullopt, u32(2));
}

// Read-only and write-only handles to one map, from a pin.
QS_SCENARIO("access", "pinned_handles") {
  int fd = r.create(type, 0, 4, 4);
  r.update(fd, std::nullopt, u32(1));
  r.update(fd, std::nullopt, u32(2));
  const std::string path = r.pin_path(type == BPF_MAP_TYPE_QUEUE ? "queue" : "stack");
  r.pin(fd, path);
  int ro = r.get(path, BPF_F_RDONLY);
  int wo = r.get(path, BPF_F_WRONLY);
  r.lookup(ro, std::nullopt);
  r.update(ro, std::nullopt, u32(3));
  r.lookup_and_delete(ro, std::nullopt);
  r.update(wo, std::nullopt, u32(4));
  r.lookup(wo, std::nullopt);
  r.lookup_and_delete(wo, std::nullopt);
  drain(r, fd);
  r.unpin(path);
}

// Program-side helpers: the same ring as the syscalls; an empty map zeroes the
// program's buffer.
QS_SCENARIO("prog", "push_pop_peek") {
  int fd = r.create(type, 0, 8, 3);
  r.prog_pop(fd);
  r.prog_peek(fd);
  r.prog_push(fd, u64(1));
  r.update(fd, std::nullopt, u64(2));
  r.prog_push(fd, u64(3));
  r.prog_push(fd, u64(4));
  r.prog_push(fd, u64(5), BPF_EXIST);
  r.prog_peek(fd);
  r.lookup(fd, std::nullopt);
  r.prog_pop(fd);
  r.lookup_and_delete(fd, std::nullopt);
  r.prog_pop(fd);
  r.prog_pop(fd);
  r.prog_peek(fd);
}

QS_SCENARIO("prog", "push_flags") {
  int fd = r.create(type, 0, 4, 2);
  r.prog_push(fd, u32(1), BPF_NOEXIST);
  r.prog_push(fd, u32(2), 3);
  r.prog_push(fd, u32(3), 4);
  r.prog_push(fd, u32(4), BPF_F_LOCK);
  r.prog_push(fd, u32(5), 1ULL << 32);
  r.prog_push(fd, u32(6), BPF_EXIST);
  r.prog_push(fd, u32(7));
  r.prog_push(fd, u32(8));
  r.prog_push(fd, u32(9), BPF_EXIST);
  drain(r, fd);
}

QS_SCENARIO("prog", "value_sizes") {
  for (uint32_t vs : {1u, 3u, 12u, 64u, 65u}) {
    int fd = r.create(type, 0, vs, 2);
    Bytes v(vs);
    for (uint32_t i = 0; i < vs; ++i) v[i] = static_cast<uint8_t>(0x40 + i);
    r.prog_push(fd, v);
    r.prog_push(fd, fill(vs, 0x22));
    r.prog_peek(fd);
    r.prog_pop(fd);
    r.lookup_and_delete(fd, std::nullopt);
    r.prog_pop(fd);
  }
}

// Freezing and the fd's access mode restrict syscalls only.
QS_SCENARIO("prog", "frozen_and_rdonly") {
  int fd = r.create(type, 0, 4, 4);
  r.freeze(fd);
  r.prog_push(fd, u32(1));
  r.prog_push(fd, u32(2));
  r.lookup(fd, std::nullopt);
  r.prog_pop(fd);
  int ro = r.create(type, 0, 4, 4, BPF_F_RDONLY);
  r.prog_push(ro, u32(3));
  r.lookup(ro, std::nullopt);
  r.prog_pop(ro);
}

}  // namespace
}  // namespace bpfemu::conformance
