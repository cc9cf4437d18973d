// What the map helpers a BPF program calls do, once: the C++ bpfemu::prog API
// (bpfemu/prog.h) and the interpreter (emu/helpers.cc) both call these.
// Results are as the program sees them (profile.h: before 6.4 a negative errno
// reads zero-extended).
#pragma once

#include <cstdint>

#include "core/map_ops.h"

namespace bpfemu::emu::helpers {

void* map_lookup(Map& m, const void* key);
long map_update(Map& m, const void* key, const void* value, uint64_t flags);
long map_delete(Map& m, const void* key);
long map_push(Map& m, const void* value, uint64_t flags);
long map_pop(Map& m, void* value);
long map_peek(Map& m, void* value);
void* map_lookup_percpu(Map& m, const void* key, uint32_t cpu);
long map_for_each(Map& m, maptypes::ForEachCallback cb, void* ctx, uint64_t flags);

}  // namespace bpfemu::emu::helpers
