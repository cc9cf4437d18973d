// Bad pointers where the kernel copies from or to user memory: (void*)16, a
// read-only page, a buffer running into an inaccessible page, too-short batch
// arrays. The kernel answers EFAULT (after whatever it did before the fault);
// the emulator must too, never a crash, and must leave the map usable.
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>

#include "conformance/scenario.h"
#include "emu/bpf_syscall.h"

namespace bpfemu::conformance {
namespace {

// Two pages: the first read-write, the second inaccessible.
struct Guarded {
  Guarded() {
    base = static_cast<uint8_t*>(mmap(nullptr, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (base == MAP_FAILED) {
      base = nullptr;
      return;
    }
    memset(base, 0, 3 * 4096);
    mprotect(base + 4096, 4096, PROT_NONE);
    mprotect(base + 2 * 4096, 4096, PROT_READ);  // a read-only page after the hole
  }
  ~Guarded() {
    if (base != nullptr) munmap(base, 3 * 4096);
  }
  // n bytes that end where the inaccessible page starts.
  uint8_t* before_hole(size_t n) const { return base + 4096 - n; }
  uint8_t* hole() const { return base + 4096; }
  uint8_t* read_only() const { return base + 2 * 4096; }
  uint8_t* base;
};

void* bad = reinterpret_cast<void*>(16);

}  // namespace

SCENARIO("COMMON", "badptr", "element_ops") {
  Guarded g;
  if (g.base == nullptr) return r.note("mmap failed", -1);
  for (uint32_t type : {BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_LRU_HASH}) {
    const int fd = r.create(type, 4, 8, 8, type == BPF_MAP_TYPE_HASH ? BPF_F_ZERO_SEED : 0, "bad");
    if (fd < 0) continue;
    r.update(fd, u32(1), u64(0x1111));
    auto& b = r.backend();
    uint32_t k = 1;
    uint64_t v = 0x2222;
    auto note = [&](const char* what, int rc) { r.note(std::string(what), rc < 0 ? -errno : rc); };
    errno = 0;
    note("lookup key (void*)16", b.map_lookup_elem(fd, bad, &v));
    note("lookup value (void*)16", b.map_lookup_elem(fd, &k, bad));
    note("lookup value read-only", b.map_lookup_elem(fd, &k, g.read_only()));
    memset(g.before_hole(4), 0xAB, 4);
    note("lookup value runs into a hole", b.map_lookup_elem(fd, &k, g.before_hole(4)));
    r.note("lookup value: the bytes before the hole were written", memcmp(g.before_hole(4), "\x11\x11\x00\x00", 4) == 0);
    note("lookup key runs into a hole", b.map_lookup_elem(fd, g.before_hole(2), &v));
    note("update key (void*)16", b.map_update_elem(fd, bad, &v, BPF_ANY));
    note("update value (void*)16", b.map_update_elem(fd, &k, bad, BPF_ANY));
    note("update value runs into a hole", b.map_update_elem(fd, &k, g.before_hole(4), BPF_ANY));
    note("update with flags, value (void*)16", b.map_update_elem(fd, &k, bad, BPF_EXIST));
    note("delete key (void*)16", b.map_delete_elem(fd, bad));
    note("get_next_key key (void*)16", b.map_get_next_key(fd, bad, &k));
    note("get_next_key next (void*)16", b.map_get_next_key(fd, nullptr, bad));
    note("lookup_and_delete value (void*)16", b.map_lookup_and_delete_elem(fd, &k, bad));
    // Nothing above broke the map.
    r.lookup(fd, u32(1));
    r.update(fd, u32(2), u64(2));
    r.walk_set(fd, 4);
    r.close(fd);
  }
}

SCENARIO("COMMON", "badptr", "batch_ops") {
  Guarded g;
  if (g.base == nullptr) return r.note("mmap failed", -1);
  const int fd = r.create(BPF_MAP_TYPE_HASH, 4, 8, 64, BPF_F_ZERO_SEED, "badbatch");
  if (fd < 0) return;
  for (uint32_t i = 0; i < 8; ++i) r.update(fd, u32(i), u64(i * 3));
  auto& b = r.backend();
  auto note = [&](const std::string& what, int rc, uint32_t count) {
    r.note(what, rc < 0 ? -errno : rc);
    r.note(what + ": count", count);
  };
  uint32_t keys[64], token = 0, count = 64;
  uint64_t values[64];
  errno = 0;
  note("lookup_batch keys (void*)16", b.map_lookup_batch(fd, nullptr, &token, bad, values, &count, nullptr), count);
  count = 64;
  note("lookup_batch values (void*)16", b.map_lookup_batch(fd, nullptr, &token, keys, bad, &count, nullptr), count);
  count = 64;
  note("lookup_batch out_batch (void*)16", b.map_lookup_batch(fd, nullptr, bad, keys, values, &count, nullptr), count);
  count = 64;
  note("lookup_batch in_batch (void*)16", b.map_lookup_batch(fd, bad, &token, keys, values, &count, nullptr), count);
  // Values end in a hole: the kernel copies a whole bucket at a time.
  count = 64;
  note("lookup_batch values run into a hole",
       b.map_lookup_batch(fd, nullptr, &token, keys, g.before_hole(3 * 8), &count, nullptr), count);
  // lookup_and_delete with NULL values: the kernel deletes the bucket it read before the copy fails.
  count = 64;
  note("lookup_and_delete_batch values NULL",
       b.map_lookup_and_delete_batch(fd, nullptr, &token, keys, nullptr, &count, nullptr), count);
  r.walk_set(fd, 4);
  uint32_t upd_keys[4] = {20, 21, 22, 23};
  uint64_t upd_values[4] = {1, 2, 3, 4};
  count = 4;
  note("update_batch values (void*)16", b.map_update_batch(fd, upd_keys, bad, &count, nullptr), count);
  // Keys run into a hole after two: two updates done.
  memcpy(g.before_hole(8), upd_keys, 8);
  count = 4;
  note("update_batch keys run into a hole", b.map_update_batch(fd, g.before_hole(8), upd_values, &count, nullptr),
       count);
  count = 4;
  note("delete_batch keys (void*)16", b.map_delete_batch(fd, bad, &count, nullptr), count);
  r.walk_set(fd, 4);
}

SCENARIO("COMMON", "badptr", "objects") {
  Guarded g;
  if (g.base == nullptr) return r.note("mmap failed", -1);
  auto& b = r.backend();
  const int fd = r.create(BPF_MAP_TYPE_ARRAY, 4, 8, 4, 0, "badobj");
  if (fd < 0) return;
  auto note = [&](const char* what, int rc) { r.note(what, rc < 0 ? -errno : rc); };
  uint32_t len = sizeof(MapInfo);
  errno = 0;
  note("info (void*)16", b.obj_get_info_by_fd(fd, bad, &len));
  len = sizeof(MapInfo);
  note("info read-only", b.obj_get_info_by_fd(fd, g.read_only(), &len));
  len = sizeof(MapInfo);
  note("info runs into a hole", b.obj_get_info_by_fd(fd, g.before_hole(40), &len));
  note("pin path (void*)16", b.obj_pin(fd, static_cast<const char*>(bad)));
  memcpy(g.before_hole(11), "/sys/fs/bpf", 11);  // no NUL before the hole
  note("pin path runs into a hole", b.obj_pin(fd, reinterpret_cast<const char*>(g.before_hole(11))));
  note("get path (void*)16", b.obj_get(static_cast<const char*>(bad)));
  emu::BpfAttr a{};
  a.btf.btf = 16;
  a.btf.btf_size = 64;
  r.raw("btf_load btf (void*)16", BPF_BTF_LOAD, &a, sizeof(a), true);
  a.btf.btf = reinterpret_cast<uintptr_t>(g.before_hole(16));
  r.raw("btf_load btf runs into a hole", BPF_BTF_LOAD, &a, sizeof(a), true);
  r.lookup(fd, u32(1));
}

}  // namespace bpfemu::conformance

namespace bpfemu::conformance {

// The element ops of the other emulated types with (void*)16 and with a
// buffer running into an inaccessible page, then the map still answers.
SCENARIO("COMMON", "badptr", "element_ops_other_types") {
  Guarded g;
  if (g.base == nullptr) return r.note("mmap failed", -1);
  auto& b = r.backend();
  auto note = [&](const std::string& what, int rc) { r.note(what, rc < 0 ? -errno : rc); };
  struct Type {
    uint32_t type, key_size, flags;
    const char* name;
  };
  for (const Type& t : {Type{BPF_MAP_TYPE_PERCPU_HASH, 4, BPF_F_ZERO_SEED, "percpu_hash"},
                        Type{BPF_MAP_TYPE_PERCPU_ARRAY, 4, 0, "percpu_array"},
                        Type{BPF_MAP_TYPE_LRU_PERCPU_HASH, 4, 0, "lru_percpu_hash"},
                        Type{BPF_MAP_TYPE_LPM_TRIE, 8, BPF_F_NO_PREALLOC, "lpm_trie"}}) {
    const int fd = r.create(t.type, t.key_size, 8, 8, t.flags, "bad");
    if (fd < 0) continue;
    const uint8_t key[8] = {32, 0, 0, 0, 10, 0, 0, 1};  // also an LPM key: /32
    std::vector<uint8_t> value(8 * 64, 0x33);              // room for any CPU count
    errno = 0;
    note(std::string(t.name) + " update key (void*)16", b.map_update_elem(fd, bad, value.data(), BPF_ANY));
    note(std::string(t.name) + " update value (void*)16", b.map_update_elem(fd, key, bad, BPF_ANY));
    note(std::string(t.name) + " update", b.map_update_elem(fd, key, value.data(), BPF_ANY));
    note(std::string(t.name) + " lookup value (void*)16", b.map_lookup_elem(fd, key, bad));
    note(std::string(t.name) + " lookup value runs into a hole", b.map_lookup_elem(fd, key, g.before_hole(8)));
    note(std::string(t.name) + " lookup key runs into a hole", b.map_lookup_elem(fd, g.before_hole(2), value.data()));
    note(std::string(t.name) + " delete key (void*)16", b.map_delete_elem(fd, bad));
    note(std::string(t.name) + " next_key out (void*)16", b.map_get_next_key(fd, nullptr, bad));
    r.lookup(fd, Bytes(key, key + t.key_size));
    r.close(fd);
  }
  for (uint32_t type : {BPF_MAP_TYPE_QUEUE, BPF_MAP_TYPE_STACK, BPF_MAP_TYPE_BLOOM_FILTER}) {
    const int fd = r.create(type, 0, 8, 4, 0, "bad");
    if (fd < 0) continue;
    const std::string name = type == BPF_MAP_TYPE_QUEUE ? "queue" : type == BPF_MAP_TYPE_STACK ? "stack" : "bloom";
    uint64_t v = 7;
    errno = 0;
    note(name + " push (void*)16", b.map_update_elem(fd, nullptr, bad, BPF_ANY));
    note(name + " push value runs into a hole", b.map_update_elem(fd, nullptr, g.before_hole(4), BPF_ANY));
    note(name + " push", b.map_update_elem(fd, nullptr, &v, BPF_ANY));
    note(name + " peek into (void*)16", b.map_lookup_elem(fd, nullptr, bad));
    note(name + " peek runs into a hole", b.map_lookup_elem(fd, nullptr, g.before_hole(4)));
    if (type != BPF_MAP_TYPE_BLOOM_FILTER)
      note(name + " pop into (void*)16", b.map_lookup_and_delete_elem(fd, nullptr, bad));
    r.lookup_value(fd, std::nullopt, u64(7));
    r.close(fd);
  }
}

// Object calls with NULL and (void*)16 where the kernel reads or writes.
SCENARIO("COMMON", "badptr", "object_calls_null") {
  auto& b = r.backend();
  auto note = [&](const std::string& what, long rc) { r.note(what, rc < 0 ? -errno : rc); };
  const int fd = r.create(BPF_MAP_TYPE_ARRAY, 4, 8, 2);
  if (fd < 0) return;
  uint32_t len = sizeof(bpf_map_info);
  errno = 0;
  note("info NULL", b.obj_get_info_by_fd(fd, nullptr, &len));
  note("pin NULL path", b.obj_pin(fd, nullptr));
  note("get NULL path", b.obj_get(nullptr));
  emu::BpfAttr a{};
  a.btf.btf = 0;
  a.btf.btf_size = 64;
  note("btf_load NULL blob", b.bpf(BPF_BTF_LOAD, &a, sizeof(a)));
  a.btf.btf = 16;
  note("btf_load blob (void*)16", b.bpf(BPF_BTF_LOAD, &a, sizeof(a)));
  emu::BpfAttr p{};
  p.prog.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
  p.prog.insn_cnt = 2;
  p.prog.insns = 16;
  p.prog.license = reinterpret_cast<uintptr_t>("GPL");
  note("prog_load insns (void*)16", b.bpf(BPF_PROG_LOAD, &p, sizeof(p)));
  r.close(fd);
}

}  // namespace bpfemu::conformance
