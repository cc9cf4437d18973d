// The reference model's rules, one per kernel check (see model.h).
#include "fuzz/model.h"

#include <algorithm>
#include <cstring>

namespace bpfemu::fuzz {
namespace {

constexpr uint32_t kAccessMask = BPF_F_RDONLY | BPF_F_WRONLY | BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG;
constexpr uint32_t kLpmDataOffset = 4;  // struct bpf_lpm_trie_key: u32 prefixlen, then data

uint32_t le32(const Bytes& b) {
  uint32_t v = 0;
  std::memcpy(&v, b.data(), std::min<size_t>(4, b.size()));
  return v;
}

Bytes index_key(uint32_t i) {
  Bytes k(4);
  std::memcpy(k.data(), &i, 4);
  return k;
}

// First `bits` bits of a and b (MSB first within each byte, as the trie compares).
bool prefix_equal(const uint8_t* a, const uint8_t* b, uint32_t bits) {
  for (uint32_t i = 0; i < bits; i++) {
    uint8_t mask = uint8_t(0x80 >> (i % 8));
    if ((a[i / 8] & mask) != (b[i / 8] & mask)) return false;
  }
  return true;
}

}  // namespace

Family family_of(uint32_t type) {
  switch (type) {
    case BPF_MAP_TYPE_ARRAY:
    case BPF_MAP_TYPE_PERCPU_ARRAY: return Family::Array;
    case BPF_MAP_TYPE_LPM_TRIE: return Family::Lpm;
    case BPF_MAP_TYPE_QUEUE: return Family::Queue;
    case BPF_MAP_TYPE_STACK: return Family::Stack;
    case BPF_MAP_TYPE_BLOOM_FILTER: return Family::Bloom;
    default: return Family::Hash;
  }
}

bool is_lru(uint32_t type) {
  return type == BPF_MAP_TYPE_LRU_HASH || type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

bool is_percpu(uint32_t type) {
  return type == BPF_MAP_TYPE_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_ARRAY ||
         type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

int expected_create(const MapConfig& c) {
  const uint32_t f = c.map_flags;
  const bool no_size = c.value_size == 0 || c.max_entries == 0;
  // map_create(): only BLOOM_FILTER (and ARENA) take map_extra.
  if (c.type != BPF_MAP_TYPE_BLOOM_FILTER && c.map_extra != 0) return -EINVAL;
  switch (family_of(c.type)) {
    case Family::Hash: {  // htab_map_alloc_check()
      const uint32_t allowed = BPF_F_NO_PREALLOC | BPF_F_NO_COMMON_LRU | BPF_F_NUMA_NODE | kAccessMask |
                               BPF_F_ZERO_SEED;
      if (f & ~allowed) return -EINVAL;
      if (!is_lru(c.type) && (f & BPF_F_NO_COMMON_LRU)) return -EINVAL;
      if (is_lru(c.type) && (f & BPF_F_NO_PREALLOC)) return -kENOTSUPP;
      if (no_size || c.key_size == 0) return -EINVAL;
      return 0;
    }
    case Family::Array: {  // array_map_alloc_check()
      const uint32_t allowed = BPF_F_NUMA_NODE | BPF_F_MMAPABLE | kAccessMask | BPF_F_PRESERVE_ELEMS |
                               BPF_F_INNER_MAP;
      if (no_size || c.key_size != 4 || (f & ~allowed)) return -EINVAL;
      if (c.type == BPF_MAP_TYPE_PERCPU_ARRAY && (f & BPF_F_MMAPABLE)) return -EINVAL;
      return 0;
    }
    case Family::Lpm:  // trie_alloc()
      if (no_size || !(f & BPF_F_NO_PREALLOC) || (f & ~(BPF_F_NO_PREALLOC | BPF_F_NUMA_NODE | kAccessMask)) ||
          c.key_size <= kLpmDataOffset || c.key_size > kLpmDataOffset + 256)
        return -EINVAL;
      return 0;
    case Family::Queue:
    case Family::Stack:  // queue_stack_map_alloc_check()
      if (no_size || c.key_size != 0 || (f & ~(BPF_F_NUMA_NODE | kAccessMask))) return -EINVAL;
      return 0;
    case Family::Bloom:  // bloom_map_alloc()
      if (no_size || c.key_size != 0 || (f & ~(BPF_F_NUMA_NODE | BPF_F_ZERO_SEED | kAccessMask)) ||
          (c.map_extra & ~uint64_t(0xF)))
        return -EINVAL;
      return 0;
  }
  return -EINVAL;
}

uint32_t lpm_prefixlen(const Bytes& key) { return le32(key); }

Bytes lpm_canonical(const Bytes& key) {
  Bytes out = key;
  const uint32_t bits = lpm_prefixlen(key);
  for (size_t i = kLpmDataOffset; i < out.size(); i++)
    for (uint32_t b = 0; b < 8; b++) {
      const uint64_t bit_index = (i - kLpmDataOffset) * 8 + b;
      if (bit_index >= bits) out[i] &= uint8_t(~(0x80 >> b));
    }
  return out;
}

ModelMap::ModelMap(const MapConfig& cfg, int ncpus)
    : cfg_(cfg), family_(family_of(cfg.type)), lru_(is_lru(cfg.type)) {
  // htab_map_alloc(): per-CPU LRU lists all get the same number of elements.
  if (lru_ && (cfg.map_flags & BPF_F_NO_COMMON_LRU))
    cfg_.max_entries = (cfg.max_entries + ncpus - 1) / ncpus * ncpus;
  value_bytes_ = is_percpu(cfg.type) ? uint32_t(ncpus) * ((cfg.value_size + 7) / 8 * 8) : cfg.value_size;
  if (family_ == Family::Array)  // every element exists from the start, zeroed
    for (uint32_t i = 0; i < cfg.max_entries; i++) elems_[index_key(i)] = Entry{Bytes(value_bytes_, 0), true};
}

size_t ModelMap::size() const {
  return family_ == Family::Queue || family_ == Family::Stack ? items_.size() : elems_.size();
}

void ModelMap::others_become_uncertain(const Bytes& kept) {
  for (auto& [k, e] : elems_)
    if (k != kept) e.certain = false;
}

bool ModelMap::hash_key_update(const Bytes& key, const Bytes& value, uint64_t flags, int rc) {
  auto it = elems_.find(key);
  const bool present = it != elems_.end();
  // An LRU update takes a free node (maybe evicting) before it looks the key up,
  // so even the addressed key may be gone by then.
  const bool known = present && it->second.certain && !lru_;
  // The kernel's answer if the key is, or is not, there when the update looks.
  auto answer = [&](bool there) {
    if (there) return flags == BPF_NOEXIST ? -EEXIST : 0;
    if (flags == BPF_EXIST) return -ENOENT;
    return !lru_ && elems_.size() >= cfg_.max_entries ? -E2BIG : 0;
  };
  const bool ok = (present && rc == answer(true)) || (!known && rc == answer(false));
  if (!ok) return false;
  if (lru_) others_become_uncertain(key);
  if (rc == 0) elems_[key] = Entry{value, true};
  else if (rc == -ENOENT) elems_.erase(key);
  else if (rc == -EEXIST) it->second.certain = true;
  return true;
}

bool ModelMap::update(const Bytes* key, const Bytes& value, uint64_t flags, int rc) {
  switch (family_) {
    case Family::Hash:
      if (flags > BPF_EXIST) return rc == -EINVAL;
      return hash_key_update(*key, value, flags, rc);
    case Family::Array: {  // array_map_update_elem()
      if (flags > BPF_EXIST) return rc == -EINVAL;
      if (le32(*key) >= cfg_.max_entries) return rc == -E2BIG;
      if (flags == BPF_NOEXIST) return rc == -EEXIST;
      if (rc != 0) return false;
      elems_[*key].value = value;
      return true;
    }
    case Family::Lpm: return lpm_update(*key, value, flags, rc);
    case Family::Queue:
    case Family::Stack: return queue_push(value, flags, rc);
    case Family::Bloom:
      if (flags != BPF_ANY) return rc == -EINVAL;
      if (rc != 0) return false;
      bloom_added_.insert(value);
      return true;
  }
  return false;
}

bool ModelMap::key_lookup(const Bytes& key, int rc, const Bytes& out) {
  auto it = elems_.find(key);
  if (it == elems_.end()) return rc == -ENOENT;
  if (rc == 0 && out == it->second.value) {
    it->second.certain = true;
    return true;
  }
  if (rc == -ENOENT && !it->second.certain) {
    elems_.erase(it);  // evicted
    return true;
  }
  return false;
}

bool ModelMap::lookup(const Bytes* key, const Bytes& sent_value, int rc, const Bytes& out) {
  switch (family_) {
    case Family::Hash:
    case Family::Array: return key_lookup(*key, rc, out);
    case Family::Lpm: return lpm_lookup(*key, rc, out);
    case Family::Queue:
    case Family::Stack: return queue_pop(false, rc, out);
    case Family::Bloom:
      // No false negatives; false positives allowed.
      if (bloom_added_.count(sent_value)) return rc == 0;
      return rc == 0 || rc == -ENOENT;
  }
  return false;
}

bool ModelMap::key_remove(const Bytes& key, int rc) {
  auto it = elems_.find(key);
  if (it == elems_.end()) return rc == -ENOENT;
  if (rc == 0 || (rc == -ENOENT && !it->second.certain)) {
    elems_.erase(it);
    return true;
  }
  return false;
}

bool ModelMap::remove(const Bytes* key, int rc) {
  switch (family_) {
    case Family::Hash: return key_remove(*key, rc);
    case Family::Lpm: return lpm_remove(*key, rc);
    case Family::Array:
    case Family::Queue:
    case Family::Stack: return rc == -EINVAL;
    case Family::Bloom: return rc == -EOPNOTSUPP;
  }
  return false;
}

bool ModelMap::lookup_and_delete(const Bytes* key, uint64_t flags, int rc, const Bytes& out) {
  (void)flags;  // nonzero flags are refused before the map is reached (the driver's gate)
  switch (family_) {
    case Family::Hash: {
      auto it = elems_.find(*key);
      if (it == elems_.end()) return rc == -ENOENT;
      if ((rc == 0 && out == it->second.value) || (rc == -ENOENT && !it->second.certain)) {
        elems_.erase(it);
        return true;
      }
      return false;
    }
    case Family::Queue:
    case Family::Stack: return queue_pop(true, rc, out);
    default: return rc == -kENOTSUPP;
  }
}

bool ModelMap::next_key(const Bytes* key, int rc, const Bytes& out) {
  switch (family_) {
    case Family::Array: {
      const uint32_t max = cfg_.max_entries;
      if (!key || le32(*key) >= max) return rc == 0 && le32(out) == 0;
      if (le32(*key) == max - 1) return rc == -ENOENT;
      return rc == 0 && le32(out) == le32(*key) + 1;
    }
    case Family::Hash:
    case Family::Lpm: {
      const bool key_present = key && elems_.count(family_ == Family::Lpm ? lpm_canonical(*key) : *key);
      if (rc == -ENOENT) {  // after the last, or the map is empty
        if (key_present) return true;
        return std::none_of(elems_.begin(), elems_.end(), [](auto& kv) { return kv.second.certain; });
      }
      if (rc != 0) return false;
      auto it = elems_.find(out);
      if (it == elems_.end() || (key && out == *key && key_present)) return false;
      it->second.certain = true;
      return true;
    }
    case Family::Queue:
    case Family::Stack: return rc == -EINVAL;
    case Family::Bloom: return rc == -EOPNOTSUPP;
  }
  return false;
}

bool ModelMap::full_walk(const std::map<Bytes, Bytes>& seen, bool check_values) {
  if (seen.size() > cfg_.max_entries) return false;
  for (auto& [k, v] : seen) {
    auto it = elems_.find(k);
    if (it == elems_.end() || (check_values && v != it->second.value)) return false;
  }
  for (auto& [k, e] : elems_)
    if (e.certain && !seen.count(k)) return false;
  // What the walk saw is now known; what it did not see was evicted.
  for (auto it = elems_.begin(); it != elems_.end();) {
    if (seen.count(it->first)) {
      it->second.certain = true;
      ++it;
    } else {
      it = elems_.erase(it);
    }
  }
  return true;
}

void ModelMap::forget(const std::map<Bytes, Bytes>& seen) {
  for (auto& [k, v] : seen) elems_.erase(k);
}

bool ModelMap::freeze(int rc, bool fd_can_write) {
  // map_freeze(): a frozen map's fds lose write permission, so a second
  // freeze fails the permission check (EPERM) before the "already frozen" one.
  if (!fd_can_write || frozen_) return rc == -EPERM;
  if (rc != 0) return false;
  frozen_ = true;
  return true;
}

bool ModelMap::lpm_update(const Bytes& key, const Bytes& value, uint64_t flags, int rc) {
  if (flags > BPF_EXIST) return rc == -EINVAL;
  if (lpm_prefixlen(key) > (cfg_.key_size - kLpmDataOffset) * 8) return rc == -EINVAL;
  const Bytes k = lpm_canonical(key);
  const bool present = elems_.count(k);
  int expected = 0;
  if (present && flags == BPF_NOEXIST) expected = -EEXIST;
  else if (!present && flags == BPF_EXIST) expected = -ENOENT;
  else if (!present && elems_.size() >= cfg_.max_entries) expected = -ENOSPC;
  if (rc != expected) return false;
  if (rc == 0) elems_[k] = Entry{value, true};
  return true;
}

bool ModelMap::lpm_lookup(const Bytes& key, int rc, const Bytes& out) const {
  const uint32_t key_bits = lpm_prefixlen(key);
  // trie_lookup_elem(): a longer prefix than the trie holds matches nothing.
  if (key_bits > (cfg_.key_size - kLpmDataOffset) * 8) return rc == -ENOENT;
  const Entry* best = nullptr;
  uint32_t best_bits = 0;
  for (auto& [k, e] : elems_) {
    const uint32_t bits = lpm_prefixlen(k);
    if (bits > key_bits || (best && bits <= best_bits)) continue;
    if (prefix_equal(k.data() + kLpmDataOffset, key.data() + kLpmDataOffset, bits)) {
      best = &e;
      best_bits = bits;
    }
  }
  if (!best) return rc == -ENOENT;
  return rc == 0 && out == best->value;
}

bool ModelMap::lpm_remove(const Bytes& key, int rc) {
  if (lpm_prefixlen(key) > (cfg_.key_size - kLpmDataOffset) * 8) return rc == -EINVAL;
  const Bytes k = lpm_canonical(key);
  if (!elems_.count(k)) return rc == -ENOENT;
  if (rc != 0) return false;
  elems_.erase(k);
  return true;
}

bool ModelMap::queue_push(const Bytes& value, uint64_t flags, int rc) {
  if ((flags & BPF_NOEXIST) || flags > BPF_EXIST) return rc == -EINVAL;
  const bool full = items_.size() >= cfg_.max_entries;
  if (full && flags != BPF_EXIST) return rc == -E2BIG;
  if (rc != 0) return false;
  if (full) items_.pop_front();  // BPF_EXIST on a full map overwrites the oldest
  items_.push_back(value);
  return true;
}

bool ModelMap::queue_pop(bool remove, int rc, const Bytes& out) {
  if (items_.empty()) return rc == -ENOENT;
  const Bytes& next = family_ == Family::Queue ? items_.front() : items_.back();
  if (rc != 0 || out != next) return false;
  if (remove) {
    if (family_ == Family::Queue) items_.pop_front();
    else items_.pop_back();
  }
  return true;
}

}  // namespace bpfemu::fuzz
