// BPF constants bpfemu needs beyond the installed <linux/bpf.h>.
//
// Debian's uapi headers are 6.1's; the host kernel (6.18) knows more map types,
// flags and info fields. We define what we use here under our own names so the
// build does not depend on which linux-libc-dev is installed.
#pragma once

#include <linux/bpf.h>

#include <cstddef>
#include <cstdint>

namespace bpfemu {

// Map types the 6.1 header lacks (values from the 6.18 kernel's BTF).
inline constexpr uint32_t kMapTypeCgrpStorage = 32;
inline constexpr uint32_t kMapTypeArena = 33;
inline constexpr uint32_t kMaxMapType = 34;  // one past the last type 6.18 knows

// Map-create flags newer than 6.1.
inline constexpr uint32_t kFlagSegvOnFault = 1U << 13;
inline constexpr uint32_t kFlagNoUserConv = 1U << 14;
inline constexpr uint32_t kFlagTokenFd = 1U << 16;
inline constexpr uint32_t kFlagVtypeBtfObjFd = 1U << 15;

// ENOTSUPP is kernel-internal but reaches user space from some map commands.
inline constexpr int kENOTSUPP = 524;

// struct bpf_map_info as the 6.18 kernel defines it (the 6.1 header stops at
// map_extra). The kernel copies min(user info_len, sizeof) bytes.
struct MapInfo {
  uint32_t type;
  uint32_t id;
  uint32_t key_size;
  uint32_t value_size;
  uint32_t max_entries;
  uint32_t map_flags;
  char name[16];
  uint32_t ifindex;
  uint32_t btf_vmlinux_value_type_id;
  uint64_t netns_dev;
  uint64_t netns_ino;
  uint32_t btf_id;
  uint32_t btf_key_type_id;
  uint32_t btf_value_type_id;
  uint32_t btf_vmlinux_id;
  uint64_t map_extra;
  uint64_t hash;
  uint32_t hash_size;
} __attribute__((aligned(8)));
static_assert(sizeof(MapInfo) == 104);
static_assert(offsetof(MapInfo, map_extra) == offsetof(bpf_map_info, map_extra));

// Name of a map type ("HASH", "LRU_PERCPU_HASH", ...) or nullptr when unknown.
const char* map_type_name(uint32_t type);
// Inverse of map_type_name; returns 0 (UNSPEC) when unknown. Case-insensitive,
// accepts an optional "BPF_MAP_TYPE_" prefix.
uint32_t map_type_from_name(const char* name);

}  // namespace bpfemu
