// The traits of every BPF map type, from the one table (core/map_types.def).
#pragma once

#include <cstdint>
#include <span>

namespace bpfemu {

// How user space reaches a map's elements.
enum class MapShape : uint8_t {
  kKeyed,      // key bytes -> value (hash maps)
  kIndexed,    // u32 index -> value, every index exists (arrays)
  kLpm,        // {prefixlen, data} keys, longest-prefix lookup
  kQueue,      // no key: update pushes, lookup peeks, lookup_and_delete pops
  kBloom,      // no key: update adds a value, lookup asks "maybe present"
  kFdIndexed,  // u32 index -> object, updated by fd (prog, map, perf event, socket arrays)
  kFdKeyed,    // key -> object, updated by fd (hash of maps, sockhash)
  kStorage,    // values attached to a kernel object (socket, task, inode, cgroup)
  kRing,       // a ring buffer reached by mmap
  kArena,      // pages reached by mmap
};

enum MapTrait : uint16_t {
  kPercpu = 1 << 0,                // syscall values: nr_cpus * round_up(value_size, 8) bytes
  kLru = 1 << 1,                   // evicts instead of answering E2BIG
  kSeededOrder = 1 << 2,           // get_next_key order depends on a seed unless BPF_F_ZERO_SEED
  kBatch = 1 << 3,                 // BPF_MAP_LOOKUP_BATCH and BPF_MAP_UPDATE_BATCH
  kDeleteBatch = 1 << 4,           // BPF_MAP_DELETE_BATCH
  kLookupAndDelete = 1 << 5,       // BPF_MAP_LOOKUP_AND_DELETE_ELEM with a key
  kLookupAndDeleteBatch = 1 << 6,  // BPF_MAP_LOOKUP_AND_DELETE_BATCH
  kMmap = 1 << 7,                  // mmap() of the fd (arrays only with BPF_F_MMAPABLE)
  kSleepable = 1 << 8,             // a sleepable program (BPF_F_SLEEPABLE) may use it
};

struct MapTypeInfo {
  uint32_t id;
  const char* name;  // "HASH", "LRU_PERCPU_HASH", ...
  MapShape shape;
  uint16_t traits;
  uint8_t since_major;
  uint8_t since_minor;
  bool emulated;  // maptypes/ has a family for it

  bool has(MapTrait t) const { return (traits & t) != 0; }
  bool percpu() const { return has(kPercpu); }
  bool lru() const { return has(kLru); }
  // Whether a kernel of version major.minor has the type.
  bool in_kernel(int major, int minor) const {
    return since_major < major || (since_major == major && since_minor <= minor);
  }
  // Bytes of a value as syscalls copy it.
  uint64_t sys_value_size(uint32_t value_size, uint32_t nr_cpus) const {
    return percpu() ? uint64_t{(value_size + 7U) & ~7U} * nr_cpus : value_size;
  }
};

// Every type, in id order (HASH first).
std::span<const MapTypeInfo> all_map_types();
// The type's traits; nullptr for ids the kernel does not define.
const MapTypeInfo* map_type_info(uint32_t type);
// Highest type id a kernel of version major.minor knows.
uint32_t last_map_type_in(int major, int minor);

}  // namespace bpfemu
