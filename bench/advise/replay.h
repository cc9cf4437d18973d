// Replaying a candidate's op stream: on the emulator (program-side MapRef or
// syscall-style Backend) and on the kernel (an XDP program run with
// BPF_PROG_TEST_RUN, or real syscalls). Setup and warm-up run untimed; the
// measured pass is timed and counted.
#pragma once

#include <cstdint>
#include <string>

#include "advise/candidates.h"
#include "bpfemu/backend.h"

#include "map_memory.h"

namespace advise {

struct RunResult {
  bool ran = false;
  std::string error;     // why it did not run
  double ns_per_op = 0;  // measured pass time / workload ops
  uint64_t mem_bytes = 0;
  uint64_t hits = 0;   // lookups that found a value
  uint64_t lost = 0;   // lookups that missed a key the workload holds
  uint64_t fails = 0;  // inserts the map refused
  int last_err = 0;    // errno of the last refused insert
};

// Emulator, on the spec's side (prog or syscall).
RunResult replay_emu(const Spec& spec, const Candidate& c, const Stream& st);
// Kernel, on the spec's side; error set when bpf() is unavailable.
RunResult replay_kernel(const Spec& spec, const Candidate& c, const Stream& st);
// Syscall-side replay through any Backend (both of the above use it).
RunResult replay_syscall(bpfemu::Backend& be, const Candidate& c, const Stream& st);

// CPU time of the calling thread (user + kernel) in ns: replays time themselves
// with it so that other processes on a shared machine do not inflate the cost.
double thread_cpu_ns();

// Bytes a map uses (bench/map_memory.h).
using bench::emu_map_bytes;
using bench::kernel_map_bytes;

// Makes `cpu` the emulated current CPU and, with pin_host, also moves the
// thread to host CPU cpu % ncpus (the kernel's per-CPU slots and LRU lists
// follow the real CPU). Both replayers pin, so both pay the same cache
// migration when a workload's ops move between CPUs; replays time themselves
// in thread CPU time, so waiting for a busy CPU is not counted. Restores
// everything when destroyed.
class CpuPlacer {
 public:
  explicit CpuPlacer(bool pin_host);
  ~CpuPlacer();
  void to(uint16_t cpu);

 private:
  struct Impl;
  Impl* impl_;
};

}  // namespace advise
