// The kernel's generic batch commands (kernel/bpf/syscall.c generic_map_*_batch),
// built on a family's single-element ops. Families whose kernel ops point at the
// generic versions call these. Elements are copied between the caller's arrays
// and the emulator one at a time, outside every lock, as the kernel does.
#pragma once

#include "core/map_ops.h"

namespace bpfemu::maptypes {

// Walks with get_next_key from the key in in_batch (start when null); out_batch
// receives the last key copied.
int generic_lookup_batch(Map& map, const BatchArgs& args);
// Updates keys[i] = values[i] in order, stopping at the first error.
int generic_update_batch(Map& map, const BatchArgs& args);
// Deletes keys[i] in order, stopping at the first error.
int generic_delete_batch(Map& map, const BatchArgs& args);

// Base for families whose kernel ops point map_lookup_batch and map_update_batch
// at the generic code (and have no lookup_and_delete batch); with_delete also
// wires map_delete_batch.
template <bool with_delete>
class GenericBatchOps : public MapOps {
 public:
  int lookup_batch(Map& map, const BatchArgs& args, bool do_delete) const override {
    if (do_delete) return -kENOTSUPP;
    return generic_lookup_batch(map, args);
  }
  int update_batch(Map& map, const BatchArgs& args) const override { return generic_update_batch(map, args); }
  int delete_batch(Map& map, const BatchArgs& args) const override {
    if (!with_delete) return -kENOTSUPP;
    return generic_delete_batch(map, args);
  }
};

}  // namespace bpfemu::maptypes
