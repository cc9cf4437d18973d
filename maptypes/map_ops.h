// The ops table of one map family, like the kernel's struct bpf_map_ops.
//
// The emulated syscall layer (emu/kernel.cc) does everything that kernel/bpf/
// syscall.c does before calling into a map's ops: fd and permission checks, flag
// checks common to all maps, copying keys and values, freeze. The ops only do what
// the kernel's per-family callbacks do, and return 0 or -errno. An op a family does
// not provide answers what the kernel answers for a missing callback.
#pragma once

#include <cerrno>
#include <cstdint>

#include "bpfemu/detail/flat_hash.h"
#include "bpfemu/uapi.h"
#include "emu/map.h"

namespace bpfemu {
struct KernelProfile;
}

namespace bpfemu::maptypes {

using emu::Map;
using emu::MapAttr;

// What create-time checks may depend on besides the attributes.
struct CreateEnv {
  uint32_t nr_cpus;
  const KernelProfile* profile;
};

// Callback of bpf_for_each_map_elem: returns 0 to continue, 1 to stop.
using ForEachCallback = long (*)(Map& map, const void* key, void* value, void* ctx);

class MapOps {
 public:
  virtual ~MapOps() = default;

  // --- create ---
  // The kernel's map_alloc_check plus the checks map_alloc makes before it
  // allocates. May adjust attr the way the kernel does (e.g. LRU rounds max_entries).
  virtual int alloc_check(MapAttr& attr, const CreateEnv& env) const = 0;
  // Size of the data area the family needs; -E2BIG/-ENOMEM where the kernel's
  // allocation would fail.
  virtual int64_t data_size(const MapAttr& attr, const CreateEnv& env) const = 0;
  // Lays out a fresh, zero-filled region.
  virtual int init(Map& map) const = 0;
  // The implementation serving maps with these attributes. A family may keep a
  // second layout for attribute combinations where it can be faster with the
  // same observable semantics; the syscall layer asks before creating or
  // attaching a map, so every process picks the same one.
  virtual const MapOps& variant_for(const MapAttr&) const { return *this; }
  // Sets up a view of the map in this process once its region is laid out
  // (after init, or on attach): picks its fast ops. The default ones call
  // lookup() and update() below.
  virtual void bind_view(Map& map) const;

  // --- syscall side (key/value already copied and non-null where the kernel requires) ---
  // Bytes of a value as syscalls copy it (per-CPU types: nr_cpus * round_up(value_size, 8)).
  virtual uint32_t sys_value_size(const Map& map) const { return map.attr().value_size; }
  virtual int lookup(Map& map, const void* key, void* value, uint64_t flags) const = 0;
  virtual int update(Map& map, const void* key, const void* value, uint64_t flags) const = 0;
  virtual int delete_elem(Map& map, const void* key) const = 0;
  virtual int get_next_key(Map& map, const void* key, void* next_key) const = 0;
  // Kernel: ENOTSUPP for types without map_lookup_and_delete_elem.
  virtual int lookup_and_delete(Map&, const void*, void*, uint64_t) const { return -kENOTSUPP; }
  // True when BPF_F_LOCK may be used (the value has a bpf_spin_lock).
  virtual bool has_spin_lock(const Map&) const { return false; }

  // Batch ops (the kernel answers ENOTSUPP when a family has no batch callback).
  // lookup_batch serves both lookup and lookup_and_delete (do_delete).
  virtual int lookup_batch(Map&, const void*, void*, void*, void*, uint32_t*, uint64_t, uint64_t, bool) const {
    return -kENOTSUPP;
  }
  virtual int update_batch(Map&, const void*, const void*, uint32_t*, uint64_t, uint64_t) const { return -kENOTSUPP; }
  virtual int delete_batch(Map&, const void*, uint32_t*, uint64_t, uint64_t) const { return -kENOTSUPP; }

  // --- program side (what helpers called from a BPF program do) ---
  // Plain arrays: where value i (CPU c) lives, base + i * elem_stride +
  // c * cpu_stride, so that a caller can inline the lookup the way the kernel's
  // verifier inlines array lookups (map_gen_lookup). False: no such layout.
  struct ArrayLayout {
    uint8_t* base;
    uint64_t elem_stride;
    uint32_t cpu_stride;  // 0 unless per-CPU
    uint32_t max_entries;
  };
  virtual bool array_layout(const Map&, ArrayLayout*) const { return false; }
  // Open-addressing HASH maps: the geometry detail::flat_near_home needs, so a
  // caller can inline the common case of a lookup. False: not such a map.
  virtual bool flat_hash_layout(const Map&, detail::FlatHashLayout*) const { return false; }
  // The function prog_lookup ends up in for this map, for callers that resolve
  // a map once and look up many times (the kernel's verifier likewise turns
  // bpf_map_lookup_elem into a direct call of the family's lookup).
  using LookupFn = void* (*)(Map&, const void*);
  virtual LookupFn prog_lookup_fn(const Map&) const { return nullptr; }
  // Pointer to the value for `key` (the current CPU's slot for per-CPU types), or nullptr.
  virtual void* prog_lookup(Map&, const void*) const { return nullptr; }
  virtual long prog_update(Map&, const void*, const void*, uint64_t) const { return -EINVAL; }
  virtual long prog_delete(Map&, const void*) const { return -EINVAL; }
  virtual long for_each(Map&, ForEachCallback, void*, uint64_t) const { return -EINVAL; }

  // Whether mmap() of the map fd is allowed (BPF_F_MMAPABLE arrays).
  virtual bool mmapable(const Map&) const { return false; }
};

// The one table: map type -> ops (maptypes/registry.cc). nullptr when the type is
// unknown or not emulated (the kernel answers EINVAL for unknown types).
const MapOps* ops_for_type(uint32_t map_type);

}  // namespace bpfemu::maptypes
