// PROG_ARRAY: create rules, slots holding programs (an update takes a program
// fd, a lookup answers the program's id), the BPF_ANY-only update, E2BIG past
// the end, one program type per array, delete, walk, freeze; and the program
// side, tail calls through it (tests/interpreter_test.cc runs those).
#include <linux/bpf.h>

#include <cstring>

#include "conformance/scenario.h"
#include "emu/bpf_syscall.h"

namespace bpfemu::conformance {
namespace {

int load_returning(Recorder& r, uint32_t type, int32_t ret, const std::string& label) {
  return r.load_program(type, {{BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, ret}, {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}},
                        label);
}

// An update storing program fd `prog` (fd numbers differ between the two
// sides, so the call is noted by its result only).
void store(Recorder& r, int map, uint32_t key, int prog, uint64_t flags, const std::string& what) {
  errno = 0;
  const int rc = r.backend().map_update_elem(map, &key, &prog, flags);
  r.note(what + ": update rc", rc);
  r.note(what + ": update errno", rc == 0 ? 0 : errno);
}

uint32_t prog_id(Recorder& r, int fd) {
  bpf_prog_info info{};
  uint32_t len = sizeof(info);
  return r.backend().obj_get_info_by_fd(fd, &info, &len) == 0 ? info.id : 0;
}

}  // namespace

SCENARIO("PROG_ARRAY", "create", "rules") {
  for (auto [ks, vs, max, flags] : {std::tuple{4u, 4u, 4u, 0u}, {4u, 8u, 4u, 0u}, {8u, 4u, 4u, 0u}, {4u, 4u, 0u, 0u},
                                    {4u, 4u, 4u, uint32_t{BPF_F_RDONLY_PROG}}, {4u, 4u, 4u, uint32_t{BPF_F_MMAPABLE}},
                                    {4u, 4u, 4u, uint32_t{BPF_F_RDONLY}}, {4u, 4u, 4u, uint32_t{BPF_F_ZERO_SEED}}}) {
    const int fd = r.create(BPF_MAP_TYPE_PROG_ARRAY, ks, vs, max, flags);
    if (fd >= 0) r.close(fd);
  }
}

SCENARIO("PROG_ARRAY", "slots", "programs_by_fd_ids_out") {
  const int map = r.create(BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 4);
  const int x1 = load_returning(r, BPF_PROG_TYPE_XDP, 1, "load xdp 1");
  const int x2 = load_returning(r, BPF_PROG_TYPE_XDP, 2, "load xdp 2");
  const int sf = load_returning(r, BPF_PROG_TYPE_SOCKET_FILTER, 3, "load socket filter");
  const int arr = r.create(BPF_MAP_TYPE_ARRAY, 4, 4, 1);
  if (map < 0 || x1 < 0 || x2 < 0 || sf < 0 || arr < 0) return;
  r.lookup(map, u32(0));
  r.remove(map, u32(0));
  store(r, map, 0, x1, BPF_NOEXIST, "NOEXIST");
  store(r, map, 0, x1, BPF_EXIST, "EXIST");
  store(r, map, 0, x1, BPF_F_LOCK, "F_LOCK");
  store(r, map, 0, x1, BPF_ANY, "ANY");
  Bytes out(4, 0);
  errno = 0;
  r.note("lookup answers the program's id",
         r.backend().map_lookup_elem(map, u32(0).data(), out.data()) == 0 && out == u32(prog_id(r, x1)));
  store(r, map, 1, sf, BPF_ANY, "another program type");
  store(r, map, 1, arr, BPF_ANY, "a map fd");
  store(r, map, 1, 4000, BPF_ANY, "a closed fd");
  store(r, map, 1, x2, BPF_ANY, "slot 1");
  store(r, map, 4, x2, BPF_ANY, "past the end");
  r.lookup(map, u32(4));
  r.next_key(map, std::nullopt, 4);
  r.next_key(map, u32(3), 4);
  r.next_key(map, u32(9), 4);
  r.remove(map, u32(1));
  r.remove(map, u32(1));
  r.remove(map, u32(9));
  r.lookup_and_delete(map, u32(0));
  store(r, map, 0, x2, BPF_ANY, "replacing");
  errno = 0;
  r.note("replaced", r.backend().map_lookup_elem(map, u32(0).data(), out.data()) == 0 && out == u32(prog_id(r, x2)));
  r.freeze(map);
  store(r, map, 2, x2, BPF_ANY, "frozen");
  r.close(map);
  r.close(x1);
  r.close(x2);
  r.close(sf);
  r.close(arr);
}

// Programs hold the arrays they use; a program of another type may not load
// against an array that holds XDP programs.
SCENARIO("PROG_ARRAY", "prog", "one_type_per_array") {
  const int map = r.create(BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 2);
  const int x1 = load_returning(r, BPF_PROG_TYPE_XDP, 1, "load xdp");
  if (map < 0 || x1 < 0) return;
  store(r, map, 0, x1, BPF_ANY, "slot 0");
  for (uint32_t type : {uint32_t{BPF_PROG_TYPE_SOCKET_FILTER}, uint32_t{BPF_PROG_TYPE_XDP}}) {
    const int fd = r.load_program(type,
                                  {{BPF_LD | BPF_DW | BPF_IMM, BPF_REG_2, BPF_PSEUDO_MAP_FD, 0, map},
                                   {0, 0, 0, 0, 0},
                                   {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_3, 0, 0, 0},
                                   {BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_tail_call},
                                   {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0},
                                   {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}},
                                  type == BPF_PROG_TYPE_XDP ? "xdp user" : "socket filter user");
    r.note(type == BPF_PROG_TYPE_XDP ? "xdp user loads" : "socket filter user loads", fd >= 0);
    if (fd >= 0) r.close(fd);
  }
  r.close(map);
  r.close(x1);
}

}  // namespace bpfemu::conformance
