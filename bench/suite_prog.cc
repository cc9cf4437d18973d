// Program-side operations: `emu_prog` (bpfemu::prog::MapRef, what a BPF program
// compiled natively against the emulator calls) and `kernel_prog` (the same loop
// inside a real XDP program, bench/bpf/bench_ops.bpf.c, run with
// BPF_PROG_TEST_RUN + repeat; per-op = kernel-measured duration / ops).
// Both work on the maps the syscall suite filled, walking the same keys.
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <tuple>

#include "bpfemu/prog.h"
#include "common.h"
#include "kernel_prog.h"

namespace bench {
namespace {

// Which key range a program-side benchmark walks: the filled keys, the filled
// random-looking keys (KeySet::kScattered), or (LRU under eviction) a space
// twice the map's size.
enum class Keys { kFilled, kScattered, kEvict };

KeySet key_set(Keys keys) { return keys == Keys::kScattered ? KeySet::kScattered : KeySet::kDense; }

template <KeySet kKeys = KeySet::kDense>
void emu_lookup(benchmark::State& state, MapFixture& f, Keys) {
  bpfemu::prog::MapRef ref(f.fd);
  const uint32_t threads = static_cast<uint32_t>(state.threads());
  KeyWalk w(f.entries, f.entries / threads * static_cast<uint32_t>(state.thread_index()));
  KeyBuf kb;
  uint64_t sum = 0;
  int64_t misses = 0;
  for (auto _ : state) {
    auto* v = static_cast<const uint64_t*>(ref.lookup(kb.set(*f.type, w.next(), kKeys)));
    if (v != nullptr)
      sum += *v;
    else
      ++misses;
  }
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(state.iterations());
  state.counters["miss_rate"] = benchmark::Counter(static_cast<double>(misses), benchmark::Counter::kAvgIterations);
}

template <KeySet kKeys = KeySet::kDense>
void emu_update(benchmark::State& state, MapFixture& f, Keys keys) {
  bpfemu::prog::MapRef ref(f.fd);
  const uint32_t space = keys == Keys::kEvict ? f.entries * 2 : f.entries;
  const uint32_t threads = static_cast<uint32_t>(state.threads());
  KeyWalk w(space, space / threads * static_cast<uint32_t>(state.thread_index()));
  KeyBuf kb;
  int64_t errors = 0;
  for (auto _ : state) {
    uint32_t k = w.next();
    uint64_t v = k;
    errors += ref.update(kb.set(*f.type, k, kKeys), &v, BPF_ANY) != 0;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["error_rate"] = benchmark::Counter(static_cast<double>(errors), benchmark::Counter::kAvgIterations);
}

// One loaded program per (program, map): the program is bound to the map fd.
KernelProg* program_for(const char* prog, const MapFixture& f, std::string* why) {
  static std::mutex mu;
  static std::map<std::tuple<std::string, int>, std::unique_ptr<KernelProg>> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto key = std::make_tuple(std::string(prog), f.fd);
  if (auto it = cache.find(key); it != cache.end()) return it->second.get();
  auto kp = KernelProg::load(BpfObj::kBenchOps, prog, f.fd, TargetDef{}, why);
  if (kp == nullptr) return nullptr;
  return (cache[key] = std::move(kp)).get();
}

void kernel_run(benchmark::State& state, MapFixture& f, Keys keys, bool update) {
  std::string why;
  const char* prog = f.type->lpm            ? (update ? "update_lpm" : "lookup_lpm")
                     : keys == Keys::kScattered ? (update ? "update_u32_scattered" : "lookup_u32_scattered")
                                                : (update ? "update_u32" : "lookup_u32");
  KernelProg* kp = program_for(prog, f, &why);
  if (kp == nullptr) return skip(state, why);
  const uint32_t space = keys == Keys::kEvict ? f.entries * 2 : f.entries;
  if (state.thread_index() == 0) {
    BenchOpsCfg cfg{space, stride_for(space), 0, 0, 0};
    uint32_t zero = 0;
    f.backend->map_update_elem(kp->map_fd("cfg_map"), &zero, &cfg, BPF_ANY);
  }
  // ~25k ops per test run: long enough to hide the syscall, short enough to
  // let the harness pick an iteration count.
  constexpr uint32_t kRepeat = 100;
  double kernel_ns = 0;
  for (auto _ : state) {
    uint32_t avg_ns = 0;
    if (int r = kp->run(kRepeat, &avg_ns); r != 0) {
      state.SkipWithError(("BPF_PROG_TEST_RUN: " + std::string(strerror(-r))).c_str());
      break;
    }
    kernel_ns += static_cast<double>(avg_ns) * kRepeat;
  }
  const double ops = static_cast<double>(state.iterations()) * kRepeat * kOpsPerRun;
  state.SetItemsProcessed(static_cast<int64_t>(ops));
  // The in-kernel per-op cost as BPF_PROG_TEST_RUN measures it (duration /
  // (repeat * ops per run)); the harness's own time also includes the syscall.
  state.counters["kernel_ns_per_op"] =
      benchmark::Counter(ops > 0 ? kernel_ns / ops : 0, benchmark::Counter::kAvgThreads);
}

using Body = void (*)(benchmark::State&, MapFixture&, Keys);

void add(const char* op, const TypeInfo& t, const char* be, uint32_t n, Body body, Keys keys, bool scaled,
         bool writes = false) {
  const char* fixture_be = std::string(be) == "emu_prog" ? "emu" : "kernel";
  const char* tag = keys == Keys::kEvict ? "evict" : writes ? writes_tag(t) : "";
  auto fn = [&t, fixture_be, n, body, keys, tag](benchmark::State& state) {
    std::string why;
    MapFixture* f = filled_map(fixture_be, t, n, &why, tag, key_set(keys));
    if (f == nullptr) return skip(state, why);
    body(state, *f, keys);
  };
  auto reg = [&] { return benchmark::RegisterBenchmark(bench_name(op, t.name, be, n).c_str(), fn); };
  reg();
  if (scaled && host_cpus() > 1) reg()->Threads(host_cpus());
}

void kernel_lookup(benchmark::State& s, MapFixture& f, Keys k) { kernel_run(s, f, k, false); }
void kernel_update(benchmark::State& s, MapFixture& f, Keys k) { kernel_run(s, f, k, true); }

}  // namespace

void register_prog_reads(const TypeInfo& t, uint32_t n) {
  add("lookup", t, "emu_prog", n, emu_lookup, Keys::kFilled, true);
  add("lookup", t, "kernel_prog", n, kernel_lookup, Keys::kFilled, true);
  if (has_random_keys_rows(t)) {
    add("lookup_random_keys", t, "emu_prog", n, emu_lookup<KeySet::kScattered>, Keys::kScattered, false);
    add("lookup_random_keys", t, "kernel_prog", n, kernel_lookup, Keys::kScattered, false);
  }
}

void register_prog_writes(const TypeInfo& t, uint32_t n) {
  add("update_existing", t, "emu_prog", n, emu_update, Keys::kFilled, true, true);
  add("update_existing", t, "kernel_prog", n, kernel_update, Keys::kFilled, true, true);
  if (has_random_keys_rows(t)) {
    add("update_existing_random_keys", t, "emu_prog", n, emu_update<KeySet::kScattered>, Keys::kScattered, false,
        true);
    add("update_existing_random_keys", t, "kernel_prog", n, kernel_update, Keys::kScattered, false, true);
  }
  if (t.lru) {
    add("update_evict", t, "emu_prog", n, emu_update, Keys::kEvict, false);
    add("update_evict", t, "kernel_prog", n, kernel_update, Keys::kEvict, false);
  }
}

}  // namespace bench
