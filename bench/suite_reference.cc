// Reference containers: what the same operations cost in a plain in-process
// container with no BPF semantics at all. `std_unordered_map` (node-based) and
// `boost_flat_map` (boost::unordered_flat_map, open addressing, SIMD probing)
// stand in for HASH; `std_vector` stands in for ARRAY. Same keys, same walk,
// same value size as the map benchmarks; single-threaded (they are not
// thread-safe, so a multi-threaded row would measure a lock we added).
#include <boost/unordered/unordered_flat_map.hpp>
#include <unordered_map>
#include <vector>

#include "common.h"

namespace bench {
namespace {

template <class M, KeySet kKeys = KeySet::kDense>
M filled(uint32_t n) {
  M m;
  m.reserve(n);
  for (uint32_t k = 0; k < n; ++k) m.emplace(key_of(k, kKeys), uint64_t{k});
  return m;
}

template <class M, KeySet kKeys = KeySet::kDense>
void map_lookup(benchmark::State& state, uint32_t n) {
  M m = filled<M, kKeys>(n);
  KeyWalk w(n);
  uint64_t out = 0;
  for (auto _ : state) {
    auto it = m.find(key_of(w.next(), kKeys));
    if (it != m.end()) out = it->second;  // copy the value out, as a syscall lookup does
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations());
}

template <class M, KeySet kKeys = KeySet::kDense>
void map_update_existing(benchmark::State& state, uint32_t n) {
  M m = filled<M, kKeys>(n);
  KeyWalk w(n);
  for (auto _ : state) {
    uint32_t k = w.next();
    m.insert_or_assign(key_of(k, kKeys), uint64_t{k});
  }
  state.SetItemsProcessed(state.iterations());
}

// Batch of inserts (timed) / erases (timed), the other half untimed
// (PauseTiming), as in the syscall suite's update_new and delete.
template <class M, bool kInsert>
void map_mutate(benchmark::State& state, uint32_t n) {
  M m = filled<M>(n);
  const uint32_t batch = std::min<uint32_t>(n / 4, 512);
  KeyWalk w(n);
  std::vector<uint32_t> keys(batch);
  for (auto _ : state) {
    state.PauseTiming();
    for (uint32_t& k : keys) k = w.next();
    if (kInsert)
      for (uint32_t k : keys) m.erase(k);
    state.ResumeTiming();
    for (uint32_t k : keys) {
      if (kInsert)
        m.emplace(k, uint64_t{k});
      else
        m.erase(k);
    }
    state.PauseTiming();
    if (!kInsert)
      for (uint32_t k : keys) m.emplace(k, uint64_t{k});
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * batch);
}

void vector_lookup(benchmark::State& state, uint32_t n) {
  std::vector<uint64_t> v(n);
  KeyWalk w(n);
  uint64_t out = 0;
  for (auto _ : state) {
    uint32_t k = w.next();
    if (k < v.size()) out = v[k];  // bounds check, as ARRAY lookup does
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations());
}

void vector_update(benchmark::State& state, uint32_t n) {
  std::vector<uint64_t> v(n);
  KeyWalk w(n);
  for (auto _ : state) {
    uint32_t k = w.next();
    if (k < v.size()) v[k] = k;
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
}

using Body = void (*)(benchmark::State&, uint32_t);

void add(const char* op, const char* type, const char* be, uint32_t n, Body body) {
  benchmark::RegisterBenchmark(bench_name(op, type, be, n).c_str(),
                               [n, body](benchmark::State& state) { body(state, n); });
}

template <class M>
void add_map(const char* be, uint32_t n) {
  add("lookup", "HASH", be, n, map_lookup<M>);
  add("update_existing", "HASH", be, n, map_update_existing<M>);
  add("update_new", "HASH", be, n, map_mutate<M, true>);
  add("delete", "HASH", be, n, map_mutate<M, false>);
  add("lookup_random_keys", "HASH", be, n, map_lookup<M, KeySet::kScattered>);
  add("update_existing_random_keys", "HASH", be, n, map_update_existing<M, KeySet::kScattered>);
}

}  // namespace

void register_reference(uint32_t n) {
  add_map<std::unordered_map<uint32_t, uint64_t>>("std_unordered_map", n);
  add_map<boost::unordered_flat_map<uint32_t, uint64_t>>("boost_flat_map", n);
  add("lookup", "ARRAY", "std_vector", n, vector_lookup);
  add("update_existing", "ARRAY", "std_vector", n, vector_update);
}

}  // namespace bench
