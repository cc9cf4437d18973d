// ARRAY_OF_MAPS and HASH_OF_MAPS: create rules (the inner map template and
// which inner types it may be), the update compatibility matrix against the
// template, update flags, lookups answering the inner map's id, delete, walk,
// batch calls, lifetime of inner maps held only by a slot (seen through
// map_get_fd_by_id), freeze, pin, and the program side (an outer lookup
// yielding a map the program then looks up and updates).
//
// Map ids differ between the two sides: lookups and batch values are recorded
// as which of the scenario's maps the id names.
#include <linux/bpf.h>

#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include <bpf/btf.h>

#include "conformance/btf_builder.h"
#include "conformance/scenario.h"
#include "emu/bpf_syscall.h"

namespace bpfemu::conformance {
namespace {

constexpr uint32_t AOM = BPF_MAP_TYPE_ARRAY_OF_MAPS;
constexpr uint32_t HOM = BPF_MAP_TYPE_HASH_OF_MAPS;

uint32_t map_id(Recorder& r, int fd) {
  MapInfo info{};
  uint32_t len = sizeof(info);
  const int saved = errno;
  const uint32_t id = r.backend().obj_get_info_by_fd(fd, &info, &len) == 0 ? info.id : 0;
  errno = saved;
  return id;
}

int outer(Recorder& r, uint32_t type, uint32_t ks, uint32_t vs, uint32_t max, uint32_t flags, int inner,
          const char* name = "mim") {
  MapCreateOpts o;
  o.map_flags = flags;
  o.inner_map_fd = static_cast<uint32_t>(inner);
  return r.create_opts(type, name, ks, vs, max, o);
}

// An update storing map fd `inner` (fd numbers differ between the two sides,
// so the call is noted by its result only).
void store(Recorder& r, int map, const Bytes& key, int inner, uint64_t flags, const std::string& what) {
  errno = 0;
  const int rc = r.backend().map_update_elem(map, key.data(), &inner, flags);
  r.note(what + ": update rc", rc);
  r.note(what + ": update errno", rc == 0 ? 0 : errno);
}

// Which of `maps` the id a lookup of `key` answers names (its index), or the
// lookup's -errno.
void holds(Recorder& r, int map, const Bytes& key, const std::vector<int>& maps, const std::string& what) {
  uint32_t out = 0xaaaaaaaa;
  errno = 0;
  const int rc = r.backend().map_lookup_elem(map, key.data(), &out);
  if (rc != 0) {
    r.note(what + ": lookup", -errno);
    return;
  }
  long which = -1000;
  for (size_t i = 0; i < maps.size(); ++i)
    if (out == map_id(r, maps[i])) which = static_cast<long>(i);
  r.note(what + ": lookup answers map #", which);
}

// Whether the map with `id` still exists (map_get_fd_by_id): 1, or -errno.
void alive(Recorder& r, uint32_t id, const std::string& what) {
  errno = 0;
  const int fd = r.backend().map_get_fd_by_id(id);
  if (fd >= 0) {
    r.backend().close(fd);
    r.note(what + ": alive", 1);
  } else {
    r.note(what + ": alive", -errno);
  }
}

// Whether the map with `id` is gone within two seconds: the kernel frees an
// outer map (and so drops its slots' references) from a work queue after its
// last reference goes, not during the close.
void freed_soon(Recorder& r, uint32_t id, const std::string& what) {
  int last = 0;
  for (int i = 0; i < 200; ++i) {
    errno = 0;
    const int fd = r.backend().map_get_fd_by_id(id);
    if (fd < 0) {
      last = -errno;
      break;
    }
    r.backend().close(fd);
    usleep(10000);
  }
  r.note(what + ": freed soon", last);
}

}  // namespace

SCENARIO("ARRAY_OF_MAPS", "create", "rules") {
  const int inner = r.create(BPF_MAP_TYPE_ARRAY, 4, 8, 4);
  if (inner < 0) return;
  for (auto [ks, vs, max, flags] :
       {std::tuple{4u, 4u, 4u, 0u}, {4u, 8u, 4u, 0u}, {8u, 4u, 4u, 0u}, {2u, 4u, 4u, 0u}, {4u, 4u, 0u, 0u},
        {4u, 0u, 4u, 0u}, {4u, 4u, 4u, uint32_t{BPF_F_RDONLY_PROG}}, {4u, 4u, 4u, uint32_t{BPF_F_WRONLY_PROG}},
        {4u, 4u, 4u, uint32_t{BPF_F_MMAPABLE}}, {4u, 4u, 4u, uint32_t{BPF_F_INNER_MAP}},
        {4u, 4u, 4u, uint32_t{BPF_F_RDONLY}}, {4u, 4u, 4u, uint32_t{BPF_F_WRONLY}},
        {4u, 4u, 4u, uint32_t{BPF_F_NO_PREALLOC}}, {4u, 4u, 4u, uint32_t{BPF_F_ZERO_SEED}},
        {4u, 4u, 4u, uint32_t{BPF_F_PRESERVE_ELEMS}}, {4u, 4u, 4u, uint32_t{BPF_F_NUMA_NODE}},
        {4u, 4u, 4u, uint32_t{BPF_F_NO_COMMON_LRU}}}) {
    const int fd = outer(r, AOM, ks, vs, max, flags, inner);
    if (fd >= 0) r.close(fd);
  }
}

SCENARIO("HASH_OF_MAPS", "create", "rules") {
  const int inner = r.create(BPF_MAP_TYPE_ARRAY, 4, 8, 4);
  if (inner < 0) return;
  for (auto [ks, vs, max, flags] :
       {std::tuple{4u, 4u, 4u, 0u}, {4u, 8u, 4u, 0u}, {8u, 4u, 4u, 0u}, {2u, 4u, 4u, 0u}, {64u, 4u, 4u, 0u},
        {0u, 4u, 4u, 0u}, {4u, 4u, 0u, 0u}, {4u, 0u, 4u, 0u}, {4u, 4u, 4u, uint32_t{BPF_F_NO_PREALLOC}},
        {4u, 4u, 4u, uint32_t{BPF_F_ZERO_SEED}}, {4u, 4u, 4u, uint32_t{BPF_F_RDONLY_PROG}},
        {4u, 4u, 4u, uint32_t{BPF_F_WRONLY_PROG}}, {4u, 4u, 4u, uint32_t{BPF_F_RDONLY}},
        {4u, 4u, 4u, uint32_t{BPF_F_MMAPABLE}}, {4u, 4u, 4u, uint32_t{BPF_F_INNER_MAP}},
        {4u, 4u, 4u, uint32_t{BPF_F_NO_COMMON_LRU}}, {4u, 4u, 4u, uint32_t{BPF_F_NUMA_NODE}}}) {
    const int fd = outer(r, HOM, ks, vs, max, flags, inner);
    if (fd >= 0) r.close(fd);
  }
}

// inner_map_fd: a closed fd, a program, stdin, a map-in-map; then every
// emulated type as the template.
SCENARIO("ARRAY_OF_MAPS", "create", "inner_map_fd") {
  const int prog = r.load_program(BPF_PROG_TYPE_XDP,
                                  {{BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 1}, {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}},
                                  "load xdp");
  const int inner = r.create(BPF_MAP_TYPE_ARRAY, 4, 8, 4);
  if (prog < 0 || inner < 0) return;
  for (uint32_t type : {AOM, HOM}) {
    const std::string t = type == AOM ? "aom" : "hom";
    r.note(t + " closed fd", outer(r, type, 4, 4, 4, 0, 4000) < 0 ? -errno : 1);
    r.note(t + " prog fd", outer(r, type, 4, 4, 4, 0, prog) < 0 ? -errno : 1);
    r.note(t + " fd 0", outer(r, type, 4, 4, 4, 0, 0) < 0 ? -errno : 1);
    // Invalid sizes are checked before the template.
    r.note(t + " bad value size, closed fd", outer(r, type, 4, 8, 4, 0, 4000) < 0 ? -errno : 1);
  }
  const int aom = outer(r, AOM, 4, 4, 2, 0, inner);
  const int hom = outer(r, HOM, 4, 4, 2, 0, inner);
  if (aom >= 0) r.note("aom of aom", outer(r, AOM, 4, 4, 4, 0, aom) < 0 ? -errno : 1);
  if (hom >= 0) r.note("aom of hom", outer(r, AOM, 4, 4, 4, 0, hom) < 0 ? -errno : 1);
  if (aom >= 0) r.note("hom of aom", outer(r, HOM, 4, 4, 4, 0, aom) < 0 ? -errno : 1);
}

SCENARIO("ARRAY_OF_MAPS", "create", "inner_types") {
  struct T {
    uint32_t type, ks, vs, max, flags;
    uint64_t extra;
    const char* name;
  };
  const T types[] = {
      {BPF_MAP_TYPE_HASH, 4, 8, 4, 0, 0, "hash"},
      {BPF_MAP_TYPE_HASH, 4, 8, 4, BPF_F_NO_PREALLOC, 0, "hash no_prealloc"},
      {BPF_MAP_TYPE_ARRAY, 4, 8, 4, 0, 0, "array"},
      {BPF_MAP_TYPE_ARRAY, 4, 8, 4, BPF_F_MMAPABLE, 0, "array mmapable"},
      {BPF_MAP_TYPE_ARRAY, 4, 8, 4, BPF_F_INNER_MAP, 0, "array inner_map"},
      {BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 4, 0, 0, "prog_array"},
      {BPF_MAP_TYPE_PERF_EVENT_ARRAY, 4, 4, 4, 0, 0, "perf_event_array"},
      {BPF_MAP_TYPE_PERCPU_HASH, 4, 8, 4, 0, 0, "percpu_hash"},
      {BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, 4, 0, 0, "percpu_array"},
      {BPF_MAP_TYPE_LRU_HASH, 4, 8, 4, 0, 0, "lru_hash"},
      {BPF_MAP_TYPE_LRU_PERCPU_HASH, 4, 8, 4, 0, 0, "lru_percpu_hash"},
      {BPF_MAP_TYPE_LPM_TRIE, 8, 8, 4, BPF_F_NO_PREALLOC, 0, "lpm_trie"},
      {BPF_MAP_TYPE_QUEUE, 0, 8, 4, 0, 0, "queue"},
      {BPF_MAP_TYPE_STACK, 0, 8, 4, 0, 0, "stack"},
      {BPF_MAP_TYPE_RINGBUF, 0, 0, 4096, 0, 0, "ringbuf"},
      {BPF_MAP_TYPE_BLOOM_FILTER, 0, 8, 4, 0, 3, "bloom_filter"},
  };
  for (const T& t : types) {
    const int inner = r.create(t.type, t.ks, t.vs, t.max, t.flags, "inner", t.extra);
    if (inner < 0) continue;
    for (uint32_t type : {AOM, HOM}) {
      const int fd = outer(r, type, 4, 4, 2, 0, inner);
      r.note(std::string(type == AOM ? "aom of " : "hom of ") + t.name, fd < 0 ? -errno : 1);
      if (fd < 0) continue;
      store(r, fd, u32(0), inner, BPF_ANY, std::string("store ") + t.name);
      r.close(fd);
    }
    r.close(inner);
  }
}

// What an update checks against the template: type, key size, value size,
// map flags and, unless the template has BPF_F_INNER_MAP, max_entries.
SCENARIO("ARRAY_OF_MAPS", "update", "template_match") {
  const int tmpl = r.create(BPF_MAP_TYPE_HASH, 4, 8, 4);
  const int tmpl_inner = r.create(BPF_MAP_TYPE_ARRAY, 4, 8, 4, BPF_F_INNER_MAP);
  const int prog = r.load_program(BPF_PROG_TYPE_XDP,
                                  {{BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 1}, {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}},
                                  "load xdp");
  if (tmpl < 0 || tmpl_inner < 0 || prog < 0) return;
  for (uint32_t type : {AOM, HOM}) {
    const std::string t = type == AOM ? "aom " : "hom ";
    const int fd = outer(r, type, 4, 4, 4, 0, tmpl);
    const int fd2 = outer(r, type, 4, 4, 4, 0, tmpl_inner);
    if (fd < 0 || fd2 < 0) return;
    struct C {
      uint32_t type, ks, vs, max, flags;
      const char* name;
    };
    for (const C& c : {C{BPF_MAP_TYPE_HASH, 4, 8, 4, 0, "same"}, C{BPF_MAP_TYPE_HASH, 4, 8, 8, 0, "max 8"},
                       C{BPF_MAP_TYPE_HASH, 4, 8, 2, 0, "max 2"}, C{BPF_MAP_TYPE_HASH, 8, 8, 4, 0, "key 8"},
                       C{BPF_MAP_TYPE_HASH, 4, 16, 4, 0, "value 16"},
                       C{BPF_MAP_TYPE_HASH, 4, 8, 4, BPF_F_NO_PREALLOC, "no_prealloc"},
                       C{BPF_MAP_TYPE_HASH, 4, 8, 4, BPF_F_RDONLY_PROG, "rdonly_prog"},
                       C{BPF_MAP_TYPE_HASH, 4, 8, 4, BPF_F_RDONLY, "rdonly fd"},
                       C{BPF_MAP_TYPE_HASH, 4, 8, 4, BPF_F_ZERO_SEED, "zero_seed"},
                       C{BPF_MAP_TYPE_LRU_HASH, 4, 8, 4, 0, "lru"}, C{BPF_MAP_TYPE_ARRAY, 4, 8, 4, 0, "array"}}) {
      const int in = r.create(c.type, c.ks, c.vs, c.max, c.flags, "cand");
      if (in < 0) continue;
      store(r, fd, u32(1), in, BPF_ANY, t + c.name);
      r.close(in);
    }
    for (const C& c : {C{BPF_MAP_TYPE_ARRAY, 4, 8, 4, BPF_F_INNER_MAP, "inner_map same"},
                       C{BPF_MAP_TYPE_ARRAY, 4, 8, 64, BPF_F_INNER_MAP, "inner_map max 64"},
                       C{BPF_MAP_TYPE_ARRAY, 4, 8, 1, BPF_F_INNER_MAP, "inner_map max 1"},
                       C{BPF_MAP_TYPE_ARRAY, 4, 8, 4, 0, "no inner_map flag"},
                       C{BPF_MAP_TYPE_ARRAY, 4, 16, 8, BPF_F_INNER_MAP, "inner_map value 16"},
                       C{BPF_MAP_TYPE_ARRAY, 4, 8, 8, BPF_F_INNER_MAP | BPF_F_MMAPABLE, "inner_map mmapable"}}) {
      const int in = r.create(c.type, c.ks, c.vs, c.max, c.flags, "cand");
      if (in < 0) continue;
      store(r, fd2, u32(1), in, BPF_ANY, t + c.name);
      r.close(in);
    }
    store(r, fd, u32(2), prog, BPF_ANY, t + "a program fd");
    store(r, fd, u32(2), 4000, BPF_ANY, t + "a closed fd");
    store(r, fd, u32(2), fd2, BPF_ANY, t + "a map-in-map fd");
    store(r, fd, u32(2), 0, BPF_ANY, t + "fd 0");
    r.close(fd);
    r.close(fd2);
  }
}

SCENARIO("ARRAY_OF_MAPS", "update", "flags_and_slots") {
  const int a = r.create(BPF_MAP_TYPE_ARRAY, 4, 8, 4);
  const int b = r.create(BPF_MAP_TYPE_ARRAY, 4, 8, 4);
  if (a < 0 || b < 0) return;
  const int fd = outer(r, AOM, 4, 4, 3, 0, a);
  if (fd < 0) return;
  const std::vector<int> maps{a, b};
  holds(r, fd, u32(0), maps, "empty slot");
  holds(r, fd, u32(3), maps, "past the end");
  store(r, fd, u32(0), a, BPF_NOEXIST, "NOEXIST");
  store(r, fd, u32(0), a, BPF_EXIST, "EXIST");
  store(r, fd, u32(0), a, BPF_F_LOCK, "F_LOCK");
  store(r, fd, u32(0), a, 4, "flags 4");
  store(r, fd, u32(0), a, BPF_ANY, "ANY");
  store(r, fd, u32(3), a, BPF_ANY, "past the end");
  store(r, fd, u32(2), b, BPF_ANY, "slot 2");
  holds(r, fd, u32(0), maps, "slot 0");
  holds(r, fd, u32(2), maps, "slot 2");
  store(r, fd, u32(0), b, BPF_ANY, "replace");
  holds(r, fd, u32(0), maps, "slot 0 replaced");
  r.lookup(fd, u32(0), BPF_F_LOCK);
  r.lookup(fd, u32(0), 0, 4, true);
  r.walk(fd, 4);
  r.next_key(fd, u32(7), 4);
  r.next_key(fd, u32(2), 4);
  r.lookup_and_delete(fd, u32(0));
  r.remove(fd, u32(0));
  r.remove(fd, u32(0));
  r.remove(fd, u32(1));
  r.remove(fd, u32(3));
  holds(r, fd, u32(0), maps, "deleted");
  r.info(fd);
  r.memlock(fd);
  r.freeze(fd);
  store(r, fd, u32(1), a, BPF_ANY, "frozen");
  r.remove(fd, u32(2));
}

SCENARIO("HASH_OF_MAPS", "update", "flags_and_keys") {
  const int a = r.create(BPF_MAP_TYPE_ARRAY, 4, 8, 4);
  const int b = r.create(BPF_MAP_TYPE_ARRAY, 4, 8, 4);
  if (a < 0 || b < 0) return;
  const int fd = outer(r, HOM, 8, 4, 2, BPF_F_ZERO_SEED, a);
  if (fd < 0) return;
  const std::vector<int> maps{a, b};
  holds(r, fd, u64(1), maps, "missing");
  store(r, fd, u64(1), a, BPF_EXIST, "EXIST missing");
  store(r, fd, u64(1), a, BPF_NOEXIST, "NOEXIST");
  store(r, fd, u64(1), b, BPF_NOEXIST, "NOEXIST existing");
  store(r, fd, u64(1), b, BPF_EXIST, "EXIST existing");
  store(r, fd, u64(1), b, BPF_F_LOCK, "F_LOCK");
  store(r, fd, u64(1), b, 4, "flags 4");
  holds(r, fd, u64(1), maps, "key 1");
  store(r, fd, u64(2), a, BPF_ANY, "key 2");
  store(r, fd, u64(3), a, BPF_ANY, "full");
  store(r, fd, u64(3), a, BPF_NOEXIST, "full NOEXIST");
  store(r, fd, u64(2), b, BPF_ANY, "replace when full");
  holds(r, fd, u64(2), maps, "key 2");
  r.walk(fd, 8);
  r.next_key(fd, u64(77), 8);
  r.lookup(fd, u64(1), BPF_F_LOCK);
  r.lookup_and_delete(fd, u64(1));
  r.remove(fd, u64(1));
  r.remove(fd, u64(1));
  holds(r, fd, u64(1), maps, "deleted");
  r.walk(fd, 8);
  r.info(fd);
  r.memlock(fd);
  r.freeze(fd);
  store(r, fd, u64(5), a, BPF_ANY, "frozen");
  r.remove(fd, u64(2));
}

// A slot holds its map: alive after its last fd closes, freed when the slot
// is emptied or replaced, or when the outer map goes.
SCENARIO("ARRAY_OF_MAPS", "lifetime", "slot_holds_inner") {
  for (uint32_t type : {AOM, HOM}) {
    const std::string t = type == AOM ? "aom " : "hom ";
    const int tmpl = r.create(BPF_MAP_TYPE_HASH, 4, 8, 4);
    const int a = r.create(BPF_MAP_TYPE_HASH, 4, 8, 4);
    const int b = r.create(BPF_MAP_TYPE_HASH, 4, 8, 4);
    const int c = r.create(BPF_MAP_TYPE_HASH, 4, 8, 4);
    if (tmpl < 0 || a < 0 || b < 0 || c < 0) return;
    const uint32_t ida = map_id(r, a), idb = map_id(r, b), idc = map_id(r, c), idt = map_id(r, tmpl);
    const int fd = outer(r, type, 4, 4, 4, 0, tmpl);
    if (fd < 0) return;
    r.close(tmpl);
    alive(r, idt, t + "template after its fd closed");
    r.update(a, u32(1), u64(11));
    store(r, fd, u32(0), a, BPF_ANY, t + "a in 0");
    store(r, fd, u32(1), a, BPF_ANY, t + "a in 1");
    store(r, fd, u32(2), b, BPF_ANY, t + "b in 2");
    store(r, fd, u32(3), c, BPF_ANY, t + "c in 3");
    r.close(a);
    r.close(b);
    r.close(c);
    alive(r, ida, t + "a held by two slots");
    {
      // The inner map's contents survive: reopen it by id.
      errno = 0;
      const int again = r.backend().map_get_fd_by_id(ida);
      if (again >= 0) {
        r.lookup(again, u32(1));
        r.backend().close(again);
      }
    }
    r.remove(fd, u32(0));
    alive(r, ida, t + "a held by one slot");
    r.remove(fd, u32(1));
    alive(r, ida, t + "a in no slot");
    store(r, fd, u32(0), fd, BPF_ANY, t + "itself");
    const int d = r.create(BPF_MAP_TYPE_HASH, 4, 8, 4);
    if (d < 0) return;
    store(r, fd, u32(2), d, BPF_ANY, t + "d replaces b");
    alive(r, idb, t + "b replaced");
    alive(r, idc, t + "c still in 3");
    r.close(d);
    r.close(fd);
    freed_soon(r, idc, t + "c after the outer map closed");
  }
}

// A pinned outer map keeps its slots after every fd closes.
SCENARIO("HASH_OF_MAPS", "lifetime", "pinned_outer") {
  const int a = r.create(BPF_MAP_TYPE_ARRAY, 4, 8, 2);
  if (a < 0) return;
  const uint32_t ida = map_id(r, a);
  const int fd = outer(r, HOM, 4, 4, 2, 0, a);
  if (fd < 0) return;
  store(r, fd, u32(9), a, BPF_ANY, "a in 9");
  r.close(a);
  const std::string path = r.pin_path("mim_outer");
  r.pin(fd, path);
  r.close(fd);
  alive(r, ida, "a with the outer map pinned");
  const int again = r.get(path);
  if (again < 0) return;
  uint32_t out = 0;
  r.note("pinned lookup answers a", r.backend().map_lookup_elem(again, u32(9).data(), &out) == 0 && out == ida);
  r.unpin(path);
  r.close(again);
  freed_soon(r, ida, "a after the pin and fd went");
}

// Batch calls: ARRAY_OF_MAPS has the generic lookup and update batches;
// HASH_OF_MAPS the hash table's. Values out are ids (recorded as which map).
SCENARIO("ARRAY_OF_MAPS", "batch", "ops") {
  for (uint32_t type : {AOM, HOM}) {
    const std::string t = type == AOM ? "aom " : "hom ";
    const int a = r.create(BPF_MAP_TYPE_ARRAY, 4, 8, 2);
    const int b = r.create(BPF_MAP_TYPE_ARRAY, 4, 8, 2);
    if (a < 0 || b < 0) return;
    const int fd = outer(r, type, 4, 4, 4, type == HOM ? BPF_F_ZERO_SEED : 0, a);
    if (fd < 0) return;
    const std::vector<int> maps{a, b};
    // Update batch with fds as values.
    {
      uint32_t keys[3] = {0, 2, 3};
      int vals[3] = {a, b, a};
      uint32_t count = 3;
      errno = 0;
      const int rc = r.backend().map_update_batch(fd, keys, vals, &count, nullptr);
      r.note(t + "update_batch rc", rc == 0 ? 0 : -errno);
      r.note(t + "update_batch count", count);
      int bad[2] = {b, 4000};
      uint32_t keys2[2] = {1, 1};
      count = 2;
      errno = 0;
      const int rc2 = r.backend().map_update_batch(fd, keys2, bad, &count, nullptr);
      r.note(t + "update_batch bad fd rc", rc2 == 0 ? 0 : -errno);
      r.note(t + "update_batch bad fd count", count);
      uint32_t elem_flags_keys[1] = {1};
      count = 1;
      BatchOpts o;
      o.elem_flags = BPF_NOEXIST;
      errno = 0;
      const int rc3 = r.backend().map_update_batch(fd, elem_flags_keys, bad, &count, &o);
      r.note(t + "update_batch NOEXIST rc", rc3 == 0 ? 0 : -errno);
      r.note(t + "update_batch NOEXIST count", count);
    }
    // Lookup batch from the start, two at a time.
    for (int do_delete = 0; do_delete < 2; ++do_delete) {
      uint32_t in_tok = 0, out_tok = 0;
      bool first = true;
      for (int round = 0; round < 4; ++round) {
        uint32_t keys[2] = {0xaaaaaaaa, 0xaaaaaaaa}, vals[2] = {0xaaaaaaaa, 0xaaaaaaaa};
        uint32_t count = 2;
        errno = 0;
        const int rc = do_delete ? r.backend().map_lookup_and_delete_batch(fd, first ? nullptr : &in_tok, &out_tok,
                                                                          keys, vals, &count, nullptr)
                                 : r.backend().map_lookup_batch(fd, first ? nullptr : &in_tok, &out_tok, keys, vals,
                                                                &count, nullptr);
        const std::string w = t + (do_delete ? "lookup_and_delete_batch " : "lookup_batch ") + std::to_string(round);
        r.note(w + " rc", rc == 0 ? 0 : -errno);
        r.note(w + " count", count);
        for (uint32_t i = 0; i < count && i < 2; ++i) {
          r.note(w + " key", keys[i]);
          long which = -1;
          for (size_t m = 0; m < maps.size(); ++m)
            if (vals[i] == map_id(r, maps[m])) which = static_cast<long>(m);
          r.note(w + " value is map #", which);
        }
        if (rc != 0) break;
        in_tok = out_tok;
        first = false;
      }
    }
    {
      uint32_t keys[2] = {0, 1};
      uint32_t count = 2;
      errno = 0;
      const int rc = r.backend().map_delete_batch(fd, keys, &count, nullptr);
      r.note(t + "delete_batch rc", rc == 0 ? 0 : -errno);
      r.note(t + "delete_batch count", count);
    }
    r.walk_set(fd, 4);
    r.close(fd);
  }
}

// A program looks a map up in the outer map, then looks up and updates in
// it (bpf/prog_map_in_map.bpf.c: BTF-defined outer maps with libbpf's
// initial values, loaded with bpf_object__load).
SCENARIO("ARRAY_OF_MAPS", "prog", "outer_then_inner") {
  const long loaded = r.prog_mim_load();
  if (loaded != 0) return;
  for (uint32_t outer_type : {0u, 1u}) {
    const std::string t = outer_type == 0 ? "aom " : "hom ";
    for (uint32_t slot : {0u, 1u, 5u}) {
      const std::string s = t + "slot " + std::to_string(slot);
      r.prog_mim_run(s + " update k1", outer_type, 1, slot, 1, 0x1111 + slot);
      r.prog_mim_run(s + " lookup k1", outer_type, 0, slot, 1, 0);
      r.prog_mim_run(s + " lookup k9", outer_type, 0, slot, 9, 0);
      r.prog_mim_run(s + " update k9", outer_type, 1, slot, 9, 5);
      r.prog_mim_run(s + " delete k1", outer_type, 2, slot, 1, 0);
    }
  }
  // The inner maps as libbpf created and stored them (slot 0 of each outer).
  for (const char* name : {"outer_arr", "outer_hash"}) {
    const int o = r.prog_mim_fd(name);
    const int in = r.prog_mim_fd("inner_a");
    if (o < 0 || in < 0) continue;
    uint32_t out = 0;
    errno = 0;
    r.note(std::string(name) + " slot 0 holds inner_a",
           r.backend().map_lookup_elem(o, u32(0).data(), &out) == 0 && out == map_id(r, in));
    const int b = r.prog_mim_fd("inner_b");
    if (b >= 0) holds(r, o, u32(1), {in, b}, std::string(name) + " slot 1");
    r.info(o);
    r.lookup(in, u32(1));
  }
}

// The verifier lets programs look up in outer maps but not update or delete
// in them.
SCENARIO("HASH_OF_MAPS", "prog", "outer_helpers_at_load") {
  const int inner = r.create(BPF_MAP_TYPE_ARRAY, 4, 8, 4);
  if (inner < 0) return;
  for (uint32_t type : {AOM, HOM}) {
    const int fd = outer(r, type, 4, 4, 4, 0, inner);
    if (fd < 0) return;
    for (int func : {BPF_FUNC_map_lookup_elem, BPF_FUNC_map_update_elem, BPF_FUNC_map_delete_elem}) {
      const int prog = r.load_program(BPF_PROG_TYPE_XDP,
                                      {{BPF_ST | BPF_MEM | BPF_W, BPF_REG_10, 0, -8, 0},
                                       {BPF_ST | BPF_MEM | BPF_W, BPF_REG_10, 0, -4, 0},
                                       {BPF_LD | BPF_DW | BPF_IMM, BPF_REG_1, BPF_PSEUDO_MAP_FD, 0, fd},
                                       {0, 0, 0, 0, 0},
                                       {BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, BPF_REG_10, 0, 0},
                                       {BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, -4},
                                       {BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_3, BPF_REG_10, 0, 0},
                                       {BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_3, 0, 0, -8},
                                       {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_4, 0, 0, 0},
                                       {BPF_JMP | BPF_CALL, 0, 0, 0, func},
                                       {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0},
                                       {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}},
                                      std::string(type == AOM ? "aom" : "hom") + " helper " + std::to_string(func));
      if (prog >= 0) r.close(prog);
    }
    r.close(fd);
  }
}

// Maps of maps take no BTF key or value types (map_check_no_btf), after the
// generic size checks.
SCENARIO("HASH_OF_MAPS", "create", "btf_types") {
  btf* b = btf__new_empty();
  const int u32_id = btf__add_int(b, "u32", 4, 0);
  const int u64_id = btf__add_int(b, "u64", 8, 0);
  uint32_t size = 0;
  const auto* raw = static_cast<const uint8_t*>(btf__raw_data(b, &size));
  std::vector<uint8_t> blob(raw, raw + size);
  btf__free(b);
  emu::BpfAttr a{};
  a.btf.btf = reinterpret_cast<uintptr_t>(blob.data());
  a.btf.btf_size = static_cast<uint32_t>(blob.size());
  const int btf_fd = static_cast<int>(r.raw("btf_load", BPF_BTF_LOAD, &a, sizeof(a), true));
  const int inner = r.create(BPF_MAP_TYPE_ARRAY, 4, 8, 4);
  if (btf_fd < 0 || inner < 0) return;
  for (uint32_t type : {AOM, HOM}) {
    for (auto [key_id, value_id] : {std::pair{u32_id, u32_id}, {u32_id, u64_id}, {0, u32_id}}) {
      MapCreateOpts o;
      o.inner_map_fd = static_cast<uint32_t>(inner);
      o.btf_fd = static_cast<uint32_t>(btf_fd);
      o.btf_key_type_id = static_cast<uint32_t>(key_id);
      o.btf_value_type_id = static_cast<uint32_t>(value_id);
      const int fd = r.create_opts(type, "btf_mim", 4, 4, 2, o);
      if (fd >= 0) r.close(fd);
    }
  }
  r.backend().close(btf_fd);
}

// Inner maps whose values hold a bpf_spin_lock: the template's special
// fields must match (btf_record_equal), whichever BTF object describes them.
SCENARIO("ARRAY_OF_MAPS", "update", "special_fields") {
  BtfBuilder b1;
  const int v1 = b1.add_struct("v", 16, {{b1.u32, 0}, {b1.lock, 4}, {b1.u64, 8}});
  const int moved = b1.add_struct("w", 16, {{b1.lock, 0}, {b1.u32, 4}, {b1.u64, 8}});
  const int plain = b1.add_struct("p", 16, {{b1.u64, 0}, {b1.u64, 8}});
  BtfBuilder b2;
  const int v2 = b2.add_struct("v2", 16, {{b2.u32, 0}, {b2.lock, 4}, {b2.u64, 8}});
  const int plain2 = b2.add_struct("q", 16, {{b2.u64, 0}, {b2.u64, 8}});
  const int btf1 = load_btf(r, b1.blob(), "btf 1");
  const int btf2 = load_btf(r, b2.blob(), "btf 2");
  if (btf1 < 0 || btf2 < 0) return;
  auto locked = [&](uint32_t type, int btf, int key, int value, const char* name) {
    MapCreateOpts o;
    o.btf_fd = static_cast<uint32_t>(btf);
    o.btf_key_type_id = static_cast<uint32_t>(key);
    o.btf_value_type_id = static_cast<uint32_t>(value);
    return r.create_opts(type, name, 4, 16, 4, o);
  };
  for (uint32_t inner_type : {uint32_t{BPF_MAP_TYPE_ARRAY}, uint32_t{BPF_MAP_TYPE_HASH}}) {
    const int tmpl = locked(inner_type, btf1, b1.u32, v1, "tmpl");
    if (tmpl < 0) return;
    for (uint32_t type : {AOM, HOM}) {
      const std::string t = type == AOM ? "aom " : "hom ";
      const int fd = outer(r, type, 4, 4, 4, 0, tmpl);
      if (fd < 0) continue;
      const int same = locked(inner_type, btf1, b1.u32, v1, "same");
      const int other_btf = locked(inner_type, btf2, b2.u32, v2, "other_btf");
      const int lock_moved = locked(inner_type, btf1, b1.u32, moved, "moved");
      const int no_lock = locked(inner_type, btf1, b1.u32, plain, "nolock");
      const int no_btf = r.create(inner_type, 4, 16, 4);
      store(r, fd, u32(0), same, BPF_ANY, t + "same type");
      store(r, fd, u32(1), other_btf, BPF_ANY, t + "same layout, other BTF");
      store(r, fd, u32(2), lock_moved, BPF_ANY, t + "lock elsewhere");
      store(r, fd, u32(2), no_lock, BPF_ANY, t + "no lock");
      store(r, fd, u32(2), no_btf, BPF_ANY, t + "no BTF");
      for (int m : {same, other_btf, lock_moved, no_lock, no_btf})
        if (m >= 0) r.close(m);
      r.close(fd);
    }
    r.close(tmpl);
  }
  // A map without BTF as the template, a locked map stored.
  const int plain_tmpl = r.create(BPF_MAP_TYPE_HASH, 4, 16, 4);
  const int fd = plain_tmpl >= 0 ? outer(r, HOM, 4, 4, 4, 0, plain_tmpl) : -1;
  const int with_lock = locked(BPF_MAP_TYPE_HASH, btf1, b1.u32, v1, "locked");
  if (fd >= 0 && with_lock >= 0) store(r, fd, u32(0), with_lock, BPF_ANY, "locked into a plain template");
  // A template with a BTF value type without special fields, and maps with
  // and without BTF.
  const int btf_tmpl = locked(BPF_MAP_TYPE_HASH, btf1, b1.u32, plain, "btf_tmpl");
  const int fd2 = btf_tmpl >= 0 ? outer(r, AOM, 4, 4, 4, 0, btf_tmpl) : -1;
  if (fd2 < 0) return;
  const int with_btf = locked(BPF_MAP_TYPE_HASH, btf2, b2.u32, plain2, "with_btf");
  const int without_btf = r.create(BPF_MAP_TYPE_HASH, 4, 16, 4);
  store(r, fd2, u32(0), with_btf, BPF_ANY, "plain with BTF into a BTF template");
  store(r, fd2, u32(1), without_btf, BPF_ANY, "plain without BTF into a BTF template");
  store(r, fd2, u32(2), with_lock, BPF_ANY, "locked into a BTF template");
}

}  // namespace bpfemu::conformance
