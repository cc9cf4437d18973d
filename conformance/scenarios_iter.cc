// BPF iterators as libbpf uses them: SEC("iter/bpf_map_elem") and
// SEC("iter/bpf_map") programs (bpf/prog_iter.bpf.c), BPF_LINK_CREATE with
// BPF_TRACE_ITER and a union bpf_iter_link_info, BPF_ITER_CREATE, and read()
// of the iterator fd: the attach checks, the link's info and fdinfo, and the
// bytes the programs print, read whole and a few bytes at a time. read() is
// the plain call on both sides: the conformance binary carries libbpfemu's fd
// interposers, which answer for the emulator's iterator fds only.
#include <linux/bpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <bpf/btf.h>


#include "conformance/scenario.h"
#include "emu/fd_ops.h"

namespace bpfemu::conformance {
namespace {

// link_create for an iterator: prog_fd, target_fd, attach_type, flags, then
// iter_info and iter_info_len.
struct IterLinkAttr {
  uint32_t prog_fd = 0, target_fd = 0, attach_type = BPF_TRACE_ITER, flags = 0;
  uint64_t iter_info = 0;
  uint32_t iter_info_len = 0;
  uint32_t pad = 0;
};

// union bpf_iter_link_info: map.map_fd first, 16 bytes in all.
struct IterLinkInfo {
  uint32_t map_fd = 0;
  uint8_t rest[12] = {};
};

int iter_link(Recorder& r, int prog, int map_fd, const std::string& label) {
  IterLinkInfo info;
  info.map_fd = static_cast<uint32_t>(map_fd);
  IterLinkAttr a;
  a.prog_fd = static_cast<uint32_t>(prog);
  if (map_fd >= 0) {
    a.iter_info = reinterpret_cast<uintptr_t>(&info);
    a.iter_info_len = sizeof(info);
  }
  return static_cast<int>(r.raw(label, BPF_LINK_CREATE, &a, sizeof(a), true));
}

int iter_create(Recorder& r, int link, uint32_t flags, const std::string& label) {
  uint32_t a[2] = {static_cast<uint32_t>(link), flags};
  return static_cast<int>(r.raw(label, BPF_ITER_CREATE, a, sizeof(a), true));
}

// Reads fd to its end (or an error) `chunk` bytes at a time: the text, and
// the last read's result (0 at the end, or -errno), noted under label.
long read_all(Recorder& r, int fd, size_t chunk, const std::string& label, int max_reads = 100000) {
  std::string text;
  std::vector<char> buf(chunk);
  long last = 0;
  for (int i = 0; i < max_reads; ++i) {
    const ssize_t n = ::read(fd, buf.data(), chunk);
    if (n <= 0) {
      last = n < 0 ? -errno : 0;
      break;
    }
    text.append(buf.data(), static_cast<size_t>(n));
  }
  r.note_text(label, last, text);
  return last;
}

// A fresh iterator over the link, read in `chunk`-byte reads, then closed.
void read_iter(Recorder& r, int link, size_t chunk, const std::string& label) {
  const int fd = iter_create(r, link, 0, "iter_create " + label);
  if (fd < 0) return;
  read_all(r, fd, chunk, label);
  r.note("read after the end " + label, ::read(fd, nullptr, 0) < 0 ? -errno : 0);
}

Bytes u32b(uint32_t v) { return Bytes(reinterpret_cast<uint8_t*>(&v), reinterpret_cast<uint8_t*>(&v) + 4); }
Bytes u64b(uint64_t v) { return Bytes(reinterpret_cast<uint8_t*>(&v), reinterpret_cast<uint8_t*>(&v) + 8); }

int load_prog(Recorder& r, const char* name) {
  return r.prog_iter_fd(name);
}

// Some hosts refuse every tracing program by policy (EPERM before the
// verifier), iterators too: there the rows are left out (the 6.1 VM runs them).
bool left_out(Recorder& r) {
  static struct btf* vmlinux = btf__load_vmlinux_btf();
  const int id = vmlinux != nullptr ? btf__find_by_name_kind(vmlinux, "bpf_iter_bpf_map_elem", BTF_KIND_FUNC) : -1;
  r.note("the kernel's BTF has bpf_iter_bpf_map_elem", id > 0);
  if (id <= 0) return true;
  if (host_refuses(r, BPF_PROG_TYPE_TRACING, BPF_TRACE_ITER, static_cast<uint32_t>(id))) return true;
  return r.prog_iter_load() != 0;
}

// Whether fd's fdinfo has the line `key:\t<value>` (value empty: a `key:`
// line at all), noted under label.
void fdinfo_has(Recorder& r, int fd, const std::string& key, const std::string& value, const std::string& label) {
  const std::string text = fdinfo_text_of(r, fd);
  const std::string line = value.empty() ? key + ":" : key + ":\t" + value + "\n";  // empty: any such line
  r.note(label, text.find(line) != std::string::npos);
}

uint32_t map_id(Recorder& r, int fd) {
  uint8_t info[96] = {};
  uint32_t len = sizeof(info);
  if (r.backend().obj_get_info_by_fd(fd, info, &len) != 0) return 0;
  uint32_t id = 0;
  memcpy(&id, info + 4, 4);
  return id;
}

}  // namespace

SCENARIO("COMMON", "iter", "iter_attach_checks") {
  if (left_out(r)) return;
  const int prog = load_prog(r, "dump_u64");
  const int maps_prog = load_prog(r, "maps");
  if (prog < 0 || maps_prog < 0) return;
  const int hash = r.create(BPF_MAP_TYPE_HASH, 4, 8, 8, BPF_F_ZERO_SEED);
  const int queue = r.create(BPF_MAP_TYPE_QUEUE, 0, 8, 8);
  const int lpm = r.create(BPF_MAP_TYPE_LPM_TRIE, 8, 8, 8, BPF_F_NO_PREALLOC);
  // bpf_map_elem needs a map of a walked type.
  iter_link(r, prog, -1, "no iter_info");
  iter_link(r, prog, 0, "map_fd 0");
  iter_link(r, prog, 9999, "map_fd not open");
  iter_link(r, prog, prog, "map_fd is a program");
  iter_link(r, prog, queue, "QUEUE map");
  iter_link(r, prog, lpm, "LPM_TRIE map");
  // The attr's own checks.
  IterLinkInfo info;
  info.map_fd = static_cast<uint32_t>(hash);
  IterLinkAttr a;
  a.prog_fd = static_cast<uint32_t>(prog);
  a.iter_info = reinterpret_cast<uintptr_t>(&info);
  a.iter_info_len = sizeof(info);
  a.target_fd = static_cast<uint32_t>(hash);
  r.raw("target_fd set", BPF_LINK_CREATE, &a, sizeof(a), true);
  a.target_fd = 0;
  a.flags = 1;
  r.raw("flags set", BPF_LINK_CREATE, &a, sizeof(a), true);
  a.flags = 0;
  a.iter_info_len = 0;
  r.raw("iter_info without its length", BPF_LINK_CREATE, &a, sizeof(a), true);
  a.iter_info = 0;
  a.iter_info_len = sizeof(info);
  r.raw("iter_info_len without iter_info", BPF_LINK_CREATE, &a, sizeof(a), true);
  uint8_t longer[32] = {};
  memcpy(longer, &info, sizeof(info));
  a.iter_info = reinterpret_cast<uintptr_t>(longer);
  a.iter_info_len = sizeof(longer);
  r.raw("iter_info 32 bytes, zero tail", BPF_LINK_CREATE, &a, sizeof(a), true);
  longer[20] = 1;
  r.raw("iter_info 32 bytes, nonzero tail", BPF_LINK_CREATE, &a, sizeof(a), true);
  a.iter_info = reinterpret_cast<uintptr_t>(&info);
  a.iter_info_len = 4;
  r.raw("iter_info 4 bytes", BPF_LINK_CREATE, &a, sizeof(a), true);
  // bpf_map takes no map (what iter_info says is not looked at).
  iter_link(r, maps_prog, -1, "bpf_map, no iter_info");
  iter_link(r, maps_prog, 9999, "bpf_map, map_fd not open");
  // The program must have been loaded for BPF_TRACE_ITER, the link must be an iterator's.
  const int link = iter_link(r, prog, hash, "HASH map");
  if (link < 0) return;
  iter_create(r, link, 1, "iter_create flags 1");
  iter_create(r, hash, 0, "iter_create of a map");
  iter_create(r, 9999, 0, "iter_create of no fd");
  uint32_t detach[1] = {static_cast<uint32_t>(link)};
  r.raw("link_detach of an iterator link", BPF_LINK_DETACH, detach, sizeof(detach));
  // Its info: the target's name (ENOSPC when the buffer is short), the map's id.
  uint8_t raw[64] = {};
  char name[32];
  for (uint32_t len : {32U, 13U, 12U, 1U}) {
    memset(raw, 0, sizeof(raw));
    memset(name, 'x', sizeof(name));
    const uint64_t p = reinterpret_cast<uintptr_t>(name);
    memcpy(raw + 16, &p, 8);
    memcpy(raw + 24, &len, 4);
    uint32_t info_len = sizeof(raw);
    struct {
      uint32_t bpf_fd, info_len;
      uint64_t info;
    } get{static_cast<uint32_t>(link), info_len, reinterpret_cast<uintptr_t>(raw)};
    const long rc = r.raw("link info, name buffer " + std::to_string(len), BPF_OBJ_GET_INFO_BY_FD, &get, sizeof(get));
    uint32_t type = 0, name_len = 0, map_id = 0;
    memcpy(&type, raw, 4);
    memcpy(&name_len, raw + 24, 4);
    memcpy(&map_id, raw + 28, 4);
    r.note("link type", type);
    r.note("target_name_len", name_len);
    r.note("map_id is the map's", rc == 0 && map_id != 0 ? 1 : map_id);
    r.note_text("target_name", 0, std::string(name, strnlen(name, std::min<uint32_t>(len, sizeof(name)))));
  }
  memset(raw, 0, sizeof(raw));
  const uint64_t p = reinterpret_cast<uintptr_t>(name);
  memcpy(raw + 16, &p, 8);
  struct {
    uint32_t bpf_fd, info_len;
    uint64_t info;
  } get{static_cast<uint32_t>(link), sizeof(raw), reinterpret_cast<uintptr_t>(raw)};
  r.raw("link info, name without its length", BPF_OBJ_GET_INFO_BY_FD, &get, sizeof(get));
  r.fdinfo_line(link, "link_type");
  r.fdinfo_line(link, "target_name");
  fdinfo_has(r, link, "map_id", std::to_string(map_id(r, hash)), "fdinfo map_id is the map's");
  const int maps_link = iter_link(r, maps_prog, -1, "bpf_map link");
  if (maps_link >= 0) {
    r.fdinfo_line(maps_link, "target_name");
    fdinfo_has(r, maps_link, "map_id", "", "bpf_map fdinfo has no map_id");
  }
}

SCENARIO("COMMON", "iter", "iter_read_hash_array") {
  if (left_out(r)) return;
  const int prog = load_prog(r, "dump_u64");
  const int percpu_prog = load_prog(r, "dump_percpu");
  if (prog < 0 || percpu_prog < 0) return;
  const int hash = r.create(BPF_MAP_TYPE_HASH, 4, 8, 16, BPF_F_ZERO_SEED);
  const int array = r.create(BPF_MAP_TYPE_ARRAY, 4, 8, 5);
  const int percpu = r.create(BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, 3);
  if (hash < 0 || array < 0 || percpu < 0) return;
  for (uint32_t k : {7U, 1U, 30U, 12U, 5U, 100U}) r.update(hash, u32b(k), u64b(k * 1000ULL + 1));
  for (uint32_t k : {0U, 2U, 4U}) r.update(array, u32b(k), u64b(k + 10ULL));
  for (uint32_t k : {0U, 1U, 2U}) {
    Bytes v;
    for (size_t cpu = 0; cpu * 8 < r.sys_value_size(BPF_MAP_TYPE_PERCPU_ARRAY, 8); ++cpu) {
      const Bytes one = u64b(k * 10ULL + cpu);
      v.insert(v.end(), one.begin(), one.end());
    }
    r.update(percpu, u32b(k), v);
  }
  const int hash_link = iter_link(r, prog, hash, "HASH link");
  const int array_link = iter_link(r, prog, array, "ARRAY link");
  const int percpu_link = iter_link(r, percpu_prog, percpu, "PERCPU_ARRAY link");
  for (size_t chunk : {4096UL, 1UL, 7UL, 16UL}) {
    const std::string n = std::to_string(chunk);
    if (hash_link >= 0) read_iter(r, hash_link, chunk, "HASH by " + n);
    if (array_link >= 0) read_iter(r, array_link, chunk, "ARRAY by " + n);
    if (percpu_link >= 0) read_iter(r, percpu_link, chunk, "PERCPU_ARRAY by " + n);
  }
  // LINK_UPDATE: another program of the target; one of another target is EINVAL.
  const int maps_prog = load_prog(r, "maps");
  if (array_link >= 0 && maps_prog >= 0) {
    uint32_t u[4] = {static_cast<uint32_t>(array_link), static_cast<uint32_t>(percpu_prog), 0, 0};
    r.raw("link_update to dump_percpu", BPF_LINK_UPDATE, u, sizeof(u));
    read_iter(r, array_link, 4096, "ARRAY after link_update");
    u[1] = static_cast<uint32_t>(maps_prog);
    r.raw("link_update to a bpf_map program", BPF_LINK_UPDATE, u, sizeof(u));
    u[1] = static_cast<uint32_t>(prog);
    u[2] = BPF_F_REPLACE;
    u[3] = static_cast<uint32_t>(prog);
    r.raw("link_update replacing a program it does not hold", BPF_LINK_UPDATE, u, sizeof(u));
  }
  // An empty hash map: only the final call.
  const int empty = r.create(BPF_MAP_TYPE_HASH, 4, 8, 4, BPF_F_ZERO_SEED);
  const int empty_link = empty >= 0 ? iter_link(r, prog, empty, "empty HASH link") : -1;
  if (empty_link >= 0) read_iter(r, empty_link, 64, "empty HASH");
}

SCENARIO("COMMON", "iter", "iter_write_values") {
  if (left_out(r)) return;
  const int prog = load_prog(r, "add_key");
  const int dump = load_prog(r, "dump_u64");
  if (prog < 0 || dump < 0) return;
  const int hash = r.create(BPF_MAP_TYPE_HASH, 4, 8, 8, BPF_F_ZERO_SEED);
  const int array = r.create(BPF_MAP_TYPE_ARRAY, 4, 8, 4);
  if (hash < 0 || array < 0) return;
  for (uint32_t k : {3U, 1U, 2U}) r.update(hash, u32b(k), u64b(k));
  r.update(array, u32b(2), u64b(5));
  for (int map : {hash, array}) {
    const int link = iter_link(r, prog, map, "add_key link");
    if (link >= 0) read_iter(r, link, 4096, "add_key");
  }
  for (uint32_t k : {1U, 2U, 3U}) r.lookup(hash, u32b(k));
  for (uint32_t k : {0U, 1U, 2U, 3U}) r.lookup(array, u32b(k));
  const int link = iter_link(r, dump, array, "dump link");
  if (link >= 0) read_iter(r, link, 4096, "ARRAY after add_key");
}

SCENARIO("COMMON", "iter", "iter_return_and_overflow") {
  if (left_out(r)) return;
  const int skip = load_prog(r, "skip_two");
  const int big = load_prog(r, "too_big");
  const int codes = load_prog(r, "codes");
  if (skip < 0 || big < 0 || codes < 0) return;
  const int array = r.create(BPF_MAP_TYPE_ARRAY, 4, 8, 4);
  if (array < 0) return;
  // A program returning 1: the object is shown again on the next read.
  const int skip_link = iter_link(r, skip, array, "skip_two link");
  if (skip_link >= 0) {
    const int fd = iter_create(r, skip_link, 0, "iter_create skip_two");
    if (fd >= 0) {
      char buf[256];
      for (int i = 0; i < 4; ++i) {
        const ssize_t n = ::read(fd, buf, sizeof(buf));
        r.note_text("skip_two read " + std::to_string(i), n < 0 ? -errno : n,
                    n > 0 ? std::string(buf, static_cast<size_t>(n)) : "");
      }
    }
  }
  // One object printing more than the buffer holds: E2BIG once it is the first.
  const int big_link = iter_link(r, big, array, "too_big link");
  if (big_link >= 0) {
    const int fd = iter_create(r, big_link, 0, "iter_create too_big");
    if (fd >= 0) {
      char buf[256];
      for (int i = 0; i < 3; ++i) {
        const ssize_t n = ::read(fd, buf, sizeof(buf));
        r.note_text("too_big read " + std::to_string(i), n < 0 ? -errno : n,
                    n > 0 ? std::string(buf, static_cast<size_t>(n)) : "");
      }
    }
  }
  // The call at the end overflowing: what came before it is read, then E2BIG.
  const int big_end = load_prog(r, "big_end");
  const int end_link = big_end >= 0 ? iter_link(r, big_end, array, "big_end link") : -1;
  if (end_link >= 0) {
    const int fd = iter_create(r, end_link, 0, "iter_create big_end");
    if (fd >= 0) {
      char buf[256];
      for (int i = 0; i < 3; ++i) {
        const ssize_t n = ::read(fd, buf, sizeof(buf));
        r.note_text("big_end read " + std::to_string(i), n < 0 ? -errno : n,
                    n > 0 ? std::string(buf, static_cast<size_t>(n)) : "");
      }
    }
  }
  // The helpers' answers to good and bad formats.
  const int codes_link = iter_link(r, codes, array, "codes link");
  if (codes_link >= 0) read_iter(r, codes_link, 4096, "codes");
}

SCENARIO("COMMON", "iter", "iter_bpf_map") {
  if (left_out(r)) return;
  const int prog = load_prog(r, "maps");
  if (prog < 0) return;
  r.create(BPF_MAP_TYPE_HASH, 4, 8, 16, 0, "itr_hash");
  r.create(BPF_MAP_TYPE_ARRAY, 4, 24, 3, 0, "itr_array");
  const int link = iter_link(r, prog, -1, "bpf_map link");
  if (link < 0) return;
  for (size_t chunk : {4096UL, 5UL}) read_iter(r, link, chunk, "maps by " + std::to_string(chunk));
}

}  // namespace bpfemu::conformance

namespace bpfemu::conformance {

// The other walked types: LRU_HASH and PERCPU_HASH (zero seed: the kernel's
// bucket order), LRU_PERCPU_HASH.
SCENARIO("COMMON", "iter", "iter_hash_kinds") {
  if (left_out(r)) return;
  const int prog = load_prog(r, "dump_u64");
  const int percpu_prog = load_prog(r, "dump_percpu");
  if (prog < 0 || percpu_prog < 0) return;
  struct Kind {
    uint32_t type;
    const char* name;
  };
  for (const Kind& k : {Kind{BPF_MAP_TYPE_LRU_HASH, "LRU_HASH"}, Kind{BPF_MAP_TYPE_PERCPU_HASH, "PERCPU_HASH"},
                        Kind{BPF_MAP_TYPE_LRU_PERCPU_HASH, "LRU_PERCPU_HASH"}}) {
    const bool percpu = k.type != BPF_MAP_TYPE_LRU_HASH;
    const int map = r.create(k.type, 4, 8, 32, BPF_F_ZERO_SEED);
    if (map < 0) continue;
    for (uint32_t key : {9U, 2U, 17U, 4U}) {
      Bytes v;
      for (size_t cpu = 0; cpu * 8 < r.sys_value_size(k.type, 8); ++cpu) {
        const Bytes one = u64b(key * 10ULL + cpu);
        v.insert(v.end(), one.begin(), one.end());
      }
      r.update(map, u32b(key), v);
    }
    const int link = iter_link(r, percpu ? percpu_prog : prog, map, std::string(k.name) + " link");
    if (link < 0) continue;
    for (size_t chunk : {4096UL, 3UL}) read_iter(r, link, chunk, std::string(k.name) + " by " + std::to_string(chunk));
  }
}

}  // namespace bpfemu::conformance

namespace bpfemu::conformance {
namespace {

uint32_t btf_id_of(const char* name, uint32_t kind) {
  static struct btf* vmlinux = btf__load_vmlinux_btf();
  const int id = vmlinux != nullptr ? btf__find_by_name_kind(vmlinux, name, kind) : -1;
  return id > 0 ? static_cast<uint32_t>(id) : 0;
}

}  // namespace

// The seq helpers belong to iterator programs: a tp_btf program calling one
// is refused at load. An iterator's target must be a bpf_iter_ function.
SCENARIO("COMMON", "iter", "iter_program_load") {
  const std::vector<bpf_insn> ret0 = {{BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0}, {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}};
  std::vector<bpf_insn> calls;
  for (uint8_t reg = BPF_REG_1; reg <= BPF_REG_5; ++reg) calls.push_back({BPF_ALU64 | BPF_MOV | BPF_K, reg, 0, 0, 0});
  calls.push_back({BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_seq_write});
  calls.insert(calls.end(), ret0.begin(), ret0.end());
  const uint32_t sys_enter = btf_id_of("btf_trace_sys_enter", BTF_KIND_TYPEDEF);
  r.note("the kernel's BTF has btf_trace_sys_enter", sys_enter != 0);
  if (sys_enter != 0) {
    load_prog(r, BPF_PROG_TYPE_TRACING, BPF_TRACE_RAW_TP, sys_enter, ret0, "tp_btf returning 0");
    load_prog(r, BPF_PROG_TYPE_TRACING, BPF_TRACE_RAW_TP, sys_enter, calls, "tp_btf calling bpf_seq_write");
  }
  if (left_out(r)) return;
  load_prog(r, BPF_PROG_TYPE_TRACING, BPF_TRACE_ITER, btf_id_of("bpf_iter_bpf_map_elem", BTF_KIND_FUNC), ret0, "iter/bpf_map_elem");
  load_prog(r, BPF_PROG_TYPE_TRACING, BPF_TRACE_ITER, btf_id_of("bpf_iter_bpf_map", BTF_KIND_FUNC), ret0, "iter/bpf_map");
  load_prog(r, BPF_PROG_TYPE_TRACING, BPF_TRACE_ITER, btf_id_of("bpf_fentry_test1", BTF_KIND_FUNC), ret0, "iter on a plain function");
  load_prog(r, BPF_PROG_TYPE_TRACING, BPF_TRACE_ITER, 0, ret0, "iter without attach_btf_id");
}

}  // namespace bpfemu::conformance

namespace bpfemu::conformance {

// A walk does not mark LRU elements referenced: which ones a full map
// evicts afterwards is what it would have been without the walk.
SCENARIO("COMMON", "iter", "iter_lru_walk_keeps_references") {
  if (left_out(r)) return;
  const int prog = load_prog(r, "dump_u64");
  if (prog < 0) return;
  const int map = r.create(BPF_MAP_TYPE_LRU_HASH, 4, 8, 64, BPF_F_ZERO_SEED);
  if (map < 0) return;
  for (uint32_t k = 0; k < 64; ++k) r.update(map, u32b(k), u64b(k));
  r.prog_lookup(map, 5);  // one element a program did reference
  const int link = iter_link(r, prog, map, "LRU_HASH link");
  if (link < 0) return;
  read_iter(r, link, 4096, "LRU_HASH walk");
  for (uint32_t k = 1000; k < 1040; ++k) r.update(map, u32b(k), u64b(k));
  r.walk_set(map, 4);
}

}  // namespace bpfemu::conformance
