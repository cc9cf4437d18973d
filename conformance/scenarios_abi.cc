// The bpf(2) ABI itself, through raw attrs (Backend::bpf): attr sizes and
// tails, bad attr pointers, unknown commands, and for each command a sweep
// that sets one byte of its attr at a time and records what the kernel answers
// (which bytes are fields, which are CHECK_ATTR's zero tail).
#include <fcntl.h>
#include <linux/btf.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "conformance/scenario.h"
#include "emu/bpf_syscall.h"

namespace bpfemu::conformance {
namespace {

using emu::BpfAttr;
constexpr unsigned kAttrSize = sizeof(BpfAttr);
constexpr int kMapFd = 200;  // objects sit at fixed fds so that a changed fd byte names a closed fd on both sides

const char* errno_name(long r) {
  if (r >= 0) return "OK";
  switch (errno) {
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case EBADF: return "EBADF";
    case EFAULT: return "EFAULT";
    case EEXIST: return "EEXIST";
    case EINVAL: return "EINVAL";
    case E2BIG: return "E2BIG";
    case ENOSPC: return "ENOSPC";
    case EACCES: return "EACCES";
    case EBUSY: return "EBUSY";
    case ENOTDIR: return "ENOTDIR";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case EBADFD: return "EBADFD";
    case ENOMEM: return "ENOMEM";
    case 524: return "ENOTSUPP";
    default: return "E?";
  }
}

// A map moved to a fixed fd number.
int map_at(Recorder& r, int at, uint32_t type = BPF_MAP_TYPE_HASH, uint32_t flags = BPF_F_ZERO_SEED) {
  MapCreateOpts o;
  o.map_flags = flags;
  const int fd = r.backend().map_create(type, "abi", 4, 8, 8, &o);
  if (fd < 0) return fd;
  uint32_t k = 1;
  uint64_t v = 1;
  r.backend().map_update_elem(fd, &k, &v, BPF_ANY);
  k = 2;
  r.backend().map_update_elem(fd, &k, &v, BPF_ANY);
  if (dup2(fd, at) != at) return -errno;
  r.backend().close(fd);
  return at;
}

// What one call of a sweep needs: build the base attr (making the objects it
// names), and clean up after the call.
struct Sweep {
  int cmd;
  std::function<void(Recorder&, BpfAttr&)> setup;
  std::function<void(Recorder&, long)> cleanup;
  std::vector<std::pair<unsigned, unsigned>> skip;  // [from, to) offsets not swept (pointer bytes, run-specific ids)
};

// One call per offset, the answers run-length encoded ("0-3:EBADF 4-7:OK ...").
void run_sweep(Recorder& r, const std::string& name, const Sweep& s) {
  std::string out;
  std::string prev;
  unsigned start = 0;
  auto flush = [&](unsigned end) {
    if (prev.empty()) return;
    out += (start + 1 == end ? std::to_string(start) : std::to_string(start) + "-" + std::to_string(end - 1)) + ":" +
           prev + " ";
  };
  for (unsigned off = 0; off <= kAttrSize; ++off) {
    std::string res;
    bool skipped = false;
    for (auto [a, b] : s.skip) skipped |= off >= a && off < b;
    if (off == kAttrSize) {
      res = "";
    } else if (skipped) {
      res = "skip";
    } else {
      BpfAttr a;
      memset(&a, 0, sizeof(a));
      s.setup(r, a);
      a.bytes[off] ^= 0x01;
      errno = 0;
      const long ret = r.backend().bpf(s.cmd, &a, kAttrSize);
      res = errno_name(ret);
      s.cleanup(r, ret);
    }
    if (res != prev) {
      flush(off);
      prev = res;
      start = off;
    }
  }
  r.note("sweep " + name + ": " + out, 0);
}

void close_result(Recorder& r, long ret) {
  if (ret >= 0) r.backend().close(static_cast<int>(ret));
}

void drop(Recorder& r, int fd) { r.backend().close(fd); }

uint32_t key1 = 1;
uint64_t value_buf[4];
uint32_t keys_buf[8] = {1, 2};
uint64_t values_buf[8] = {1, 2};
uint32_t token_buf[2];

const bpf_insn kRet0[] = {
    {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0},
    {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
};
const char kLicense[] = "GPL";

// A tiny valid BTF: one 4-byte int.
std::vector<uint8_t> tiny_btf() {
  btf_header h{};
  h.magic = BTF_MAGIC;
  h.version = BTF_VERSION;
  h.hdr_len = sizeof(h);
  const uint32_t type[] = {1, BTF_KIND_INT << 24, 4, 32};
  const char strs[] = "\0int";
  h.type_off = 0;
  h.type_len = sizeof(type);
  h.str_off = sizeof(type);
  h.str_len = sizeof(strs);
  std::vector<uint8_t> b(sizeof(h) + sizeof(type) + sizeof(strs));
  memcpy(b.data(), &h, sizeof(h));
  memcpy(b.data() + sizeof(h), type, sizeof(type));
  memcpy(b.data() + sizeof(h) + sizeof(type), strs, sizeof(strs));
  return b;
}

void ptr(uint64_t* field, const void* p) { *field = reinterpret_cast<uintptr_t>(p); }

}  // namespace

SCENARIO("SYSCALL", "abi", "attr_sizes") {
  for (unsigned size : {0u, 1u, 12u, 16u, 144u, 152u, 168u, 176u, 4095u, 4096u, 4097u, 8192u}) {
    std::vector<uint8_t> buf(std::max(size, kAttrSize) + 8, 0);
    BpfAttr a{};
    a.create.map_type = BPF_MAP_TYPE_HASH;
    a.create.key_size = 4;
    a.create.value_size = 8;
    a.create.max_entries = 4;
    memcpy(buf.data(), &a, sizeof(a));
    r.raw("create(size=" + std::to_string(size) + ")", BPF_MAP_CREATE, buf.data(), size, true);
    if (size > 0) {
      buf[size - 1] = 1;
      r.raw("create(size=" + std::to_string(size) + ",last byte set)", BPF_MAP_CREATE, buf.data(), size, true);
    }
  }
}

SCENARIO("SYSCALL", "abi", "bad_attr_pointers") {
  // At least one map exists, so BPF_MAP_GET_NEXT_ID finds an id to write back.
  r.create(BPF_MAP_TYPE_ARRAY, 4, 4, 1, 0, "abi_one");
  r.raw("create(NULL,0)", BPF_MAP_CREATE, nullptr, 0, true);
  r.raw("create(NULL,8)", BPF_MAP_CREATE, nullptr, 8, true);
  r.raw("create((void*)16,8)", BPF_MAP_CREATE, reinterpret_cast<void*>(16), 8, true);
  r.raw("next_id(NULL,0)", BPF_MAP_GET_NEXT_ID, nullptr, 0);
  r.raw("cmd 1000(NULL,0)", 1000, nullptr, 0);
  r.raw("cmd 1000(NULL,8)", 1000, nullptr, 8);
  BpfAttr zero{};
  r.raw("cmd 1000(zero)", 1000, &zero, kAttrSize);
  r.raw("cmd -1(zero)", -1, &zero, kAttrSize);
  r.raw("cmd 1000(zero,4097)", 1000, &zero, 4097);
  // An attr ending at a page the process cannot read or write.
  auto* page = static_cast<uint8_t*>(mmap(nullptr, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  if (page == MAP_FAILED) return r.note("mmap failed", -1);
  mprotect(page + 4096, 4096, PROT_NONE);
  uint8_t* tail8 = page + 4096 - 8;
  memset(tail8, 0, 8);
  tail8[0] = BPF_MAP_TYPE_HASH;
  tail8[4] = 4;
  r.raw("create(8 bytes before a guard page,8)", BPF_MAP_CREATE, tail8, 8, true);
  r.raw("create(8 bytes before a guard page,16)", BPF_MAP_CREATE, tail8, 16, true);
  memset(tail8, 0, 8);
  r.raw("next_id(8 bytes before a guard page,8)", BPF_MAP_GET_NEXT_ID, tail8, 8);
  r.raw("next_id(8 bytes before a guard page,16)", BPF_MAP_GET_NEXT_ID, tail8, 16);
  // A read-only attr: the kernel cannot write next_id back.
  mprotect(page, 4096, PROT_READ);
  r.raw("next_id(read-only attr)", BPF_MAP_GET_NEXT_ID, page + 4096 - kAttrSize, kAttrSize);
  munmap(page, 8192);
}

SCENARIO("SYSCALL", "check_attr", "map_create") {
  run_sweep(r, "MAP_CREATE",
            {BPF_MAP_CREATE,
             [](Recorder&, BpfAttr& a) {
               a.create.map_type = BPF_MAP_TYPE_HASH;
               a.create.key_size = 4;
               a.create.value_size = 8;
               a.create.max_entries = 8;
             },
             close_result,
             // map_ifindex bytes name host network devices, which differ between machines.
             {{44, 48}}});
}

SCENARIO("SYSCALL", "check_attr", "elem_commands") {
  for (int cmd : {BPF_MAP_LOOKUP_ELEM, BPF_MAP_UPDATE_ELEM, BPF_MAP_DELETE_ELEM, BPF_MAP_GET_NEXT_KEY,
                  BPF_MAP_LOOKUP_AND_DELETE_ELEM, BPF_MAP_FREEZE}) {
    run_sweep(r, "elem cmd " + std::to_string(cmd),
              {cmd,
               [cmd](Recorder& rec, BpfAttr& a) {
                 a.elem.map_fd = static_cast<uint32_t>(map_at(rec, kMapFd));
                 if (cmd != BPF_MAP_FREEZE) ptr(&a.elem.key, &key1);
                 if (cmd != BPF_MAP_DELETE_ELEM && cmd != BPF_MAP_FREEZE) ptr(&a.elem.value, value_buf);
               },
               [](Recorder& rec, long) { drop(rec, kMapFd); },
               {{8, 14}, {16, 22}}});
  }
}

SCENARIO("SYSCALL", "check_attr", "batch_commands") {
  for (int cmd : {BPF_MAP_LOOKUP_BATCH, BPF_MAP_LOOKUP_AND_DELETE_BATCH, BPF_MAP_UPDATE_BATCH, BPF_MAP_DELETE_BATCH}) {
    run_sweep(r, "batch cmd " + std::to_string(cmd),
              {cmd,
               [](Recorder& rec, BpfAttr& a) {
                 a.batch.map_fd = static_cast<uint32_t>(map_at(rec, kMapFd));
                 ptr(&a.batch.out_batch, token_buf);
                 ptr(&a.batch.keys, keys_buf);
                 ptr(&a.batch.values, values_buf);
                 a.batch.count = 2;
               },
               [](Recorder& rec, long) { drop(rec, kMapFd); },
               {{8, 14}, {16, 22}, {24, 30}}});
  }
}

SCENARIO("SYSCALL", "check_attr", "obj_pin_get") {
  static int seq = 0;
  static std::string path;
  run_sweep(r, "OBJ_PIN",
            {BPF_OBJ_PIN,
             [](Recorder& rec, BpfAttr& a) {
               path = rec.pin_path("abi" + std::to_string(seq++));
               ptr(&a.obj.pathname, path.c_str());
               a.obj.bpf_fd = static_cast<uint32_t>(map_at(rec, kMapFd));
             },
             [](Recorder& rec, long ret) {
               if (ret == 0) rec.backend().obj_unpin(path.c_str());
               drop(rec, kMapFd);
             },
             {{0, 6}}});
  static std::string pinned;
  run_sweep(r, "OBJ_GET",
            {BPF_OBJ_GET,
             [](Recorder& rec, BpfAttr& a) {
               pinned = rec.pin_path("abiget");
               const int fd = map_at(rec, kMapFd);
               rec.backend().obj_pin(fd, pinned.c_str());
               drop(rec, kMapFd);
               ptr(&a.obj.pathname, pinned.c_str());
             },
             [](Recorder& rec, long ret) {
               close_result(rec, ret);
               rec.backend().obj_unpin(pinned.c_str());
             },
             {{0, 6}}});
}

SCENARIO("SYSCALL", "check_attr", "ids_and_info") {
  // Ids are run-specific: their low bytes are not swept.
  for (int cmd : {BPF_MAP_GET_NEXT_ID, BPF_PROG_GET_NEXT_ID, BPF_BTF_GET_NEXT_ID, BPF_LINK_GET_NEXT_ID}) {
    run_sweep(r, "next_id cmd " + std::to_string(cmd),
              {cmd, [](Recorder&, BpfAttr&) {}, [](Recorder&, long) {}, {{0, 3}, {4, 8}}});
  }
  run_sweep(r, "MAP_GET_FD_BY_ID",
            {BPF_MAP_GET_FD_BY_ID,
             [](Recorder& rec, BpfAttr& a) {
               const int fd = map_at(rec, kMapFd);
               MapInfo info{};
               uint32_t len = sizeof(info);
               rec.backend().obj_get_info_by_fd(fd, &info, &len);
               a.id.start_id = info.id;
             },
             [](Recorder& rec, long ret) {
               close_result(rec, ret);
               drop(rec, kMapFd);
             },
             {{0, 3}}});
  for (int cmd : {BPF_PROG_GET_FD_BY_ID, BPF_BTF_GET_FD_BY_ID, BPF_LINK_GET_FD_BY_ID}) {
    // No such object: the base answer is ENOENT.
    run_sweep(r, "get_fd_by_id cmd " + std::to_string(cmd),
              {cmd, [](Recorder&, BpfAttr& a) { a.id.start_id = 0x7ffffff0; }, close_result, {{0, 3}}});
  }
  static MapInfo info;
  run_sweep(r, "OBJ_GET_INFO_BY_FD",
            {BPF_OBJ_GET_INFO_BY_FD,
             [](Recorder& rec, BpfAttr& a) {
               a.info.bpf_fd = static_cast<uint32_t>(map_at(rec, kMapFd));
               a.info.info_len = 80;
               ptr(&a.info.info, &info);
             },
             [](Recorder& rec, long) { drop(rec, kMapFd); },
             {{8, 14}}});
}

SCENARIO("SYSCALL", "check_attr", "btf_and_prog_load") {
  // The blob sits at the start of a buffer big enough for every btf_size the
  // sweep makes below 16 MiB, so the copy never depends on what lies after it.
  static std::vector<uint8_t> btf = [] {
    std::vector<uint8_t> b = tiny_btf();
    b.resize(256 * 1024);
    return b;
  }();
  static const uint32_t btf_size = static_cast<uint32_t>(tiny_btf().size());
  run_sweep(r, "BTF_LOAD",
            {BPF_BTF_LOAD,
             [](Recorder&, BpfAttr& a) {
               ptr(&a.btf.btf, btf.data());
               a.btf.btf_size = btf_size;
             },
             close_result, {{0, 6}}});
  run_sweep(r, "PROG_LOAD",
            {BPF_PROG_LOAD,
             [](Recorder&, BpfAttr& a) {
               a.prog.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
               a.prog.insn_cnt = 2;
               ptr(&a.prog.insns, kRet0);
               ptr(&a.prog.license, kLicense);
             },
             close_result, {{8, 14}, {16, 22}}});
}

}  // namespace bpfemu::conformance
