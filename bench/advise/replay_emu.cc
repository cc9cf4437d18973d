// Emulator replays (program side and syscall side) and the helpers both
// replayers share.
#include <sched.h>
#include <sys/stat.h>

#include <ctime>
#include <cstdio>
#include <cstring>
#include <optional>
#include <vector>

#include "advise/replay.h"
#include "bpfemu/emu_backend.h"
#include "bpfemu/prog.h"
#include "core/cpu.h"

namespace advise {

struct CpuPlacer::Impl {
  bool pin_host = false;
  cpu_set_t saved{};
  bool have_saved = false;
  int current = -1;
  std::optional<bpfemu::ScopedCpu> scoped;
};

CpuPlacer::CpuPlacer(bool pin_host) : impl_(new Impl) {
  impl_->pin_host = pin_host;
  impl_->have_saved = pin_host && sched_getaffinity(0, sizeof(impl_->saved), &impl_->saved) == 0;
}

CpuPlacer::~CpuPlacer() {
  impl_->scoped.reset();
  if (impl_->have_saved) sched_setaffinity(0, sizeof(impl_->saved), &impl_->saved);
  delete impl_;
}

void CpuPlacer::to(uint16_t cpu) {
  if (impl_->current == cpu) return;
  impl_->current = cpu;
  if (impl_->pin_host) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu % bpfemu::host_possible_cpus(), &set);
    sched_setaffinity(0, sizeof(set), &set);
  }
  impl_->scoped.reset();
  impl_->scoped.emplace(cpu % bpfemu::possible_cpus());
}

double thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

namespace {

// Thread CPU time of the ops only: moving to another CPU (a sched_setaffinity
// and a migration) happens between timed segments, as it does between kernel
// test runs.
struct SegmentTimer {
  explicit SegmentTimer(bool timing) : timing(timing) {}
  void start() { t0 = thread_cpu_ns(); }
  double stop() { return total += thread_cpu_ns() - t0; }
  void move(CpuPlacer& placer, uint16_t to) {
    if (timing) stop();
    placer.to(to);
    cpu = to;
    if (timing) start();
  }
  bool timing;
  int cpu = -1;
  double t0 = 0, total = 0;
};

// Runs the warm-up ops untimed and the measured ops timed, and records the cost
// per logical op. exec(from, to, result, timer) replays ops [from, to).
template <class Exec>
void run_measured(const Stream& st, Exec& exec, RunResult& res) {
  RunResult scratch;
  SegmentTimer untimed(false), timed(true);
  exec(0, st.measured_begin, scratch, untimed);
  timed.start();
  exec(st.measured_begin, st.ops.size(), res, timed);
  res.ns_per_op = timed.stop() / static_cast<double>(st.measured_logical);
  res.ran = true;
}

int create(bpfemu::Backend& be, const Candidate& c, std::string* why) {
  bpfemu::MapCreateOpts opts;
  opts.map_flags = c.flags;
  int fd = be.map_create(c.type, "advise", c.key_size, c.value_size, c.max_entries, &opts);
  if (fd < 0) *why = "map_create: " + std::string(strerror(-fd));
  return fd;
}

// Value buffers: a pattern for updates, and a counter of 1 for an increment's
// insert (per-CPU syscall values: one round_up(value_size, 8) slot per CPU).
struct Values {
  Values(const Candidate& c, uint32_t bytes) : pattern(bytes, 0x5a), one(bytes, 0), out(bytes, 0) {
    if (bytes >= 8) {
      uint64_t v = 1;
      memcpy(one.data(), &v, 8);
    }
    (void)c;
  }
  std::vector<uint8_t> pattern, one, out;
};

RunResult replay_prog(const Candidate& c, const Stream& st) {
  RunResult res;
  bpfemu::EmuBackend be;
  int fd = create(be, c, &res.error);
  if (fd < 0) return res;
  bpfemu::prog::MapRef ref(fd);
  Values vals(c, c.value_size);
  uint64_t sum = 0;
  CpuPlacer placer(true);
  auto exec = [&](size_t from, size_t to, RunResult& r, SegmentTimer& timer) {
    bool last_hit = false;
    for (size_t i = from; i < to; ++i) {
      const StreamOp& op = st.ops[i];
      if (op.cpu != timer.cpu) timer.move(placer, op.cpu);
      if ((op.flags & kChain) && last_hit) continue;
      const uint8_t* key = st.key(i);
      switch (op.kind) {
        case OpKind::kLookup: {
          auto* v = static_cast<const uint8_t*>(ref.lookup(key));
          last_hit = v != nullptr;
          if (v != nullptr) {
            ++r.hits;
            sum += *v;
          } else if (op.flags & kExpect) {
            ++r.lost;
          }
          break;
        }
        case OpKind::kUpdate:
          if (long e = ref.update(key, vals.pattern.data(), op.update_flags); e != 0) {
            ++r.fails;
            r.last_err = static_cast<int>(-e);
          }
          break;
        case OpKind::kDelete:
          ref.remove(key);
          break;
        case OpKind::kLookupInsert:
          break;  // compiled away
        case OpKind::kIncrement: {
          auto* v = static_cast<uint64_t*>(ref.lookup(key));
          if (v != nullptr) {
            if (c.percpu)
              ++*v;
            else
              __atomic_fetch_add(v, 1, __ATOMIC_RELAXED);
          } else {
            long e = ref.update(key, vals.one.data(), BPF_NOEXIST);
            if (e != 0 && e != -EEXIST) {
              ++r.fails;
              r.last_err = static_cast<int>(-e);
            }
          }
          break;
        }
      }
    }
  };
  run_measured(st, exec, res);
  res.mem_bytes = emu_map_bytes(fd);
  if (sum == 42) fprintf(stderr, " ");  // keeps the value reads
  be.close(fd);
  return res;
}

}  // namespace

RunResult replay_syscall(bpfemu::Backend& be, const Candidate& c, const Stream& st) {
  RunResult res;
  int fd = create(be, c, &res.error);
  if (fd < 0) return res;
  const uint32_t ncpus = static_cast<uint32_t>(be.num_possible_cpus());
  Values vals(c, c.percpu ? ncpus * ((c.value_size + 7) & ~7U) : c.value_size);
  CpuPlacer placer(true);
  auto exec = [&](size_t from, size_t to, RunResult& r, SegmentTimer& timer) {
    bool last_hit = false;
    for (size_t i = from; i < to; ++i) {
      const StreamOp& op = st.ops[i];
      if (op.cpu != timer.cpu) timer.move(placer, op.cpu);
      if ((op.flags & kChain) && last_hit) continue;
      const uint8_t* key = st.key(i);
      switch (op.kind) {
        case OpKind::kLookup: {
          last_hit = be.map_lookup_elem(fd, key, vals.out.data()) == 0;
          if (last_hit)
            ++r.hits;
          else if (op.flags & kExpect)
            ++r.lost;
          break;
        }
        case OpKind::kUpdate:
          if (int e = be.map_update_elem(fd, key, vals.pattern.data(), op.update_flags); e != 0) {
            ++r.fails;
            r.last_err = -e;
          }
          break;
        case OpKind::kDelete:
          be.map_delete_elem(fd, key);
          break;
        case OpKind::kLookupInsert:
          break;  // compiled away
        case OpKind::kIncrement: {
          // User space has no atomic add on a map value: read, add, write back.
          if (be.map_lookup_elem(fd, key, vals.out.data()) == 0) {
            uint64_t v;
            memcpy(&v, vals.out.data(), 8);
            ++v;
            memcpy(vals.out.data(), &v, 8);
            be.map_update_elem(fd, key, vals.out.data(), BPF_ANY);
          } else {
            int e = be.map_update_elem(fd, key, vals.one.data(), BPF_NOEXIST);
            if (e != 0 && e != -EEXIST) {
              ++r.fails;
              r.last_err = -e;
            }
          }
          break;
        }
      }
    }
  };
  run_measured(st, exec, res);
  res.mem_bytes = be.emulated() ? emu_map_bytes(fd) : kernel_map_bytes(fd);
  be.close(fd);
  return res;
}

RunResult replay_emu(const Spec& spec, const Candidate& c, const Stream& st) {
  if (spec.side == Side::kProg) return replay_prog(c, st);
  bpfemu::EmuBackend be;
  return replay_syscall(be, c, st);
}

}  // namespace advise
