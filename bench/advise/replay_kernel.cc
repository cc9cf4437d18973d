// Kernel replays: program side through bench/bpf/replay.bpf.c (one
// BPF_PROG_TEST_RUN per chunk of up to 512 ops, all on one CPU), syscall side
// through the KernelBackend.
#include <bpf/bpf.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "advise/replay.h"
#include "kernel_prog.h"

namespace advise {
namespace {

using bench::ReplayOp;
using bench::ReplayStats;

bool available(std::string* why) {
  static std::string reason;
  static const bool ok = bpfemu::kernel_bpf_available(&reason);
  if (!ok) *why = reason;
  return ok;
}

RunResult replay_prog(const Spec& spec, const Candidate& c, const Stream& st) {
  RunResult res;
  if (c.key_size > bench::kReplayKeyMax || c.value_size > bench::kReplayValueMax) {
    res.error = "key or value larger than the replay program's records";
    return res;
  }
  const bool counters = spec.mix[static_cast<int>(OpKind::kIncrement)] > 0 ||
                        std::any_of(st.ops.begin(), st.ops.end(), [](const StreamOp& o) { return o.kind == OpKind::kIncrement; });
  bench::TargetDef def{c.type, c.key_size, c.value_size, c.max_entries, c.flags};
  auto kp = bench::KernelProg::load(bench::BpfObj::kReplay, counters ? "replay_counters" : "replay", -1, def, &res.error);
  if (kp == nullptr) return res;
  const int ops_fd = kp->map_fd("ops");
  const int stats_fd = kp->map_fd("stats_map");
  std::vector<ReplayOp> recs(bench::kReplayChunk);
  std::vector<uint32_t> idx(bench::kReplayChunk);
  for (uint32_t i = 0; i < idx.size(); ++i) idx[i] = i;
  CpuPlacer placer(true);
  // Per measured chunk: kernel ns per stream op. The estimate uses the median
  // chunk: one run is ~10-50 us, and a run the scheduler preempts (a busy
  // machine) would otherwise weigh as much as hundreds of clean ones.
  std::vector<double> chunk_ns_per_op;
  size_t measured_stream_ops = 0;
  uint32_t zero = 0;
  ReplayStats stats{};
  auto run_range = [&](size_t from, size_t to, bool measured) -> bool {
    if (measured) {  // counters restart at the measured pass
      stats = ReplayStats{};
      stats.percpu = c.percpu;
    }
    for (size_t i = from; i < to;) {
      // A chunk: up to kReplayChunk ops that all run on one CPU.
      const uint16_t cpu = st.ops[i].cpu;
      // Move first: the records written below then sit in this CPU's cache, as
      // the emulator's op vector does.
      placer.to(cpu);
      uint32_t n = 0;
      for (; i < to && n < bench::kReplayChunk && st.ops[i].cpu == cpu; ++i, ++n) {
        ReplayOp& r = recs[n];
        r.kind = static_cast<uint8_t>(st.ops[i].kind);
        r.flags = st.ops[i].flags;
        r.update_flags = st.ops[i].update_flags;
        memcpy(r.key, st.key(i), c.key_size);
        memset(r.value, 0x5a, c.value_size);
        if (r.kind == static_cast<uint8_t>(OpKind::kIncrement)) {  // insert value: counter = 1
          memset(r.value, 0, c.value_size);
          r.value[0] = 1;
        }
      }
      // A chunk must not end inside a chain (a lookup and the probes or
      // insert-on-miss that depend on its result): the program's "previous
      // lookup hit" does not survive between runs.
      while (i < to && (st.ops[i].flags & kChain) && n > 1) {
        --i;
        --n;
      }
      uint32_t count = n;
      if (bpf_map_update_batch(ops_fd, idx.data(), recs.data(), &count, nullptr) != 0) {
        res.error = "writing ops: " + std::string(strerror(errno));
        return false;
      }
      stats.n = n;
      stats.percpu = c.percpu;
      bpf_map_update_elem(stats_fd, &zero, &stats, BPF_ANY);
      uint32_t ns = 0;
      if (int e = kp->run(1, &ns); e != 0) {
        res.error = "BPF_PROG_TEST_RUN: " + std::string(strerror(-e));
        return false;
      }
      if (measured) {
        chunk_ns_per_op.push_back(static_cast<double>(ns) / n);
        measured_stream_ops += n;
      }
      bpf_map_lookup_elem(stats_fd, &zero, &stats);
    }
    return true;
  };
  if (!run_range(0, st.measured_begin, false) || !run_range(st.measured_begin, st.ops.size(), true)) return res;
  std::nth_element(chunk_ns_per_op.begin(), chunk_ns_per_op.begin() + chunk_ns_per_op.size() / 2,
                   chunk_ns_per_op.end());
  res.ns_per_op = chunk_ns_per_op[chunk_ns_per_op.size() / 2] * static_cast<double>(measured_stream_ops) /
                  static_cast<double>(st.measured_logical);
  res.hits = stats.hits;
  res.lost = stats.lost;
  res.fails = stats.fails;
  res.last_err = static_cast<int>(-stats.last_err);
  res.mem_bytes = kernel_map_bytes(kp->map_fd("target"));
  res.ran = true;
  return res;
}

}  // namespace

RunResult replay_kernel(const Spec& spec, const Candidate& c, const Stream& st) {
  RunResult res;
  if (!available(&res.error)) return res;
  if (spec.side == Side::kProg) return replay_prog(spec, c, st);
  auto be = bpfemu::make_backend("kernel", &res.error);
  if (be == nullptr) return res;
  return replay_syscall(*be, c, st);
}

}  // namespace advise
