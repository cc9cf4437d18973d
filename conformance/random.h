// Randomized differential testing: seeded op sequences on one map, run on the
// emulator and on the kernel in lockstep through the Recorder, with any
// difference shrunk (delta debugging) to a minimal SCENARIO(...) reproducer.
//
//   MapConfig  = a random valid map configuration + the small key space ops draw from
//   Op         = one Recorder call (update, lookup, walk, batch walk, ...), fully
//                explicit (keys, values, flags), so a sequence replays identically
//   run_lockstep   replays a sequence on two backends, stops at the first difference
//   shrink         reduces a differing sequence (generic over a "still differs" predicate)
//   emit_scenario  prints a sequence as C++ that compiles in conformance/scenarios_*.cc
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "bpfemu/backend.h"
#include "conformance/runner.h"
#include "conformance/scenario.h"

namespace bpfemu::conformance::randomized {

struct MapConfig {
  uint32_t type = 0;
  std::string type_name;  // "HASH", "LRU_PERCPU_HASH", ...
  uint32_t key_size = 4;
  uint32_t value_size = 8;
  uint32_t max_entries = 1;
  uint32_t flags = 0;
  uint64_t map_extra = 0;      // BLOOM_FILTER: the number of hash functions (0: 5)
  int ncpus = 1;               // possible CPUs (per-CPU value layout)
  bool ordered = true;         // get_next_key / batch order is deterministic (compared as is)
  bool prog_ops = false;       // program-side ops too (key_size 4, value_size 4 or 8, not LPM)
  // Per-CPU values written by syscalls carry zero padding (bytes value_size..round_up(8)
  // of each CPU's slot). The kernel's program-side insert zeroes/copies only value_size
  // bytes per CPU, so padding left by an earlier syscall write of a reused element
  // shows through; with BPF_F_NO_PREALLOC which memory is reused is not deterministic.
  bool zero_padding = false;
  std::vector<Bytes> keys;     // the key space (hash/LRU: whole keys; arrays: u32 indices)
  // LPM_TRIE: keys are lpm_key(prefix, data) with prefix from prefixes, data from lpm_data.
  std::vector<uint32_t> prefixes;
  std::vector<Bytes> lpm_data;
  // BLOOM_FILTER: the values pushes and checks draw from (few, so they collide).
  // With a random seed (ordered == false) checks only use values pushed before,
  // the one answer that does not depend on the seed.
  std::vector<Bytes> values;

  bool is_lpm() const { return type == BPF_MAP_TYPE_LPM_TRIE; }
  bool is_array() const { return type == BPF_MAP_TYPE_ARRAY || type == BPF_MAP_TYPE_PERCPU_ARRAY; }
  bool is_bloom() const { return type == BPF_MAP_TYPE_BLOOM_FILTER; }
  bool is_queue_stack() const { return type == BPF_MAP_TYPE_QUEUE || type == BPF_MAP_TYPE_STACK; }
  // No key (key_size 0): update pushes, lookup peeks (a bloom filter: checks).
  bool is_keyless() const { return is_bloom() || is_queue_stack(); }
  bool is_hash() const { return !is_lpm() && !is_array() && !is_keyless(); }
  // Value size as syscalls see it (ncpus * round_up(value_size, 8) for per-CPU maps).
  size_t sys_value_size() const;
  size_t key_space() const { return is_lpm() ? prefixes.size() * lpm_data.size() : keys.size(); }
  std::string describe() const;  // "key=4,value=8,max=3,flags=0x400,keyspace=9"
};

enum class OpKind : uint8_t {
  Update,
  Lookup,
  Delete,
  LookupAndDelete,
  NextKey,
  Walk,         // ordered walk (Recorder::walk), or walk_set when the config is unordered
  LookupBatch,  // one lookup_batch / lookup_and_delete_batch call
  BatchWalk,    // Recorder::batch_walk
  UpdateBatch,
  DeleteBatch,
  // Program-side helpers (Recorder::prog_*; maps with 4-byte keys and 4/8-byte values).
  ProgLookup,  // sets the LRU reference bit, unlike a syscall lookup
  ProgUpdate,
  ProgDelete,
  ProgForEach,
  SetCpu,  // Recorder::set_cpu: later syscalls and programs run on that CPU (LRU lists, per-CPU slots)
  // Program-side helpers of key-less maps (Recorder::prog_push/pop/peek; values up to 64 bytes).
  ProgPush,
  ProgPop,   // QUEUE and STACK only (the verifier refuses it on a bloom filter)
  ProgPeek,  // a bloom filter's peek checks op.value
  // bpf_for_each_map_elem whose callback deletes each element it visits
  // (Recorder::prog_for_each_delete; stop_at 0 only when the order is seeded randomly).
  ProgForEachDelete,
};
const char* op_kind_name(OpKind k);

struct Op {
  OpKind kind = OpKind::Lookup;
  uint32_t id = 0;                 // position in the generated sequence (for reports)
  std::optional<Bytes> key;        // nullopt = NULL pointer (Prog*: always 4 bytes)
  std::optional<Bytes> value;      // Update/ProgUpdate/ProgPush; a bloom filter's Lookup/ProgPeek; nullopt = NULL
  uint64_t flags = 0;              // elem flags (update/lookup/delete), batch opts.flags
  uint64_t elem_flags = 0;         // batch opts.elem_flags
  uint32_t count = 0;              // batch count
  std::optional<uint32_t> in_batch;  // LookupBatch token (nullopt = NULL)
  bool do_delete = false;          // LookupBatch/BatchWalk: the lookup_and_delete variant
  std::vector<Bytes> keys, values;  // UpdateBatch/DeleteBatch
  uint32_t stop_at = 0;            // ProgForEach, ProgForEachDelete
  int cpu = 0;                     // SetCpu
};

enum class PaddingMode {
  Auto,    // zero padding only where the kernel's padding is not reproducible (per-CPU maps with
           // prog ops and BPF_F_NO_PREALLOC or a random hash seed)
  Zero,    // always zero padding (sidesteps the stale-padding difference)
  Random,  // never: padding bytes are random like the rest
};

// A random valid configuration for `type`. The seed picks one of the type's flag
// mixes (see random.cc); everything else comes from a generator seeded with it.
MapConfig random_config(uint32_t type, uint64_t seed, int ncpus, PaddingMode padding = PaddingMode::Auto);
// n random ops for cfg, deterministic in (cfg, seed).
std::vector<Op> generate_ops(const MapConfig& cfg, uint64_t seed, size_t n);

// Applies one op through a Recorder (records one or more steps).
void apply(Recorder& r, int fd, const MapConfig& cfg, const Op& op);
// The same call as C++ source (one statement, no indentation, no newline).
std::string emit_op(const MapConfig& cfg, const Op& op);
std::string emit_create(const MapConfig& cfg);
// A SCENARIO(type, "random_repro", name) block replaying cfg + ops; comment lines
// (without "// ") go above it.
std::string emit_scenario(const MapConfig& cfg, const std::vector<Op>& ops, const std::string& name,
                          const std::vector<std::string>& comment);

struct LockstepResult {
  bool differs = false;
  // Number of ops that had run when the difference showed (the differing op is
  // ops[ops_run - 1]); 0 when the create differed.
  size_t ops_run = 0;
  size_t steps = 0;    // steps compared
  std::string detail;  // first differing step (diff_steps format)
  // With count_outcomes: how often each op kind ended how ("update ok", "update EEXIST",
  // ...; the last step of the op on the first backend), for judging the mix.
  std::map<std::string, size_t> outcomes;
};
// Creates the map on both backends and replays ops in lockstep, comparing each
// op's steps; stops at the first difference.
LockstepResult run_lockstep(Backend& a, Backend& b, const MapConfig& cfg, const std::vector<Op>& ops,
                            bool count_outcomes = false);
// Replays on one backend only (nothing to compare); returns the number of steps.
size_t run_single(Backend& b, const MapConfig& cfg, const std::vector<Op>& ops);

// ---- shrinking ----

struct ShrinkOptions {
  size_t max_runs = 20000;     // predicate evaluations
  double max_seconds = 300;    // wall-clock budget
};
struct ShrinkStats {
  size_t runs = 0;
  bool budget_exhausted = false;
  bool reproduced = true;  // false when the input itself did not fail (flaky)
};
// Returns the length of the prefix of ops that still shows the difference
// (ops_run of run_lockstep), or nullopt when the candidate does not differ.
using FailsFn = std::function<std::optional<size_t>(const std::vector<Op>&)>;
// Simpler versions of an op to try in place of it (flags cleared, zero values, ...).
using VariantsFn = std::function<std::vector<Op>(const Op&)>;
std::vector<Op> default_variants(const Op& op);
// default_variants plus what needs the config: a uniform value, a one-element
// batch update/delete as a plain update/delete.
VariantsFn variants_for(const MapConfig& cfg);
// Whole-sequence simplifications to try (e.g. renaming a key everywhere to u32(1)).
using GlobalVariantsFn = std::function<std::vector<std::vector<Op>>(const std::vector<Op>&)>;
GlobalVariantsFn global_variants_for(const MapConfig& cfg);

// Delta debugging: removes chunks of ops (halving the chunk size down to single
// ops) while fails() still reports a difference, truncating each candidate to its
// failing prefix; then tries variants op by op, then the global variants; repeats
// until nothing changes or the budget runs out. The result is 1-minimal (no
// single op can be dropped) unless the budget ran out.
std::vector<Op> shrink(std::vector<Op> ops, const FailsFn& fails, const VariantsFn& variants,
                       const ShrinkOptions& opts = {}, ShrinkStats* stats = nullptr,
                       const GlobalVariantsFn& global = nullptr);

// ---- the CLI mode ----

struct RandomRunOptions {
  size_t n_ops = 1000;
  std::vector<uint64_t> seeds{1};
  std::set<std::string> types;  // empty = all supported
  Backend* emu = nullptr;
  Backend* kernel = nullptr;
  std::string kernel_label;
  std::string not_run_reason;
  ShrinkOptions shrink;
  PaddingMode padding = PaddingMode::Auto;
  bool verbose = false;  // progress on stderr
};
struct RandomRunResult {
  std::vector<Row> rows;
  std::vector<std::string> reproducers;  // one SCENARIO block per differing row
};
// Map types the random mode covers (names as in BPF_MAP_TYPE_*).
const std::vector<std::string>& supported_types();
RandomRunResult run_random(const RandomRunOptions& opts);
// Parses "S", "A..B" or a comma list of those; false on syntax errors.
bool parse_seeds(const std::string& s, std::vector<uint64_t>* out);

}  // namespace bpfemu::conformance::randomized
