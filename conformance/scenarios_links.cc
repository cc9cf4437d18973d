// Links: BPF_RAW_TRACEPOINT_OPEN and the link objects it makes (info, fdinfo
// fields through info, ids, pins), with the kernel's answers for bad program
// fds, programs of other types, unknown tracepoints and bad names. The program
// only returns 0: on the kernel it really runs on every system call while the
// link exists.
#include <linux/bpf.h>
#include <bpf/btf.h>
#include <linux/btf.h>
#include <linux/if_link.h>
#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "conformance/helper_probe.h"
#include "conformance/perf_calls.h"
#include "conformance/scenario.h"
#include "emu/bpf_syscall.h"
#include "emu/fd_ops.h"
#include "emu/insn_builder.h"
#include "emu/interpreter.h"
#include "emu/objects.h"
#include "emu/perf_event.h"
#include "emu/tracepoint.h"

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
  r.fdinfo_line(link, "prog_tag");  // the program's tag
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

namespace bpfemu::conformance {
namespace {

long link_create(Recorder& r, int prog_fd, uint32_t ifindex, uint32_t attach_type, uint32_t flags,
                 const std::string& label) {
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.link_create.prog_fd = static_cast<uint32_t>(prog_fd);
  a.link_create.target_ifindex = ifindex;
  a.link_create.attach_type = attach_type;
  a.link_create.flags = flags;
  return r.raw(label, BPF_LINK_CREATE, &a, sizeof(a), true);
}

void note_xdp_link(Recorder& r, int link, int prog, const std::string& label) {
  bpf_prog_info pinfo{};
  uint32_t plen = sizeof(pinfo);
  r.note(label + ": prog info", r.backend().obj_get_info_by_fd(prog, &pinfo, &plen));
  bpf_link_info info{};
  uint32_t len = sizeof(info);
  r.note(label + ": link info", r.backend().obj_get_info_by_fd(link, &info, &len));
  r.note(label + ": type", info.type);
  r.note(label + ": prog_id is the program's", info.prog_id == pinfo.id && pinfo.id != 0);
  r.note(label + ": ifindex", info.xdp.ifindex);
  r.fdinfo_line(link, "prog_tag");
}

}  // namespace

// XDP links (BPF_LINK_CREATE with BPF_XDP, as libbpf's bpf_program__attach_xdp
// makes them) on the loopback device, ifindex 1, where the kernel attaches in
// generic mode. The program only passes packets on.
SCENARIO("COMMON", "link", "xdp_link_create") {
  const int xdp = load_trivial(r, BPF_PROG_TYPE_XDP, "load xdp program");
  const int xdp2 = load_trivial(r, BPF_PROG_TYPE_XDP, "load second xdp program");
  const int tc = load_trivial(r, BPF_PROG_TYPE_SCHED_CLS, "load tc program");
  const int map = r.create(BPF_MAP_TYPE_ARRAY, 4, 4, 1);
  if (xdp < 0 || xdp2 < 0 || tc < 0 || map < 0) return;
  auto expect_fail = [&](int prog, uint32_t ifindex, uint32_t type, uint32_t flags, const std::string& label) {
    const long fd = link_create(r, prog, ifindex, type, flags, label);
    if (fd >= 0) r.close(static_cast<int>(fd));
  };
  expect_fail(xdp, 1, BPF_CGROUP_INET_INGRESS, 0, "xdp program, cgroup attach type");
  expect_fail(tc, 1, BPF_XDP, 0, "tc program, BPF_XDP");
  expect_fail(map, 1, BPF_XDP, 0, "a map fd");
  expect_fail(4000, 1, BPF_XDP, 0, "a closed fd");
  expect_fail(xdp, 0, BPF_XDP, 0, "ifindex 0");
  expect_fail(xdp, 999999, BPF_XDP, 0, "no such device");
  expect_fail(xdp, 1, BPF_XDP, 1U << 8, "unknown flag");
  expect_fail(xdp, 1, BPF_XDP, XDP_FLAGS_SKB_MODE | XDP_FLAGS_DRV_MODE, "two modes");
  expect_fail(xdp, 1, BPF_XDP, XDP_FLAGS_UPDATE_IF_NOEXIST, "XDP_FLAGS_UPDATE_IF_NOEXIST");
  expect_fail(xdp, 1, BPF_XDP, XDP_FLAGS_DRV_MODE, "native mode on lo");
  expect_fail(xdp, 1, BPF_XDP, XDP_FLAGS_HW_MODE, "offload on lo");
  const int link = static_cast<int>(link_create(r, xdp, 1, BPF_XDP, 0, "attach to lo"));
  if (link < 0) return;
  note_xdp_link(r, link, xdp, "attached");
  expect_fail(xdp2, 1, BPF_XDP, 0, "a second link on lo");
  expect_fail(xdp2, 1, BPF_XDP, XDP_FLAGS_SKB_MODE, "a second link on lo, generic mode");
  // The link's program can be replaced in place.
  union bpf_attr u;
  memset(&u, 0, sizeof(u));
  u.link_update.link_fd = static_cast<uint32_t>(link);
  u.link_update.new_prog_fd = static_cast<uint32_t>(xdp2);
  r.raw("link_update to the second program", BPF_LINK_UPDATE, &u, sizeof(u));
  note_xdp_link(r, link, xdp2, "updated");
  u.link_update.new_prog_fd = static_cast<uint32_t>(tc);
  r.raw("link_update to a tc program", BPF_LINK_UPDATE, &u, sizeof(u));
  u.link_update.new_prog_fd = static_cast<uint32_t>(xdp);
  u.link_update.flags = BPF_F_REPLACE;
  u.link_update.old_prog_fd = static_cast<uint32_t>(xdp);
  r.raw("link_update replacing a program it does not hold", BPF_LINK_UPDATE, &u, sizeof(u));
  // Detached, the link stays an object with no device; lo is free again.
  union bpf_attr d;
  memset(&d, 0, sizeof(d));
  d.link_detach.link_fd = static_cast<uint32_t>(link);
  r.raw("link_detach", BPF_LINK_DETACH, &d, sizeof(d));
  note_xdp_link(r, link, xdp2, "detached");
  r.raw("link_detach again", BPF_LINK_DETACH, &d, sizeof(d));
  u.link_update.flags = 0;
  r.raw("link_update with old_prog_fd but no BPF_F_REPLACE", BPF_LINK_UPDATE, &u, sizeof(u));
  u.link_update.old_prog_fd = 0;
  r.raw("link_update after detach", BPF_LINK_UPDATE, &u, sizeof(u));
  u.link_update.flags = 1U << 5;
  r.raw("link_update with an unknown flag", BPF_LINK_UPDATE, &u, sizeof(u));
  d.link_detach.link_fd = static_cast<uint32_t>(xdp);
  r.raw("link_detach of a program fd", BPF_LINK_DETACH, &d, sizeof(d));
  const int again = static_cast<int>(link_create(r, xdp, 1, BPF_XDP, XDP_FLAGS_SKB_MODE, "attach again, generic mode"));
  if (again >= 0) {
    note_xdp_link(r, again, xdp, "again");
    // Closing the only fd of a link detaches it.
    r.close(again);
    const int third = static_cast<int>(link_create(r, xdp2, 1, BPF_XDP, 0, "attach after close"));
    if (third >= 0) r.close(third);
  }
  r.close(link);
  r.close(xdp);
  r.close(xdp2);
  r.close(tc);
  r.close(map);
}

}  // namespace bpfemu::conformance

namespace bpfemu::conformance {
namespace {

// A tracepoint's id: tracefs on the kernel, the emulator's answer there.
long tracepoint_id_of(Recorder& r, const std::string& category, const std::string& name) {
  if (r.backend().emulated()) {
    const long id = static_cast<long>(emu::tracepoint_id(category, name));
    if (id < 0) errno = static_cast<int>(-id);
    return id;
  }
  FILE* f = fopen(("/sys/kernel/tracing/events/" + category + "/" + name + "/id").c_str(), "re");
  if (f == nullptr) return -errno;
  long id = -1;
  const int n = fscanf(f, "%ld", &id);
  fclose(f);
  return n == 1 ? id : -EIO;
}

int open_perf(Recorder& r, uint32_t type, uint64_t config, const std::string& label) {
  perf_event_attr attr{};
  attr.size = sizeof(attr);
  attr.type = type;
  attr.config = config;
  if (type == PERF_TYPE_SOFTWARE) attr.sample_type = PERF_SAMPLE_RAW;
  return perf_open(r, attr, -1, 0, label);
}

void set_bpf(Recorder& r, int perf_fd, int prog_fd, const std::string& label) {
  perf_ioctl(r, perf_fd, PERF_EVENT_IOC_SET_BPF, static_cast<unsigned long>(prog_fd), label);
}

}  // namespace

// Tracepoint perf events as libbpf attaches SEC("tp/...") programs: the id
// from tracefs, perf_event_open, then PERF_EVENT_IOC_SET_BPF or a perf link
// (BPF_LINK_CREATE with BPF_PERF_EVENT), with the kernel's answers for the
// wrong program or event, a second program, and the link's info. On the kernel
// the program (which returns 0) runs on every getppid() while attached.
SCENARIO("COMMON", "link", "tracepoint_perf_event") {
  r.note("id of a missing tracepoint", tracepoint_id_of(r, "syscalls", "sys_enter_no_such_call") < 0
                                           ? tracepoint_id_of(r, "syscalls", "sys_enter_no_such_call")
                                           : 1);
  const long id = tracepoint_id_of(r, "syscalls", "sys_enter_getppid");
  r.note("id of syscalls/sys_enter_getppid", id < 0 ? id : 1);
  if (id < 0) return;
  const int tp = load_trivial(r, BPF_PROG_TYPE_TRACEPOINT, "load tracepoint program");
  const int tp2 = load_trivial(r, BPF_PROG_TYPE_TRACEPOINT, "load second tracepoint program");
  const int xdp = load_trivial(r, BPF_PROG_TYPE_XDP, "load xdp program");
  const int kp = load_trivial(r, BPF_PROG_TYPE_KPROBE, "load kprobe program");
  const int map = r.create(BPF_MAP_TYPE_ARRAY, 4, 4, 1);
  const int ev = open_perf(r, PERF_TYPE_TRACEPOINT, static_cast<uint64_t>(id), "open tracepoint event");
  const int ev2 = open_perf(r, PERF_TYPE_TRACEPOINT, static_cast<uint64_t>(id), "open second tracepoint event");
  const int out = open_perf(r, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_BPF_OUTPUT, "open BPF output event");
  if (tp < 0 || tp2 < 0 || xdp < 0 || kp < 0 || map < 0 || ev < 0 || ev2 < 0 || out < 0) return;
  set_bpf(r, ev, xdp, "SET_BPF of an XDP program");
  set_bpf(r, ev, map, "SET_BPF of a map fd");
  set_bpf(r, ev, 4000, "SET_BPF of a closed fd");
  set_bpf(r, out, tp, "SET_BPF on a BPF output event");
  set_bpf(r, ev, tp, "SET_BPF");
  set_bpf(r, ev, tp2, "SET_BPF of a second program");
  auto link = [&](int prog, int target, uint32_t flags, const std::string& label) {
    return perf_link(r, prog, target, flags, label);
  };
  auto drop = [&](int fd) {
    if (fd >= 0) r.close(fd);
  };
  drop(link(tp, -1, 0, "perf link to fd -1"));
  drop(link(tp, map, 0, "perf link to a map fd"));
  drop(link(tp, ev2, 1, "perf link with a flag"));
  drop(link(xdp, ev2, 0, "perf link of an XDP program"));
  drop(link(kp, ev2, 0, "perf link of a kprobe program to a tracepoint"));
  drop(link(tp2, ev, 0, "perf link to an event that has a program"));
  const int l = link(tp2, ev2, 0, "perf link");
  if (l >= 0) {
    bpf_prog_info pinfo{};
    uint32_t plen = sizeof(pinfo);
    r.note("prog info", r.backend().obj_get_info_by_fd(tp2, &pinfo, &plen));
    unsigned char raw[64];
    char name[32];
    uint32_t len = 0, name_len = 0;
    perf_link_info(r, l, raw, name, sizeof(name), &len);
    uint32_t w[4];
    memcpy(w, raw, 12);
    memcpy(&w[3], raw + 16, 4);
    r.note("link info len", len);
    r.note("link info type", w[0]);
    r.note("link info prog_id is the program's", w[2] == pinfo.id && pinfo.id != 0);
    r.note("link info perf_event type", w[3]);
    memcpy(&name_len, raw + 32, 4);
    r.note("link info name_len", name_len);
    r.note("link info name is sys_enter_getppid", strcmp(name, "sys_enter_getppid") == 0);
    char small[4];
    memset(raw, 0, sizeof(raw));
    const uint64_t usmall = reinterpret_cast<uintptr_t>(small);
    name_len = sizeof(small);
    memcpy(raw + 24, &usmall, 8);
    memcpy(raw + 32, &name_len, 4);
    len = sizeof(raw);
    errno = 0;
    r.note("link info, short name buffer", r.backend().obj_get_info_by_fd(l, raw, &len) == 0 ? 0 : -errno);
    r.note("short name copied", std::string(small, 3) == "sys" && small[3] == '\0');
    drop(link(tp, ev2, 0, "a second perf link on the event"));
    // (Closing the link detaches its program on the kernel a moment later, in
    // deferred work; here at once. Not compared.)
    r.close(l);
  }
  perf_close(r, ev);
  perf_close(r, ev2);
  perf_close(r, out);
  r.close(tp);
  r.close(tp2);
  r.close(xdp);
  r.close(kp);
  r.close(map);
}

}  // namespace bpfemu::conformance

namespace bpfemu::conformance {

// Which helpers each program type may call (the loader's per-type check, as
// libbpf's and bpftool's helper probes see it), for every helper the emulator
// runs: the kernel's verifier and the emulator must refuse the same calls.
SCENARIO("COMMON", "prog", "helpers_each_program_type_may_call") {
  constexpr uint32_t kMaxHelper = 211;
  for (uint32_t t = 1; t <= 32; ++t) {
    if (!helper_probe_informative(t)) continue;
    const std::string classes = helper_classes(r.backend(), t, kMaxHelper);
    std::string emulated;
    uint64_t hash = 1469598103934665603ULL;
    long allowed = 0;
    for (uint32_t id = 1; id <= kMaxHelper; ++id) {
      const emu::interp::HelperDef* h = emu::interp::helper_by_id(id);
      if (h == nullptr || h->fn == nullptr) continue;
      const char c = classes[id - 1];
      allowed += c == 'o';
      hash = (hash ^ static_cast<uint8_t>(c)) * 1099511628211ULL;
    }
    r.note("program type " + std::to_string(t) + ": emulated helpers it may call", allowed);
    r.note("program type " + std::to_string(t) + ": which (hash)", static_cast<long>(hash >> 1));
  }
}

}  // namespace bpfemu::conformance

namespace bpfemu::conformance {
namespace {

// An id in the running kernel's BTF (the same on both sides: the emulator
// reads that BTF too), or 0.
uint32_t vmlinux_id(const char* name, uint32_t kind) {
  static struct btf* vmlinux = btf__load_vmlinux_btf();
  if (vmlinux == nullptr) return 0;
  const int id = btf__find_by_name_kind(vmlinux, name, kind);
  return id > 0 ? static_cast<uint32_t>(id) : 0;
}

int load_tracing(Recorder& r, uint32_t attach, uint32_t btf_id, const std::string& label) {
  const std::vector<bpf_insn> insns = {{BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0}, {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}};
  return load_prog(r, BPF_PROG_TYPE_TRACING, attach, btf_id, insns, label);
}


}  // namespace

// fentry, fexit and tp_btf programs: loads checked against the kernel's BTF
// (the target must be a function, or a btf_trace_ typedef for tp_btf), prog
// info naming the target, and their links (BPF_LINK_CREATE and
// BPF_RAW_TRACEPOINT_OPEN without a name) with the kernel's answers. On the
// kernel the programs (which return 0) really run when bpf_fentry_test1 runs
// (BPF_PROG_TEST_RUN of tracing programs calls it) and on every system call.
SCENARIO("COMMON", "link", "fentry_fexit_tp_btf") {
  const uint32_t func = vmlinux_id("bpf_fentry_test1", BTF_KIND_FUNC);
  const uint32_t strct = vmlinux_id("task_struct", BTF_KIND_STRUCT);
  const uint32_t tp = vmlinux_id("btf_trace_sys_enter", BTF_KIND_TYPEDEF);
  r.note("the kernel's BTF has the targets", func != 0 && strct != 0 && tp != 0);
  if (func == 0 || strct == 0 || tp == 0) return;
  auto drop = [&](int fd) {
    if (fd >= 0) r.close(fd);
  };
  drop(load_tracing(r, BPF_TRACE_RAW_TP, func, "tp_btf on a function"));
  drop(load_tracing(r, BPF_CGROUP_INET_INGRESS, func, "tracing with a cgroup attach type"));
  const int tpbtf = load_tracing(r, BPF_TRACE_RAW_TP, tp, "tp_btf on sys_enter");
  if (tpbtf < 0) return;
  auto raw_open = [&](const char* name, int prog, const std::string& label) {
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.raw_tracepoint.name = reinterpret_cast<uintptr_t>(name);
    a.raw_tracepoint.prog_fd = static_cast<uint32_t>(prog);
    return static_cast<int>(r.raw(label, BPF_RAW_TRACEPOINT_OPEN, &a, sizeof(a), true));
  };
  drop(raw_open("sys_enter", tpbtf, "tp_btf through raw_tracepoint_open with a name"));
  const int t = raw_open(nullptr, tpbtf, "tp_btf through raw_tracepoint_open");
  if (t >= 0) {
    char name[32];
    memset(name, 'x', sizeof(name));
    bpf_link_info info{};
    info.raw_tracepoint.tp_name = reinterpret_cast<uintptr_t>(name);
    info.raw_tracepoint.tp_name_len = sizeof(name);
    uint32_t len = sizeof(info);
    r.note("tp_btf link info", r.backend().obj_get_info_by_fd(t, &info, &len));
    r.note("tp_btf link type", info.type);
    r.note("tp_btf link tp_name is sys_enter", strcmp(name, "sys_enter") == 0);
    r.close(t);
  }
  r.close(tpbtf);
  if (host_refuses(r, BPF_PROG_TYPE_TRACING, BPF_TRACE_FENTRY, func, "fentry/fexit rows")) return;
  drop(load_tracing(r, BPF_TRACE_FENTRY, 0, "fentry without btf_id"));
  drop(load_tracing(r, BPF_TRACE_FENTRY, strct, "fentry on a struct"));
  drop(load_tracing(r, BPF_TRACE_FENTRY, tp, "fentry on a tracepoint typedef"));
  drop(load_tracing(r, BPF_MODIFY_RETURN, func, "fmod_ret on a function without error injection"));
  drop(load_tracing(r, BPF_TRACE_FENTRY, 0x7fffffff, "fentry on a btf_id past the end"));
  const int fentry = load_tracing(r, BPF_TRACE_FENTRY, func, "fentry on bpf_fentry_test1");
  const int fexit = load_tracing(r, BPF_TRACE_FEXIT, func, "fexit on bpf_fentry_test1");
  if (fentry < 0 || fexit < 0) return;
  bpf_prog_info pinfo{};
  uint32_t plen = sizeof(pinfo);
  r.note("fentry prog info", r.backend().obj_get_info_by_fd(fentry, &pinfo, &plen));
  r.note("prog info attach_btf_id is the function's", pinfo.attach_btf_id == func);
  r.note("prog info attach_btf_obj_id", pinfo.attach_btf_obj_id);
  auto link = [&](int prog, uint32_t attach, uint32_t target, const std::string& label) {
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.link_create.prog_fd = static_cast<uint32_t>(prog);
    a.link_create.target_fd = target;
    a.link_create.attach_type = attach;
    return static_cast<int>(r.raw(label, BPF_LINK_CREATE, &a, sizeof(a), true));
  };
  drop(link(fentry, BPF_TRACE_FENTRY, 4000, "fentry link with a target_fd"));
  const int l = link(fentry, BPF_TRACE_FENTRY, 0, "fentry link");
  if (l >= 0) {
    unsigned char raw[64] = {};
    uint32_t len = sizeof(raw);
    r.note("fentry link info", r.backend().obj_get_info_by_fd(l, raw, &len));
    uint32_t w[7];
    memcpy(w, raw, sizeof(w));
    r.note("link info len", len);
    r.note("link info type", w[0]);
    r.note("link info prog_id is the program's", w[2] == pinfo.id);
    r.note("link info attach_type", w[4]);
    r.note("link info target_obj_id", w[5]);
    r.note("link info target_btf_id is the function's", w[6] == func);
    drop(link(fentry, BPF_TRACE_FENTRY, 0, "fentry linked again"));
    drop(raw_open(nullptr, fentry, "fentry through raw_tracepoint_open, linked already"));
    r.close(l);
  }
  drop(raw_open("sys_enter", fexit, "fexit through raw_tracepoint_open with a name"));
  drop(raw_open(nullptr, fexit, "fexit through raw_tracepoint_open"));
  r.close(fentry);
  r.close(fexit);
}

}  // namespace bpfemu::conformance

namespace bpfemu::conformance {

// bpf_strncmp against a constant string in a frozen, program-read-only array,
// from an XDP program through BPF_PROG_TEST_RUN.
SCENARIO("COMMON", "prog", "strncmp") {
  const int map = r.create(BPF_MAP_TYPE_ARRAY, 4, 16, 1, BPF_F_RDONLY_PROG, "strs");
  if (map < 0) return;
  Bytes hello(16, 0);
  memcpy(hello.data(), "hello", 5);
  r.update(map, u32(0), hello);
  r.freeze(map);
  auto run = [&](const char* s1, int32_t n, const std::string& label) {
    std::vector<bpf_insn> p;
    uint32_t w[2] = {0, 0};
    memcpy(w, s1, std::min<size_t>(strlen(s1) + 1, 8));
    p.push_back(insn::make(BPF_ST | BPF_W | BPF_MEM, BPF_REG_10, 0, -8, static_cast<int32_t>(w[0])));
    p.push_back(insn::make(BPF_ST | BPF_W | BPF_MEM, BPF_REG_10, 0, -4, static_cast<int32_t>(w[1])));
    p.push_back(insn::movr(BPF_REG_1, BPF_REG_10));
    p.push_back(insn::make(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_1, 0, 0, -8));
    p.push_back(insn::mov(BPF_REG_2, n));
    insn::ld64(p, BPF_REG_3, static_cast<uint32_t>(map), BPF_PSEUDO_MAP_VALUE);  // value 0, offset 0
    p.push_back(insn::call(BPF_FUNC_strncmp));
    p.push_back(insn::exit());
    r.run_program(BPF_PROG_TYPE_XDP, p, 1, label);
  };
  run("hello", 6, "hello vs hello");
  run("help", 5, "help vs hello");
  run("hellp", 6, "hellp vs hello");
  run("hello!", 7, "hello! vs hello");
  run("hel", 3, "3 bytes of hel vs hello");
  run("", 1, "empty vs hello");
  r.close(map);
}

}  // namespace bpfemu::conformance

namespace bpfemu::conformance {
namespace {

struct XdpRun {
  long rc = 0;
  uint32_t retval = 0, size_out = 0, ctx_size_out = 0;
  uint8_t out[8192] = {};
  uint32_t md_out[6] = {};
};

// One BPF_PROG_TEST_RUN of an XDP program on `size` bytes 0, 1, 2, ...
// with an optional xdp_md; everything that comes back is noted.
void run_xdp(Recorder& r, int prog, const uint32_t* md, uint32_t md_size, uint32_t size, const std::string& label) {
  std::vector<uint8_t> pkt(std::max<uint32_t>(size, 512));
  for (uint32_t i = 0; i < pkt.size(); ++i) pkt[i] = static_cast<uint8_t>(i);
  auto holder = std::make_unique<XdpRun>();
  XdpRun& x = *holder;
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.test.prog_fd = static_cast<uint32_t>(prog);
  a.test.data_in = reinterpret_cast<uintptr_t>(pkt.data());
  a.test.data_size_in = size;
  a.test.data_out = reinterpret_cast<uintptr_t>(x.out);
  a.test.data_size_out = sizeof(x.out);
  if (md != nullptr) {
    a.test.ctx_in = reinterpret_cast<uintptr_t>(md);
    a.test.ctx_size_in = md_size;
    a.test.ctx_out = reinterpret_cast<uintptr_t>(x.md_out);
    a.test.ctx_size_out = sizeof(x.md_out);
  }
  if (r.raw("test_run " + label, BPF_PROG_TEST_RUN, &a, sizeof(a)) != 0) return;
  r.note(label + ": retval", a.test.retval);
  r.note(label + ": data_size_out", a.test.data_size_out);
  uint64_t sum = 0;
  for (uint32_t i = 0; i < a.test.data_size_out && i < sizeof(x.out); ++i) sum = sum * 31 + x.out[i];
  r.note(label + ": data_out (hash)", static_cast<long>(sum >> 1));
  if (md != nullptr) {
    r.note(label + ": ctx_size_out", a.test.ctx_size_out);
    for (int i = 0; i < 6; ++i) r.note(label + ": xdp_md word " + std::to_string(i), x.md_out[i]);
  }
}

// An XDP program making three helper calls on its context, each with one
// constant argument; it returns their results * 256, * 16 and * 1 (small
// signed numbers).
struct XdpCall {
  int32_t helper, arg;
};
std::vector<bpf_insn> three_xdp_calls(XdpCall a, XdpCall b, XdpCall c) {
  return {insn::movr(BPF_REG_6, BPF_REG_1),
          insn::mov(BPF_REG_2, a.arg),
          insn::call(a.helper),
          insn::movr(BPF_REG_7, BPF_REG_0),
          insn::movr(BPF_REG_1, BPF_REG_6),
          insn::mov(BPF_REG_2, b.arg),
          insn::call(b.helper),
          insn::movr(BPF_REG_8, BPF_REG_0),
          insn::movr(BPF_REG_1, BPF_REG_6),
          insn::mov(BPF_REG_2, c.arg),
          insn::call(c.helper),
          insn::make(BPF_ALU64 | BPF_LSH | BPF_K, BPF_REG_7, 0, 0, 8),
          insn::make(BPF_ALU64 | BPF_LSH | BPF_K, BPF_REG_8, 0, 0, 4),
          insn::make(BPF_ALU64 | BPF_ADD | BPF_X, BPF_REG_0, BPF_REG_7, 0, 0),
          insn::make(BPF_ALU64 | BPF_ADD | BPF_X, BPF_REG_0, BPF_REG_8, 0, 0),
          insn::exit()};
}

}  // namespace

// XDP test runs with an xdp_md in ctx_in (metadata before the packet, the
// receiving device and queue) and programs moving the metadata
// (bpf_xdp_adjust_meta, bpf_xdp_adjust_head): what the kernel accepts, what
// the program reads, and what comes back in data_out and ctx_out.
SCENARIO("COMMON", "prog", "xdp_md_context_and_metadata") {
  // Returns (data - data_meta) * 256 + ingress_ifindex * 16 + rx_queue_index.
  std::vector<bpf_insn> reader = {
      insn::make(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_2, BPF_REG_1, 0, 0),   // data
      insn::make(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_3, BPF_REG_1, 8, 0),   // data_meta
      insn::make(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_4, BPF_REG_1, 12, 0),  // ingress_ifindex
      insn::make(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_5, BPF_REG_1, 16, 0),  // rx_queue_index
      insn::movr(BPF_REG_0, BPF_REG_2),
      insn::make(BPF_ALU64 | BPF_SUB | BPF_X, BPF_REG_0, BPF_REG_3, 0, 0),
      insn::make(BPF_ALU64 | BPF_LSH | BPF_K, BPF_REG_0, 0, 0, 8),
      insn::make(BPF_ALU64 | BPF_LSH | BPF_K, BPF_REG_4, 0, 0, 4),
      insn::make(BPF_ALU64 | BPF_ADD | BPF_X, BPF_REG_0, BPF_REG_4, 0, 0),
      insn::make(BPF_ALU64 | BPF_ADD | BPF_X, BPF_REG_0, BPF_REG_5, 0, 0),
      insn::exit()};
  // bpf_xdp_adjust_meta(ctx, -8), then bpf_xdp_adjust_head(ctx, 4); returns
  // the first call's result * 16 + the second's (as small signed numbers).
  std::vector<bpf_insn> mover = {
      insn::movr(BPF_REG_6, BPF_REG_1),
      insn::mov(BPF_REG_2, -8),
      insn::call(BPF_FUNC_xdp_adjust_meta),
      insn::movr(BPF_REG_7, BPF_REG_0),
      insn::movr(BPF_REG_1, BPF_REG_6),
      insn::mov(BPF_REG_2, 4),
      insn::call(BPF_FUNC_xdp_adjust_head),
      insn::make(BPF_ALU64 | BPF_LSH | BPF_K, BPF_REG_7, 0, 0, 4),
      insn::make(BPF_ALU64 | BPF_ADD | BPF_X, BPF_REG_0, BPF_REG_7, 0, 0),
      insn::exit()};
  // bpf_xdp_adjust_meta with bad lengths: 6 bytes (not u32s), 36 (too long
  // on 6.1), then +8 (past the packet's start where the second failed).
  const std::vector<bpf_insn> bad_meta = three_xdp_calls(
      {BPF_FUNC_xdp_adjust_meta, -6}, {BPF_FUNC_xdp_adjust_meta, -36}, {BPF_FUNC_xdp_adjust_meta, 8});
  // bpf_xdp_adjust_head(ctx, 40), then bpf_xdp_adjust_meta by -256 and -252:
  // with the packet's start moved on, the headroom no longer bounds the
  // metadata and the kernel's own limit answers (32 bytes on 6.1, 255 on 6.18).
  const std::vector<bpf_insn> big_meta = three_xdp_calls(
      {BPF_FUNC_xdp_adjust_head, 40}, {BPF_FUNC_xdp_adjust_meta, -256}, {BPF_FUNC_xdp_adjust_meta, -252});
  // Returns data_end - data: the packet's length as the program sees it.
  std::vector<bpf_insn> length = {insn::make(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_2, BPF_REG_1, 0, 0),
                                  insn::make(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_0, BPF_REG_1, 4, 0),
                                  insn::make(BPF_ALU64 | BPF_SUB | BPF_X, BPF_REG_0, BPF_REG_2, 0, 0), insn::exit()};
  const int len_prog = r.load_program(BPF_PROG_TYPE_XDP, length, "load length");
  if (len_prog >= 0) {
    const uint32_t short_md[6] = {0, 60, 0, 0, 0, 0};
    run_xdp(r, len_prog, short_md, sizeof(short_md), 64, "length with data_end 60 of 64");
    const uint32_t meta_md[6] = {8, 40, 0, 0, 0, 0};
    run_xdp(r, len_prog, meta_md, sizeof(meta_md), 64, "length with metadata 8, data_end 40 of 64");
    const uint32_t long_md[6] = {0, 100, 0, 0, 0, 0};
    run_xdp(r, len_prog, long_md, sizeof(long_md), 64, "length with data_end 100 of 64");
    // Frames with frags: data_end within, at and past the linear part.
    for (uint32_t data_end : {3000u, 3520u, 4000u, 5000u}) {
      const uint32_t frags_md[6] = {0, data_end, 0, 0, 0, 0};
      run_xdp(r, len_prog, frags_md, sizeof(frags_md), 5000, "length with data_end " + std::to_string(data_end) + " of 5000");
    }
    r.close(len_prog);
  }
  const int rd = r.load_program(BPF_PROG_TYPE_XDP, reader, "load reader");
  // Both kernels let XDP programs call bpf_xdp_adjust_meta (one 6.18 build,
  // fc-v1300, refused it); they differ in how much metadata it may leave.
  const int mv = r.load_program(BPF_PROG_TYPE_XDP, mover, "load mover");
  const int bm = r.load_program(BPF_PROG_TYPE_XDP, bad_meta, "load bad_meta");
  const int big = r.load_program(BPF_PROG_TYPE_XDP, big_meta, "load big_meta");
  if (rd < 0) {
    for (int fd : {mv, bm, big})
      if (fd >= 0) r.close(fd);
    return;
  }
  run_xdp(r, rd, nullptr, 0, 64, "no xdp_md");
  const uint32_t meta8[6] = {8, 64, 0, 0, 0, 0};
  run_xdp(r, rd, meta8, sizeof(meta8), 64, "8 bytes of metadata");
  const uint32_t lo[6] = {0, 64, 0, 1, 0, 0};
  run_xdp(r, rd, lo, sizeof(lo), 64, "ingress lo");
  const uint32_t lo_q1[6] = {0, 64, 0, 1, 1, 0};
  run_xdp(r, rd, lo_q1, sizeof(lo_q1), 64, "ingress lo, queue 1");
  const uint32_t q_only[6] = {0, 64, 0, 0, 1, 0};
  run_xdp(r, rd, q_only, sizeof(q_only), 64, "queue without device");
  const uint32_t nodev[6] = {0, 64, 0, 999999, 0, 0};
  run_xdp(r, rd, nodev, sizeof(nodev), 64, "no such device");
  const uint32_t egress[6] = {0, 64, 0, 0, 0, 1};
  run_xdp(r, rd, egress, sizeof(egress), 64, "egress_ifindex set");
  const uint32_t meta6[6] = {6, 64, 0, 0, 0, 0};
  run_xdp(r, rd, meta6, sizeof(meta6), 64, "6 bytes of metadata");
  const uint32_t meta36[6] = {36, 64, 0, 0, 0, 0};
  run_xdp(r, rd, meta36, sizeof(meta36), 64, "36 bytes of metadata");
  const uint32_t meta216[6] = {216, 300, 0, 0, 0, 0};
  run_xdp(r, rd, meta216, sizeof(meta216), 300, "216 bytes of metadata");
  const uint32_t meta252[6] = {252, 300, 0, 0, 0, 0};
  run_xdp(r, rd, meta252, sizeof(meta252), 300, "252 bytes of metadata");
  const uint32_t meta256[6] = {256, 300, 0, 0, 0, 0};
  run_xdp(r, rd, meta256, sizeof(meta256), 300, "256 bytes of metadata");
  const uint32_t past_end[6] = {68, 64, 0, 0, 0, 0};
  run_xdp(r, rd, past_end, sizeof(past_end), 64, "data past data_end");
  const uint32_t meta_set[6] = {0, 64, 4, 0, 0, 0};
  run_xdp(r, rd, meta_set, sizeof(meta_set), 64, "data_meta set");
  const uint32_t short_end[6] = {0, 60, 0, 0, 0, 0};
  run_xdp(r, rd, short_end, sizeof(short_end), 64, "data_end not the size");
  run_xdp(r, rd, meta8, 8, 64, "a short xdp_md");
  run_xdp(r, rd, nullptr, 0, 10, "10 bytes");
  if (mv >= 0) {
    run_xdp(r, mv, nullptr, 0, 64, "moving metadata and head");
    run_xdp(r, mv, meta8, sizeof(meta8), 64, "moving, after 8 bytes of metadata");
    r.close(mv);
  }
  if (bm >= 0) {
    run_xdp(r, bm, nullptr, 0, 64, "bad metadata lengths");
    r.close(bm);
  }
  if (big >= 0) {
    run_xdp(r, big, nullptr, 0, 64, "metadata past the headroom");
    r.close(big);
  }
  r.close(rd);
}

}  // namespace bpfemu::conformance
