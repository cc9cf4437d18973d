#include "emu/kfuncs.h"

#include <linux/bpf.h>

#include <algorithm>

#include "core/libbpf_btf.h"
#include "core/profile.h"
#include "emu/graph.h"
#include "emu/local_obj.h"
#include "emu/program.h"
#include "emu/timer.h"

namespace bpfemu::emu::interp {
namespace {

void* ptr(uint64_t v) { return reinterpret_cast<void*>(v); }

// --- local objects (emu/local_obj.h) ---

// bpf_obj_new_impl(local_type_id, meta): the verifier turns the type id (of the
// program's BTF) into the size and meta into the type's special fields; here
// both come from the program's BTF at the call.
bool obj_new_impl(HelperCall& c, uint64_t* r0) {
  const Program& prog = c.m.program();
  const uint32_t btf_id = prog.header().btf_id;
  if (btf_id == 0 || prog.store() == nullptr) return c.m.fault("bpf_obj_new_impl: the program was loaded without BTF");
  auto type = obj_type(*prog.store(), btf_id, static_cast<uint32_t>(c.a[0]));
  if (type == nullptr)
    return c.m.fault("bpf_obj_new_impl: type %llu of the program's BTF is not a struct", (unsigned long long)c.a[0]);
  const uint32_t size = type->size;
  void* p = obj_new(std::move(type));
  if (p != nullptr) run_hold(c.env, p, size);
  *r0 = reinterpret_cast<uint64_t>(p);
  return true;
}

bool obj_drop_impl(HelperCall& c, uint64_t* r0) {
  if (!run_release(c.env, ptr(c.a[0])))
    return c.m.fault("bpf_obj_drop_impl: R1 (0x%llx) is not an object the program holds", (unsigned long long)c.a[0]);
  (void)obj_drop(ptr(c.a[0]));
  *r0 = 0;
  return true;
}

// bpf_refcount_acquire_impl: a new reference on an object the program holds,
// or reaches in a list or rbtree under its lock (whose type has a
// bpf_refcount, as the verifier requires).
bool refcount_acquire_impl(HelperCall& c, uint64_t* r0) {
  void* p = ptr(c.a[0]);
  const bool held = std::find(c.env.held_objects.begin(), c.env.held_objects.end(), p) != c.env.held_objects.end() ||
                    std::find(c.env.non_owning.begin(), c.env.non_owning.end(), p) != c.env.non_owning.end();
  if (!held || !obj_acquire(p))
    return c.m.fault("bpf_refcount_acquire_impl: R1 (0x%llx) is not a refcounted object the program holds",
                     (unsigned long long)c.a[0]);
  run_hold(c.env, p, obj_size(p));
  *r0 = c.a[0];
  return true;
}

// --- struct bpf_wq (emu/timer.h): the verifier proves R1 is a map value's bpf_wq ---

constexpr uint64_t kWqSize = 16;

bool wq_init(HelperCall& c, uint64_t* r0) {
  Map* m = c.m.map_arg(c.a[1], "bpf_wq_init");
  if (m == nullptr || !c.m.check(c.a[0], kWqSize, true, "bpf_wq_init wq")) return false;
  *r0 = static_cast<uint64_t>(emu::wq_init(*m, ptr(c.a[0]), static_cast<uint32_t>(c.a[2])));
  return true;
}

bool wq_set_callback_impl(HelperCall& c, uint64_t* r0) {
  if (!c.m.check(c.a[0], kWqSize, true, "bpf_wq_set_callback_impl wq")) return false;
  const int64_t pc = c.m.func_arg(c.a[1]);
  if (pc < 0) return c.m.fault("bpf_wq_set_callback_impl: R2 is not a callback of this program");
  *r0 = static_cast<uint64_t>(
      emu::wq_set_callback(ptr(c.a[0]), c.m.program(), static_cast<uint32_t>(pc), static_cast<uint32_t>(c.a[2])));
  return true;
}

bool wq_start(HelperCall& c, uint64_t* r0) {
  if (!c.m.check(c.a[0], kWqSize, true, "bpf_wq_start wq")) return false;
  *r0 = static_cast<uint64_t>(emu::wq_start(ptr(c.a[0]), static_cast<uint32_t>(c.a[1])));
  return true;
}

constexpr KfuncDef kKfuncs[] = {
    {"bpf_obj_new_impl", obj_new_impl, 6, 2, false},
    {"bpf_obj_drop_impl", obj_drop_impl, 6, 2, false},
    {"bpf_refcount_acquire_impl", refcount_acquire_impl, 6, 4, true},
    // Lists came in 6.2, rbtrees in 6.3, the _impl pushes (which may fail)
    // in 6.4, list_front/back in 6.16.
    {"bpf_list_push_front_impl", list_push_front_impl, 6, 4, true},
    {"bpf_list_push_back_impl", list_push_back_impl, 6, 4, true},
    {"bpf_list_pop_front", list_pop_front, 6, 2, true},
    {"bpf_list_pop_back", list_pop_back, 6, 2, true},
    {"bpf_list_front", list_front, 6, 16, true},
    {"bpf_list_back", list_back, 6, 16, true},
    {"bpf_rbtree_add_impl", rbtree_add_impl, 6, 4, true},
    {"bpf_rbtree_remove", rbtree_remove, 6, 3, true},
    {"bpf_rbtree_first", rbtree_first, 6, 3, true},
    {"bpf_wq_init", wq_init, 6, 10, false},
    {"bpf_wq_set_callback_impl", wq_set_callback_impl, 6, 10, false},
    {"bpf_wq_start", wq_start, 6, 10, false},
};

}  // namespace

const KfuncDef* kfunc_by_name(std::string_view name) {
  const KernelProfile& p = active_profile();
  for (const KfuncDef& k : kKfuncs)
    if (name == k.name) return p.major > k.major || (p.major == k.major && p.minor >= k.minor) ? &k : nullptr;
  return nullptr;
}

const KfuncDef* kfunc_of_call(int32_t imm, int16_t off) {
  if (off != 0) return nullptr;
  const VmlinuxTypes* vm = vmlinux_types();
  if (vm == nullptr) return nullptr;
  auto it = vm->funcs.find(static_cast<uint32_t>(imm));
  return it != vm->funcs.end() ? kfunc_by_name(it->second) : nullptr;
}

bool kfunc_under_lock(int32_t imm, int16_t off) {
  const KfuncDef* def = kfunc_of_call(imm, off);
  return def != nullptr && def->under_lock;
}

bool kptr_xchg(HelperCall& c, uint64_t* r0) {
  const uint64_t field = c.a[0], obj = c.a[1];
  if (!c.m.check(field, 8, true, "bpf_kptr_xchg field")) return false;
  // The field must be a __kptr of a value of one of the program's maps (the
  // verifier's check; for arrays down to the field's offset in its value).
  Map* map = nullptr;
  for (Map* m : c.env.maps) {
    const auto lo = reinterpret_cast<uint64_t>(m->data());
    if (field >= lo && field + 8 <= lo + m->data_size()) map = m;
  }
  const ValueRecord* rec = map != nullptr ? &map->attr().record : nullptr;
  bool is_field = rec != nullptr && rec->other_kptrs != 0 && field % 8 == 0;
  if (is_field && map->attr().map_type == BPF_MAP_TYPE_ARRAY) {
    const uint64_t in_value = (field - reinterpret_cast<uint64_t>(map->data())) % round_up8(map->attr().value_size);
    is_field = false;
    for (uint32_t i = 0; i < rec->other_count; ++i)
      if ((rec->other_kptrs & (1u << i)) && rec->other_offs[i] == in_value) is_field = true;
  }
  if (!is_field) return c.m.fault("bpf_kptr_xchg: R1 is not a __kptr field of a map value");
  if (obj != 0 && std::find(c.env.held_objects.begin(), c.env.held_objects.end(), ptr(obj)) == c.env.held_objects.end())
    return c.m.fault("bpf_kptr_xchg: R2 (0x%llx) is not an object the program holds", (unsigned long long)obj);
  bool bad = false;
  const uint64_t old = kptr_field_xchg(map->store(), map->id(), field - reinterpret_cast<uint64_t>(map->data()),
                                       ptr(field), obj, &bad);
  if (bad) return c.m.fault("bpf_kptr_xchg: the field holds no object of this process");
  if (obj != 0) (void)run_release(c.env, ptr(obj));
  if (old != 0) run_hold(c.env, ptr(old), obj_size(ptr(old)));
  *r0 = old;
  return true;
}

}  // namespace bpfemu::emu::interp
