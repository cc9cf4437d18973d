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

// uprobe_register's one probe per place: whether a uprobe event or a
// uprobe.multi link has a probe at offset of the file (device, inode) with
// another ref_ctr_offset.
bool uprobe_ref_ctr_taken(Store& store, uint64_t dev, uint64_t ino, uint64_t offset, uint64_t ref_ctr);

// Runs the programs attached to kprobes on `func` (ret_phase false: entry
// probes, with the arguments in pt_regs; true: kretprobes, with ret in ax).
// 0 or -errno when one faulted.
int fire_kprobes(Firing& fire, const char* func, const uint64_t* args, uint32_t nargs, uint64_t ret, bool ret_phase);
// Runs the programs attached to uprobes at `offset` in file `path` (this
// process, or any), then to uretprobes there: how many ran, or -errno.
int fire_uprobes(const char* path, uint64_t offset, const uint64_t* args, uint32_t nargs, uint64_t ret, int cpu);

}  // namespace bpfemu::emu
