// Objects programs allocate (bpf_obj_new: the kernel's "local kptrs") and the
// __kptr fields of map values that hold them (bpf_kptr_xchg).
//
// An object is heap memory of this process, listed in a registry: whatever
// pointer a program passes to bpf_obj_drop or bpf_kptr_xchg is looked up there
// first, so a pointer that is not a live object is a clean run error, never a
// free of something else. A kptr field in map memory holds the object's
// address; the registry also notes which map holds it, so that the object goes
// when its element leaves the map (delete, replace, an array element
// overwritten: the value free hook) or the map is freed. Objects are per
// process, like timers: another process sharing the map finds a field it
// cannot use (its programs' kptr_xchg on it fails the run).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/map.h"

namespace bpfemu::emu {

class Store;
struct RunEnv;

// What an object of one program BTF type holds besides plain data.
struct ObjType {
  uint32_t size = 0;
  bool refcounted = false;            // it holds a bpf_refcount
  std::vector<uint32_t> kptr_offs;    // its own __kptr fields
};

// The type `type_id` of the BTF object `btf_id` (a program's) as bpf_obj_new
// allocates it: nullptr when it is not a struct (or the BTF cannot be read).
std::shared_ptr<const ObjType> obj_type(Store& store, uint32_t btf_id, uint32_t type_id);

// bpf_obj_new: a zeroed object with one reference, or nullptr.
void* obj_new(std::shared_ptr<const ObjType> type);
// The live object p points into (and *off, p's offset in it), or nullptr.
void* obj_containing(const void* p, uint32_t* off);
// The object's size when p is a live object of this process, else 0.
uint32_t obj_size(const void* p);
// bpf_refcount_acquire: one more reference; false when p is no live
// refcounted object.
bool obj_acquire(void* p);
// bpf_obj_drop: drops a reference, freeing the object (and what its own kptr
// fields hold) with the last; false when p is no live object.
bool obj_drop(void* p);

// bpf_kptr_xchg on the field at `field`, field_off bytes into the data area
// of the map (store, map_id): stores `obj` (0 or a live object) and returns
// what the field held (*bad, and nothing changed: it holds something other
// than what this process stored there).
uint64_t kptr_field_xchg(const Store* store, uint32_t map_id, uint64_t field_off, void* field, uint64_t obj,
                         bool* bad);
// The map (store, id) is freed: the objects its fields (kptrs, list and
// rbtree roots) held are dropped.
void kptrs_forget_map(const Store* store, uint32_t map_id);

// The objects a run holds (what bpf_obj_new, bpf_refcount_acquire and
// bpf_kptr_xchg gave it): their memory is the program's while held.
void run_hold(RunEnv& env, void* obj, uint32_t size);
// Gives one hold up (dropped or stored): false when the run holds no such object.
bool run_release(RunEnv& env, void* obj);
// At the end of a run: drops what it still holds; the number dropped.
size_t run_drop_held(RunEnv& env);

// Objects alive in this process (tests check for leaks with it).
size_t live_objects();

}  // namespace bpfemu::emu
