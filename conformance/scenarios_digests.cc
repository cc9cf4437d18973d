// What the kernel hashes: bpf_map_info.hash, the SHA-256 of a frozen ARRAY's
// values (6.18; its rules: a pointer and a 32-byte size, a frozen map, only
// ARRAY), and a program's tag (bpf_prog_info.tag and fdinfo's prog_tag: a
// digest of its instructions with map fds zeroed), compared byte for byte.
#include <linux/bpf.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "bpfemu/uapi.h"
#include "conformance/scenario.h"
#include "emu/insn_builder.h"

namespace bpfemu::conformance {
namespace {

// BPF_OBJ_GET_INFO_BY_FD with hash = out (or 0) and hash_size = size; the
// digest is noted word by word.
void map_hash(Recorder& r, int fd, const std::string& what, bool with_ptr, uint32_t size) {
  MapInfo info{};
  uint8_t digest[40];
  memset(digest, 0xaa, sizeof(digest));
  info.hash = with_ptr ? reinterpret_cast<uintptr_t>(digest) : 0;
  info.hash_size = size;
  uint32_t len = sizeof(info);
  errno = 0;
  const int ret = r.backend().obj_get_info_by_fd(fd, &info, &len);
  r.note("map hash: " + what, ret == 0 ? 0 : -errno);
  if (ret != 0) return;
  r.note("hash_size after", info.hash_size);
  for (size_t i = 0; i < sizeof(digest); i += 4) {
    uint32_t word = 0;
    memcpy(&word, digest + i, 4);
    r.note("digest word", word);
  }
}

// An array of max entries of value_size bytes, element i filled with byte i + 1.
int filled_array(Recorder& r, uint32_t type, uint32_t value_size, uint32_t max, uint32_t flags = 0) {
  const int fd = r.create(type, 4, value_size, max, flags);
  if (fd < 0) return fd;
  for (uint32_t i = 0; i < max; ++i)
    r.update(fd, u32(i), fill(r.sys_value_size(type, value_size), static_cast<uint8_t>(i + 1)));
  return fd;
}

// The 8 tag bytes of program fd, from bpf_prog_info and from fdinfo.
void note_tag(Recorder& r, int fd, const std::string& what) {
  bpf_prog_info info{};
  uint32_t len = sizeof(info);
  errno = 0;
  const int ret = r.backend().obj_get_info_by_fd(fd, &info, &len);
  r.note("prog info: " + what, ret == 0 ? 0 : -errno);
  if (ret != 0) return;
  char hex[17];
  for (int i = 0; i < 8; ++i) snprintf(hex + 2 * i, 3, "%02x", info.tag[i]);
  r.note(std::string("tag ") + hex, 0);
  r.fdinfo_line(fd, "prog_tag");
}

}  // namespace

SCENARIO("ARRAY", "info", "map_hash") {
  const int fd = filled_array(r, BPF_MAP_TYPE_ARRAY, 5, 3);  // values padded to 8 bytes
  if (fd < 0) return;
  map_hash(r, fd, "not frozen", true, 32);
  r.freeze(fd);
  map_hash(r, fd, "frozen", true, 32);
  map_hash(r, fd, "again", true, 32);
  map_hash(r, fd, "size 20", true, 20);
  map_hash(r, fd, "size 64", true, 64);
  map_hash(r, fd, "size 0", true, 0);
  map_hash(r, fd, "size without a pointer", false, 32);
  map_hash(r, fd, "neither", false, 0);
  {
    MapInfo info{};
    info.hash = 8;  // unmapped
    info.hash_size = 32;
    uint32_t len = sizeof(info);
    errno = 0;
    r.note("map hash to a bad pointer", r.backend().obj_get_info_by_fd(fd, &info, &len) == 0 ? 0 : -errno);
  }
  r.close(fd);
  const int mm = filled_array(r, BPF_MAP_TYPE_ARRAY, 16, 2, BPF_F_MMAPABLE);
  if (mm >= 0) {
    r.freeze(mm);
    map_hash(r, mm, "mmapable, frozen", true, 32);
    r.close(mm);
  }
  const int empty = r.create(BPF_MAP_TYPE_ARRAY, 4, 8, 4);
  if (empty >= 0) {
    r.freeze(empty);
    map_hash(r, empty, "zeroed, frozen", true, 32);
    r.close(empty);
  }
  for (uint32_t type : {BPF_MAP_TYPE_PERCPU_ARRAY, BPF_MAP_TYPE_HASH}) {
    const int other = filled_array(r, type, 8, 2);
    if (other < 0) continue;
    r.freeze(other);
    map_hash(r, other, "frozen, type " + std::to_string(type), true, 32);
    r.close(other);
  }
}

SCENARIO("COMMON", "prog", "program_tag") {
  namespace ib = bpfemu::insn;
  std::vector<bpf_insn> plain = {ib::mov(BPF_REG_0, 7), ib::exit()};
  const int a = r.load_program(BPF_PROG_TYPE_SOCKET_FILTER, plain, "load mov r0 7");
  if (a >= 0) {
    note_tag(r, a, "plain");
    r.close(a);
  }
  // The same program with a map in ld_imm64, under two different map fds:
  // one tag (the fd is zeroed before hashing).
  const int m1 = r.create(BPF_MAP_TYPE_ARRAY, 4, 8, 1);
  const int m2 = r.create(BPF_MAP_TYPE_ARRAY, 4, 8, 1);
  if (m1 < 0 || m2 < 0) return;
  long tags[2] = {0, 0};
  int i = 0;
  for (int m : {m1, m2}) {
    std::vector<bpf_insn> p;
    ib::ld_map(p, BPF_REG_1, m);
    p.push_back(ib::mov(BPF_REG_0, 0));
    p.push_back(ib::exit());
    const int fd = r.load_program(BPF_PROG_TYPE_SOCKET_FILTER, p, "load with a map");
    if (fd < 0) continue;
    note_tag(r, fd, "with a map");
    bpf_prog_info info{};
    uint32_t len = sizeof(info);
    if (r.backend().obj_get_info_by_fd(fd, &info, &len) == 0) memcpy(&tags[i], info.tag, sizeof(tags[i]));
    ++i;
    r.close(fd);
  }
  r.note("both map fds give one tag", tags[0] == tags[1]);
  // A plain ld_imm64 keeps its value in the digest.
  for (uint64_t v : {uint64_t{1}, uint64_t{2}}) {
    std::vector<bpf_insn> p;
    ib::ld64(p, BPF_REG_0, v);
    p.push_back(ib::exit());
    const int fd = r.load_program(BPF_PROG_TYPE_SOCKET_FILTER, p, "load ld_imm64 " + std::to_string(v));
    if (fd < 0) continue;
    note_tag(r, fd, "ld_imm64");
    r.close(fd);
  }
  r.close(m1);
  r.close(m2);
}

}  // namespace bpfemu::conformance
