#include "emu/probe_event.h"

#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <vector>
#include <climits>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string_view>
#include <unordered_set>

#include "core/log.h"
#include "core/scope.h"
#include "core/uaccess.h"
#include "emu/fire.h"
#include "emu/link.h"
#include "emu/objects.h"
#include "emu/perf_event.h"
#include "emu/store.h"

namespace bpfemu::emu {
namespace {

constexpr uint32_t kKsymNameLen = 512;  // KSYM_NAME_LEN
constexpr uint64_t kRetprobeBit = 1;    // PERF_PROBE_CONFIG_IS_RETPROBE: "config:0" in format/retprobe
// Types of the emulator's own, for kernels without the PMU: far above the
// kernel's (small numbers handed out as PMUs register).
constexpr uint32_t kOwnKprobeType = 0x6b70, kOwnUprobeType = 0x7570;

constexpr const char* kPmuRoot = "/sys/bus/event_source/devices/";

// The kernel's type of PMU `name`, or 0 when it has none.
uint32_t kernel_pmu_type(const char* name) {
  EmulatorScope scope;  // the real sysfs, past the interposers (which ask this very question)
  const std::string path = std::string(kPmuRoot) + name + "/type";
  FILE* f = fopen(path.c_str(), "re");
  if (f == nullptr) return 0;
  unsigned t = 0;
  const int n = fscanf(f, "%u", &t);
  fclose(f);
  return n == 1 ? t : 0;
}

uint32_t pmu_type(const char* name, uint32_t own) {
  const uint32_t t = kernel_pmu_type(name);
  return t != 0 ? t : own;
}

// The running kernel's text symbols (/proc/kallsyms), read once; empty when
// it cannot be read (then every name is taken).
const std::unordered_set<std::string>& kernel_functions() {
  static const auto* names = [] {
    auto* set = new std::unordered_set<std::string>();
    EmulatorScope scope;
    FILE* f = fopen("/proc/kallsyms", "re");
    if (f == nullptr) return set;
    char line[640];
    while (fgets(line, sizeof(line), f) != nullptr) {
      char type = 0;
      char name[kKsymNameLen + 1];
      if (sscanf(line, "%*s %c %512s", &type, name) == 2 && (type == 't' || type == 'T')) set->insert(name);
    }
    fclose(f);
    return set;
  }();
  return *names;
}

// strndup_user: the string at user address p, at most max bytes with its NUL
// (E2BIG when longer, EFAULT when unreadable).
int string_from_user(uint64_t p, size_t max, std::string* out) {
  out->clear();
  for (size_t i = 0; i < max; ++i) {
    char c;
    if (copy_from_user(&c, reinterpret_cast<const void*>(p + i), 1) != 0) return -EFAULT;
    if (c == '\0') return 0;
    out->push_back(c);
  }
  return -E2BIG;
}

int kprobe_init(const perf_event_attr& a, PerfEventHeader* hdr) {
  std::string func;
  if (a.kprobe_func != 0)
    if (int e = string_from_user(a.kprobe_func, kKsymNameLen, &func); e != 0)
      return log_reason(e, "kprobe function name cannot be read or is too long");
  if (func.empty()) return log_reason(-EOPNOTSUPP, "kprobes by address (kprobe_addr) are not emulated");
  const auto& known = kernel_functions();
  if (!known.empty() && known.count(func) == 0)
    return log_reason(-ENOENT, "kprobe on %s: the running kernel has no such function", func.c_str());
  if (hdr->retprobe && a.probe_offset != 0)
    return log_reason(-EINVAL, "a kretprobe must be on the function's entry, not at offset %llu",
                      static_cast<unsigned long long>(a.probe_offset));
  if (func.size() >= sizeof(hdr->tp_name)) return log_reason(-E2BIG, "kprobe function name %s is too long here", func.c_str());
  strncpy(hdr->tp_name, func.c_str(), sizeof(hdr->tp_name) - 1);
  hdr->probe_offset = a.probe_offset;
  return 0;
}

int uprobe_init(Store& store, const perf_event_attr& a, pid_t pid, PerfEventHeader* hdr) {
  if (a.uprobe_path == 0) return log_reason(-EINVAL, "a uprobe needs a path");
  std::string path;
  if (int e = string_from_user(a.uprobe_path, PATH_MAX, &path); e != 0)
    return log_reason(e, "uprobe path cannot be read or is too long");
  if (path.empty()) return log_reason(-EINVAL, "an empty uprobe path");
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return log_reason(-errno, "uprobe path %s: %s", path.c_str(), strerror(errno));
  if (!S_ISREG(st.st_mode)) return log_reason(-EINVAL, "uprobe path %s is not a regular file", path.c_str());
  const uint64_t ref_ctr = a.config >> 32;  // PERF_UPROBE_REF_CTR_OFFSET_SHIFT
  if (ref_ctr % 2 != 0) return log_reason(-EINVAL, "uprobe ref_ctr_offset %llu is not 2-byte aligned", (unsigned long long)ref_ctr);
  if (a.probe_offset > static_cast<uint64_t>(st.st_size))
    return log_reason(-EINVAL, "uprobe offset %llu is past the end of %s", (unsigned long long)a.probe_offset, path.c_str());
  if (path.size() >= sizeof(hdr->path)) return log_reason(-E2BIG, "uprobe path %s is too long here", path.c_str());
  strncpy(hdr->path, path.c_str(), sizeof(hdr->path) - 1);
  hdr->dev = st.st_dev;
  hdr->ino = st.st_ino;
  hdr->probe_offset = a.probe_offset;
  hdr->ref_ctr_offset = ref_ctr;
  hdr->pid = pid;
  if (uprobe_ref_ctr_taken(store, hdr->dev, hdr->ino, hdr->probe_offset, ref_ctr))
    return log_reason(-EINVAL, "a uprobe at %s+%llu has another ref_ctr_offset", path.c_str(),
                      static_cast<unsigned long long>(a.probe_offset));
  return 0;
}

}  // namespace

uint64_t mapped_address(const struct stat& st, uint64_t offset) {
  FILE* f = fopen("/proc/self/maps", "re");
  if (f == nullptr) return 0;
  char line[4096];
  uint64_t found = 0;
  while (found == 0 && fgets(line, sizeof(line), f) != nullptr) {
    unsigned long long start = 0, end = 0, off = 0, ino = 0;
    unsigned major = 0, minor = 0;
    if (sscanf(line, "%llx-%llx %*s %llx %x:%x %llu", &start, &end, &off, &major, &minor, &ino) != 6) continue;
    if (ino != st.st_ino || makedev(major, minor) != st.st_dev) continue;
    if (offset >= off && offset < off + (end - start)) found = start + (offset - off);
  }
  fclose(f);
  return found;
}

bool uprobe_ref_ctr_taken(Store& store, uint64_t dev, uint64_t ino, uint64_t offset, uint64_t ref_ctr) {
  int err = 0;
  for (uint32_t id = 0;;) {
    uint32_t next = 0;
    if (store.next_id(ObjKind::kPerfEvent, id, &next) != 0) break;
    id = next;
    Object* obj = view_of(store, ObjKind::kPerfEvent, id, &err);
    if (obj == nullptr) continue;
    const PerfEventHeader& h = static_cast<PerfEvent*>(obj)->header();
    if (h.type == uprobe_pmu_type() && h.dev == dev && h.ino == ino && h.probe_offset == offset &&
        h.ref_ctr_offset != ref_ctr)
      return true;
  }
  return uprobe_multi_ref_ctr_taken(store, dev, ino, offset, ref_ctr);
}

uint32_t kprobe_pmu_type() {
  static const uint32_t t = pmu_type("kprobe", kOwnKprobeType);
  return t;
}

uint32_t uprobe_pmu_type() {
  static const uint32_t t = pmu_type("uprobe", kOwnUprobeType);
  return t;
}

bool probe_pmu_file(const char* path, std::string* text) {
  const std::string_view p(path);
  for (const char* pmu : {"kprobe", "uprobe"}) {
    const std::string dir = std::string(kPmuRoot) + pmu + "/";
    if (p.substr(0, dir.size()) != dir || kernel_pmu_type(pmu) != 0) continue;
    const std::string_view leaf = p.substr(dir.size());
    if (leaf == "type") {
      *text = std::to_string(pmu[0] == 'k' ? kprobe_pmu_type() : uprobe_pmu_type()) + "\n";
      return true;
    }
    if (leaf == "format/retprobe") {
      *text = "config:0\n";
      return true;
    }
  }
  return false;
}

int probe_event_init(Store& store, const perf_event_attr& a, pid_t pid, PerfEventHeader* hdr) {
  hdr->retprobe = (a.config & kRetprobeBit) ? 1 : 0;
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  hdr->created_ns = static_cast<uint64_t>(ts.tv_sec) * 1000000000ULL + static_cast<uint64_t>(ts.tv_nsec);
  hdr->pid = -1;
  if (a.type == kprobe_pmu_type()) return kprobe_init(a, hdr);
  return uprobe_init(store, a, pid, hdr);
}

int fire_kprobes(Firing& fire, const char* func, const uint64_t* args, uint32_t nargs, uint64_t ret, bool ret_phase) {
  PtRegs regs(args, nargs, ret_phase ? ret : 0);
  int err = 0;
  fire.each(ObjKind::kPerfEvent, [&](Object& obj) {
    const PerfEventHeader& h = static_cast<PerfEvent&>(obj).header();
    const uint32_t prog_id = h.prog_id.load();
    if (err == 0 && prog_id != 0 && h.type == kprobe_pmu_type() && (h.retprobe != 0) == ret_phase &&
        h.probe_offset == 0 && strncmp(h.tp_name, func, sizeof(h.tp_name)) == 0)
      err = fire.run(prog_id, &regs, sizeof(regs), h.cookie);
  });
  if (err == 0) err = fire_kprobe_multi(fire, func, &regs, sizeof(regs), ret_phase);
  return err;
}

int fire_uprobes(const char* path, uint64_t offset, const uint64_t* args, uint32_t nargs, uint64_t ret, int cpu) {
  if (path == nullptr || (nargs != 0 && args == nullptr)) return log_reason(-EINVAL, "a file and its arguments");
  return fire_uprobes_regs(path, offset, PtRegs(args, nargs, 0), ret, cpu);
}

int fire_uprobes_regs(const char* path, uint64_t offset, const PtRegs& entry, uint64_t ret, int cpu) {
  if (path == nullptr) return log_reason(-EINVAL, "a file");
  struct stat st;
  if (stat(path, &st) != 0) return log_reason(-errno, "%s: %s", path, strerror(errno));
  Firing fire(cpu);
  if (fire.error() != 0) return fire.error();
  const pid_t self = getpid();
  fire.func_ip = mapped_address(st, offset);
  for (bool ret_phase : {false, true}) {
    // The place's consumers, events and uprobe.multi entries alike, run
    // newest first: the kernel adds each at the head of the uprobe's list.
    std::vector<UprobeConsumer> consumers;
    fire.each(ObjKind::kPerfEvent, [&](Object& obj) {
      const PerfEventHeader& h = static_cast<PerfEvent&>(obj).header();
      const uint32_t prog_id = h.prog_id.load();
      if (prog_id != 0 && h.type == uprobe_pmu_type() && (h.retprobe != 0) == ret_phase && h.dev == st.st_dev &&
          h.ino == st.st_ino && h.probe_offset == offset && (h.pid == -1 || h.pid == self))
        consumers.push_back({h.created_ns, prog_id, h.cookie});
    });
    uprobe_multi_consumers(fire, st.st_dev, st.st_ino, offset, ret_phase, &consumers);
    std::stable_sort(consumers.begin(), consumers.end(),
                     [](const UprobeConsumer& x, const UprobeConsumer& y) { return x.created_ns > y.created_ns; });
    PtRegs regs = entry;
    if (ret_phase) regs.w[PtRegs::kAx] = ret;
    for (const UprobeConsumer& c : consumers)
      if (int err = fire.run(c.prog_id, &regs, sizeof(regs), c.cookie); err != 0) return err;
  }
  return fire.ran();
}

}  // namespace bpfemu::emu
