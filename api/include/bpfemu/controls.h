// What a test controls on the emulator (the kernel backend ignores all of it).
// Each setting is process-wide and can be put back, so tests can reset
// between cases; bpfemu::testing's fixture does so for you.
#pragma once

#include <string>
#include <string_view>

namespace bpfemu {

// --- CPUs: per-CPU values are ncpus * round_up(value_size, 8) bytes, LRU
// lists and program-side per-CPU updates follow the current CPU ---

// Number of possible CPUs maps are created with (n >= 1); 0 restores the
// host's count. Maps keep the count they were created with.
void set_possible_cpus(int n);
// The calling thread's emulated current CPU; -1 follows the CPU it runs on again.
void set_thread_cpu(int cpu);
// Sets the calling thread's current CPU for the scope's lifetime.
class ScopedCpu {
 public:
  explicit ScopedCpu(int cpu);
  ~ScopedCpu();
  ScopedCpu(const ScopedCpu&) = delete;
  ScopedCpu& operator=(const ScopedCpu&) = delete;

 private:
  int saved_;
};

// --- kernel profiles: which kernel version the emulator behaves like ---

// "host" (the running kernel's version), "6.1", "6.18": applies to maps and
// programs created from now on, and to the bpf(2) attr layout. False if unknown.
bool set_active_profile(std::string_view name);
// Comma-separated list of the profile names set_active_profile takes.
std::string profile_names();

// --- where /sys/fs/bpf lives, and the failure log ---

// Makes `dir` the emulated bpffs root (as BPFEMU_BPFFS does) for objects
// created and paths resolved from now on; "" goes back to BPFEMU_BPFFS or the
// default (/dev/shm/bpfemu-<uid>).
void set_bpffs_root(const std::string& dir);
// The emulated bpffs root in use.
std::string bpffs_root_dir();
// BPFEMU_LOG: one line on stderr per emulated call that fails, saying why.
void set_log(bool on);

}  // namespace bpfemu
