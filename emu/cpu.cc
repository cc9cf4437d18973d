#include "emu/cpu.h"

#include <sched.h>
#include <sys/rseq.h>

#include <atomic>
#include <cstdio>
#include <cstring>

namespace bpfemu {
namespace {

// Parses a cpu list such as "0-3,5" and returns the highest id + 1, like libbpf.
int parse_possible(const char* s) {
  int max_id = -1;
  while (*s != '\0' && *s != '\n') {
    char* end = nullptr;
    long a = strtol(s, &end, 10);
    if (end == s) break;
    long b = a;
    s = end;
    if (*s == '-') {
      b = strtol(s + 1, &end, 10);
      s = end;
    }
    if (b > max_id) max_id = static_cast<int>(b);
    if (*s == ',') ++s;
  }
  return max_id + 1;
}

}  // namespace

int host_possible_cpus() {
  static const int n = [] {
    FILE* f = fopen("/sys/devices/system/cpu/possible", "re");
    if (f == nullptr) return 1;
    char buf[256] = {0};
    size_t len = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[len] = '\0';
    int count = parse_possible(buf);
    return count > 0 ? count : 1;
  }();
  return n;
}

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
