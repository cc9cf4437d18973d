// The fuzzer's reference model: what the kernel answers to the map commands the
// fuzzer issues, written from the kernel's rules (kernel/bpf/syscall.c and the
// map families) and nothing else. Deliberately naive: std::map, std::deque,
// linear scans. Every function takes the emulator's actual result, says whether
// the kernel could have answered that, and updates the model accordingly --
// taking the actual result lets LRU eviction (not predictable here) be checked
// as an invariant instead of guessed.
#pragma once

#include <linux/bpf.h>

#include <cerrno>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <vector>

namespace bpfemu::fuzz {

using Bytes = std::vector<uint8_t>;
inline constexpr int kENOTSUPP = 524;  // kernel-internal, but reaches user space

enum class Family { Hash, Array, Lpm, Queue, Stack, Bloom };

struct MapConfig {
  uint32_t type = 0;
  uint32_t key_size = 0;
  uint32_t value_size = 0;
  uint32_t max_entries = 0;
  uint32_t map_flags = 0;
  uint64_t map_extra = 0;
};

Family family_of(uint32_t type);
bool is_lru(uint32_t type);
bool is_percpu(uint32_t type);

// BPF_MAP_CREATE's answer for cfg: 0 when the map is created, else -errno.
int expected_create(const MapConfig& cfg);

// An element whose presence the model knows (certain) or only suspects: an LRU
// map may evict any element other than the one being written on every update.
struct Entry {
  Bytes value;
  bool certain = true;
};

class ModelMap {
 public:
  ModelMap(const MapConfig& cfg, int ncpus);

  const MapConfig& config() const { return cfg_; }
  Family family() const { return family_; }
  bool lru() const { return lru_; }
  // Bytes of a value as the syscall side reads and writes it.
  uint32_t value_bytes() const { return value_bytes_; }
  bool frozen() const { return frozen_; }

  // Each returns true when `rc` (0 or -errno) is an answer the kernel could
  // give; on success the model changes as the map did. `out` is what the
  // emulator copied out (lookups), checked against the model.
  bool update(const Bytes* key, const Bytes& value, uint64_t flags, int rc);
  bool lookup(const Bytes* key, const Bytes& sent_value, int rc, const Bytes& out);
  bool remove(const Bytes* key, int rc);
  bool lookup_and_delete(const Bytes* key, uint64_t flags, int rc, const Bytes& out);
  // One get_next_key step from `key` (nullptr: from the start).
  bool next_key(const Bytes* key, int rc, const Bytes& out);
  // A complete iteration (get_next_key or lookup batch) saw exactly `seen`.
  bool full_walk(const std::map<Bytes, Bytes>& seen, bool check_values);
  // Elements removed by a lookup_and_delete batch that saw `seen` in full.
  void forget(const std::map<Bytes, Bytes>& seen);
  bool freeze(int rc, bool fd_can_write);

  // For the walk checks: elements the model holds (certain or not).
  const std::map<Bytes, Entry>& elements() const { return elems_; }
  size_t size() const;

 private:
  bool lpm_update(const Bytes& key, const Bytes& value, uint64_t flags, int rc);
  bool lpm_lookup(const Bytes& key, int rc, const Bytes& out) const;
  bool lpm_remove(const Bytes& key, int rc);
  bool queue_push(const Bytes& value, uint64_t flags, int rc);
  bool queue_pop(bool remove, int rc, const Bytes& out);
  bool hash_key_update(const Bytes& key, const Bytes& value, uint64_t flags, int rc);
  bool key_remove(const Bytes& key, int rc);
  bool key_lookup(const Bytes& key, int rc, const Bytes& out);
  // LRU: writing one element may evict any other.
  void others_become_uncertain(const Bytes& kept);

  MapConfig cfg_;
  Family family_;
  bool lru_;
  uint32_t value_bytes_;
  bool frozen_ = false;
  std::map<Bytes, Entry> elems_;  // HASH, ARRAY, LPM (key: prefixlen + masked data)
  std::deque<Bytes> items_;       // QUEUE, STACK: front is the oldest
  std::set<Bytes> bloom_added_;   // BLOOM_FILTER: every value ever pushed
};

// LPM helpers, shared with the driver (which writes canonical keys only).
uint32_t lpm_prefixlen(const Bytes& key);
Bytes lpm_canonical(const Bytes& key);  // data bits past prefixlen cleared

}  // namespace bpfemu::fuzz
