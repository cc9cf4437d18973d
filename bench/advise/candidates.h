// Which map types could serve a workload, and the op stream each would see.
//
// A candidate is a map type plus how the workload maps onto it: an ARRAY has no
// delete (the program would zero the value instead), a HASH can stand in for an
// LPM trie by probing each prefix length longest-first, per-CPU types only serve
// counter-like values. Its stream is what the replayers execute, identically on
// the emulator and in the kernel.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "advise/workload.h"

namespace advise {

struct Candidate {
  std::string label;      // e.g. "LRU_HASH", "HASH x4 probes"
  uint32_t type = 0;      // BPF_MAP_TYPE_*
  uint32_t key_size = 0;
  uint32_t value_size = 0;
  uint32_t max_entries = 0;
  uint32_t flags = 0;     // map_flags at create
  bool percpu = false;
  bool lru = false;
  bool array = false;
  bool probe = false;     // HASH emulating longest-prefix match
  std::string semantics;  // what differs from an exact-match map that never fills
};

std::vector<Candidate> candidates_for(const Spec& spec);

// Stream op flags.
inline constexpr uint8_t kChain = 1;   // skip when the previous lookup hit (later probes, insert-on-miss)
inline constexpr uint8_t kExpect = 2;  // the workload inserted this key and has not deleted it

struct StreamOp {
  OpKind kind;  // never kLookupInsert: compiled to a lookup + a kChain insert
  uint8_t flags;
  uint16_t cpu;
  uint32_t update_flags;  // BPF_ANY / BPF_NOEXIST for updates
};

// setup ops, then the whole workload twice: a warm-up pass (untimed, so the
// map reaches its steady state) and the measured pass.
struct Stream {
  uint32_t key_size = 0;
  std::vector<StreamOp> ops;
  std::vector<uint8_t> keys;  // ops.size() * key_size
  size_t warm_begin = 0;
  size_t measured_begin = 0;
  size_t measured_logical = 0;  // workload ops in the measured pass
  size_t measured_lookups = 0;  // logical lookups in the measured pass
  size_t measured_expect = 0;   // of those, lookups of keys the workload holds
  const uint8_t* key(size_t i) const { return keys.data() + i * key_size; }
};

Stream compile(const Workload& w, const Candidate& c);

}  // namespace advise
