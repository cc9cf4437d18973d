// The kernel's generic batch commands (kernel/bpf/syscall.c generic_map_*_batch),
// built on a family's single-element ops. Families whose kernel ops point at the
// generic versions call these.
#pragma once

#include "maptypes/map_ops.h"

namespace bpfemu::maptypes {

// Walks with get_next_key from the key in in_batch (start when null); out_batch
// receives the last key copied. *count: in = capacity, out = copied.
int generic_lookup_batch(Map& map, const void* in_batch, void* out_batch, void* keys, void* values,
                         uint32_t* count, uint64_t elem_flags, uint64_t flags);
// Updates keys[i] = values[i] in order, stopping at the first error.
int generic_update_batch(Map& map, const void* keys, const void* values, uint32_t* count, uint64_t elem_flags,
                         uint64_t flags);
// Deletes keys[i] in order, stopping at the first error.
int generic_delete_batch(Map& map, const void* keys, uint32_t* count, uint64_t elem_flags, uint64_t flags);

// Base for families whose kernel ops point map_lookup_batch and map_update_batch
// at the generic code (and have no lookup_and_delete batch); with_delete also
// wires map_delete_batch.
template <bool with_delete>
class GenericBatchOps : public MapOps {
 public:
  int lookup_batch(Map& map, const void* in_batch, void* out_batch, void* keys, void* values, uint32_t* count,
                   uint64_t elem_flags, uint64_t flags, bool do_delete) const override {
    if (do_delete) return -kENOTSUPP;
    return generic_lookup_batch(map, in_batch, out_batch, keys, values, count, elem_flags, flags);
  }
  int update_batch(Map& map, const void* keys, const void* values, uint32_t* count, uint64_t elem_flags,
                   uint64_t flags) const override {
    return generic_update_batch(map, keys, values, count, elem_flags, flags);
  }
  int delete_batch(Map& map, const void* keys, uint32_t* count, uint64_t elem_flags, uint64_t flags) const override {
    if (!with_delete) return -kENOTSUPP;
    return generic_delete_batch(map, keys, count, elem_flags, flags);
  }
};

}  // namespace bpfemu::maptypes
