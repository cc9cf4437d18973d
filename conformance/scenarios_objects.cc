// The object model: BTF and program objects beside maps, references between
// them, pins and their path forms, and mmap of map fds. Raw attrs go through
// Backend::bpf, so these run the same on the emulator and the kernel.
#include <fcntl.h>
#include <linux/btf.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "conformance/scenario.h"
#include "emu/bpf_syscall.h"

#include <linux/bpf.h>

namespace bpfemu::conformance {
namespace {

using emu::BpfAttr;

template <class U>
void ptr(U* field, const void* p) {
  *field = reinterpret_cast<uintptr_t>(p);
}

std::vector<uint8_t> int_btf() {
  btf_header h{};
  h.magic = BTF_MAGIC;
  h.version = BTF_VERSION;
  h.hdr_len = sizeof(h);
  const uint32_t type[] = {1, BTF_KIND_INT << 24, 4, 32};
  const char strs[] = "\0int";
  h.type_len = sizeof(type);
  h.str_off = sizeof(type);
  h.str_len = sizeof(strs);
  std::vector<uint8_t> b(sizeof(h) + sizeof(type) + sizeof(strs));
  memcpy(b.data(), &h, sizeof(h));
  memcpy(b.data() + sizeof(h), type, sizeof(type));
  memcpy(b.data() + sizeof(h) + sizeof(type), strs, sizeof(strs));
  return b;
}

int load_btf(Recorder& r, const std::vector<uint8_t>& blob, const std::string& label) {
  BpfAttr a{};
  ptr(&a.btf.btf, blob.data());
  a.btf.btf_size = static_cast<uint32_t>(blob.size());
  return static_cast<int>(r.raw(label, BPF_BTF_LOAD, &a, sizeof(a), true));
}

// A SOCKET_FILTER program; with map_fd >= 0 it loads that map's address.
int load_prog(Recorder& r, int map_fd, const std::string& label, const char* name = "conf_prog",
              const char* license = "GPL") {
  std::vector<bpf_insn> insns;
  if (map_fd >= 0) {
    insns.push_back({BPF_LD | BPF_IMM | BPF_DW, BPF_REG_1, BPF_PSEUDO_MAP_FD, 0, map_fd});
    insns.push_back({0, 0, 0, 0, 0});
  }
  insns.push_back({BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0});
  insns.push_back({BPF_JMP | BPF_EXIT, 0, 0, 0, 0});
  BpfAttr a{};
  a.prog.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
  a.prog.insn_cnt = static_cast<uint32_t>(insns.size());
  ptr(&a.prog.insns, insns.data());
  ptr(&a.prog.license, license);
  strncpy(a.prog.prog_name, name, sizeof(a.prog.prog_name) - 1);
  return static_cast<int>(r.raw(label, BPF_PROG_LOAD, &a, sizeof(a), true));
}

int load_insns(Recorder& r, const std::vector<bpf_insn>& insns, const std::string& label,
               uint32_t type = BPF_PROG_TYPE_SOCKET_FILTER) {
  return r.load_program(type, insns, label);
}

// The id of a map or program (both infos start with type, id).
uint32_t id_of(Recorder& r, int fd) {
  bpf_map_info info{};
  uint32_t len = sizeof(info);
  return r.backend().obj_get_info_by_fd(fd, &info, &len) == 0 ? info.id : 0;
}

uint32_t btf_id_of(Recorder& r, int fd) {
  bpf_btf_info info{};
  uint32_t len = sizeof(info);
  return r.backend().obj_get_info_by_fd(fd, &info, &len) == 0 ? info.id : 0;
}

long get_fd_by_id(Recorder& r, int cmd, uint32_t id, const std::string& label, uint32_t open_flags = 0) {
  BpfAttr a{};
  a.id.start_id = id;
  a.id.open_flags = open_flags;
  return r.raw(label, cmd, &a, sizeof(a), true);
}

// Whether id is among the ids BPF_*_GET_NEXT_ID lists.
bool listed(Recorder& r, int cmd, uint32_t id) {
  BpfAttr a{};
  a.id.start_id = id - 1;
  return r.backend().bpf(cmd, &a, sizeof(a)) == 0 && a.id.next_id == id;
}

}  // namespace

SCENARIO("COMMON", "btf", "load_info_ids_lifetime") {
  const auto blob = int_btf();
  const int fd = load_btf(r, blob, "btf_load");
  if (fd < 0) return;
  // bpf_btf_info: the blob comes back, with its size; user BTF has no name.
  std::vector<uint8_t> back(blob.size() + 8, 0xAA);
  bpf_btf_info info{};
  ptr(&info.btf, back.data());
  info.btf_size = static_cast<uint32_t>(back.size());
  uint32_t len = sizeof(info);
  errno = 0;
  r.note("btf info", r.backend().obj_get_info_by_fd(fd, &info, &len));
  r.note("btf info len", len);
  r.note("btf info btf_size", info.btf_size);
  r.note("btf info name_len", info.name_len);
  r.note("btf info kernel_btf", info.kernel_btf);
  r.note("btf blob back intact", memcmp(back.data(), blob.data(), blob.size()) == 0);
  r.note("btf blob back tail untouched", back[blob.size()] == 0xAA);
  // A short buffer gets the start of the blob and the full size.
  std::vector<uint8_t> shorter(8, 0);
  bpf_btf_info info2{};
  ptr(&info2.btf, shorter.data());
  info2.btf_size = 8;
  len = sizeof(info2);
  r.note("btf info short buffer", r.backend().obj_get_info_by_fd(fd, &info2, &len));
  r.note("btf info short buffer btf_size", info2.btf_size);
  r.note("btf info short buffer copied", memcmp(shorter.data(), blob.data(), 8) == 0);
  char name[4] = {'x', 'x', 'x', 'x'};
  bpf_btf_info info3{};
  ptr(&info3.name, name);
  info3.name_len = sizeof(name);
  len = sizeof(info3);
  r.note("btf info name buffer", r.backend().obj_get_info_by_fd(fd, &info3, &len));
  r.note("btf info name is empty", name[0] == '\0');
  info3.name_len = 0;
  r.note("btf info name without length", r.backend().obj_get_info_by_fd(fd, &info3, &len));

  const uint32_t id = btf_id_of(r, fd);
  r.note("btf listed by BTF_GET_NEXT_ID", listed(r, BPF_BTF_GET_NEXT_ID, id));
  get_fd_by_id(r, BPF_BTF_GET_FD_BY_ID, id, "btf_get_fd_by_id");
  // BTF fds are no maps, and cannot be pinned.
  uint32_t k = 0;
  uint64_t v = 0;
  errno = 0;
  r.note("map lookup on a BTF fd", r.backend().map_lookup_elem(fd, &k, &v));
  r.pin(fd, r.pin_path("btf"));
  r.close(fd);
}

SCENARIO("COMMON", "btf", "header_checks") {
  auto blob = int_btf();
  load_btf(r, std::vector<uint8_t>(blob.begin(), blob.begin() + 4), "btf_load(4 bytes)");
  auto bad_magic = blob;
  bad_magic[0] ^= 0xff;
  load_btf(r, bad_magic, "btf_load(bad magic)");
  auto bad_version = blob;
  bad_version[2] = 2;
  load_btf(r, bad_version, "btf_load(version 2)");
  auto flags = blob;
  flags[3] = 1;
  load_btf(r, flags, "btf_load(flags 1)");
  load_btf(r, std::vector<uint8_t>(blob.begin(), blob.begin() + sizeof(btf_header)), "btf_load(header only)");
  auto longer = blob;
  longer.push_back(0);
  load_btf(r, longer, "btf_load(one byte past the sections)");
  BpfAttr a{};
  ptr(&a.btf.btf, blob.data());
  a.btf.btf_size = 17 * 1024 * 1024;
  r.raw("btf_load(17 MiB)", BPF_BTF_LOAD, &a, sizeof(a), true);
  a.btf.btf_size = static_cast<uint32_t>(blob.size());
  a.btf.btf_log_level = 1;
  r.raw("btf_load(log level without buffer)", BPF_BTF_LOAD, &a, sizeof(a), true);
  char log[8];
  ptr(&a.btf.btf_log_buf, log);
  a.btf.btf_log_level = 0;
  a.btf.btf_log_size = sizeof(log);
  r.raw("btf_load(log buffer without level)", BPF_BTF_LOAD, &a, sizeof(a), true);
  a.btf.btf_flags = 1;
  a.btf.btf_log_buf = 0;
  a.btf.btf_log_size = 0;
  r.raw("btf_load(btf_flags 1)", BPF_BTF_LOAD, &a, sizeof(a), true);
}

SCENARIO("COMMON", "prog", "load_holds_its_maps") {
  const int map = r.create(BPF_MAP_TYPE_ARRAY, 4, 8, 4, 0, "used_map");
  if (map < 0) return;
  r.update(map, u32(1), u64(77));
  const uint32_t map_id = id_of(r, map);
  const int prog = load_prog(r, map, "prog_load(uses map)");
  if (prog < 0) return;
  // bpf_prog_info: type, name, GPL, the map it uses.
  bpf_prog_info info{};
  uint32_t ids[4] = {};
  info.nr_map_ids = 4;
  ptr(&info.map_ids, ids);
  uint32_t len = sizeof(info);
  errno = 0;
  r.note("prog info", r.backend().obj_get_info_by_fd(prog, &info, &len));
  r.note("prog info len", len);
  r.note("prog info type", info.type);
  r.note("prog info nr_map_ids", info.nr_map_ids);
  r.note("prog info map id is the map's", ids[0] == map_id);
  r.note("prog info name", std::string(info.name) == "conf_prog");
  r.note("prog info gpl_compatible", info.gpl_compatible);
  r.note("prog info xlated_prog_len", info.xlated_prog_len);
  const uint32_t prog_id = id_of(r, prog);
  r.note("prog listed", listed(r, BPF_PROG_GET_NEXT_ID, prog_id));
  get_fd_by_id(r, BPF_PROG_GET_FD_BY_ID, prog_id, "prog_get_fd_by_id");
  get_fd_by_id(r, BPF_PROG_GET_FD_BY_ID, prog_id, "prog_get_fd_by_id(open_flags rdonly)", BPF_F_RDONLY);
  // The program keeps the map alive after the map's last fd is closed.
  r.close(map);
  r.note("map still listed while the program holds it", listed(r, BPF_MAP_GET_NEXT_ID, map_id));
  const int again = static_cast<int>(get_fd_by_id(r, BPF_MAP_GET_FD_BY_ID, map_id, "map_get_fd_by_id(held by prog)"));
  if (again >= 0) {
    r.lookup(again, u32(1));
    r.close(again);
  }
  // Pinned and opened again as a program.
  const std::string pin = r.pin_path("prog");
  r.pin(prog, pin);
  const int got = r.get(pin);
  r.note("got the same program", got >= 0 && id_of(r, got) == prog_id);
  r.get(pin, BPF_F_RDONLY);
  r.unpin(pin);
  // Map commands on a program fd.
  errno = 0;
  r.note("map lookup on a prog fd", r.backend().map_lookup_elem(prog, u32(0).data(), nullptr));
  errno = 0;
  r.note("map freeze on a prog fd", r.backend().map_freeze(prog));
}

SCENARIO("COMMON", "prog", "load_checks") {
  const int map = r.create(BPF_MAP_TYPE_HASH, 4, 8, 4, 0, "m");
  load_insns(r, {}, "prog_load(0 insns)");
  load_insns(r, {{BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0}}, "prog_load(no exit)");
  load_insns(r, {{BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0}, {BPF_JMP | BPF_JA, 0, 0, 5, 0},
                 {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}},
             "prog_load(jump out of range)");
  load_insns(r, {{BPF_LD | BPF_IMM | BPF_DW, BPF_REG_0, 0, 0, 1}, {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}},
             "prog_load(ld_imm64 without its second half)");
  load_insns(r, {{BPF_LD | BPF_IMM | BPF_DW, BPF_REG_1, BPF_PSEUDO_MAP_FD, 0, 9999}, {0, 0, 0, 0, 0},
                 {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0}, {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}},
             "prog_load(map fd closed)");
  load_insns(r, {{BPF_LD | BPF_IMM | BPF_DW, BPF_REG_1, BPF_PSEUDO_MAP_FD, 0, 0}, {0, 0, 0, 0, 0},
                 {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0}, {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}},
             "prog_load(map fd stdin)");
  if (map >= 0) {
    load_insns(r, {{BPF_LD | BPF_IMM | BPF_DW, BPF_REG_1, BPF_PSEUDO_MAP_VALUE, 0, map}, {0, 0, 0, 0, 0},
                   {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0}, {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}},
               "prog_load(value address of a hash map)");
  }
  load_insns(r, {{BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_10, 0, 0, 0}, {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}},
             "prog_load(write to r10)");
  // The verifier's order: every insn must be reachable (check_cfg) before
  // anything an insn does is looked at (do_check).
  load_insns(r, {{BPF_JMP | BPF_JA, 0, 0, -1, 0}, {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}},
             "prog_load(jump to itself, exit unreachable)");
  load_insns(r, {{BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0}, {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
                 {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_10, 0, 0, 0}, {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}},
             "prog_load(unreachable write to r10)");
  load_insns(r, {{BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0}, {BPF_JMP | BPF_JA, 0, 0, 1, 0},
                 {BPF_ALU64 | BPF_DIV | BPF_K, BPF_REG_0, 0, 0, 0}, {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}},
             "prog_load(division by zero jumped over)");
  load_insns(r, {{BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0}, {BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_0, 0, 1, 0},
                 {BPF_LD | BPF_IMM | BPF_DW, BPF_REG_1, 0, 0, 7}, {0, 0, 0, 0, 0}, {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}},
             "prog_load(jump into the middle of ld_imm64)");
  load_insns(r, {{BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0}, {BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_0, 0, 1, 0},
                 {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 1}, {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}},
             "prog_load(both ways of a branch reachable)");
  load_insns(r, {{BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0}, {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}},
             "prog_load(type 0)", 0);
  load_insns(r, {{BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0}, {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}},
             "prog_load(type 1000)", 1000);
  load_prog(r, -1, "prog_load(bad name)", "bad-name");
  load_prog(r, -1, "prog_load(proprietary license)", "p", "Proprietary");
}

SCENARIO("COMMON", "pin", "repin_after_unpin") {
  const int fd = r.create(BPF_MAP_TYPE_ARRAY, 4, 8, 2, 0, "repin");
  const std::string a = r.pin_path("repin_a");
  const std::string b = r.pin_path("repin_b");
  const std::string dir = r.pin_path("repin_dir");
  r.pin(fd, a);
  r.unpin(a);
  r.pin(fd, a);  // the same name again
  r.unpin(a);
  r.pin(fd, b);  // another name
  r.mkdir_bpffs(dir);
  r.pin_as(fd, dir + "/inner", "repin_dir/inner");  // a new directory
  r.get_as(dir + "/inner", 0, "repin_dir/inner");
  r.unpin(dir + "/inner");
  r.rmdir_bpffs(dir);
  r.unpin(b);
}

SCENARIO("COMMON", "pin", "path_forms") {
  const int fd = r.create(BPF_MAP_TYPE_ARRAY, 4, 8, 2, 0, "paths");
  const std::string leaf = "bpfemu_conf_" + std::to_string(getpid()) + "_paths";
  r.mkdir_bpffs("/sys/fs/bpf/" + leaf);
  const std::string d = "/sys/fs/bpf/" + leaf;
  r.pin_as(fd, "//sys//fs//bpf//" + leaf + "//b", "//D//b");
  r.get_as(d + "/b", 0, "D/b");
  r.pin_as(fd, d + "/./c", "D/./c");
  r.pin_as(fd, d + "/../" + leaf + "/e", "D/../D/e");
  r.get_as(d + "/c", 0, "D/c");
  r.get_as(d + "/e", 0, "D/e");
  r.pin_as(fd, "/sys/fs/bpf/../../../tmp/bpfemu_conf_escape", "/sys/fs/bpf/../../../tmp/x");
  r.get_as("/sys/fs/bpf/../../../tmp/bpfemu_conf_escape", 0, "/sys/fs/bpf/../../../tmp/x");
  r.pin_as(fd, "/tmp/bpfemu_conf_outside", "/tmp/x");
  r.get_as("/tmp/bpfemu_conf_does_not_exist", 0, "/tmp/missing");
  r.get_as("/tmp", 0, "/tmp");
  r.get_as("/etc/hostname", 0, "/etc/hostname");
  r.get_as(d, 0, "D (a directory)");
  r.pin_as(fd, d, "D (exists)");
  r.pin_as(fd, d + "/nope/x", "D/nope/x");
  r.pin_as(fd, d + "/b/x", "D/b/x (a pin as directory)");
  r.get_as(d + "/b/x", 0, "D/b/x");
  r.get_as(d + "/b/", 0, "D/b/");
  r.pin_as(fd, d + "/g/", "D/g/");
  r.pin_as(fd, "", "(empty)");
  r.get_as("", 0, "(empty)");
  r.pin_as(fd, d + "/" + std::string(256, 'n'), "D/<256 chars>");
  r.pin_as(fd, d + "/" + std::string(255, 'n'), "D/<255 chars>");
  r.get_as(d + "/" + std::string(255, 'n'), 0, "D/<255 chars>");
  std::string deep = d;
  while (deep.size() < 4100) deep += "/.";
  r.pin_as(fd, deep + "/x", "D/./.../x (over PATH_MAX)");
  r.get_as(d + "/b", BPF_F_RDONLY | BPF_F_WRONLY, "D/b");
  r.get_as(d + "/b", 1U << 5, "D/b");
  const int ro = r.get_as(d + "/b", BPF_F_RDONLY, "D/b");
  r.update(ro, u32(0), u64(1));
  r.lookup(ro, u32(0));
  for (const std::string& leafname : {std::string("b"), std::string("c"), std::string("e"), std::string(255, 'n')})
    r.unpin(d + "/" + leafname);
  r.rmdir_bpffs(d);
}

SCENARIO("COMMON", "mmap", "rules") {
  auto& b = r.backend();
  auto try_map = [&](int fd, size_t len, int prot, int flags, off_t off, const std::string& label) {
    errno = 0;
    void* p = b.map_mmap(fd, len, prot, flags, off);
    if (p == MAP_FAILED) return r.note("mmap(" + label + ")", -errno), static_cast<void*>(nullptr);
    r.note("mmap(" + label + ")", 0);
    return p;
  };
  const int hash = r.create(BPF_MAP_TYPE_HASH, 4, 8, 4, 0, "mm_hash");
  try_map(hash, 4096, PROT_READ, MAP_SHARED, 0, "hash");
  const int plain = r.create(BPF_MAP_TYPE_ARRAY, 4, 8, 10, 0, "mm_plain");
  try_map(plain, 4096, PROT_READ, MAP_SHARED, 0, "array without BPF_F_MMAPABLE");
  const int arr = r.create(BPF_MAP_TYPE_ARRAY, 4, 8, 1024, BPF_F_MMAPABLE, "mm_arr");
  if (arr < 0) return;
  try_map(arr, 0, PROT_READ, MAP_SHARED, 0, "length 0");
  try_map(arr, 12288, PROT_READ, MAP_SHARED, 0, "past the map");
  try_map(arr, 8192, PROT_READ, MAP_SHARED, 4096, "offset crossing the end");
  try_map(arr, 4096, PROT_READ, MAP_SHARED, 100, "unaligned offset");
  try_map(arr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, 0, "private");
  try_map(arr, 4096, PROT_READ | PROT_EXEC, MAP_SHARED, 0, "exec");
  auto* w = static_cast<uint64_t*>(try_map(arr, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, 0, "whole map, writable"));
  if (w != nullptr) {
    w[3] = 0x1122334455667788ULL;
    r.lookup(arr, u32(3));
    r.update(arr, u32(4), u64(44));
    r.note("mapping sees the update", w[4] == 44);
    auto* hi = static_cast<uint64_t*>(try_map(arr, 4096, PROT_READ, MAP_SHARED, 4096, "second page"));
    if (hi != nullptr) {
      r.note("second page holds key 512", hi[0] == 0);
      b.map_munmap(hi, 4096);
    }
    r.freeze(arr);  // EBUSY: a writable mapping exists
    b.map_munmap(w, 8192);
  }
  r.freeze(arr);
  try_map(arr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, 0, "writable after freeze");
  void* ro = try_map(arr, 4096, PROT_READ, MAP_SHARED, 0, "read-only after freeze");
  if (ro != nullptr) {
    r.note("mprotect writable", mprotect(ro, 4096, PROT_READ | PROT_WRITE) == 0 ? 0 : -errno);
    b.map_munmap(ro, 4096);
  }
  // Access of the fd.
  const int arr2 = r.create(BPF_MAP_TYPE_ARRAY, 4, 8, 8, BPF_F_MMAPABLE, "mm_arr2");
  const std::string pin = r.pin_path("mm_arr2");
  r.pin(arr2, pin);
  const int rdonly = r.get(pin, BPF_F_RDONLY);
  const int wronly = r.get(pin, BPF_F_WRONLY);
  try_map(rdonly, 4096, PROT_READ, MAP_SHARED, 0, "read-only fd, PROT_READ");
  try_map(rdonly, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, 0, "read-only fd, PROT_WRITE");
  try_map(wronly, 4096, PROT_READ, MAP_SHARED, 0, "write-only fd, PROT_READ");
  const int rdonly_prog = r.create(BPF_MAP_TYPE_ARRAY, 4, 8, 8, BPF_F_MMAPABLE | BPF_F_RDONLY_PROG, "mm_rop");
  try_map(rdonly_prog, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, 0, "BPF_F_RDONLY_PROG, writable");
  if (void* p = try_map(rdonly_prog, 4096, PROT_READ, MAP_SHARED, 0, "BPF_F_RDONLY_PROG, read-only"); p != nullptr)
    b.map_munmap(p, 4096);
  r.create(BPF_MAP_TYPE_HASH, 4, 8, 4, BPF_F_MMAPABLE, "mm_hash2");
  r.create(BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, 4, BPF_F_MMAPABLE, "mm_pcpu");
}

SCENARIO("COMMON", "mmap", "mapping_keeps_the_map") {
  const int arr = r.create(BPF_MAP_TYPE_ARRAY, 4, 8, 16, BPF_F_MMAPABLE, "mm_keep");
  if (arr < 0) return;
  const uint32_t id = id_of(r, arr);
  void* p = r.backend().map_mmap(arr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
  r.note("mmap", p == MAP_FAILED ? -errno : 0);
  if (p == MAP_FAILED) return;
  r.close(arr);
  r.note("listed while mapped", listed(r, BPF_MAP_GET_NEXT_ID, id));
  static_cast<uint64_t*>(p)[2] = 5;
  const int again = static_cast<int>(get_fd_by_id(r, BPF_MAP_GET_FD_BY_ID, id, "get_fd_by_id while mapped"));
  if (again >= 0) {
    r.lookup(again, u32(2));
    r.close(again);
  }
  r.backend().map_munmap(p, 4096);
  r.note("listed after munmap", listed(r, BPF_MAP_GET_NEXT_ID, id));
}

}  // namespace bpfemu::conformance

namespace bpfemu::conformance {

// Relative pin paths resolve against the current directory, as the VFS
// resolves them: from /sys/fs/bpf, "x", "./x" and "../bpf/x" are all the pin
// /sys/fs/bpf/x; from elsewhere, a relative name lands outside the bpffs.
SCENARIO("COMMON", "pin", "relative_paths") {
  char saved[4096];
  if (getcwd(saved, sizeof(saved)) == nullptr) return r.note("getcwd failed", -errno);
  const int fd = r.create(BPF_MAP_TYPE_ARRAY, 4, 8, 2, 0, "relpaths");
  if (fd < 0) return;
  const std::string leaf = "bpfemu_conf_" + std::to_string(getpid()) + "_rel";
  r.note("chdir /sys/fs/bpf", chdir("/sys/fs/bpf") == 0 ? 0 : -errno);
  r.pin_as(fd, leaf, "x");
  r.get_as("./" + leaf, 0, "./x");
  r.get_as("../bpf/" + leaf, 0, "../bpf/x");
  r.get_as("/sys/fs/bpf/" + leaf, 0, "/sys/fs/bpf/x");
  r.pin_as(fd, "./" + leaf, "./x (exists)");
  r.unpin(leaf);
  r.get_as(leaf, 0, "x (unpinned)");
  r.note("chdir /tmp", chdir("/tmp") == 0 ? 0 : -errno);
  r.pin_as(fd, leaf, "x, from /tmp");
  r.pin_as(fd, "../sys/fs/bpf/" + leaf, "../sys/fs/bpf/x, from /tmp");
  r.get_as("/sys/fs/bpf/" + leaf, 0, "/sys/fs/bpf/x");
  r.unpin("/sys/fs/bpf/" + leaf);
  r.note("chdir back", chdir(saved) == 0 ? 0 : -errno);
  r.close(fd);
}

}  // namespace bpfemu::conformance
