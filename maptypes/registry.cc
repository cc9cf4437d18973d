// The one table from map type to ops. Adding a map type = its family file plus
// one line here.
#include <array>

#include "maptypes/families.h"

namespace bpfemu::maptypes {
namespace {

struct Entry {
  uint32_t type;
  const MapOps* ops;
};

const Entry kTable[] = {
    {BPF_MAP_TYPE_HASH, &kHtabOps},
    {BPF_MAP_TYPE_PERCPU_HASH, &kHtabPercpuOps},
    {BPF_MAP_TYPE_LRU_HASH, &kHtabLruOps},
    {BPF_MAP_TYPE_LRU_PERCPU_HASH, &kHtabLruPercpuOps},
    {BPF_MAP_TYPE_ARRAY, &kArrayOps},
    {BPF_MAP_TYPE_PERCPU_ARRAY, &kPercpuArrayOps},
    {BPF_MAP_TYPE_LPM_TRIE, &kLpmTrieOps},
};

}  // namespace

const MapOps* ops_for_type(uint32_t map_type) {
  for (const Entry& e : kTable)
    if (e.type == map_type) return e.ops;
  return nullptr;
}

}  // namespace bpfemu::maptypes
