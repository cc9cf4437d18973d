#include <strings.h>

#include <cstring>

#include "bpfemu/uapi.h"

namespace bpfemu {
namespace {

// Indexed by map type id (6.18's enum bpf_map_type).
constexpr const char* kNames[] = {
    "UNSPEC",          "HASH",          "ARRAY",          "PROG_ARRAY",     "PERF_EVENT_ARRAY",
    "PERCPU_HASH",     "PERCPU_ARRAY",  "STACK_TRACE",    "CGROUP_ARRAY",   "LRU_HASH",
    "LRU_PERCPU_HASH", "LPM_TRIE",      "ARRAY_OF_MAPS",  "HASH_OF_MAPS",   "DEVMAP",
    "SOCKMAP",         "CPUMAP",        "XSKMAP",         "SOCKHASH",       "CGROUP_STORAGE",
    "REUSEPORT_SOCKARRAY", "PERCPU_CGROUP_STORAGE", "QUEUE", "STACK",       "SK_STORAGE",
    "DEVMAP_HASH",     "STRUCT_OPS",    "RINGBUF",        "INODE_STORAGE",  "TASK_STORAGE",
    "BLOOM_FILTER",    "USER_RINGBUF",  "CGRP_STORAGE",   "ARENA",
};
static_assert(sizeof(kNames) / sizeof(kNames[0]) == kMaxMapType);

}  // namespace

const char* map_type_name(uint32_t type) { return type < kMaxMapType ? kNames[type] : nullptr; }

uint32_t map_type_from_name(const char* name) {
  if (name == nullptr) return 0;
  if (strncasecmp(name, "BPF_MAP_TYPE_", 13) == 0) name += 13;
  for (uint32_t t = 1; t < kMaxMapType; ++t)
    if (strcasecmp(name, kNames[t]) == 0) return t;
  return 0;
}

}  // namespace bpfemu
