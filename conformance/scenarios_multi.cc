// kprobe.multi and uprobe.multi links (BPF_LINK_CREATE with
// BPF_TRACE_KPROBE_MULTI / BPF_TRACE_UPROBE_MULTI, as libbpf makes them for
// SEC("kprobe.multi/...") and bpf_program__attach_uprobe_multi): the attr's
// checks and their errors, the link's info (counts, flags, pid, path, the
// arrays, ENOSPC and ENAMETOOLONG), its fdinfo and LINK_DETACH. The probed
// file is one the scenario writes and no process maps, so the kernel
// installs nothing anywhere.
#include <linux/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <atomic>
#include <cerrno>
#include <thread>
#include <cstdlib>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "conformance/perf_calls.h"
#include "conformance/scenario.h"
#include "conformance/self_maps.h"
#include "emu/bpf_syscall.h"
#include "emu/fd_ops.h"
#include "emu/probe_event.h"

// The function the order scenario probes: on the kernel it really runs with
// the probes installed in this binary; on the emulator the scenario fires it.
extern "C" __attribute__((noinline)) int bpfemu_conformance_uprobe_target(int x) {
  asm volatile("");
  return x + 1;
}

namespace bpfemu::conformance {
namespace {

constexpr uint32_t kUprobeMulti = 48;  // BPF_TRACE_UPROBE_MULTI (past the 6.1 header)

uintptr_t ptr(const void* p) { return reinterpret_cast<uintptr_t>(p); }

int load_kprobe(Recorder& r, uint32_t expected_attach_type, const std::string& label) {
  return r.load_program(BPF_PROG_TYPE_KPROBE,
                        {{BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0}, {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}}, label, 0,
                        expected_attach_type);
}

// link_create.uprobe_multi at 16: path, offsets, ref_ctr_offsets, cookies,
// then cnt, flags, pid at 48.
struct UprobeMulti {
  uint32_t prog_fd = 0, target_fd = 0, attach_type = kUprobeMulti, link_flags = 0;
  uint64_t path = 0, offsets = 0, ref_ctr_offsets = 0, cookies = 0;
  uint32_t cnt = 0, flags = 0;
  int32_t pid = 0;
};

long uprobe_multi(Recorder& r, const UprobeMulti& u, const std::string& label) {
  emu::BpfAttr a{};
  static_assert(sizeof(UprobeMulti) <= sizeof(a.bytes));
  memcpy(a.bytes, &u, sizeof(u));
  return r.raw(label, BPF_LINK_CREATE, &a, sizeof(a), true);
}

// link_create.kprobe_multi at 16: flags, cnt, syms, addrs, cookies.
struct KprobeMulti {
  uint32_t prog_fd = 0, target_fd = 0, attach_type = BPF_TRACE_KPROBE_MULTI, link_flags = 0;
  uint32_t flags = 0, cnt = 0;
  uint64_t syms = 0, addrs = 0, cookies = 0;
};

long kprobe_multi(Recorder& r, const KprobeMulti& k, const std::string& label) {
  emu::BpfAttr a{};
  memcpy(a.bytes, &k, sizeof(k));
  return r.raw(label, BPF_LINK_CREATE, &a, sizeof(a), true);
}

// The fdinfo lines after prog_id (the link type's own), each as a row.
void note_fdinfo(Recorder& r, int fd, const std::string& label) {
  const std::string text = fdinfo_text_of(r, fd);
  std::istringstream lines(text);
  std::string line;
  bool after = false;
  while (std::getline(lines, line)) {
    if (line.rfind("link_type:", 0) == 0) r.note(label + " fdinfo " + line, 1);
    if (after) r.note(label + " fdinfo " + line, 1);
    if (line.rfind("prog_id:", 0) == 0) after = true;
  }
}

void drop(Recorder& r, long fd) {
  if (fd >= 0) r.close(static_cast<int>(fd));
}

// The host kernel answers EOPNOTSUPP for every kprobe.multi link when it is
// built without fprobe (CONFIG_FPROBE: neither this host's kernel nor
// Debian's 6.1 cloud kernel has it). Asked of the kernel directly.
bool kernel_lacks_fprobe() {
  static const int lacks = [] {
    const bpf_insn insns[] = {{BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0}, {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}};
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.prog_type = BPF_PROG_TYPE_KPROBE;
    a.expected_attach_type = BPF_TRACE_KPROBE_MULTI;
    a.insns = ptr(insns);
    a.insn_cnt = 2;
    a.license = ptr("GPL");
    const long prog = syscall(__NR_bpf, BPF_PROG_LOAD, &a, sizeof(a));
    if (prog < 0) return 0;
    const char* syms[] = {"bpf_fentry_test1"};
    memset(&a, 0, sizeof(a));
    a.link_create.prog_fd = static_cast<uint32_t>(prog);
    a.link_create.attach_type = BPF_TRACE_KPROBE_MULTI;
    a.link_create.kprobe_multi.cnt = 1;
    a.link_create.kprobe_multi.syms = ptr(syms);
    const long link = syscall(__NR_bpf, BPF_LINK_CREATE, &a, sizeof(a));
    const int err = errno;
    if (link >= 0) close(static_cast<int>(link));
    close(static_cast<int>(prog));
    return link < 0 && err == EOPNOTSUPP ? 1 : 0;
  }();
  return lacks != 0;
}

// A program that takes the next rank from counter slot 0 (an atomic
// fetch-and-add) and writes it (1 for the first to run) to its own slot.
int load_ranker(Recorder& r, int map, int32_t slot, uint32_t expected_attach_type, const std::string& label) {
  std::vector<bpf_insn> p = {
      {BPF_ST | BPF_MEM | BPF_W, BPF_REG_10, 0, -4, 0},
      {BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, BPF_REG_10, 0, 0},
      {BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, -4},
      {BPF_LD | BPF_DW | BPF_IMM, BPF_REG_1, BPF_PSEUDO_MAP_FD, 0, map},
      {0, 0, 0, 0, 0},
      {BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem},
      {BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_0, 0, 13, 0},  // to the exit
      {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_1, 0, 0, 1},
      {BPF_STX | BPF_ATOMIC | BPF_DW, BPF_REG_0, BPF_REG_1, 0, BPF_ADD | BPF_FETCH},
      {BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_1, 0, 0, 1},
      {BPF_STX | BPF_MEM | BPF_W, BPF_REG_10, BPF_REG_1, -8, 0},
      {BPF_ST | BPF_MEM | BPF_W, BPF_REG_10, 0, -4, slot},
      {BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, BPF_REG_10, 0, 0},
      {BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, -4},
      {BPF_LD | BPF_DW | BPF_IMM, BPF_REG_1, BPF_PSEUDO_MAP_FD, 0, map},
      {0, 0, 0, 0, 0},
      {BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem},
      {BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_0, 0, 2, 0},  // to the exit
      {BPF_LDX | BPF_MEM | BPF_W, BPF_REG_1, BPF_REG_10, -8, 0},
      {BPF_STX | BPF_MEM | BPF_DW, BPF_REG_0, BPF_REG_1, 0, 0},
      {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0},
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}};
  return r.load_program(BPF_PROG_TYPE_KPROBE, p, label, 0, expected_attach_type);
}

}  // namespace

// The order in which the programs on one uprobe place run: uprobe events and
// uprobe.multi links alike, newest first (entry ones, then return ones). On
// the kernel the probed function of this binary is called; on the emulator
// it is fired. Ranks are read back from the map.
SCENARIO("COMMON", "link", "uprobe_order") {
  char exe[PATH_MAX];
  if (realpath("/proc/self/exe", exe) == nullptr) return;
  const uint64_t off = file_offset_of(reinterpret_cast<const void*>(&bpfemu_conformance_uprobe_target));
  r.note("target found", off != 0);
  if (off == 0) return;
  const long type = probe_pmu_type(r, "uprobe");
  r.note("uprobe PMU type readable", type < 0 ? -1 : 1);
  if (type < 0) return;
  const int map = r.create(BPF_MAP_TYPE_ARRAY, 4, 8, 8);
  if (map < 0) return;
  // e: a uprobe event, m: a uprobe.multi link; r: the return flavour.
  const char* plan[] = {"e", "m", "e", "mr", "er", "mr"};
  std::vector<int> progs, events, links;
  for (int i = 0; i < 6; ++i) {
    const bool multi = plan[i][0] == 'm', ret = plan[i][1] == 'r';
    const std::string what = std::string(multi ? "uprobe.multi" : "uprobe event") + (ret ? " (return)" : "") +
                             " in slot " + std::to_string(i + 1);
    const int prog = load_ranker(r, map, i + 1, multi ? kUprobeMulti : 0, "load " + what);
    if (prog < 0) continue;
    progs.push_back(prog);
    if (multi) {
      UprobeMulti u;
      u.prog_fd = static_cast<uint32_t>(prog);
      u.path = ptr(exe);
      u.offsets = ptr(&off);
      u.cnt = 1;
      u.flags = ret ? 1 : 0;
      const long l = uprobe_multi(r, u, what);
      if (l >= 0) links.push_back(static_cast<int>(l));
    } else {
      perf_event_attr attr{};
      attr.size = sizeof(attr);
      attr.type = static_cast<uint32_t>(type);
      attr.config = ret ? 1 : 0;
      attr.config1 = ptr(exe);
      attr.config2 = off;
      const int ev = perf_open(r, attr, getpid(), -1, what);
      if (ev < 0) continue;
      events.push_back(ev);
      perf_ioctl(r, ev, PERF_EVENT_IOC_SET_BPF, static_cast<unsigned long>(prog), "SET_BPF " + what);
    }
  }
  if (r.backend().emulated()) {
    const uint64_t args[1] = {41};
    emu::fire_uprobes(exe, off, args, 1, 42, -1);
  } else {
    r.note("the real call", bpfemu_conformance_uprobe_target(41));
  }
  if (r.backend().emulated()) r.note("the real call", 42);
  for (uint32_t slot = 0; slot <= 6; ++slot) r.lookup(map, Bytes(reinterpret_cast<uint8_t*>(&slot), reinterpret_cast<uint8_t*>(&slot) + 4));
  for (int fd : events) perf_close(r, fd);
  for (int fd : links) r.close(fd);
  for (int fd : progs) r.close(fd);
  r.close(map);
}

SCENARIO("COMMON", "link", "uprobe_multi") {
  const std::string file = write_probe_target(r, "bpfemu-uprobe-multi-target");
  if (file.empty()) return;
  const int prog = load_kprobe(r, kUprobeMulti, "load uprobe.multi program");
  const int plain = load_kprobe(r, 0, "load plain kprobe program");
  const int kmulti = load_kprobe(r, BPF_TRACE_KPROBE_MULTI, "load kprobe.multi program");
  if (prog < 0 || plain < 0 || kmulti < 0) {
    unlink(file.c_str());
    return;
  }
  const uint64_t offsets[2] = {16, 32}, refs[2] = {0, 8}, cookies[2] = {7, 9};
  const uint64_t far[1] = {4097}, negative[1] = {1ULL << 63}, odd_ref[1] = {7};
  UprobeMulti base;
  base.prog_fd = static_cast<uint32_t>(prog);
  base.path = ptr(file.c_str());
  base.offsets = ptr(offsets);
  base.cnt = 2;
  auto with = [&](auto change, const std::string& label) {
    UprobeMulti u = base;
    change(u);
    drop(r, uprobe_multi(r, u, label));
  };
  with([](UprobeMulti& u) { u.cnt = 0; }, "cnt 0");
  with([](UprobeMulti& u) { u.path = 0; }, "no path");
  with([](UprobeMulti& u) { u.offsets = 0; }, "no offsets");
  with([](UprobeMulti& u) { u.pid = -1; }, "pid -1");
  with([](UprobeMulti& u) { u.flags = 2; }, "unknown uprobe_multi flag");
  with([](UprobeMulti& u) { u.link_flags = 1; }, "link_create.flags 1");
  with([](UprobeMulti& u) { u.cnt = (1U << 20) + 1; }, "cnt above 1<<20");
  with([](UprobeMulti& u) { u.path = ptr("/tmp/bpfemu-no-such-file"); }, "missing file");
  with([](UprobeMulti& u) { u.path = ptr("/tmp"); }, "a directory");
  with([](UprobeMulti& u) { u.path = 16; }, "bad path pointer");
  with([](UprobeMulti& u) { u.offsets = 16; }, "bad offsets pointer");
  with([](UprobeMulti& u) { u.cookies = 16; }, "bad cookies pointer");
  with([](UprobeMulti& u) { u.ref_ctr_offsets = 16; }, "bad ref_ctr_offsets pointer");
  with([](UprobeMulti& u) { u.pid = 0x3ffffff0; }, "a pid with no process");
  {
    // A thread's id is no process's (the kernel looks the pid up as a
    // thread group).
    std::atomic<pid_t> tid{0};
    std::atomic<bool> done{false};
    std::thread t([&] {
      tid = static_cast<pid_t>(syscall(SYS_gettid));
      while (!done) usleep(1000);
    });
    while (tid == 0) usleep(1000);
    with([&](UprobeMulti& u) { u.pid = tid; }, "a thread's id");
    done = true;
    t.join();
  }
  with([&](UprobeMulti& u) { u.offsets = ptr(far), u.cnt = 1; }, "offset past the file's end");
  with([&](UprobeMulti& u) { u.offsets = ptr(negative), u.cnt = 1; }, "negative offset");
  with([&](UprobeMulti& u) { u.ref_ctr_offsets = ptr(odd_ref), u.cnt = 1; }, "odd ref_ctr_offset");
  with([&](UprobeMulti& u) { u.prog_fd = static_cast<uint32_t>(plain); }, "program loaded without the attach type");
  with([&](UprobeMulti& u) { u.prog_fd = static_cast<uint32_t>(kmulti); }, "kprobe.multi program");
  const long l1 = uprobe_multi(r, base, "uprobe.multi link");
  // One probe per place: another ref_ctr_offset where the first link probes.
  with([&](UprobeMulti& u) { u.ref_ctr_offsets = ptr(refs); }, "another ref_ctr_offset at 32");
  const uint64_t same_place[2] = {48, 48};
  with([&](UprobeMulti& u) { u.offsets = ptr(same_place), u.ref_ctr_offsets = ptr(refs); },
       "one offset twice with two ref_ctr_offsets");
  UprobeMulti ret = base;
  const uint64_t ret_offsets[2] = {16, 48};
  ret.offsets = ptr(ret_offsets);
  ret.flags = 1;  // BPF_F_UPROBE_MULTI_RETURN
  ret.pid = getpid();
  ret.ref_ctr_offsets = ptr(refs);
  ret.cookies = ptr(cookies);
  const long l2 = uprobe_multi(r, ret, "uretprobe.multi link for this process");
  for (long l : {l1, l2}) {
    if (l < 0) continue;
    const int fd = static_cast<int>(l);
    const std::string which = l == l1 ? "entry link" : "return link";
    unsigned char info[64];
    auto put64 = [&](size_t off, uint64_t v) { memcpy(info + off, &v, 8); };
    auto put32 = [&](size_t off, uint32_t v) { memcpy(info + off, &v, 4); };
    auto get32 = [&](size_t off) {
      uint32_t v;
      memcpy(&v, info + off, 4);
      return v;
    };
    auto get_info = [&](const std::string& label) {
      uint32_t len = sizeof(info);
      errno = 0;
      const int rc = r.backend().obj_get_info_by_fd(fd, info, &len);
      r.note(which + ": " + label, rc == 0 ? 0 : -errno);
      return rc;
    };
    memset(info, 0, sizeof(info));
    if (get_info("info, no buffers") == 0) {
      r.note(which + ": type", get32(0));
      r.note(which + ": path_size is the path's", get32(48) == file.size() + 1);
      r.note(which + ": count", get32(52));
      r.note(which + ": flags", get32(56));
      r.note(which + ": pid is ours", get32(60) == static_cast<uint32_t>(getpid()) ? 1 : get32(60));
    }
    char path[256];
    uint64_t o[4], rc[4], c[4];
    memset(o, 0xff, sizeof(o));
    memset(rc, 0xff, sizeof(rc));
    memset(c, 0xff, sizeof(c));
    memset(info, 0, sizeof(info));
    put64(16, ptr(path));
    put64(24, ptr(o));
    put64(32, ptr(rc));
    put64(40, ptr(c));
    put32(48, sizeof(path));
    put32(52, 4);
    if (get_info("info with every buffer") == 0) {
      r.note(which + ": path", file == path);
      for (int i = 0; i < 4; ++i) {
        r.note(which + ": offsets[" + std::to_string(i) + "]", static_cast<long>(o[i]));
        r.note(which + ": ref_ctr_offsets[" + std::to_string(i) + "]", static_cast<long>(rc[i]));
        r.note(which + ": cookies[" + std::to_string(i) + "]", static_cast<long>(c[i]));
      }
    }
    memset(o, 0xff, sizeof(o));
    memset(info, 0, sizeof(info));
    put64(24, ptr(o));
    put32(52, 1);
    put32(56, 77);  // what a too-short count leaves in the caller's struct
    get_info("info, one offset's room");
    r.note(which + ": after ENOSPC, flags field", get32(56));
    r.note(which + ": after ENOSPC, offsets[0]", static_cast<long>(o[0]));
    r.note(which + ": after ENOSPC, offsets[1]", static_cast<long>(o[1]));
    memset(info, 0, sizeof(info));
    put64(24, ptr(o));
    get_info("info, offsets without a count");
    memset(info, 0, sizeof(info));
    put64(16, ptr(path));
    put32(48, 8);
    get_info("info, path buffer of 8");
    memset(info, 0, sizeof(info));
    put64(16, ptr(path));
    get_info("info, path without its size");
    note_fdinfo(r, fd, which);
    union bpf_attr d;
    memset(&d, 0, sizeof(d));
    d.link_detach.link_fd = static_cast<uint32_t>(fd);
    r.raw(which + ": link_detach", BPF_LINK_DETACH, &d, sizeof(d));
    r.close(fd);
  }
  for (int fd : {prog, plain, kmulti}) r.close(fd);
  unlink(file.c_str());
}

// kprobe.multi links. Where the kernel has no fprobe (EOPNOTSUPP for every
// link) only the answers given before it is asked are compared.
SCENARIO("COMMON", "link", "kprobe_multi") {
  const int prog = load_kprobe(r, BPF_TRACE_KPROBE_MULTI, "load kprobe.multi program");
  const int plain = load_kprobe(r, 0, "load plain kprobe program");
  const int xdp = r.load_program(BPF_PROG_TYPE_XDP,
                                 {{BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0}, {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}},
                                 "load xdp program");
  if (prog < 0 || plain < 0 || xdp < 0) return;
  const char* syms[2] = {"bpf_fentry_test2", "bpf_fentry_test1"};
  KprobeMulti base;
  base.prog_fd = static_cast<uint32_t>(prog);
  base.syms = ptr(syms);
  base.cnt = 2;
  auto with = [&](auto change, const std::string& label) {
    KprobeMulti k = base;
    change(k);
    drop(r, kprobe_multi(r, k, label));
  };
  with([&](KprobeMulti& k) { k.prog_fd = static_cast<uint32_t>(xdp); }, "an XDP program");
  with([&](KprobeMulti& k) { k.prog_fd = 4000; }, "a closed fd");
  if (kernel_lacks_fprobe()) {
    r.note("the kernel has no fprobe: kprobe.multi rows left out", 1);
    for (int fd : {prog, plain, xdp}) r.close(fd);
    return;
  }
  const char* missing[1] = {"bpfemu_no_such_function"};
  const std::string long_name(600, 'a');
  const char* too_long[1] = {long_name.c_str()};
  const uint64_t zero_addr[1] = {0};
  const uint64_t cookies[2] = {22, 11};
  with([](KprobeMulti& k) { k.cnt = 0; }, "cnt 0");
  with([](KprobeMulti& k) { k.cnt = (1U << 20) + 1; }, "cnt above 1<<20");
  with([](KprobeMulti& k) { k.flags = 2; }, "unknown kprobe_multi flag");
  with([](KprobeMulti& k) { k.link_flags = 1; }, "link_create.flags 1");
  with([](KprobeMulti& k) { k.syms = 0; }, "neither syms nor addrs");
  with([&](KprobeMulti& k) { k.addrs = ptr(zero_addr); }, "both syms and addrs");
  with([&](KprobeMulti& k) { k.syms = ptr(missing), k.cnt = 1; }, "a missing function");
  with([&](KprobeMulti& k) { k.syms = ptr(too_long), k.cnt = 1; }, "a name of 600 bytes");
  with([](KprobeMulti& k) { k.syms = 16; }, "bad syms pointer");
  with([](KprobeMulti& k) { k.cookies = 16; }, "bad cookies pointer");
  with([&](KprobeMulti& k) { k.syms = 0, k.addrs = ptr(zero_addr), k.cnt = 1; }, "address 0");
  with([&](KprobeMulti& k) { k.prog_fd = static_cast<uint32_t>(plain); }, "program loaded without the attach type");
  KprobeMulti good = base;
  good.cookies = ptr(cookies);
  good.flags = 1;  // BPF_F_KPROBE_MULTI_RETURN
  const long l = kprobe_multi(r, good, "kretprobe.multi link with cookies");
  if (l >= 0) {
    const int fd = static_cast<int>(l);
    unsigned char info[64] = {};
    uint64_t addrs[4], c[4];
    memset(addrs, 0xff, sizeof(addrs));
    memset(c, 0xff, sizeof(c));
    const uint64_t pa = ptr(addrs), pc = ptr(c);
    const uint32_t room = 4;
    memcpy(info + 16, &pa, 8);
    memcpy(info + 24, &room, 4);
    memcpy(info + 40, &pc, 8);
    uint32_t len = sizeof(info);
    errno = 0;
    r.note("info", r.backend().obj_get_info_by_fd(fd, info, &len) == 0 ? 0 : -errno);
    uint32_t count = 0, flags = 0;
    memcpy(&count, info + 24, 4);
    memcpy(&flags, info + 28, 4);
    r.note("info count", count);
    r.note("info flags", flags);
    r.note("addrs ascending", addrs[0] < addrs[1]);
    for (int i = 0; i < 4; ++i) r.note("cookies[" + std::to_string(i) + "]", static_cast<long>(c[i]));
    note_fdinfo(r, fd, "kretprobe.multi");
    union bpf_attr d;
    memset(&d, 0, sizeof(d));
    d.link_detach.link_fd = static_cast<uint32_t>(fd);
    r.raw("link_detach", BPF_LINK_DETACH, &d, sizeof(d));
    r.close(fd);
  }
  for (int fd : {prog, plain, xdp}) r.close(fd);
}

}  // namespace bpfemu::conformance
