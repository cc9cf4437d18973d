// The ops table of one map family, like the kernel's struct bpf_map_ops.
//
// The emulated syscall layer (emu/map_cmds.cc) does everything that
// kernel/bpf/syscall.c does before calling into a map's ops: fd and permission
// checks, flag checks common to all maps, copying keys and values in from the
// caller and out to it, freeze. The ops only do what the kernel's per-family
// callbacks do, and return 0 or -errno. An op a family does not provide answers
// what the kernel answers for a missing callback.
//
// Pointers are emulator memory everywhere except in BatchArgs, whose arrays are
// the caller's: batch ops copy each element in or out through core/uaccess.h, as
// the kernel's batch callbacks do, so a fault part-way leaves the work done so far.
#pragma once

#include <cerrno>
#include <cstdint>

#include "bpfemu/prog.h"
#include "bpfemu/uapi.h"
#include "core/map.h"
#include "core/uaccess.h"

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

// A batch command's arguments, as bpf_attr.batch holds them. in_batch,
// out_batch, keys and values are the caller's memory; count is the emulator's
// (the capacity in, the number of elements done out).
struct BatchArgs {
  const void* in_batch;
  void* out_batch;
  void* keys;
  void* values;
  uint32_t* count;
  uint64_t elem_flags;
  uint64_t flags;
};

// Callback of bpf_for_each_map_elem: returns 0 to continue, 1 to stop.
using ForEachCallback = long (*)(Map& map, const void* key, void* value, void* ctx);

// What a map value slot of an fd-valued map holds: a reference to an object
// (the kernel's map_fd_get_ptr result).
struct ObjRef {
  emu::ObjKind kind = emu::ObjKind::kNone;
  uint32_t id = 0;
  uint32_t prog_type = 0;  // programs: their type (prog arrays hold one type only)
  uint32_t expected_attach_type = 0;  // programs: the one they were loaded with (devmap, cpumap programs)
};

// How fd-valued maps reach the objects their slots refer to: the object model
// lives above the map families, so emu/ provides these (as the kernel's
// bpf_prog_get/bpf_prog_put serve map_fd_get_ptr/map_fd_put_ptr).
struct FdObjects {
  // The object behind the caller's fd: 0 with *ref set and a kernel reference
  // on it taken, or -EBADF / -EINVAL.
  int (*get)(int ufd, ObjRef* ref);
  // Drops a reference a slot held (the object may be freed).
  void (*put)(const ObjRef& ref);
  // This process's view of the live map with this id (nullptr: none). Takes
  // no reference: callers hold one (a slot's, or the fd's get() took).
  Map* (*map)(uint32_t id);
};
// `ops` must outlive every map (a static).
void set_fd_objects(const FdObjects& ops);
const FdObjects& fd_objects();

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
  // The kernel's map_mem_usage: what fdinfo reports as memlock (and bpftool
  // prints), computed with the kernel's own structure sizes.
  virtual uint64_t mem_usage(const Map& map) const = 0;

  // --- syscall side ---
  // Bytes of a value as syscalls copy it (per-CPU types: nr_cpus * round_up(value_size, 8)).
  virtual uint32_t sys_value_size(const Map& map) const { return map.attr().value_size; }
  // Key-less types take a null key: update pushes (the kernel's map_push_elem),
  // lookup peeks, lookup_and_delete pops.
  virtual int lookup(Map& map, const void* key, void* value, uint64_t flags) const = 0;
  // Whether a syscall lookup reads its value buffer instead of writing it (the
  // bloom filter checks the value it is given).
  virtual bool lookup_takes_value() const { return false; }
  virtual int update(Map& map, const void* key, const void* value, uint64_t flags) const = 0;
  virtual int delete_elem(Map& map, const void* key) const = 0;
  virtual int get_next_key(Map& map, const void* key, void* next_key) const = 0;
  // Kernel: ENOTSUPP for types without map_lookup_and_delete_elem.
  virtual int lookup_and_delete(Map&, const void*, void*, uint64_t) const { return -kENOTSUPP; }
  // True when BPF_F_LOCK may be used (the value has a bpf_spin_lock).
  bool has_spin_lock(const Map& map) const { return map.attr().record.has_lock(); }

  // Batch ops (the kernel answers ENOTSUPP when a family has no batch callback).
  // lookup_batch serves both lookup and lookup_and_delete (do_delete).
  virtual int lookup_batch(Map&, const BatchArgs&, bool /*do_delete*/) const { return -kENOTSUPP; }
  virtual int update_batch(Map&, const BatchArgs&) const { return -kENOTSUPP; }
  virtual int delete_batch(Map&, const BatchArgs&) const { return -kENOTSUPP; }

  // --- fd-valued maps (prog arrays, maps of maps, perf event and socket maps) ---
  // Syscall updates and deletes of these go through update()/delete_elem(),
  // which reach the objects through fd_objects(); a syscall lookup answers the
  // object's id (map_fd_sys_lookup_elem).
  // The program a tail call through slot `index` jumps to (0: none).
  virtual uint32_t tail_call_target(const Map&, uint32_t /*index*/) const { return 0; }
  // The id of the object slot `index` holds (0: none, or past the end).
  virtual uint32_t fd_slot(const Map&, uint32_t /*index*/) const { return 0; }
  // Whether a program of prog_type may use this map (a prog array takes the
  // type of the first program that uses it or is stored in it): 0 or -EINVAL.
  virtual int prog_compatible(Map&, uint32_t /*prog_type*/) const { return 0; }

  // The bytes BPF_OBJ_GET_INFO_BY_FD hashes into bpf_map_info.hash (the
  // kernel's map_get_hash, which only ARRAY has: its whole value area, padding
  // included); false: the family has no hash (EINVAL).
  virtual bool hashed_area(const Map&, const uint8_t** /*data*/, uint64_t* /*len*/) const { return false; }

  // --- memory mapping and polling of the map fd ---
  // Whether mmap() of the fd can work at all (the kernel's map_mmap callback
  // exists and the map allows it: BPF_F_MMAPABLE arrays, ring buffers, arenas).
  virtual bool mmapable(const Map&) const { return false; }
  // Bytes of the data area a mapping may cover from offset 0 (-EINVAL past it).
  virtual uint64_t mmap_size(const Map&) const { return 0; }
  // The family's own checks of a mapping of [offset, offset + len) (page
  // multiples): 0 or -errno (a ring buffer maps only its consumer page writable).
  virtual int mmap_check(const Map&, uint64_t /*offset*/, uint64_t /*len*/, bool /*writable*/) const { return 0; }
  // Mapping offsets that show earlier pages again: [from, from + len) maps the
  // data area's [from - len, from) (a ring buffer's records, mapped twice).
  struct MmapMirror {
    uint64_t from = 0;
    uint64_t len = 0;
  };
  virtual MmapMirror mmap_mirror(const Map&) const { return {}; }
  // The kernel's map_poll: EPOLL* bits ready now (EPOLLERR for types without one).
  virtual uint32_t poll(Map&) const { return 0x008; /* EPOLLERR */ }

  // --- program side (what helpers called from a BPF program do) ---
  // How a program-side lookup of this map may be inlined into its caller (the
  // kernel's map_gen_lookup): a direct array index, or a call. The default is
  // a call of prog_lookup().
  virtual void gen_lookup(Map& map, prog::InlineLookup* out) const;
  // The kernel's map_direct_value_addr: whether a program may take the
  // address of a value directly (BPF_PSEUDO_MAP_VALUE; global data).
  virtual bool direct_value_access(const Map&) const { return false; }
  // Pointer to the value for `key` (the current CPU's slot for per-CPU types), or nullptr.
  virtual void* prog_lookup(Map&, const void*) const { return nullptr; }
  // bpf_map_lookup_percpu_elem: the value of CPU `cpu`.
  virtual void* prog_lookup_percpu(Map&, const void*, uint32_t) const { return nullptr; }
  // The same pointer as prog_lookup without a program lookup's side effects
  // (an LRU element's reference bit): what an iterator's walk hands out.
  virtual void* peek_value(Map& map, const void* key) const { return prog_lookup(map, key); }
  virtual long prog_update(Map&, const void*, const void*, uint64_t) const { return -EINVAL; }
  virtual long prog_delete(Map&, const void*) const { return -EINVAL; }
  // bpf_map_push_elem / bpf_map_pop_elem / bpf_map_peek_elem (queue, stack, bloom filter).
  virtual long prog_push(Map&, const void*, uint64_t) const { return -EINVAL; }
  virtual long prog_pop(Map&, void*) const { return -EINVAL; }
  virtual long prog_peek(Map&, void*) const { return -EINVAL; }
  virtual long for_each(Map&, ForEachCallback, void*, uint64_t) const { return -EINVAL; }
  // bpf_get_stackid: files the stack ips[0, nr) (innermost first) and answers
  // its id (STACK_TRACE only).
  virtual long get_stackid(Map&, const uint64_t* /*ips*/, uint32_t /*nr*/, uint64_t /*flags*/) const { return -EINVAL; }
  // bpf_redirect_map from XDP (the kernel's map_redirect): the verdict,
  // XDP_REDIRECT or the fallback flags ask for. Maps without one never get
  // here (the verifier refuses them).
  virtual long prog_redirect(Map&, uint64_t /*key*/, uint64_t /*flags*/) const { return XDP_ABORTED; }
  // The start of the value `p` points into (the checks of bpf_spin_lock's
  // argument), or nullptr when p is not inside one of the map's values.
  virtual const uint8_t* value_containing(const Map&, const void* /*p*/) const { return nullptr; }
  // Ring buffers: __bpf_ringbuf_reserve (the record's data, or nullptr when it
  // does not fit), bpf_ringbuf_commit (which wakes pollers as its flags and
  // the consumer's position say) and bpf_ringbuf_query.
  virtual void* prog_ringbuf_reserve(Map&, uint64_t /*size*/) const { return nullptr; }
  virtual void prog_ringbuf_commit(Map&, void* /*sample*/, uint64_t /*flags*/, bool /*discard*/) const {}
  virtual uint64_t prog_ringbuf_query(Map&, uint64_t /*flags*/) const { return 0; }
};

// Wakes whoever waits in poll/epoll on the map's fds, in any process (the
// kernel's wake_up of the map's wait queue). emu/ provides it: wait channels
// belong to the object model.
void set_poll_notifier(void (*notify)(Map& map));
void notify_pollers(Map& map);

// Fast ops that take the caller's pointers, around one that takes the
// emulator's, for maps with KeyT keys and 8-byte values: one fault-safe load
// of the key, and of the value for updates, and one store of the value for
// lookups (the cheapest form of the copies the syscall layer would make).
template <class KeyT, int (*Impl)(Map&, const void*, void*)>
int user_fast_lookup8(Map& map, const void* ukey, void* uvalue) {
  KeyT key;
  if (!emu::get_user(&key, ukey)) return -EFAULT;
  uint64_t value;
  if (const int r = Impl(map, &key, &value); r != 0) return r;
  if (emu::put_user(uvalue, value)) [[likely]]
    return 0;
  return emu::copy_to_user(uvalue, &value, sizeof(value));  // the bytes before a bad one are written
}

template <class KeyT, int (*Impl)(Map&, const void*, const void*, uint64_t)>
int user_fast_update8(Map& map, const void* ukey, const void* uvalue, uint64_t flags) {
  KeyT key;
  uint64_t value;
  if (!emu::get_user(&key, ukey) || !emu::get_user(&value, uvalue)) return -EFAULT;
  return Impl(map, &key, &value, flags);
}

// Sets up a new view: its fast ops (MapOps::bind_view) and the sizes the
// syscall layer copies for them.
void bind_view(Map& map);

// What fdinfo reports as the map's memlock on the map's kernel (profile.h):
// the family's mem_usage, or before 6.4 the kernel's estimate from the attributes.
uint64_t map_memlock(const Map& map);

// The one table: map type -> ops (maptypes/registry.cc, from
// core/map_types.def). nullptr when the type is unknown or not emulated.
const MapOps* ops_for_type(uint32_t map_type);

}  // namespace bpfemu::maptypes
