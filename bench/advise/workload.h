// A workload for bpfemu-advise: what a program does with one map.
//
// Either generated from a spec file (key space, distribution, op mix, sizes,
// CPUs) or replayed from a recorded trace of map operations. Both end up as the
// same logical op list; candidates.h turns it into the per-map-type op stream.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace advise {

enum class OpKind : uint8_t {
  kLookup = 0,     // bpf_map_lookup_elem; LPM workloads: longest-prefix match
  kUpdate = 1,     // bpf_map_update_elem(BPF_ANY)
  kDelete = 2,     // bpf_map_delete_elem
  kIncrement = 3,  // counter: lookup, add 1 in place; insert 1 when missing
  kLookupInsert = 4,  // lookup; on a miss insert the key (BPF_NOEXIST), as conntrack does
};
inline constexpr int kOpKinds = 5;
const char* op_name(OpKind k);

enum class KeyKind { kExact, kDense, kPrefix };
enum class Side { kProg, kSyscall };

struct Spec {
  std::string name = "workload";
  std::string description;
  std::string path;  // the spec file (trace paths are relative to it)
  uint32_t key_size = 4;
  uint32_t value_size = 8;
  uint32_t keys = 10000;      // distinct keys (key space)
  uint32_t capacity = 0;      // max_entries a map would get; 0 = keys
  uint32_t ops = 100000;      // logical ops to replay
  double mix[kOpKinds] = {1, 0, 0, 0, 0};  // weights by OpKind
  std::string distribution = "uniform";  // uniform | zipf:S | sequential
  uint32_t cpus = 1;
  Side side = Side::kProg;
  KeyKind key_kind = KeyKind::kExact;
  std::vector<uint32_t> prefix_lengths;  // prefix keys: lengths in use
  bool counter_values = false;  // value_kind = counter: per-CPU slots may be summed
  uint32_t prefill = 0;         // keys (most popular first) inserted before the run
  std::string trace;            // replay this trace instead of generating
  uint64_t seed = 1;
};

// One logical op; its key is keys[i * key_size ...] of the Workload.
struct LogicalOp {
  OpKind kind;
  uint16_t cpu;
};

struct Workload {
  Spec spec;
  std::vector<LogicalOp> ops;  // the first n_setup are untimed setup (prefill)
  size_t n_setup = 0;
  std::vector<uint8_t> keys;  // ops.size() * key_size bytes
  const uint8_t* key(size_t i) const { return keys.data() + i * spec.key_size; }
};

// Parses a spec file; false with *err (file:line: message) on a bad line.
bool parse_spec(const std::string& path, Spec* out, std::string* err);
// Builds the op list (generating, or reading spec.trace). False with *err.
bool build_workload(const Spec& spec, Workload* out, std::string* err);
// Writes a workload as a trace file (the format read_trace accepts).
bool write_trace(const Workload& w, const std::string& path, std::string* err);
// One-line summary, e.g. "200000 ops (lookup 80%, update 15%, delete 5%) ...".
std::string describe(const Spec& spec, const Workload& w);

// Prefix keys: {u32 prefixlen; u8 data[key_size - 4]} with data as a
// big-endian bit string; bits past prefixlen cleared.
void mask_prefix(uint8_t* key, uint32_t key_size, uint32_t prefixlen);

}  // namespace advise
