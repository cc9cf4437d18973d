// Shared pieces of the benchmark suites: the map-type matrix, the key walk every
// backend uses, and a cache of filled maps so that each (backend, type, entries)
// map is created and filled once per run, however many benchmarks read it.
//
// Every benchmark reports items processed = map operations done, and the harness
// times CPU time of the benchmark threads (user + kernel), so the report derives
// CPU ns/op as 1e9 / items_per_second whatever an iteration contains (one op, a
// batch of ops between PauseTiming calls, or a whole BPF_PROG_TEST_RUN). CPU
// time rather than wall time: on a shared machine other processes' load does
// not count, while kernel time spent in bpf(2) does.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <vector>

#include "bpf/bench_keys.h"
#include "bpfemu/backend.h"

namespace bench {

// Key 4 bytes (u32), value 8 bytes (u64), as in the kernel's own map_perf_test;
// LPM_TRIE keys are {u32 prefixlen = 32; u32 addr}.
inline constexpr uint32_t kKeySize = 4;
inline constexpr uint32_t kLpmKeySize = 8;
inline constexpr uint32_t kValueSize = 8;

struct TypeInfo {
  uint32_t type;
  const char* name;
  bool hash_like;  // keys can be inserted and deleted (not an array)
  bool percpu;
  bool lru;
  bool lpm;
};
// HASH, PERCPU_HASH, LRU_HASH, LRU_PERCPU_HASH, ARRAY, PERCPU_ARRAY, LPM_TRIE.
const std::vector<TypeInfo>& all_types();
// QUEUE, STACK: no keys, only the push/pop rows of suite_syscall.cc.
const std::vector<TypeInfo>& queue_types();
inline bool is_queue(const TypeInfo& t) { return t.type == BPF_MAP_TYPE_QUEUE || t.type == BPF_MAP_TYPE_STACK; }
const std::vector<uint32_t>& all_sizes();  // 1k, 100k, 1M entries
int host_cpus();

// Deterministic walk over 0..n-1: k = (k + stride) mod n with a stride coprime
// to n near n * 0.618, so consecutive keys land far apart (no prefetch luck on
// arrays) and every key is visited once per n steps. bench_ops.bpf.c walks the
// same way, so the emulator and the kernel see identical key sequences.
uint32_t stride_for(uint32_t n);
struct KeyWalk {
  KeyWalk(uint32_t n, uint32_t start = 0) : n(n), stride(stride_for(n)), k(start % n) {}
  uint32_t next() {
    k += stride;
    if (k >= n) k -= n;
    return k;
  }
  uint32_t n, stride, k;
};

// LPM address of key index k (bpf/bench_keys.h, shared with bench_ops.bpf.c).
inline uint32_t lpm_addr(uint32_t k) { return bench_lpm_addr(k); }

// Which keys a map holds. kDense: key index k is the key k itself, 0..n-1, as
// every backend and bench_ops.bpf.c walk them -- a common case in practice
// (indices, ports, pids), and one a multiplicative hash spreads unusually
// evenly. kScattered: key index k is scatter(k), keys that look random (the
// `*_random_keys` benchmarks), for the case of addresses or hashes as keys.
enum class KeySet { kDense, kScattered };

// A bijection on u32 that looks random (bpf/bench_keys.h).
inline uint32_t scatter(uint32_t k) { return bench_scatter(k); }

// The u32 key of key index k in a key set.
inline uint32_t key_of(uint32_t k, KeySet keys) { return keys == KeySet::kScattered ? scatter(k) : k; }

// Which types get `*_random_keys` rows: HASH only, whose emulator table hashes
// multiplicatively; the other hash maps use the kernel's jhash layout, which
// places any keys at random, and arrays take indices.
inline bool has_random_keys_rows(const TypeInfo& t) { return t.type == BPF_MAP_TYPE_HASH; }

// The key bytes of index k for a map type (u32, or an LPM /32 key).
struct KeyBuf {
  uint32_t w[2];
  const void* set(const TypeInfo& t, uint32_t k, KeySet keys = KeySet::kDense) {
    if (t.lpm) {
      w[0] = 32;
      w[1] = lpm_addr(k);
    } else {
      w[0] = key_of(k, keys);
    }
    return w;
  }
};
inline uint32_t key_size_of(const TypeInfo& t) { return t.lpm ? kLpmKeySize : kKeySize; }

// A filled map: key indices 0..entries-1 (keys as `keys` says) with value k
// (every CPU's slot for per-CPU).
struct MapFixture {
  bpfemu::Backend* backend = nullptr;
  const TypeInfo* type = nullptr;
  int fd = -1;
  uint32_t entries = 0;
  uint32_t value_bytes = 0;  // syscall-side value size (per-CPU: ncpus * 8)
  KeySet keys = KeySet::kDense;
};

// "emu" or "kernel". nullptr (with *why) when the backend is unusable.
bpfemu::Backend* backend(const std::string& name, std::string* why);

// The cached filled map, created on first use (thread-safe). nullptr with *why
// when the backend is unavailable or creation failed (e.g. a type not emulated yet).
// Benchmarks that leave a map in another state (LRU eviction) use their own tag.
MapFixture* filled_map(const std::string& backend_name, const TypeInfo& t, uint32_t entries, std::string* why,
                       const char* tag = "", KeySet keys = KeySet::kDense);
// A fresh map (not cached, caller closes) with max_entries = entries, filled with
// key indices 0..fill-1 (QUEUE, STACK: half full, values 0..entries/2-1 pushed).
int make_map(bpfemu::Backend& be, const TypeInfo& t, uint32_t entries, uint32_t fill, std::string* why,
             KeySet keys = KeySet::kDense);
// Inserts key indices [from, to) with value k.
int fill_keys(bpfemu::Backend& be, int fd, const TypeInfo& t, uint32_t from, uint32_t to,
              KeySet keys = KeySet::kDense);

// The filled_map tag of write benchmarks: LRU maps lose keys to eviction
// under updates, so their writes get maps of their own, and read benchmarks
// see full maps whatever order the benchmarks run in (run-full.sh interleaves
// repetitions at random).
inline const char* writes_tag(const TypeInfo& t) { return t.lru ? "writes" : ""; }

// Skips the benchmark (and keeps the loop contract) with a message.
void skip(benchmark::State& state, const std::string& why);

// Benchmark name in the suite's scheme: op/TYPE/backend/entries.
std::string bench_name(const char* op, const char* type, const char* backend, uint32_t entries);

// Suite registration. bench_main.cc calls these per (type, entries) in an order
// that runs every read-only benchmark of a map before anything that mutates it.
void register_syscall_reads(const TypeInfo& t, uint32_t n);
void register_syscall_writes(const TypeInfo& t, uint32_t n);
void register_syscall_queue(const TypeInfo& t, uint32_t n);
void register_prog_reads(const TypeInfo& t, uint32_t n);
void register_prog_writes(const TypeInfo& t, uint32_t n);
void register_reference(uint32_t n);
// prog_run rows: the interpreter against the kernel's JIT (suite_prog_run.cc).
void register_prog_run();
void register_memory(uint32_t n);
void register_latency();

}  // namespace bench
