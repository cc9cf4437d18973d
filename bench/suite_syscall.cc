// Syscall-style operations through bpfemu::Backend: backend `emu` (the emulator)
// and `kernel` (real bpf(2) through libbpf). The same code drives both.
#include <cerrno>
#include <cstring>
#include <vector>

#include "common.h"

namespace bench {
namespace {

using Body = void (*)(benchmark::State&, MapFixture&);

// How many ops a manually timed iteration does: enough to amortise the clock
// reads, few enough to leave the map (almost) full.
uint32_t batch_ops(uint32_t n) { return std::min<uint32_t>(n / 4, 512); }

template <KeySet kKeys = KeySet::kDense>
void lookup(benchmark::State& state, MapFixture& f) {
  const uint32_t threads = static_cast<uint32_t>(state.threads());
  KeyWalk w(f.entries, f.entries / threads * static_cast<uint32_t>(state.thread_index()));
  KeyBuf kb;
  std::vector<uint8_t> value(f.value_bytes);
  int64_t misses = 0;
  for (auto _ : state) {
    if (f.backend->map_lookup_elem(f.fd, kb.set(*f.type, w.next(), kKeys), value.data()) != 0) ++misses;
    benchmark::DoNotOptimize(value.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["miss_rate"] = benchmark::Counter(static_cast<double>(misses), benchmark::Counter::kAvgIterations);
}

// BPF_ANY updates of the keys `w` walks, one per iteration.
template <KeySet kKeys = KeySet::kDense>
void update_walk(benchmark::State& state, MapFixture& f, KeyWalk w) {
  KeyBuf kb;
  std::vector<uint64_t> value(f.value_bytes / 8, 1);
  int64_t errors = 0;
  for (auto _ : state) {
    uint32_t k = w.next();
    value[0] = k;
    if (f.backend->map_update_elem(f.fd, kb.set(*f.type, k, kKeys), value.data(), BPF_ANY) != 0) ++errors;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["error_rate"] = benchmark::Counter(static_cast<double>(errors), benchmark::Counter::kAvgIterations);
}

template <KeySet kKeys = KeySet::kDense>
void update_existing(benchmark::State& state, MapFixture& f) {
  const uint32_t threads = static_cast<uint32_t>(state.threads());
  update_walk<kKeys>(state, f, KeyWalk(f.entries, f.entries / threads * static_cast<uint32_t>(state.thread_index())));
}

// Timed: one of insert / delete / lookup_and_delete over a batch of absent or
// present keys; untimed (PauseTiming): choosing the keys and putting the map
// back as it was. One pause per batch of up to 512 ops keeps the timer's own
// cost (two clock reads) near 1 ns per op.
enum class Mutation { kInsert, kDelete, kLookupAndDelete };

template <Mutation M>
void mutate(benchmark::State& state, MapFixture& f) {
  const uint32_t batch = batch_ops(f.entries);
  KeyWalk w(f.entries);
  KeyBuf kb;
  std::vector<uint32_t> keys(batch);
  std::vector<uint64_t> value(f.value_bytes / 8, 1);
  int64_t errors = 0, items = 0;
  bpfemu::Backend& be = *f.backend;
  for (auto _ : state) {
    state.PauseTiming();
    // Deletes get keys that are present: an LRU map evicts keys behind our back
    // (even an update of an existing key may evict another), and deleting a
    // missing key would time the miss path instead.
    uint32_t n = 0;
    for (uint32_t probes = 0; n < batch && probes < 4 * batch; ++probes) {
      uint32_t k = w.next();
      if (M == Mutation::kInsert || be.map_lookup_elem(f.fd, kb.set(*f.type, k), value.data()) == 0) keys[n++] = k;
    }
    if (M == Mutation::kInsert)
      for (uint32_t i = 0; i < n; ++i) be.map_delete_elem(f.fd, kb.set(*f.type, keys[i]));
    state.ResumeTiming();
    for (uint32_t i = 0; i < n; ++i) {
      const void* key = kb.set(*f.type, keys[i]);
      int r;
      if (M == Mutation::kInsert)
        r = be.map_update_elem(f.fd, key, value.data(), BPF_NOEXIST);
      else if (M == Mutation::kDelete)
        r = be.map_delete_elem(f.fd, key);
      else
        r = be.map_lookup_and_delete_elem(f.fd, key, value.data());
      errors += r != 0;
    }
    state.PauseTiming();
    items += n;
    if (M != Mutation::kInsert)
      for (uint32_t i = 0; i < n; ++i) {
        value[0] = keys[i];
        be.map_update_elem(f.fd, kb.set(*f.type, keys[i]), value.data(), BPF_ANY);
      }
    state.ResumeTiming();
  }
  state.SetItemsProcessed(items);
  state.counters["error_rate"] = static_cast<double>(errors) / static_cast<double>(items > 0 ? items : 1);
}

// One get_next_key step per iteration; a walk that reaches the end restarts.
void get_next_key(benchmark::State& state, MapFixture& f) {
  KeyBuf cur{}, next{};
  bool have = false;
  for (auto _ : state) {
    int r = f.backend->map_get_next_key(f.fd, have ? cur.w : nullptr, next.w);
    have = r == 0;
    cur = next;
  }
  state.SetItemsProcessed(state.iterations());
}

// One BPF_MAP_LOOKUP_BATCH of up to 256 elements per iteration; items = elements.
void lookup_batch(benchmark::State& state, MapFixture& f) {
  constexpr uint32_t kBatch = 256;
  const uint32_t ks = key_size_of(*f.type);
  std::vector<uint8_t> keys(size_t{kBatch} * ks), values(size_t{kBatch} * f.value_bytes);
  alignas(8) uint8_t in[64] = {}, out[64] = {};
  bool first = true;
  int64_t items = 0;
  for (auto _ : state) {
    uint32_t count = kBatch;
    bpfemu::BatchOpts opts;
    int r = f.backend->map_lookup_batch(f.fd, first ? nullptr : in, out, keys.data(), values.data(), &count, &opts);
    if (r != 0 && r != -ENOENT) {
      state.SkipWithError((std::string("lookup_batch: ") + strerror(-r)).c_str());
      break;
    }
    items += count;
    first = r == -ENOENT;
    memcpy(in, out, sizeof(in));
  }
  state.SetItemsProcessed(items);
}

// LRU under eviction: the map is full and keys walk a space twice its size, so
// every update inserts a key the LRU no longer holds and evicts another.
void update_evict(benchmark::State& state, MapFixture& f) { update_walk(state, f, KeyWalk(f.entries * 2, f.entries)); }

// QUEUE and STACK: a batch of pushes (or pops) timed, then undone untimed, so
// the map stays half full: a queue's head and tail walk around the ring, a
// stack's top moves up and back.
template <bool kPush>
void push_pop(benchmark::State& state, MapFixture& f) {
  const uint32_t batch = batch_ops(f.entries);
  bpfemu::Backend& be = *f.backend;
  uint64_t value = 0;
  int64_t errors = 0, items = 0;
  auto push = [&] { return be.map_update_elem(f.fd, nullptr, &value, BPF_ANY); };
  auto pop = [&] { return be.map_lookup_and_delete_elem(f.fd, nullptr, &value); };
  for (auto _ : state) {
    for (uint32_t i = 0; i < batch; ++i) errors += (kPush ? push() : pop()) != 0;
    state.PauseTiming();
    for (uint32_t i = 0; i < batch; ++i) kPush ? pop() : push();
    items += batch;
    state.ResumeTiming();
  }
  state.SetItemsProcessed(items);
  state.counters["error_rate"] = static_cast<double>(errors) / static_cast<double>(items > 0 ? items : 1);
}

benchmark::internal::Benchmark* add(const char* op, const TypeInfo& t, const char* be, uint32_t n, Body body,
                                    const char* tag = "", KeySet keys = KeySet::kDense) {
  auto* b = benchmark::RegisterBenchmark(bench_name(op, t.name, be, n).c_str(),
                                         [&t, be = std::string(be), n, body, tag, keys](benchmark::State& state) {
                                           std::string why;
                                           MapFixture* f = filled_map(be, t, n, &why, tag, keys);
                                           if (f == nullptr) return skip(state, why);
                                           body(state, *f);
                                         });
  return b;
}

// The same benchmark once single-threaded and once on every core.
void add_scaled(const char* op, const TypeInfo& t, const char* be, uint32_t n, Body body, const char* tag = "") {
  add(op, t, be, n, body, tag);
  if (host_cpus() > 1) add(op, t, be, n, body, tag)->Threads(host_cpus());
}

}  // namespace

void register_syscall_reads(const TypeInfo& t, uint32_t n) {
  // Through the emulated bpf(2), as libbpf's own wrapper makes the call.
  if (t.type == BPF_MAP_TYPE_HASH || t.type == BPF_MAP_TYPE_ARRAY) add("lookup", t, "emu_syscall", n, lookup);
  for (const char* be : {"emu", "kernel"}) {
    add_scaled("lookup", t, be, n, lookup);
    if (has_random_keys_rows(t))
      add("lookup_random_keys", t, be, n, lookup<KeySet::kScattered>, "", KeySet::kScattered);
    add("get_next_key", t, be, n, get_next_key);
    add("lookup_batch", t, be, n, lookup_batch);
  }
}

void register_syscall_writes(const TypeInfo& t, uint32_t n) {
  const char* tag = writes_tag(t);
  if (t.type == BPF_MAP_TYPE_HASH || t.type == BPF_MAP_TYPE_ARRAY)
    add("update_existing", t, "emu_syscall", n, update_existing, tag);
  for (const char* be : {"emu", "kernel"}) {
    add_scaled("update_existing", t, be, n, update_existing, tag);
    if (has_random_keys_rows(t))
      add("update_existing_random_keys", t, be, n, update_existing<KeySet::kScattered>, tag, KeySet::kScattered);
    if (!t.hash_like) continue;
    add("update_new", t, be, n, mutate<Mutation::kInsert>, tag);
    add("delete", t, be, n, mutate<Mutation::kDelete>, tag);
    if (!t.lpm) add("lookup_and_delete", t, be, n, mutate<Mutation::kLookupAndDelete>, tag);
    if (t.lru) add("update_evict", t, be, n, update_evict, "evict");
  }
}

void register_syscall_queue(const TypeInfo& t, uint32_t n) {
  for (const char* be : {"emu", "kernel"}) {
    add("push", t, be, n, push_pop<true>);
    add("pop", t, be, n, push_pop<false>);
  }
}

}  // namespace bench
