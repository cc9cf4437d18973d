// The ops table of every emulated map family (one per maptypes/*.cc file).
// maptypes/registry.cc maps each BPF_MAP_TYPE_* to one of these.
#pragma once

#include "maptypes/map_ops.h"

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

}  // namespace bpfemu::maptypes
