// uprobe perf events as libbpf opens them (bpf_program__attach_uprobe): the
// perf_uprobe PMU's type from sysfs, perf_event_open with the file, offset,
// retprobe bit, ref_ctr_offset and pid, then PERF_EVENT_IOC_SET_BPF or a perf
// link, and the link's info. The probed file is one the scenario writes and
// no process maps, so the kernel installs nothing. kprobes take the same
// path, checked where the kernel has them.
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "conformance/perf_calls.h"
#include "conformance/scenario.h"
#include "emu/probe_event.h"

namespace bpfemu::conformance {
namespace {

int open_uprobe(Recorder& r, long type, const char* path, uint64_t offset, bool retprobe, uint64_t ref_ctr, pid_t pid,
                const std::string& label) {
  perf_event_attr attr{};
  attr.size = sizeof(attr);
  attr.type = static_cast<uint32_t>(type);
  attr.config = (retprobe ? 1 : 0) | (ref_ctr << 32);
  attr.config1 = reinterpret_cast<uintptr_t>(path);  // uprobe_path
  attr.config2 = offset;                               // probe_offset
  return perf_open(r, attr, pid, pid == -1 ? 0 : -1, label);
}

int load_returning_0(Recorder& r, uint32_t type, const std::string& label) {
  return r.load_program(type, {{BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0}, {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}},
                        label);
}

// PERF_EVENT_IOC_SET_BPF on a probe event: a tracepoint program (refused), a
// kprobe program, then a second one (EEXIST).
void set_bpf_rules(Recorder& r, int event, int kprobe_prog, int second_prog, int tracepoint_prog) {
  for (auto [prog, what] : {std::pair{tracepoint_prog, "SET_BPF of a tracepoint program"},
                            {kprobe_prog, "SET_BPF of a kprobe program"}, {second_prog, "SET_BPF of a second program"}})
    perf_ioctl(r, event, PERF_EVENT_IOC_SET_BPF, static_cast<unsigned long>(prog), what);
}

int open_kprobe(Recorder& r, long type, const char* func, uint64_t offset, bool retprobe, const std::string& label) {
  perf_event_attr attr{};
  attr.size = sizeof(attr);
  attr.type = static_cast<uint32_t>(type);
  attr.config = retprobe ? 1 : 0;
  attr.config1 = reinterpret_cast<uintptr_t>(func);  // kprobe_func
  attr.config2 = offset;                               // probe_offset
  return perf_open(r, attr, -1, 0, label);
}

}  // namespace

// kprobe perf events where the kernel has kprobes (the 6.1 VM; the host
// kernel here is built without them, and the row then checks nothing).
SCENARIO("COMMON", "link", "kprobe_perf_event") {
  if (access("/sys/bus/event_source/devices/kprobe/type", R_OK) != 0) {
    r.note("no kprobes in this kernel", 0);
    return;
  }
  const long type = probe_pmu_type(r, "kprobe");
  r.note("kprobe PMU type readable", type < 0 ? -1 : 1);
  if (type < 0) return;
  std::vector<int> events;
  auto keep = [&](int fd) {
    if (fd >= 0) events.push_back(fd);
    return fd;
  };
  const int ev = keep(open_kprobe(r, type, "do_unlinkat", 0, false, "kprobe on do_unlinkat"));
  const int ret = keep(open_kprobe(r, type, "do_unlinkat", 0, true, "kretprobe on do_unlinkat"));
  keep(open_kprobe(r, type, "do_unlinkat", 4, true, "kretprobe at an offset"));
  keep(open_kprobe(r, type, "bpfemu_no_such_function", 0, false, "kprobe on a missing function"));
  const int kp = load_returning_0(r, BPF_PROG_TYPE_KPROBE, "load kprobe program");
  const int kp2 = load_returning_0(r, BPF_PROG_TYPE_KPROBE, "load second kprobe program");
  const int tp = load_returning_0(r, BPF_PROG_TYPE_TRACEPOINT, "load tracepoint program");
  if (ev >= 0 && ret >= 0 && kp >= 0 && kp2 >= 0 && tp >= 0) {
    set_bpf_rules(r, ev, kp, kp2, tp);
    const int l = perf_link(r, kp2, ret, 0, "perf link to the kretprobe");
    if (l >= 0) r.close(l);
  }
  for (int fd : events) perf_close(r, fd);
  for (int fd : {kp, kp2, tp})
    if (fd >= 0) r.close(fd);
}

SCENARIO("COMMON", "link", "uprobe_perf_event") {
  const long type = probe_pmu_type(r, "uprobe");
  r.note("uprobe PMU type readable", type < 0 ? type : 1);
  if (type < 0) return;
  const std::string file = write_probe_target(r, "bpfemu-uprobe-target");
  if (file.empty()) return;
  const char* p = file.c_str();
  std::vector<int> events;
  auto keep = [&](int fd) {
    if (fd >= 0) events.push_back(fd);
    return fd;
  };
  keep(open_uprobe(r, type, p, 0, false, 0, -1, "uprobe at 0"));
  keep(open_uprobe(r, type, p, 4096, false, 0, -1, "uprobe at the file's end"));
  keep(open_uprobe(r, type, p, 4097, false, 0, -1, "uprobe past the file's end"));
  keep(open_uprobe(r, type, p, 16, true, 0, -1, "uretprobe at 16"));
  // One probe per place: another ref_ctr_offset where a probe is is refused.
  keep(open_uprobe(r, type, p, 16, false, 8, -1, "uprobe at 16 with another ref_ctr_offset"));
  keep(open_uprobe(r, type, p, 64, false, 8, -1, "uprobe at 64 with a ref_ctr_offset"));
  keep(open_uprobe(r, type, p, 64, true, 8, -1, "uretprobe at 64 with the same ref_ctr_offset"));
  keep(open_uprobe(r, type, p, 80, false, 7, -1, "uprobe with an odd ref_ctr_offset"));
  keep(open_uprobe(r, type, p, 16, false, 0, getpid(), "uprobe for this process"));
  keep(open_uprobe(r, type, "/tmp/bpfemu-no-such-file", 0, false, 0, -1, "uprobe on a missing file"));
  keep(open_uprobe(r, type, "/tmp", 0, false, 0, -1, "uprobe on a directory"));
  keep(open_uprobe(r, type, "", 0, false, 0, -1, "uprobe on an empty path"));
  keep(open_uprobe(r, type, nullptr, 0, false, 0, -1, "uprobe without a path"));
  const int ev = keep(open_uprobe(r, type, p, 32, false, 0, -1, "uprobe at 32"));
  const int ev2 = keep(open_uprobe(r, type, p, 48, true, 0, -1, "uretprobe at 48"));
  const int kp = load_returning_0(r, BPF_PROG_TYPE_KPROBE, "load kprobe program");
  const int kp2 = load_returning_0(r, BPF_PROG_TYPE_KPROBE, "load second kprobe program");
  const int tp = load_returning_0(r, BPF_PROG_TYPE_TRACEPOINT, "load tracepoint program");
  if (ev >= 0 && ev2 >= 0 && kp >= 0 && kp2 >= 0 && tp >= 0) {
    set_bpf_rules(r, ev, kp, kp2, tp);
    const int bad = perf_link(r, tp, ev2, 0, "perf link of a tracepoint program");
    if (bad >= 0) r.close(bad);
    const int l = perf_link(r, kp2, ev2, 0, "perf link");
    if (l >= 0) {
      // bpf_link_info.perf_event.uprobe: type at 16, file_name at 24,
      // name_len at 32, offset at 36, cookie at 40, ref_ctr_offset at 48.
      unsigned char raw[64];
      char name[128];
      uint32_t len = 0;
      perf_link_info(r, l, raw, name, sizeof(name), &len);
      uint32_t w[4];
      memcpy(&w[0], raw + 16, 4);
      memcpy(&w[1], raw + 32, 4);
      memcpy(&w[2], raw + 36, 4);
      uint64_t ref_ctr = 0;
      memcpy(&ref_ctr, raw + 48, 8);
      r.note("link info perf_event type", w[0]);
      r.note("link info name_len is the path's", w[1] == file.size() + 1);
      r.note("link info offset", w[2]);
      r.note("link info ref_ctr_offset", static_cast<long>(ref_ctr));
      r.note("link info name is the path", file == name);
      r.close(l);
    }
  }
  for (int fd : events) perf_close(r, fd);
  for (int fd : {kp, kp2, tp})
    if (fd >= 0) r.close(fd);
  unlink(p);
}

}  // namespace bpfemu::conformance
