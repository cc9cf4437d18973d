// The ops of every emulated map family (one per maptypes/*.cc file).
// core/map_types.def names them; maptypes/registry.cc binds types to them.
#pragma once

#include "core/map_ops.h"

namespace bpfemu::maptypes {

// hashtab.cc
extern const MapOps& kHtabOps;
extern const MapOps& kHtabPercpuOps;
extern const MapOps& kHtabLruOps;
extern const MapOps& kHtabLruPercpuOps;
// arraymap.cc
extern const MapOps& kArrayOps;
extern const MapOps& kPercpuArrayOps;
// lpm_trie.cc
extern const MapOps& kLpmTrieOps;
// queue_stack_maps.cc
extern const MapOps& kQueueOps;
extern const MapOps& kStackOps;
// bloom_filter.cc
extern const MapOps& kBloomFilterOps;
// ringbuf.cc
extern const MapOps& kRingbufOps;
// fd_array.cc
extern const MapOps& kProgArrayOps;
extern const MapOps& kPerfEventArrayOps;
// Drops the references the slots of a freed PROG_ARRAY or PERF_EVENT_ARRAY
// held (its data area).
void fd_array_release(uint32_t map_type, const uint8_t* slots, uint32_t max_entries);

// map_in_map.cc
extern const MapOps& kArrayOfMapsOps;
extern const MapOps& kHashOfMapsOps;
// Drops the references the slots of a freed ARRAY_OF_MAPS or HASH_OF_MAPS held
// (its header and data area, read from its storage).
void map_in_map_release(const emu::MapHeader& hdr, const uint8_t* data, uint64_t size);

// devmap.cc
extern const MapOps& kDevMapOps;
extern const MapOps& kDevMapHashOps;
// cpumap.cc
extern const MapOps& kCpuMapOps;
// Drops the program references the entries of a freed DEVMAP, DEVMAP_HASH or
// CPUMAP held (its header and data area, read from its storage).
void devmap_release(const emu::MapHeader& hdr, const uint8_t* data, uint64_t size);

// stackmap.cc
extern const MapOps& kStackTraceOps;
// sysctl kernel.perf_event_max_stack (the host's): the deepest stack a map or
// a stack helper takes.
uint32_t stack_map_max_frames();

// array_map_get_next_key, for every family whose keys are u32 indexes: the
// next index, 0 for no key or one out of range, ENOENT after the last.
int array_get_next_key(const Map& map, const void* key, void* next_key);

}  // namespace bpfemu::maptypes
