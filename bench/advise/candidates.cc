#include "advise/candidates.h"

#include <linux/bpf.h>

#include <cstring>
#include <string_view>
#include <unordered_set>

namespace advise {
namespace {

Candidate make(const Spec& s, const char* label, uint32_t type, const std::string& semantics) {
  Candidate c;
  c.label = label;
  c.type = type;
  c.key_size = s.key_size;
  c.value_size = s.value_size;
  c.max_entries = s.capacity;
  c.semantics = semantics;
  return c;
}

}  // namespace

std::vector<Candidate> candidates_for(const Spec& s) {
  std::vector<Candidate> out;
  const std::string full = "a full map rejects new keys (E2BIG)";
  const std::string evicts = "never full: an insert may evict the least recently used key, so lookups of live keys can miss";
  const std::string percpu = "one value per CPU: a program sees its CPU's slot, user space reads all slots and sums";
  if (s.key_kind == KeyKind::kPrefix) {
    Candidate lpm = make(s, "LPM_TRIE", BPF_MAP_TYPE_LPM_TRIE, "longest-prefix match in one lookup; full -> ENOSPC");
    lpm.flags = BPF_F_NO_PREALLOC;
    out.push_back(lpm);
    Candidate h = make(s, "", BPF_MAP_TYPE_HASH,
                       "exact match per prefix length: up to " + std::to_string(s.prefix_lengths.size()) +
                           " lookups per query (longest first); only the listed prefix lengths work; " + full);
    h.label = "HASH x" + std::to_string(s.prefix_lengths.size()) + " probes";
    h.probe = true;
    out.push_back(h);
    return out;
  }
  if (s.key_kind == KeyKind::kDense) {
    Candidate a = make(s, "ARRAY", BPF_MAP_TYPE_ARRAY,
                       "keys are indexes < max_entries; every element always exists (no misses); no delete: zero "
                       "the value instead");
    a.array = true;
    a.max_entries = s.keys;
    out.push_back(a);
    if (s.counter_values) {
      Candidate p = make(s, "PERCPU_ARRAY", BPF_MAP_TYPE_PERCPU_ARRAY, percpu + "; no delete; no atomics needed");
      p.array = p.percpu = true;
      p.max_entries = s.keys;
      out.push_back(p);
    }
  }
  out.push_back(make(s, "HASH", BPF_MAP_TYPE_HASH, "exact match; " + full));
  Candidate lru = make(s, "LRU_HASH", BPF_MAP_TYPE_LRU_HASH, "exact match; " + evicts);
  lru.lru = true;
  out.push_back(lru);
  if (s.counter_values) {
    Candidate p = make(s, "PERCPU_HASH", BPF_MAP_TYPE_PERCPU_HASH, percpu + "; " + full);
    p.percpu = true;
    out.push_back(p);
    Candidate lp = make(s, "LRU_PERCPU_HASH", BPF_MAP_TYPE_LRU_PERCPU_HASH, percpu + "; " + evicts);
    lp.percpu = lp.lru = true;
    out.push_back(lp);
  }
  return out;
}

Stream compile(const Workload& w, const Candidate& c) {
  Stream st;
  const uint32_t ks = w.spec.key_size;
  st.key_size = ks;
  st.ops.reserve(w.n_setup + 2 * (w.ops.size() - w.n_setup));
  // What the workload believes the map holds (exact keys only; prefix lookups
  // have no single key to expect).
  std::unordered_set<std::string_view> held;
  std::vector<uint8_t> zero_key(ks, 0);
  auto emit = [&](OpKind kind, uint8_t flags, uint16_t cpu, const uint8_t* key, uint32_t uflags) {
    st.ops.push_back({kind, flags, cpu, uflags});
    st.keys.insert(st.keys.end(), key, key + ks);
  };
  auto run = [&](size_t from, size_t to, bool measured) {
    for (size_t i = from; i < to; ++i) {
      const LogicalOp& op = w.ops[i];
      const uint8_t* key = w.key(i);
      std::string_view kv(reinterpret_cast<const char*>(key), ks);
      if (measured) ++st.measured_logical;
      if (op.kind == OpKind::kLookup && c.probe) {
        // Longest prefix first; later probes run only while earlier ones missed.
        std::vector<uint8_t> probe(key, key + ks);
        bool first = true;
        for (uint32_t plen : w.spec.prefix_lengths) {
          memcpy(probe.data(), key, ks);
          memcpy(probe.data(), &plen, 4);
          mask_prefix(probe.data(), ks, plen);
          emit(OpKind::kLookup, first ? 0 : kChain, op.cpu, probe.data(), 0);
          first = false;
        }
        if (measured) ++st.measured_lookups;
        continue;
      }
      uint8_t flags = 0;
      if (op.kind == OpKind::kLookup || op.kind == OpKind::kLookupInsert) {
        if (w.spec.key_kind != KeyKind::kPrefix && held.count(kv) != 0) flags = kExpect;
        if (measured) {
          ++st.measured_lookups;
          st.measured_expect += flags == kExpect;
        }
      } else if (op.kind == OpKind::kDelete) {
        held.erase(kv);
        if (c.array) {  // no delete on arrays: the program would zero the value
          emit(OpKind::kUpdate, 0, op.cpu, key, BPF_ANY);
          continue;
        }
      } else {
        held.insert(kv);
      }
      if (op.kind == OpKind::kLookupInsert) {
        held.insert(kv);
        emit(OpKind::kLookup, flags, op.cpu, key, 0);
        emit(OpKind::kUpdate, kChain, op.cpu, key, BPF_NOEXIST);
        continue;
      }
      emit(op.kind, flags, op.cpu, key, BPF_ANY);
    }
  };
  run(0, w.n_setup, false);
  st.warm_begin = st.ops.size();
  run(w.n_setup, w.ops.size(), false);
  st.measured_begin = st.ops.size();
  run(w.n_setup, w.ops.size(), true);
  return st;
}

}  // namespace advise
