// bpf_list_head and bpf_rb_root in map values: the lists and rbtrees of
// objects (bpf_obj_new's, emu/local_obj.h) programs build under the value's
// bpf_spin_lock with the kfuncs bpf_list_push_front/back, bpf_list_pop_front/
// back, bpf_list_front/back, bpf_rbtree_add, bpf_rbtree_remove and
// bpf_rbtree_first.
//
// A root's contents live in this process, like objects, keyed by the root's
// map and offset in the map's data (the root's 16 bytes stay zero, which is
// what syscalls read). A root holds the references its objects were pushed
// with; they are dropped when the element leaves the map or the map is freed
// (an object that lives on keeps its node marked as in a root, as on the
// kernel, so pushing that node again fails).
// As the verifier has it, a node pushed or found (front, back, first) is the
// program's to touch until it unlocks; a popped or removed one is owned.
#pragma once

#include <cstdint>

#include "emu/interpreter.h"

namespace bpfemu::emu {

class Store;

// The root at field_off in the data of map (store, id) goes: its objects are dropped.
void graph_free(const Store* store, uint32_t map_id, uint64_t field_off);
// The map is freed: every root of it goes.
void graphs_forget_map(const Store* store, uint32_t map_id);
// The object's memory is freed: its nodes are in no root any more.
void graph_obj_freed(const void* obj);
// bpf_spin_unlock: the nodes the program reached without owning them are no
// longer its to touch.
void graph_unlock(RunEnv& env);

namespace interp {
bool list_push_front_impl(HelperCall& c, uint64_t* r0);
bool list_push_back_impl(HelperCall& c, uint64_t* r0);
bool list_pop_front(HelperCall& c, uint64_t* r0);
bool list_pop_back(HelperCall& c, uint64_t* r0);
bool list_front(HelperCall& c, uint64_t* r0);
bool list_back(HelperCall& c, uint64_t* r0);
bool rbtree_add_impl(HelperCall& c, uint64_t* r0);
bool rbtree_remove(HelperCall& c, uint64_t* r0);
bool rbtree_first(HelperCall& c, uint64_t* r0);
}  // namespace interp

}  // namespace bpfemu::emu
