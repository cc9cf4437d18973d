// What one cache miss costs on this machine: a pointer chase (each load's
// address comes from the previous load, so nothing overlaps) through a random
// cycle over a buffer of a map's size. The report prints it next to the
// machine description: a map operation that must wait for one miss (an
// update, whose lock serialises it) cannot be cheaper than this.
#include <algorithm>
#include <memory>
#include <numeric>
#include <random>
#include <vector>

#include "common.h"

namespace bench {
namespace {

constexpr size_t kLine = 64;

void pointer_chase(benchmark::State& state, size_t bytes) {
  const size_t n = bytes / kLine;
  struct alignas(kLine) Node {
    Node* next;
  };
  std::unique_ptr<Node[]> nodes(new Node[n]);
  // Sattolo's algorithm: a random permutation that is one single cycle.
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::mt19937_64 rng(42);
  for (size_t i = n - 1; i > 0; --i) std::swap(order[i], order[std::uniform_int_distribution<size_t>(0, i - 1)(rng)]);
  for (size_t i = 0; i < n; ++i) nodes[i].next = &nodes[order[i]];
  Node* p = &nodes[0];
  for (auto _ : state) {
    p = p->next;
    benchmark::DoNotOptimize(p);
  }
  state.SetItemsProcessed(state.iterations());
}

}  // namespace

// Buffer sizes around the footprints of the 1k, 100k and 1M maps, and one far
// beyond the last-level cache.
void register_latency() {
  for (size_t bytes : {size_t{32} << 10, size_t{4} << 20, size_t{32} << 20, size_t{256} << 20})
    benchmark::RegisterBenchmark(bench_name("dependent_load", "MEMORY", "pointer_chase", static_cast<uint32_t>(bytes)).c_str(),
                                 [bytes](benchmark::State& state) { pointer_chase(state, bytes); });
}

}  // namespace bench
