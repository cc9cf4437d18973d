// kprobe and uprobe perf events, the kernel's perf_kprobe and perf_uprobe
// PMUs: libbpf's bpf_program__attach_kprobe/_uprobe (and a skeleton's
// __attach of SEC("kprobe/...") and SEC("uprobe/...") programs) open one with
// perf_event_open, then attach the program by PERF_EVENT_IOC_SET_BPF or a
// perf link. Nothing fires by itself: a test says "this function was called
// with these arguments" (bpfemu_function_fire, bpfemu_uprobe_fire) and the
// attached programs run with a struct pt_regs holding them.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

struct perf_event_attr;
struct stat;

namespace bpfemu::emu {

struct PerfEventHeader;
class Firing;
class Store;

// The PMU type numbers perf_event_open takes for kprobes and uprobes: the
// running kernel's (from sysfs), else the emulator's own, which it answers
// when libbpf reads the sysfs files the kernel lacks.
uint32_t kprobe_pmu_type();
uint32_t uprobe_pmu_type();
// What a read of sysfs file `path` gives when it is a probe PMU's "type" or
// "format/retprobe" and the kernel has no such PMU: true with *text.
bool probe_pmu_file(const char* path, std::string* text);

// perf_kprobe_init / perf_uprobe_init on an event being opened: checks the
// probe (a function the running kernel has; an existing regular file and an
// offset inside it, the ref_ctr_offset of any other probe there) and records
// it in hdr. 0 or -errno.
int probe_event_init(Store& store, const perf_event_attr& a, pid_t pid, PerfEventHeader* hdr);

// struct pt_regs (x86-64) as probes see it: word indexes of the registers.
struct PtRegs {
  static constexpr int kR15 = 0, kR14 = 1, kR13 = 2, kR12 = 3, kBp = 4, kBx = 5, kR11 = 6, kR10 = 7, kR9 = 8,
                       kR8 = 9, kAx = 10, kCx = 11, kDx = 12, kSi = 13, kDi = 14, kOrigAx = 15, kIp = 16, kCs = 17,
                       kFlags = 18, kSp = 19, kSs = 20, kWords = 21;
  uint64_t w[kWords] = {};
  PtRegs() = default;
  // A call's: the first six arguments where the ABI passes them, ret in ax.
  PtRegs(const uint64_t* args, uint32_t nargs, uint64_t ret) {
    const int order[] = {kDi, kSi, kDx, kCx, kR8, kR9};
    for (uint32_t i = 0; i < nargs && i < 6; ++i) w[order[i]] = args[i];
    w[kAx] = ret;
  }
};

// uprobe_register's one probe per place: whether a uprobe event or a
// uprobe.multi link has a probe at offset of the file (device, inode) with
// another ref_ctr_offset.
bool uprobe_ref_ctr_taken(Store& store, uint64_t dev, uint64_t ino, uint64_t offset, uint64_t ref_ctr);

// Where offset of the file (st's device and inode) lies in this process (what
// a uprobe's bpf_get_func_ip reports: the probed instruction's address), 0
// when the process has not mapped that part of the file.
uint64_t mapped_address(const struct stat& st, uint64_t offset);

// Runs the programs attached to kprobes on `func` (ret_phase false: entry
// probes, with the arguments in pt_regs; true: kretprobes, with ret in ax).
// 0 or -errno when one faulted.
int fire_kprobes(Firing& fire, const char* func, const uint64_t* args, uint32_t nargs, uint64_t ret, bool ret_phase);
// Runs the programs attached to uprobes at `offset` in file `path` (this
// process, or any), then to uretprobes there: how many ran, or -errno.
int fire_uprobes(const char* path, uint64_t offset, const uint64_t* args, uint32_t nargs, uint64_t ret, int cpu);
// The same with the registers as given (uretprobes: ax = ret).
int fire_uprobes_regs(const char* path, uint64_t offset, const PtRegs& entry, uint64_t ret, int cpu);

}  // namespace bpfemu::emu
