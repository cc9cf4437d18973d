#include "core/cpu.h"

#include "core/host.h"

#include <sched.h>
#include <sys/rseq.h>

#include <atomic>

namespace bpfemu {
int host_possible_cpus() { return host().possible_cpus(); }

void set_possible_cpus(int n) { cpu_detail::g_possible.store(n > 0 ? n : 0, std::memory_order_relaxed); }

namespace cpu_detail {

constinit std::atomic<int> g_possible{0};
constinit thread_local int t_cpu = -1;

int host_default() {
  // Cache the host's count; a racing set_possible_cpus() wins.
  int expected = 0;
  g_possible.compare_exchange_strong(expected, host_possible_cpus(), std::memory_order_relaxed);
  return possible_cpus();
}

int sched_cpu() { return sched_getcpu(); }

}  // namespace cpu_detail

using cpu_detail::t_cpu;

void set_thread_cpu(int cpu) { t_cpu = cpu; }

ScopedCpu::ScopedCpu(int cpu) : saved_(t_cpu) { t_cpu = cpu; }
ScopedCpu::~ScopedCpu() { t_cpu = saved_; }

}  // namespace bpfemu
