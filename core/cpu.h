// The emulated CPU model: how many CPUs are "possible" and which one a thread is on.
//
// Per-CPU maps keep one slot per possible CPU and LRU maps keep per-CPU lists, so
// both the count and the current CPU change observable results. The count defaults
// to what libbpf_num_possible_cpus() reports for the host; the current CPU defaults
// to the CPU the thread really runs on (sched_getcpu), so a run pinned with
// sched_setaffinity behaves like the kernel pinned the same way.
#pragma once

#include <sys/rseq.h>

#include <atomic>
#include <cstdint>

#include "bpfemu/controls.h"

namespace bpfemu {

// Number of possible CPUs maps are created with. Maps remember the count they were
// created with; changing it (set_possible_cpus, bpfemu/controls.h) affects only
// maps created afterwards.
inline int possible_cpus();

// The current CPU of the calling thread, always in [0, possible_cpus()).
// Inline: per-CPU maps ask on every program-side operation.
inline int current_cpu();

// The host's possible CPU count (core/host.h), as libbpf counts it.
int host_possible_cpus();

namespace cpu_detail {
// Inline fast paths below: per-CPU maps ask on every program-side operation.
extern constinit std::atomic<int> g_possible;  // 0 = not yet read from the host
extern constinit thread_local int t_cpu;       // the thread's emulated CPU, -1 = the real one
int host_default();                            // caches and returns the host's count
int sched_cpu();  // sched_getcpu()

// The CPU the thread runs on now. glibc registers rseq for every thread and
// the kernel keeps its cpu_id current, so this is one load (sched_getcpu
// reads the same, behind a call); without rseq, sched_getcpu.
inline int real_cpu() {
  if (__rseq_size != 0) {
    const auto* rs = reinterpret_cast<const struct rseq*>(static_cast<const char*>(__builtin_thread_pointer()) +
                                                          __rseq_offset);
    const int cpu = static_cast<int>(rs->cpu_id);
    if (cpu >= 0) return cpu;
  }
  return sched_cpu();
}
}  // namespace cpu_detail

inline int possible_cpus() {
  const int n = cpu_detail::g_possible.load(std::memory_order_relaxed);
  return n > 0 ? n : cpu_detail::host_default();
}

// current_cpu() wrapped into [0, n): how a map made for n CPUs sees the thread
// when the possible-CPU count was raised after the map was made.
inline uint32_t current_cpu_below(uint32_t n);

inline int current_cpu() {
  const int ncpus = possible_cpus();
  const int cpu = cpu_detail::t_cpu >= 0 ? cpu_detail::t_cpu : cpu_detail::real_cpu();
  if (cpu < 0) return 0;
  return cpu < ncpus ? cpu : cpu % ncpus;  // a division only when the count was lowered
}

inline uint32_t current_cpu_below(uint32_t n) {
  const auto cpu = static_cast<uint32_t>(current_cpu());
  return cpu < n ? cpu : cpu % n;
}

}  // namespace bpfemu
