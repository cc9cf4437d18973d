// Memory per element of a full map: `memory/<TYPE>/<backend>/<entries>`,
// measured once per map and reported as counters (bytes_per_elem, total_bytes,
// payload_bytes = key + syscall-side value).
//
//  - emu: bytes of the map's region file actually allocated (fstat st_blocks of
//    the map fd, which is the region file on tmpfs), minus the header page. The
//    region is sparse, so this counts only the pages the map has touched.
//  - kernel: the map's `memlock:` in /proc/self/fdinfo/<fd>, which on 6.x is the
//    kernel's own estimate of the map's memory (map_mem_usage).
//  - std_unordered_map / boost_flat_map: bytes requested from the allocator.
#include <sys/stat.h>

#include <atomic>
#include <boost/unordered/unordered_flat_map.hpp>
#include <cstdio>
#include <map>
#include <tuple>
#include <unordered_map>

#include "common.h"
#include "map_memory.h"

namespace bench {
namespace {

void report(benchmark::State& state, uint64_t bytes, uint32_t n, uint32_t payload) {
  for (auto _ : state) {
  }
  state.counters["bytes_per_elem"] = static_cast<double>(bytes) / n;
  state.counters["total_bytes"] = static_cast<double>(bytes);
  state.counters["payload_bytes"] = payload;
}

// The harness calls a benchmark several times (and once per repetition):
// measure each map once.
struct Measured {
  uint64_t bytes;
  uint32_t payload;
};

void map_memory(benchmark::State& state, const std::string& be_name, const TypeInfo& t, uint32_t n) {
  static std::map<std::tuple<std::string, uint32_t, uint32_t>, Measured> cache;
  auto key = std::make_tuple(be_name, t.type, n);
  auto it = cache.find(key);
  if (it == cache.end()) {
    std::string why;
    bpfemu::Backend* be = backend(be_name, &why);
    if (be == nullptr) return skip(state, why);
    int fd = make_map(*be, t, n, n, &why);
    if (fd < 0) return skip(state, why);
    uint64_t bytes = be->emulated() ? emu_map_bytes(fd) : kernel_map_bytes(fd);
    uint32_t value = t.percpu ? kValueSize * static_cast<uint32_t>(be->num_possible_cpus()) : kValueSize;
    be->close(fd);
    it = cache.emplace(key, Measured{bytes, key_size_of(t) + value}).first;
  }
  report(state, it->second.bytes, n, it->second.payload);
}

std::atomic<uint64_t> g_allocated{0};

// Counts what a container asks its allocator for.
template <class T>
struct CountingAlloc {
  using value_type = T;
  CountingAlloc() = default;
  template <class U>
  CountingAlloc(const CountingAlloc<U>&) {}
  T* allocate(size_t n) {
    g_allocated += n * sizeof(T);
    return std::allocator<T>().allocate(n);
  }
  void deallocate(T* p, size_t n) {
    g_allocated -= n * sizeof(T);
    std::allocator<T>().deallocate(p, n);
  }
  bool operator==(const CountingAlloc&) const { return true; }
  bool operator!=(const CountingAlloc&) const { return false; }
};

using Pair = std::pair<const uint32_t, uint64_t>;
using StdMap = std::unordered_map<uint32_t, uint64_t, std::hash<uint32_t>, std::equal_to<>, CountingAlloc<Pair>>;
using FlatMap =
    boost::unordered_flat_map<uint32_t, uint64_t, boost::hash<uint32_t>, std::equal_to<>, CountingAlloc<Pair>>;

template <class M>
void container_memory(benchmark::State& state, uint32_t n) {
  static std::map<uint32_t, uint64_t> cache;
  if (auto it = cache.find(n); it != cache.end()) return report(state, it->second, n, kKeySize + kValueSize);
  uint64_t before = g_allocated.load();
  uint64_t bytes;
  {
    // Grown by inserts, as a map filled at run time would be (no reserve).
    M m;
    for (uint32_t k = 0; k < n; ++k) m.emplace(k, uint64_t{k});
    bytes = g_allocated.load() - before;
  }
  cache[n] = bytes;
  report(state, bytes, n, kKeySize + kValueSize);
}

}  // namespace

void register_memory(uint32_t n) {
  for (const TypeInfo& t : all_types())
    for (const char* be : {"emu", "kernel"})
      benchmark::RegisterBenchmark(bench_name("memory", t.name, be, n).c_str(),
                                   [&t, be = std::string(be), n](benchmark::State& s) { map_memory(s, be, t, n); });
  benchmark::RegisterBenchmark(bench_name("memory", "HASH", "std_unordered_map", n).c_str(),
                               [n](benchmark::State& s) { container_memory<StdMap>(s, n); });
  benchmark::RegisterBenchmark(bench_name("memory", "HASH", "boost_flat_map", n).c_str(),
                               [n](benchmark::State& s) { container_memory<FlatMap>(s, n); });
}

}  // namespace bench
