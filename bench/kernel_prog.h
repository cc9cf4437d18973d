// Loads the benchmark BPF objects (bench/bpf/*.bpf.c, compiled at build time and
// embedded in the binary) and runs their XDP programs with BPF_PROG_TEST_RUN.
//
// The objects declare a placeholder map `target`; a load either points it at an
// existing map fd (so a program works on the very map the syscall benchmarks
// filled) or gives it the type, sizes and flags of the map to study.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

struct bpf_object;

namespace bench {

enum class BpfObj {
  kBenchOps,  // bench_ops.bpf.c: lookup_u32, update_u32, lookup_lpm, update_lpm
  kReplay,    // replay.bpf.c: replay, replay_counters
};

// Geometry of `target` when it is created by the load rather than reused.
struct TargetDef {
  uint32_t type = 0;
  uint32_t key_size = 0;
  uint32_t value_size = 0;
  uint32_t max_entries = 0;
  uint32_t flags = 0;
};

class KernelProg {
 public:
  // Loads `prog` from `obj` (all other programs stay unloaded). `target_fd` >= 0
  // reuses that map as `target`; otherwise `def` describes a new one.
  static std::unique_ptr<KernelProg> load(BpfObj obj, const char* prog, int target_fd, const TargetDef& def,
                                          std::string* why);
  ~KernelProg();
  KernelProg(const KernelProg&) = delete;
  KernelProg& operator=(const KernelProg&) = delete;

  int map_fd(const char* name) const;
  // Runs the program `repeat` times on a 64-byte dummy packet; *avg_ns is the
  // kernel-measured mean duration of one run. Returns 0 or -errno.
  int run(uint32_t repeat, uint32_t* avg_ns) const;

 private:
  KernelProg() = default;
  bpf_object* obj_ = nullptr;
  int prog_fd_ = -1;
};

// Ops each bench_ops.bpf.c program does per run (OPS_PER_RUN there).
inline constexpr uint32_t kOpsPerRun = 256;

// Mirror of bench_ops.bpf.c's struct cfg.
struct BenchOpsCfg {
  uint32_t nkeys;
  uint32_t stride;
  uint32_t pos;
  uint32_t misses;
  uint64_t sum;
};

// Mirrors of replay.bpf.c's records.
inline constexpr uint32_t kReplayChunk = 512;
inline constexpr uint32_t kReplayKeyMax = 64;
inline constexpr uint32_t kReplayValueMax = 512;
struct ReplayOp {
  uint8_t kind;  // advise::OpKind
  uint8_t flags;  // advise::kChain | advise::kExpect
  uint16_t pad;
  uint32_t update_flags;
  uint8_t key[kReplayKeyMax];
  uint8_t value[kReplayValueMax];
};
struct ReplayStats {
  uint32_t n;
  uint32_t percpu;
  uint64_t hits;
  uint64_t lost;
  uint64_t fails;
  uint64_t sum;
  int64_t last_err;
};

}  // namespace bench
