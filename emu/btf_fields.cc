// The kernel's special fields in a BTF type (its btf_parse_fields), for map
// values at create time and for structs at BPF_BTF_LOAD. Each rule below was
// asked of the 6.18 kernel (6.1 looks at direct members only: no arrays, no
// nested structs; KernelProfile::btf_record_fields) (conformance/scenarios_spin_lock.cc keeps the
// answers that show through syscalls):
//  - a value type is searched when it is a STRUCT (after typedefs and
//    qualifiers) or a DATASEC (global data); unions are not searched;
//  - a member's own type is taken as it is: a typedef'd, const or volatile
//    struct bpf_spin_lock member is plain data; arrays are looked through, an
//    empty one holding nothing, one of one element counting as the element;
//  - a special field is a STRUCT of one of the kernel's names (or a pointer
//    tagged kptr). A second one of a kind a struct holds at most once is
//    E2BIG (checked before anything else about it); one of the wrong size, or
//    at an offset in its own struct that is not a multiple of its alignment,
//    is ignored; more than one element of a kind that cannot repeat is EINVAL;
//  - any other STRUCT member is searched in turn, with its own "at most once";
//    where it sits in the outer struct is not checked;
//  - more than 11 fields in all is E2BIG.
// bpf_spin_lock and bpf_timer fields are kept (BtfFields); a value's spin lock is the last one found (a value may hold several, in
// nested structs: syscalls zero them all, BPF_F_LOCK takes that one).
#include <linux/btf.h>

#include <cerrno>
#include <cstring>

#include "core/libbpf_btf.h"
#include "emu/btf.h"

namespace bpfemu::emu {
namespace {

struct SpecialKind {
  const char* name;
  uint32_t size;
  uint32_t align;
  bool once;        // a struct holds at most one
  bool repeatable;  // may come in arrays
  bool at_load;     // in the set BTF_LOAD's check looks for
};

constexpr SpecialKind kSpinLock{"bpf_spin_lock", 4, 4, true, false, true};
// Sizes as the 6.18 kernel's BTF has them.
constexpr SpecialKind kOtherKinds[] = {
    {"bpf_res_spin_lock", 4, 4, true, false, true}, {"bpf_timer", 16, 8, true, false, false},
    {"bpf_wq", 16, 8, true, false, false},          {"bpf_task_work", 8, 8, true, false, false},
    {"bpf_refcount", 4, 4, true, false, true},      {"bpf_list_head", 16, 8, false, true, true},
    {"bpf_list_node", 24, 8, false, false, true},   {"bpf_rb_root", 16, 8, false, true, true},
    {"bpf_rb_node", 32, 8, false, false, true},
};
const SpecialKind& kTimer = kOtherKinds[1];
constexpr SpecialKind kKptr{"kptr", 8, 8, false, true, true};
const char* const kKptrTags[] = {"kptr", "kptr_untrusted", "percpu_kptr", "uptr"};
constexpr int kMaxDepth = 32;

uint32_t kind_of(const btf_type* t) { return BTF_INFO_KIND(t->info); }

class Scan {
 public:
  // nested: look into arrays and nested structs (the btf_record rules); else
  // only direct members count, as on 6.1.
  Scan(const LibbpfBtf& lib, const void* btf, bool at_load, bool nested, BtfFields* out)
      : lib_(lib), btf_(btf), at_load_(at_load), nested_(nested), out_(*out) {}

  int in_struct(const btf_type* t, uint32_t base, int depth) {
    uint32_t seen = 0;
    const auto* m = reinterpret_cast<const btf_member*>(t + 1);
    const bool kflag = BTF_INFO_KFLAG(t->info) != 0;
    for (uint32_t i = 0; i < BTF_INFO_VLEN(t->info); ++i) {
      const uint32_t bits = kflag ? BTF_MEMBER_BIT_OFFSET(m[i].offset) : m[i].offset;
      if (bits % 8 != 0) return -EINVAL;
      if (int e = one(m[i].type, bits / 8, base, &seen, depth); e != 0) return e;
    }
    return 0;
  }

  int in_datasec(const btf_type* t) {
    uint32_t seen = 0;
    const auto* v = reinterpret_cast<const btf_var_secinfo*>(t + 1);
    for (uint32_t i = 0; i < BTF_INFO_VLEN(t->info); ++i) {
      const btf_type* var = lib_.type_by_id(btf_, v[i].type);
      if (var == nullptr || kind_of(var) != BTF_KIND_VAR) continue;
      if (int e = one(var->type, v[i].offset, 0, &seen, 0); e != 0) return e;
    }
    return 0;
  }

 private:
  // One member (or variable) of type `id` at `off` in its container, which
  // sits at `base` in the value.
  int one(uint32_t id, uint32_t off, uint32_t base, uint32_t* seen, int depth) {
    const btf_type* t = lib_.type_by_id(btf_, id);
    uint64_t nelems = 1;
    while (nested_ && t != nullptr && kind_of(t) == BTF_KIND_ARRAY) {
      const auto* a = reinterpret_cast<const btf_array*>(t + 1);
      nelems *= a->nelems;
      if (nelems > UINT32_MAX) return -E2BIG;
      t = lib_.type_by_id(btf_, a->type);
    }
    if (t == nullptr || nelems == 0) return 0;
    const SpecialKind* kind = special(t);
    if (kind == nullptr) {
      if (!nested_ || kind_of(t) != BTF_KIND_STRUCT || depth >= kMaxDepth) return 0;
      const uint32_t before = out_.count, single_before = out_.single;
      if (int e = in_struct(t, base + off, depth + 1); e != 0) return e;
      if (out_.count == before || nelems == 1) return 0;
      // Repeated for each element: only kptrs and graph roots may be.
      if (out_.single != single_before) return -EINVAL;
      return add(static_cast<uint32_t>((out_.count - before) * (nelems - 1)));
    }
    if (kind->once) {
      const uint32_t bit = 1U << (kind == &kSpinLock ? 0 : 1 + (kind - kOtherKinds));
      if (*seen & bit) return -E2BIG;
      *seen |= bit;
    }
    if ((kind != &kKptr && t->size != kind->size) || off % kind->align != 0) return 0;
    if (nelems > 1 && !kind->repeatable) return -EINVAL;
    if (int e = add(static_cast<uint32_t>(nelems)); e != 0) return e;
    if (!kind->repeatable) ++out_.single;
    if (kind == &kSpinLock) {
      out_.locks.push_back(base + off);
    } else if (kind == &kTimer) {
      out_.timers.push_back(base + off);
    } else if (out_.other == nullptr) {
      out_.other = kind->name;
    }
    return 0;
  }

  int add(uint32_t n) {
    out_.count += n;
    return out_.count > ValueRecord::kMaxFields ? -E2BIG : 0;
  }

  // The special kind of a member's type, or nullptr.
  const SpecialKind* special(const btf_type* t) const {
    if (kind_of(t) == BTF_KIND_PTR) {
      const btf_type* tag = lib_.type_by_id(btf_, t->type);
      if (tag == nullptr || kind_of(tag) != BTF_KIND_TYPE_TAG) return nullptr;
      const char* name = lib_.name_by_offset(btf_, tag->name_off);
      for (const char* k : kKptrTags)
        if (name != nullptr && strcmp(name, k) == 0) return &kKptr;
      return nullptr;
    }
    if (kind_of(t) != BTF_KIND_STRUCT) return nullptr;
    const char* name = lib_.name_by_offset(btf_, t->name_off);
    if (name == nullptr || strncmp(name, "bpf_", 4) != 0) return nullptr;
    if (strcmp(name, kSpinLock.name) == 0) return &kSpinLock;
    for (const SpecialKind& k : kOtherKinds)
      if (strcmp(name, k.name) == 0) return at_load_ && !k.at_load ? nullptr : &k;
    return nullptr;
  }

  const LibbpfBtf& lib_;
  const void* btf_;
  bool at_load_;
  bool nested_;
  BtfFields& out_;
};

const btf_type* skip_modifiers(const LibbpfBtf& lib, const void* btf, uint32_t id) {
  const btf_type* t = lib.type_by_id(btf, id);
  for (int depth = 0; t != nullptr && depth < kMaxDepth; ++depth) {
    switch (kind_of(t)) {
      case BTF_KIND_TYPEDEF:
      case BTF_KIND_VOLATILE:
      case BTF_KIND_CONST:
      case BTF_KIND_RESTRICT:
      case BTF_KIND_TYPE_TAG:
        t = lib.type_by_id(btf, t->type);
        continue;
      default:
        return t;
    }
  }
  return nullptr;
}

}  // namespace

int find_value_fields(const LibbpfBtf& lib, const void* btf, uint32_t value_type_id, bool nested, BtfFields* out) {
  *out = BtfFields{};
  const btf_type* t = skip_modifiers(lib, btf, value_type_id);
  if (t == nullptr) return 0;
  Scan scan(lib, btf, false, nested, out);
  int e = 0;
  if (kind_of(t) == BTF_KIND_STRUCT) e = scan.in_struct(t, 0, 0);
  if (kind_of(t) == BTF_KIND_DATASEC) e = scan.in_datasec(t);
  if (e != 0) *out = BtfFields{};
  return e;
}

int check_struct_fields(const LibbpfBtf& lib, const void* btf) {
  // The first STRUCT named bpf_spin_lock is the one members are compared with.
  const uint32_t n = lib.type_cnt(btf);
  uint32_t lock_id = 0;
  for (uint32_t id = 1; id <= n && lock_id == 0; ++id) {
    const btf_type* t = lib.type_by_id(btf, id);
    const char* name = t != nullptr ? lib.name_by_offset(btf, t->name_off) : nullptr;
    if (t != nullptr && kind_of(t) == BTF_KIND_STRUCT && name != nullptr && strcmp(name, kSpinLock.name) == 0)
      lock_id = id;
  }
  if (lock_id == 0) return 0;
  for (uint32_t id = 1; id <= n; ++id) {
    const btf_type* t = lib.type_by_id(btf, id);
    if (t == nullptr || kind_of(t) != BTF_KIND_STRUCT) continue;
    const auto* m = reinterpret_cast<const btf_member*>(t + 1);
    bool holds_lock = false;
    for (uint32_t i = 0; i < BTF_INFO_VLEN(t->info) && !holds_lock; ++i) holds_lock = m[i].type == lock_id;
    if (!holds_lock) continue;
    BtfFields fields;
    Scan scan(lib, btf, true, true, &fields);
    if (int e = scan.in_struct(t, 0, 0); e != 0) return e;
    // Such a struct must come out with fields (its lock may have been ignored).
    if (fields.count == 0) return -EFAULT;
  }
  return 0;
}

}  // namespace bpfemu::emu
