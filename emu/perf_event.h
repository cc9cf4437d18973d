// Emulated perf events: the software BPF-output events that carry
// bpf_perf_event_output records to user space (libbpf's perf_buffer opens one
// per CPU, maps its ring and stores it in a PERF_EVENT_ARRAY), and tracepoint
// events, which programs attach to (PERF_EVENT_IOC_SET_BPF or a perf link)
// and which run when a test fires the tracepoint (bpfemu_tracepoint_fire).
//
// An event is an object of kind kPerfEvent: a handle (a real fd), a shared
// header with the attributes the kernel keeps, and, once mapped, a ring file
// beside it laid out as the kernel's perf ring (a perf_event_mmap_page, then
// 2^n data pages) so that any consumer's reading code works unchanged. Records
// are PERF_RECORD_SAMPLE with PERF_SAMPLE_RAW data (and PERF_RECORD_LOST when
// the ring was full), written by programs in any process.
//
// kprobe and uprobe events (emu/probe_event.h) run programs too. Other perf
// events (hardware and software counters, and tracepoints whose id did not
// come from the emulator, emu/tracepoint.h) are not emulated: perf_event_open
// passes them to the kernel.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "core/object.h"
#include "core/spinlock.h"

struct perf_event_attr;

namespace bpfemu::emu {

class Program;

struct PerfEventHeader {
  ObjHeader obj;
  uint32_t type;
  int32_t cpu;  // the CPU it counts on (-1: any)
  uint64_t config;
  uint64_t sample_type;
  uint32_t wakeup_events;     // wake every n samples (unless watermark)
  uint32_t wakeup_watermark;  // ... or every n bytes
  uint32_t watermark;         // attr.watermark
  uint32_t pad;
  uint64_t event_id;          // PERF_EVENT_IOC_ID
  std::atomic<uint32_t> enabled;
  std::atomic<uint32_t> paused;      // PERF_EVENT_IOC_PAUSE_OUTPUT
  std::atomic<uint64_t> ring_pages;  // data pages once mapped (a power of two), 0 before
  std::atomic<uint32_t> overwrite;   // first mapped without PROT_WRITE: the kernel ignores data_tail
  SpinLock out_lock;                 // one writer at a time, as the kernel's per-CPU output
  uint64_t head;                     // where the next record goes (published as data_head)
  uint64_t wakeup_mark;              // head at the last watermark wake-up
  uint64_t samples;                  // for wakeup_events
  uint64_t lost;                     // records dropped since the last PERF_RECORD_LOST
  std::atomic<uint32_t> prog_id;     // tracepoints and probes: the attached program (held), 0: none
  uint32_t retprobe;                 // probes: a kretprobe or uretprobe
  char tp_name[128];                 // tracepoints: "category/name"; kprobes: the function
  // uprobes: the file as given, its device and inode (what firing matches),
  // and the pid the event follows (-1: every process).
  char path[256];
  uint64_t dev, ino;
  uint64_t probe_offset;
  uint64_t ref_ctr_offset;
  int32_t pid;
  uint32_t pad3;
  uint64_t cookie;  // the attached program's bpf_get_attach_cookie (a perf link's bpf_cookie)
  // probes: when it was opened (CLOCK_MONOTONIC, the same for every
  // process): the kernel runs the probes of one place newest first.
  uint64_t created_ns;
};

// 64-byte aligned: fd table slots keep the kind and access in the low bits.
class alignas(64) PerfEvent final : public Object {
 public:
  explicit PerfEvent(Region&& region);
  ~PerfEvent() override;
  PerfEventHeader& header() const { return *hdr_; }
  // This process's mapping of the ring (user page + data), mapped on first
  // use; nullptr while the event has no ring.
  uint8_t* ring();

 private:
  PerfEventHeader* hdr_;
  std::atomic<uint8_t*> ring_{nullptr};  // mapped once per view, by whichever thread gets there first
  size_t ring_len_ = 0;
};

// Whether perf_event_open with these attributes makes an emulated event (the
// caller's attr is read fault-safely; false when it cannot be read).
bool perf_event_is_emulated(const perf_event_attr* uattr);
// perf_event_open(2) of an emulated event: an fd or -errno.
int sys_perf_event_open(const perf_event_attr* uattr, pid_t pid, int cpu, int group_fd, unsigned long flags);
// ioctl(2), read(2) and mmap(2) of an emulated event's fd.
int perf_event_ioctl(PerfEvent& ev, unsigned long request, unsigned long arg);
ssize_t perf_event_read(PerfEvent& ev, void* buf, size_t n);
int perf_event_mmap(PerfEvent& ev, void* addr, size_t len, int prot, int flags, off_t offset, void** out);
// poll/epoll readiness: EPOLLIN while records wait; EPOLLHUP without a ring.
uint32_t perf_event_poll(PerfEvent& ev);

// perf_event_set_bpf_prog: attaches prog to a tracepoint event (which takes
// a reference): 0, -EINVAL for another event or program type, -EEXIST when
// one is attached.
int perf_event_attach_prog(PerfEvent& ev, Program& prog, uint64_t cookie = 0);
// Detaches program prog_id when it is the one attached (a perf link going).
void perf_event_detach_prog(PerfEvent& ev, uint32_t prog_id);
// Runs every program attached to tracepoint "category/name" with r1 = ctx
// on CPU cpu (-1: the calling thread's): how many ran, or -errno.
int fire_tracepoint(const char* name, void* ctx, uint32_t ctx_size, int cpu);

// bpf_perf_event_output's write into the event's ring on CPU `cpu`: the
// sample's raw data is a then b. 0, -EOPNOTSUPP (the event is not active on
// that CPU), -ENOSPC (no ring, or no room: counted as lost).
long perf_event_output(PerfEvent& ev, uint32_t cpu, const void* a, size_t alen, const void* b, size_t blen);

}  // namespace bpfemu::emu
