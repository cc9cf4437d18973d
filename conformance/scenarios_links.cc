// Links: BPF_RAW_TRACEPOINT_OPEN and the link objects it makes (info, fdinfo
// fields through info, ids, pins), with the kernel's answers for bad program
// fds, programs of other types, unknown tracepoints and bad names. The program
// only returns 0: on the kernel it really runs on every system call while the
// link exists.
#include <linux/bpf.h>

#include <cstring>
#include <string>
#include <vector>

#include "conformance/scenario.h"
#include "emu/bpf_syscall.h"

namespace bpfemu::conformance {
namespace {

int load_trivial(Recorder& r, uint32_t type, const std::string& label) {
  return r.load_program(type, {{BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0}, {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}},
                        label);
}

int raw_tp_open(Recorder& r, const char* name, int prog_fd, const std::string& label) {
  emu::BpfAttr a{};
  const uint64_t name_ptr = reinterpret_cast<uintptr_t>(name);
  const uint32_t fd = static_cast<uint32_t>(prog_fd);
  memcpy(a.bytes, &name_ptr, sizeof(name_ptr));
  memcpy(a.bytes + 8, &fd, sizeof(fd));
  return static_cast<int>(r.raw(label, BPF_RAW_TRACEPOINT_OPEN, &a, sizeof(a), true));
}

}  // namespace

SCENARIO("COMMON", "link", "raw_tracepoint_open") {
  const int prog = load_trivial(r, BPF_PROG_TYPE_RAW_TRACEPOINT, "load raw_tp program");
  const int xdp = load_trivial(r, BPF_PROG_TYPE_XDP, "load xdp program");
  const int map = r.create(BPF_MAP_TYPE_ARRAY, 4, 4, 1);
  if (prog < 0 || xdp < 0 || map < 0) return;
  int bad = raw_tp_open(r, "no_such_tracepoint_here", prog, "unknown tracepoint");
  if (bad >= 0) r.close(bad);
  bad = raw_tp_open(r, "sys_enter", xdp, "an XDP program");
  if (bad >= 0) r.close(bad);
  bad = raw_tp_open(r, "sys_enter", map, "a map fd");
  if (bad >= 0) r.close(bad);
  bad = raw_tp_open(r, "sys_enter", 4000, "a closed fd");
  if (bad >= 0) r.close(bad);
  bad = raw_tp_open(r, reinterpret_cast<const char*>(16), prog, "a bad name pointer");
  if (bad >= 0) r.close(bad);
  const int link = raw_tp_open(r, "sys_enter", prog, "sys_enter");
  if (link < 0) return;
  bpf_prog_info pinfo{};
  uint32_t plen = sizeof(pinfo);
  r.note("prog info", r.backend().obj_get_info_by_fd(prog, &pinfo, &plen));
  char name[32];
  memset(name, 'x', sizeof(name));
  bpf_link_info info{};
  info.raw_tracepoint.tp_name = reinterpret_cast<uintptr_t>(name);
  info.raw_tracepoint.tp_name_len = sizeof(name);
  uint32_t len = sizeof(info);
  r.note("link info", r.backend().obj_get_info_by_fd(link, &info, &len));
  r.note("link info len", len);
  r.note("link info type", info.type);
  r.note("link info prog_id is the program's", info.prog_id == pinfo.id && pinfo.id != 0);
  r.note("link info id set", info.id != 0);
  r.note("link info tp_name_len", info.raw_tracepoint.tp_name_len);
  r.note("link info tp_name is sys_enter", strcmp(name, "sys_enter") == 0);
  // A short name buffer: what fits, NUL-terminated, and ENOSPC.
  char small[4] = {'x', 'x', 'x', 'x'};
  bpf_link_info info2{};
  info2.raw_tracepoint.tp_name = reinterpret_cast<uintptr_t>(small);
  info2.raw_tracepoint.tp_name_len = sizeof(small);
  len = sizeof(info2);
  errno = 0;
  r.note("link info short name", r.backend().obj_get_info_by_fd(link, &info2, &len));
  r.note("link info short name errno", errno);
  r.note("link info short name copied", std::string(small, 3) == "sys" && small[3] == '\0');
  // Pinned and opened again; a link may not be opened read-only.
  const std::string pin = r.pin_path("raw_tp_link");
  if (r.pin(link, pin) == 0) {
    const int again = r.get(pin);
    if (again >= 0) r.close(again);
    const int ro = r.get(pin, BPF_F_RDONLY);
    if (ro >= 0) r.close(ro);
    r.unpin(pin);
  }
  r.close(link);
  r.close(prog);
  r.close(xdp);
  r.close(map);
}

}  // namespace bpfemu::conformance

namespace bpfemu::conformance {

// Helper calls at load: a helper number the kernel lacks, and GPL-only helpers
// from a program whose license is not GPL-compatible (refused before the
// arguments are looked at); a helper any license may call loads.
SCENARIO("COMMON", "prog", "helper_calls_and_licenses") {
  auto load = [&](int32_t helper, const char* license, const std::string& label) {
    const std::vector<bpf_insn> insns = {{BPF_JMP | BPF_CALL, 0, 0, 0, helper},
                                         {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0},
                                         {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}};
    emu::BpfAttr a{};
    a.prog.prog_type = BPF_PROG_TYPE_KPROBE;
    a.prog.insn_cnt = static_cast<uint32_t>(insns.size());
    a.prog.insns = reinterpret_cast<uintptr_t>(insns.data());
    a.prog.license = reinterpret_cast<uintptr_t>(license);
    const int fd = static_cast<int>(r.raw(label, BPF_PROG_LOAD, &a, sizeof(a), true));
    if (fd >= 0) r.close(fd);
  };
  load(5000, "GPL", "unknown helper");
  for (int32_t gpl_only : {BPF_FUNC_trace_printk, BPF_FUNC_probe_read_kernel, BPF_FUNC_probe_read_user_str})
    load(gpl_only, "Proprietary", "GPL-only helper " + std::to_string(gpl_only) + " without GPL");
  load(BPF_FUNC_ktime_get_ns, "Proprietary", "ktime_get_ns without GPL");
  load(BPF_FUNC_get_smp_processor_id, "Dual BSD/GPL", "get_smp_processor_id, dual licensed");
}

}  // namespace bpfemu::conformance
