// DEVMAP, DEVMAP_HASH and CPUMAP: create rules (value sizes, flags, the
// BPF_F_RDONLY_PROG devmaps get, CPUMAP's NR_CPUS limit), updates (an
// existing ifindex, a program loaded for the map's attach type, CPUMAP's queue
// sizes and possible CPUs, which flags each takes), lookups answering the
// program's id, delete, walks, memlock counting entries, programs held only
// by an entry, and the program side: bpf_redirect_map's verdicts in a test
// run, bpf_map_lookup_elem of a devmap, and which helpers the verifier lets
// each map reach.
//
// The device is the loopback (ifindex 1). Program ids differ between the two
// sides: lookups are recorded with the id replaced by which program it names.
#include <linux/bpf.h>

#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "conformance/scenario.h"
#include "emu/bpf_syscall.h"

namespace bpfemu::conformance {
namespace {

constexpr uint32_t DEV = BPF_MAP_TYPE_DEVMAP;
constexpr uint32_t DEVH = BPF_MAP_TYPE_DEVMAP_HASH;
constexpr uint32_t CPU = BPF_MAP_TYPE_CPUMAP;

std::string tname(uint32_t type) { return type == DEV ? "devmap" : type == DEVH ? "devmap_hash" : "cpumap"; }

// An XDP program returning `ret`, loaded for expected_attach_type `eat`.
int load_xdp(Recorder& r, uint32_t eat, int32_t ret, const std::string& label) {
  const std::vector<bpf_insn> insns = {{BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, ret}, {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}};
  return r.load_program(BPF_PROG_TYPE_XDP, insns, label, 0, eat);
}

uint32_t prog_id(Recorder& r, int fd) {
  bpf_prog_info info{};
  uint32_t len = sizeof(info);
  const int saved = errno;
  const uint32_t id = r.backend().obj_get_info_by_fd(fd, &info, &len) == 0 ? info.id : 0;
  errno = saved;
  return id;
}

// An update of {first, prog} (value_size bytes of it), noted by its result
// (program fds differ between the sides).
void put(Recorder& r, int map, uint32_t key, uint32_t first, int prog, uint64_t flags, const std::string& what,
         uint32_t value_size = 8) {
  uint32_t v[2] = {first, static_cast<uint32_t>(prog)};
  (void)value_size;
  errno = 0;
  const int rc = r.backend().map_update_elem(map, &key, v, flags);
  r.note(what + ": update", rc == 0 ? 0 : -errno);
}

// A lookup of `key` in a map with 8-byte values: its first word, and which
// of `progs` the second names (-1: none, 0 read as 0).
void get(Recorder& r, int map, uint32_t key, const std::vector<int>& progs, const std::string& what) {
  uint32_t v[2] = {0xaaaaaaaa, 0xaaaaaaaa};
  errno = 0;
  if (r.backend().map_lookup_elem(map, &key, v) != 0) {
    r.note(what + ": lookup", -errno);
    return;
  }
  r.note(what + ": first word", v[0]);
  long which = v[1] == 0 ? 0 : -1;
  for (size_t i = 0; i < progs.size(); ++i)
    if (v[1] == prog_id(r, progs[i])) which = static_cast<long>(i) + 1;
  r.note(what + ": program #", which);
}

// Whether the program with `id` goes within a while (entries let go of their
// programs after an RCU grace period): 1 when it stays, or -errno.
void prog_freed_soon(Recorder& r, uint32_t id, const std::string& what) {
  int last = 1;
  for (int i = 0; i < 200; ++i) {
    emu::BpfAttr a{};
    memcpy(a.bytes, &id, sizeof(id));
    errno = 0;
    const long fd = r.backend().bpf(BPF_PROG_GET_FD_BY_ID, &a, sizeof(a));
    if (fd < 0) {
      last = -errno;
      break;
    }
    r.backend().close(static_cast<int>(fd));
    usleep(10000);
  }
  r.note(what + ": freed soon", last);
}

// A program of `type` calling bpf_redirect_map(map, key, flags) (lookup:
// bpf_map_lookup_elem(map, &(u32)key) and the u32 it points to, 77 for none).
std::vector<bpf_insn> redirect_prog(int map, uint64_t key, uint64_t flags, bool lookup) {
  std::vector<bpf_insn> p = {
      {BPF_LD | BPF_DW | BPF_IMM, BPF_REG_1, BPF_PSEUDO_MAP_FD, 0, map},
      {0, 0, 0, 0, 0},
      {BPF_LD | BPF_DW | BPF_IMM, BPF_REG_2, 0, 0, static_cast<int32_t>(key)},
      {0, 0, 0, 0, static_cast<int32_t>(key >> 32)},
      {BPF_LD | BPF_DW | BPF_IMM, BPF_REG_3, 0, 0, static_cast<int32_t>(flags)},
      {0, 0, 0, 0, static_cast<int32_t>(flags >> 32)},
  };
  if (!lookup) {
    p.push_back({BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_redirect_map});
  } else {
    p.push_back({BPF_STX | BPF_MEM | BPF_W, BPF_REG_10, BPF_REG_2, -4, 0});
    p.push_back({BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, BPF_REG_10, 0, 0});
    p.push_back({BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, -4});
    p.push_back({BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem});
    p.push_back({BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_0, 0, 2, 0});
    p.push_back({BPF_LDX | BPF_MEM | BPF_W, BPF_REG_0, BPF_REG_0, 0, 0});
    p.push_back({BPF_JMP | BPF_EXIT, 0, 0, 0, 0});
    p.push_back({BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 77});
  }
  p.push_back({BPF_JMP | BPF_EXIT, 0, 0, 0, 0});
  return p;
}

}  // namespace

SCENARIO("DEVMAP", "create", "rules") {
  for (uint32_t type : {DEV, DEVH}) {
    for (auto [ks, vs, max, flags] :
         {std::tuple{4u, 4u, 4u, 0u}, {4u, 8u, 4u, 0u}, {4u, 4u, 0u, 0u}, {8u, 4u, 4u, 0u}, {4u, 2u, 4u, 0u},
          {4u, 12u, 4u, 0u}, {4u, 6u, 4u, 0u}, {4u, 4u, 4u, uint32_t{BPF_F_RDONLY}}, {4u, 4u, 4u, uint32_t{BPF_F_WRONLY}},
          {4u, 4u, 4u, uint32_t{BPF_F_RDONLY_PROG}}, {4u, 4u, 4u, uint32_t{BPF_F_WRONLY_PROG}},
          {4u, 4u, 4u, uint32_t{BPF_F_NO_PREALLOC}}, {4u, 4u, 4u, uint32_t{BPF_F_ZERO_SEED}},
          {4u, 4u, 4u, uint32_t{BPF_F_MMAPABLE}}, {4u, 4u, 0x80000001u, 0u}}) {
      // A DEVMAP of 2^31 + 1 slots is 16 GiB: more than a test VM has.
      if (type == DEV && max == 0x80000001u) continue;
      const int fd = r.create(type, ks, vs, max, flags, tname(type).c_str());
      if (fd < 0) continue;
      r.info(fd);
      r.memlock(fd);
      r.close(fd);
    }
  }
}

// max_entries around NR_CPUS of the host's 6.18 build (256) and of Debian's
// 6.1 (8192).
SCENARIO("CPUMAP", "create", "rules") {
  for (auto [ks, vs, max, flags] :
       {std::tuple{4u, 4u, 4u, 0u}, {4u, 8u, 4u, 0u}, {4u, 4u, 0u, 0u}, {8u, 4u, 4u, 0u}, {4u, 12u, 4u, 0u},
        {4u, 4u, 4u, uint32_t{BPF_F_RDONLY}}, {4u, 4u, 4u, uint32_t{BPF_F_WRONLY}},
        {4u, 4u, 4u, uint32_t{BPF_F_RDONLY_PROG}}, {4u, 4u, 4u, uint32_t{BPF_F_NO_PREALLOC}}, {4u, 4u, 64u, 0u},
        {4u, 4u, 256u, 0u}, {4u, 4u, 257u, 0u}, {4u, 4u, 8192u, 0u}, {4u, 4u, 8193u, 0u},
        {4u, 4u, 100000u, 0u}, {8u, 4u, 100000u, 0u}}) {
    const int fd = r.create(CPU, ks, vs, max, flags);
    if (fd < 0) continue;
    r.info(fd);
    r.memlock(fd);
    r.close(fd);
  }
}

SCENARIO("DEVMAP", "update", "entries") {
  for (uint32_t type : {DEV, DEVH}) {
    const std::string t = tname(type);
    const int map = r.create(type, 4, 8, 4, 0, t.c_str());
    if (map < 0) continue;
    r.memlock(map);
    put(r, map, 0, 1, 0, BPF_ANY, t + " ifindex 1");
    r.memlock(map);
    put(r, map, 0, 1, 0, BPF_NOEXIST, t + " NOEXIST on existing");
    put(r, map, 1, 1, 0, BPF_NOEXIST, t + " NOEXIST on missing");
    put(r, map, 2, 1, 0, BPF_EXIST, t + " EXIST on missing");
    put(r, map, 2, 1, 0, BPF_F_LOCK, t + " F_LOCK");
    put(r, map, 2, 1, 0, 3, t + " flags 3");
    put(r, map, 9, 1, 0, BPF_ANY, t + " key 9");
    put(r, map, 3, 987654, 0, BPF_ANY, t + " no such device");
    put(r, map, 3, 0, 0, BPF_ANY, t + " ifindex 0");
    put(r, map, 3, 0, 5, BPF_ANY, t + " ifindex 0 with a program fd");
    put(r, map, 3, 1, -1, BPF_ANY, t + " program fd -1");
    put(r, map, 3, 1, 4000, BPF_ANY, t + " closed program fd");
    r.memlock(map);
    for (uint32_t k : {0u, 1u, 2u, 3u, 9u}) r.lookup(map, u32(k));
    r.lookup(map, u32(0), 0, 4);
    r.walk(map, 4);
    r.next_key(map, u32(7), 4);
    r.next_key(map, u32(2), 4);
    r.remove(map, u32(3));
    r.remove(map, u32(3));
    r.remove(map, u32(4));
    r.remove(map, u32(9));
    r.memlock(map);
    r.walk(map, 4);
    r.lookup_and_delete(map, u32(0));
    r.lookup_batch(map, std::nullopt, 4, 4, 8);
    r.freeze(map);
    put(r, map, 0, 1, 0, BPF_ANY, t + " frozen");
    r.close(map);
  }
}

// A DEVMAP_HASH fills up at max_entries keys; its walk follows its buckets
// (key & (n_buckets - 1)), newest first within one, a replaced key moving to
// its bucket's head.
SCENARIO("DEVMAP_HASH", "update", "full_and_order") {
  const int map = r.create(DEVH, 4, 4, 5, 0, "devmap_hash");
  if (map < 0) return;
  for (uint32_t k : {3u, 11u, 19u, 0u, 8u, 100u}) r.update(map, u32(k), u32(1));
  r.memlock(map);
  r.walk(map, 4);
  r.update(map, u32(3), u32(1), BPF_EXIST);
  r.walk(map, 4);
  r.next_key(map, u32(11), 4);
  r.next_key(map, u32(19), 4);
  r.remove(map, u32(11));
  r.update(map, u32(100), u32(1), BPF_NOEXIST);
  r.update(map, u32(7), u32(1), BPF_NOEXIST);
  r.walk(map, 4);
  r.memlock(map);
  r.close(map);
}

SCENARIO("DEVMAP", "update", "programs") {
  const int plain = load_xdp(r, 0, 2, "load xdp");
  const int dp = load_xdp(r, BPF_XDP_DEVMAP, 2, "load xdp devmap");
  const int cp = load_xdp(r, BPF_XDP_CPUMAP, 2, "load xdp cpumap");
  const int sf = r.load_program(BPF_PROG_TYPE_SOCKET_FILTER,
                                {{BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0}, {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}},
                                "load socket filter");
  const int arr = r.create(BPF_MAP_TYPE_ARRAY, 4, 4, 1);
  if (plain < 0 || dp < 0 || cp < 0 || sf < 0 || arr < 0) return;
  const std::vector<int> progs = {plain, dp, cp};
  for (uint32_t type : {DEV, DEVH}) {
    const std::string t = tname(type);
    const int map = r.create(type, 4, 8, 4, 0, t.c_str());
    if (map < 0) continue;
    put(r, map, 0, 1, plain, BPF_ANY, t + " plain xdp");
    put(r, map, 0, 1, cp, BPF_ANY, t + " cpumap xdp");
    put(r, map, 0, 1, sf, BPF_ANY, t + " socket filter");
    put(r, map, 0, 1, arr, BPF_ANY, t + " a map fd");
    put(r, map, 0, 1, dp, BPF_ANY, t + " devmap xdp");
    get(r, map, 0, progs, t + " key 0");
    put(r, map, 0, 1, plain, BPF_ANY, t + " replaced by plain xdp");
    get(r, map, 0, progs, t + " key 0 kept");
    put(r, map, 0, 1, 0, BPF_ANY, t + " replaced without program");
    get(r, map, 0, progs, t + " key 0 now");
    r.close(map);
  }
  // A 4-byte devmap takes no program; its lookups show the ifindex only.
  const int small = r.create(DEV, 4, 4, 2, 0, "devmap4");
  if (small >= 0) {
    r.update(small, u32(1), u32(1));
    r.lookup(small, u32(1));
    r.lookup(small, u32(1), 0, 8);
    r.close(small);
  }
  // A program held only by an entry lives until the entry (or map) goes.
  const int tmp = load_xdp(r, BPF_XDP_DEVMAP, 1, "load held xdp");
  const int map = r.create(DEV, 4, 8, 2, 0, "devmap");
  if (tmp < 0 || map < 0) return;
  const uint32_t id = prog_id(r, tmp);
  put(r, map, 1, 1, tmp, BPF_ANY, "store held program");
  r.close(tmp);
  usleep(50000);
  emu::BpfAttr a{};
  memcpy(a.bytes, &id, sizeof(id));
  const long fd = r.raw("held program alive", BPF_PROG_GET_FD_BY_ID, &a, sizeof(a), true);
  if (fd >= 0) r.close(static_cast<int>(fd));
  r.remove(map, u32(1));
  prog_freed_soon(r, id, "after delete");
  r.close(map);
  // Freeing a map lets go of its entries' programs.
  for (uint32_t type : {DEV, DEVH, CPU}) {
    const int p = load_xdp(r, type == CPU ? BPF_XDP_CPUMAP : BPF_XDP_DEVMAP, 1, "load " + tname(type) + " program");
    const int m = r.create(type, 4, 8, 2, 0, tname(type).c_str());
    if (p < 0 || m < 0) continue;
    const uint32_t pid = prog_id(r, p);
    put(r, m, 0, type == CPU ? 8 : 1, p, BPF_ANY, "store in " + tname(type));
    r.close(p);
    r.close(m);
    prog_freed_soon(r, pid, "after closing the " + tname(type));
  }
}

SCENARIO("CPUMAP", "update", "entries") {
  const int plain = load_xdp(r, 0, 2, "load xdp");
  const int dp = load_xdp(r, BPF_XDP_DEVMAP, 2, "load xdp devmap");
  const int cp = load_xdp(r, BPF_XDP_CPUMAP, 2, "load xdp cpumap");
  const int map = r.create(CPU, 4, 8, 8, 0, "cpumap");
  if (plain < 0 || dp < 0 || cp < 0 || map < 0) return;
  const std::vector<int> progs = {plain, dp, cp};
  r.memlock(map);
  put(r, map, 0, 64, 0, BPF_ANY, "qsize 64");
  put(r, map, 0, 64, 0, BPF_NOEXIST, "NOEXIST");
  put(r, map, 0, 32, 0, BPF_EXIST, "EXIST");
  put(r, map, 1, 32, 0, BPF_EXIST, "EXIST on empty");
  put(r, map, 0, 32, 0, 3, "flags 3");
  put(r, map, 8, 32, 0, BPF_ANY, "key 8");
  put(r, map, 7, 32, 0, BPF_ANY, "key 7 (not a possible CPU)");
  put(r, map, 7, 16385, 0, BPF_ANY, "key 7 qsize 16385");
  put(r, map, 1, 16385, 0, BPF_ANY, "qsize 16385");
  put(r, map, 1, 16384, 0, BPF_ANY, "qsize 16384");
  put(r, map, 1, 0, 0, BPF_ANY, "qsize 0");
  put(r, map, 1, 0, 4000, BPF_ANY, "qsize 0 with a closed fd");
  put(r, map, 1, 8, 4000, BPF_ANY, "closed program fd");
  put(r, map, 1, 8, plain, BPF_ANY, "plain xdp");
  put(r, map, 1, 8, dp, BPF_ANY, "devmap xdp");
  put(r, map, 1, 8, map, BPF_ANY, "a map fd");
  put(r, map, 1, 8, -1, BPF_ANY, "program fd -1");
  get(r, map, 1, progs, "key 1");
  put(r, map, 1, 8, cp, BPF_ANY, "cpumap xdp");
  get(r, map, 1, progs, "key 1 with program");
  get(r, map, 0, progs, "key 0");
  r.lookup(map, u32(3));
  r.lookup(map, u32(8));
  r.memlock(map);
  r.walk(map, 4);
  r.next_key(map, u32(8), 4);
  r.remove(map, u32(1));
  r.remove(map, u32(1));
  r.remove(map, u32(8));
  r.lookup(map, u32(1));
  r.lookup_and_delete(map, u32(0));
  r.lookup_batch(map, std::nullopt, 4, 4, 8);
  r.freeze(map);
  put(r, map, 0, 8, 0, BPF_ANY, "frozen");
  r.close(map);
  const int small = r.create(CPU, 4, 4, 2, 0, "cpumap4");
  if (small >= 0) {
    r.update(small, u32(0), u32(128));
    r.lookup(small, u32(0));
    r.close(small);
  }
}

SCENARIO("DEVMAP", "lifetime", "pinned") {
  const int map = r.create(DEVH, 4, 4, 4, 0, "devmap_hash");
  if (map < 0) return;
  r.update(map, u32(42), u32(1));
  const std::string path = r.pin_path("devmap_hash");
  r.pin(map, path);
  r.close(map);
  const int again = r.get(path);
  if (again >= 0) {
    r.lookup(again, u32(42));
    r.info(again);
    r.close(again);
  }
  r.unpin(path);
}

// bpf_redirect_map from XDP in a test run: XDP_REDIRECT for an entry (the
// key read as a u32), else the low two bits of flags; BPF_F_BROADCAST (devmaps
// only) redirects anyway; any other flag aborts.
SCENARIO("DEVMAP", "prog", "redirect_map") {
  for (uint32_t type : {DEV, DEVH, CPU}) {
    const std::string t = tname(type);
    const int map = r.create(type, 4, 4, 4, 0, t.c_str());
    if (map < 0) continue;
    const uint32_t key = type == DEVH ? 5 : 0;
    r.update(map, u32(key), u32(type == CPU ? 16 : 1));
    for (uint64_t k : {uint64_t{key}, uint64_t{1}, uint64_t{2}, (uint64_t{1} << 32) | key})
      r.run_program(BPF_PROG_TYPE_XDP, redirect_prog(map, k, 0, false), 1, t + " key " + std::to_string(k));
    for (uint64_t f : {uint64_t{1}, uint64_t{2}, uint64_t{3}, uint64_t{4}, uint64_t{BPF_F_BROADCAST},
                       uint64_t{BPF_F_EXCLUDE_INGRESS}, uint64_t{BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS},
                       uint64_t{BPF_F_BROADCAST | 1}, uint64_t{0x20}, uint64_t{1} << 32}) {
      r.run_program(BPF_PROG_TYPE_XDP, redirect_prog(map, 3, f, false), 1, t + " missing key flags " + std::to_string(f));
      r.run_program(BPF_PROG_TYPE_XDP, redirect_prog(map, key, f, false), 1, t + " key flags " + std::to_string(f));
    }
    // Lookups: devmaps yield {ifindex, prog id}; a cpumap may not be looked up.
    r.run_program(BPF_PROG_TYPE_XDP, redirect_prog(map, key, 0, true), 1, t + " lookup");
    r.run_program(BPF_PROG_TYPE_XDP, redirect_prog(map, 3, 0, true), 1, t + " lookup missing");
    // Other map helpers are refused for these maps.
    const int upd = r.load_program(BPF_PROG_TYPE_XDP,
                                   {{BPF_LD | BPF_DW | BPF_IMM, BPF_REG_1, BPF_PSEUDO_MAP_FD, 0, map},
                                    {0, 0, 0, 0, 0},
                                    {BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, BPF_REG_10, 0, 0},
                                    {BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, -8},
                                    {BPF_ST | BPF_MEM | BPF_DW, BPF_REG_10, 0, -8, 0},
                                    {BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_delete_elem},
                                    {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0},
                                    {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}},
                                   t + " map_delete_elem load");
    if (upd >= 0) r.close(upd);
    r.close(map);
  }
  // bpf_redirect_map takes only maps that redirect.
  const int arr = r.create(BPF_MAP_TYPE_ARRAY, 4, 4, 4);
  if (arr >= 0) {
    r.run_program(BPF_PROG_TYPE_XDP, redirect_prog(arr, 0, 0, false), 1, "array redirect_map");
    r.close(arr);
  }
  // Programs loaded for a devmap or cpumap cannot be test-run.
  for (uint32_t eat : {uint32_t{BPF_XDP_DEVMAP}, uint32_t{BPF_XDP_CPUMAP}}) {
    const int p = load_xdp(r, eat, 2, "load for attach type " + std::to_string(eat));
    if (p < 0) continue;
    uint8_t pkt[64] = {};
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.test.prog_fd = static_cast<uint32_t>(p);
    a.test.data_in = reinterpret_cast<uintptr_t>(pkt);
    a.test.data_size_in = sizeof(pkt);
    a.test.repeat = 1;
    r.raw("test_run attach type " + std::to_string(eat), BPF_PROG_TEST_RUN, &a, sizeof(a));
    r.close(p);
  }
}

}  // namespace bpfemu::conformance
