// LPM_TRIE: the ops-table adapter around LpmTrieCore (lpm_trie_core.cc), which
// reproduces kernel/bpf/lpm_trie.c inside the map's region.
#include "core/profile.h"
#include "maptypes/batch.h"
#include "maptypes/families.h"
#include "maptypes/lpm_trie_core.h"

namespace bpfemu::maptypes {
namespace {

// The kernel's lpm trie uses the generic batch code, delete included.
class LpmTrieOps : public GenericBatchOps<true> {
 public:
  int alloc_check(MapAttr& attr, const CreateEnv& env) const override {
    int rc = LpmTrieCore::check_create(attr.key_size, attr.value_size, attr.max_entries, attr.map_flags);
    // LPM_VAL_SIZE_MAX depends on the kernel's node header (profile.h).
    if (rc == 0 && env.profile != nullptr &&
        attr.value_size > LpmTrieCore::kKmallocMaxSize - LpmTrieCore::kDataSizeMax - env.profile->lpm_node_size)
      rc = -EINVAL;
    return rc;
  }
  int64_t data_size(const MapAttr& attr, const CreateEnv&) const override {
    size_t n = LpmTrieCore::footprint(attr.key_size, attr.value_size, attr.max_entries);
    return n == 0 ? -EINVAL : static_cast<int64_t>(n);
  }
  int init(Map& map) const override {
    LpmTrieCore core;
    const MapAttr& a = map.attr();
    return core.init(map.data(), map.data_size(), a.key_size, a.value_size, a.max_entries);
  }

  int lookup(Map& map, const void* key, void* value, uint64_t) const override {
    return view(map).lookup_copy(key, value);
  }
  int update(Map& map, const void* key, const void* value, uint64_t flags) const override {
    return view(map).update(key, value, flags);
  }
  int delete_elem(Map& map, const void* key) const override { return view(map).delete_elem(key); }
  int get_next_key(Map& map, const void* key, void* next_key) const override {
    return view(map).get_next_key(key, next_key);
  }

  void* prog_lookup(Map& map, const void* key) const override { return view(map).lookup(key); }
  long prog_update(Map& map, const void* key, const void* value, uint64_t flags) const override {
    return view(map).update(key, value, flags);
  }
  long prog_delete(Map& map, const void* key) const override { return view(map).delete_elem(key); }
  // trie_mem_usage: one node (header, key data, value) per element.
  uint64_t mem_usage(const Map& map) const override {
    const MapAttr& a = map.attr();
    const uint64_t node = map.profile().lpm_node_size + (a.key_size - LpmTrieCore::kKeyHeader) + a.value_size;
    return node * view(const_cast<Map&>(map)).count();
  }
  // bpf_for_each_map_elem on an LPM trie is rejected by the verifier.

 private:
  static LpmTrieCore view(Map& map) {
    LpmTrieCore core;
    core.attach(map.data(), map.data_size());
    return core;
  }
};

const LpmTrieOps kLpm;

}  // namespace

const MapOps& kLpmTrieOps = kLpm;

}  // namespace bpfemu::maptypes
