#include "maptypes/map_ops.h"

namespace bpfemu::maptypes {
namespace {

// A non-null key with key_size 0 fails the syscall layer's key check (EINVAL)
// before any op runs; otherwise the family's op answers.
int generic_lookup(Map& map, const void* key, void* value) {
  if (map.attr().key_size == 0) return -EINVAL;
  return map.ops().lookup(map, key, value, 0);
}

int generic_update(Map& map, const void* key, const void* value, uint64_t flags) {
  if (map.attr().key_size == 0) return -EINVAL;
  return map.ops().update(map, key, value, flags);
}

}  // namespace

void MapOps::bind_view(Map& map) const { map.set_fast({generic_lookup, generic_update}); }

}  // namespace bpfemu::maptypes
