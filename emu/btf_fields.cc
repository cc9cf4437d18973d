// The kernel's special fields in a BTF type (its btf_parse_fields), for map
// values at create time and for structs at BPF_BTF_LOAD. Each rule below was
// asked of the 6.18 kernel (6.1 looks at direct members only: no arrays, no
// nested structs; KernelProfile::btf_record_fields) (conformance/
// scenarios_spin_lock.cc and scenarios_btf_fields.cc keep the answers that
// show through syscalls):
//  - a value type is searched when it is a STRUCT (after typedefs and
//    qualifiers) or a DATASEC (global data); unions are not searched;
//  - a member's own type is taken as it is: a typedef'd, const or volatile
//    struct bpf_spin_lock member is plain data; arrays are looked through, an
//    empty one holding nothing, one of one element counting as the element;
//  - a special field is a STRUCT of one of the kernel's names, or a pointer
//    (volatile allowed) to a type tag kptr, kptr_untrusted, percpu_kptr or
//    uptr over a struct. A second one of a kind a struct holds at most once is
//    E2BIG (checked before anything else about it); one of the wrong size, or
//    at an offset in its own struct that is not a multiple of its alignment,
//    is ignored; more than one element of a kind that cannot repeat is EINVAL;
//    a tagged pointer with another tag, two tags, or not to a struct, EINVAL;
//  - a list or rbtree root names what it holds in a "contains:<struct>:<member>"
//    decl tag on its member: none, or no such struct (ENOENT) or member
//    (ENOENT), or a member that is not that root's node, is refused;
//  - any other STRUCT member is searched in turn, with its own "at most once";
//    where it sits in the outer struct is not checked;
//  - more than 11 fields in all is E2BIG; then, over the record: fields that
//    overlap EEXIST, both lock kinds EINVAL, a root without a lock EINVAL,
//    list and rbtree nodes together without a bpf_refcount EINVAL, a __kptr to
//    a kernel struct (one the running kernel's BTF has) without a release
//    kfunc ENOENT.
// A map creation takes every kind but the nodes; BTF_LOAD every kind but
// bpf_timer, bpf_wq, bpf_task_work and uptr. 6.1 (from its source, checked
// in the VM runner) knows bpf_spin_lock, bpf_timer and kptrs tagged kptr
// (unreferenced) or kptr_ref, to kernel structs only.
#include <linux/btf.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <span>
#include <string>

#include "core/libbpf_btf.h"
#include "emu/btf.h"

namespace bpfemu::emu {
namespace {

struct SpecialKind {
  uint32_t kind;
  const char* name;
  uint32_t size;
  uint32_t align;
  bool once;  // a struct holds at most one
};

// Sizes as the 6.18 kernel's BTF has them.
constexpr SpecialKind kStructKinds[] = {
    {kFieldSpinLock, "bpf_spin_lock", 4, 4, true},   {kFieldResSpinLock, "bpf_res_spin_lock", 4, 4, true},
    {kFieldTimer, "bpf_timer", 16, 8, true},         {kFieldWq, "bpf_wq", 16, 8, true},
    {kFieldTaskWork, "bpf_task_work", 8, 8, true},   {kFieldListHead, "bpf_list_head", 16, 8, false},
    {kFieldListNode, "bpf_list_node", 24, 8, false}, {kFieldRbRoot, "bpf_rb_root", 16, 8, false},
    {kFieldRbNode, "bpf_rb_node", 32, 8, false},     {kFieldRefcount, "bpf_refcount", 4, 4, false},
};
constexpr SpecialKind kKptrKind{kFieldKptrRef, "kptr", 8, 8, false};
struct KptrTag {
  const char* tag;
  uint32_t kind;
};
constexpr KptrTag kKptrTags[] = {
    {"kptr_untrusted", kFieldKptrUnref}, {"kptr", kFieldKptrRef}, {"percpu_kptr", kFieldKptrPercpu}, {"uptr", kFieldUptr}};
// 6.1's tags: kptr was the unreferenced one, kptr_ref the referenced one.
constexpr KptrTag kKptrTags61[] = {{"kptr", kFieldKptrUnref}, {"kptr_ref", kFieldKptrRef}};
// The kernel structs a __kptr may point at: those with a release kfunc
// registered as their destructor in 6.18 (bpf_task_release, bpf_cgroup_release,
// bpf_cpumask_release, bpf_crypto_ctx_release).
const char* const kReleasable[] = {"task_struct", "cgroup", "bpf_cpumask", "bpf_crypto_ctx"};

constexpr uint32_t kRepeatable = kFieldKptrs | kFieldUptr | kFieldListHead | kFieldRbRoot;
constexpr uint32_t kMapMask = ~(kFieldListNode | kFieldRbNode);
constexpr uint32_t kLoadMask = ~(kFieldTimer | kFieldWq | kFieldTaskWork | kFieldUptr);
constexpr int kMaxDepth = 32;

uint32_t kind_of(const btf_type* t) { return BTF_INFO_KIND(t->info); }
bool is_struct(const btf_type* t) { return kind_of(t) == BTF_KIND_STRUCT || kind_of(t) == BTF_KIND_UNION; }

const btf_type* skip_modifiers(const LibbpfBtf& lib, const void* btf, uint32_t id, uint32_t* out_id = nullptr) {
  const btf_type* t = lib.type_by_id(btf, id);
  for (int depth = 0; t != nullptr && depth < kMaxDepth; ++depth) {
    switch (kind_of(t)) {
      case BTF_KIND_TYPEDEF:
      case BTF_KIND_VOLATILE:
      case BTF_KIND_CONST:
      case BTF_KIND_RESTRICT:
      case BTF_KIND_TYPE_TAG:
        id = t->type;
        t = lib.type_by_id(btf, id);
        continue;
      default:
        if (out_id != nullptr) *out_id = id;
        return t;
    }
  }
  return nullptr;
}

// A member's type as a kptr: 1 with *kind and *target (the pointee's id), 0
// when it is no kptr, or -EINVAL for a tagged pointer the kernel refuses.
int kptr_of(const LibbpfBtf& lib, const void* btf, const btf_type* t, uint32_t mask, bool legacy, uint32_t* kind,
            uint32_t* target) {
  if (kind_of(t) == BTF_KIND_VOLATILE) t = lib.type_by_id(btf, t->type);
  if (t == nullptr || kind_of(t) != BTF_KIND_PTR) return 0;
  const btf_type* tag = lib.type_by_id(btf, t->type);
  if (tag == nullptr || kind_of(tag) != BTF_KIND_TYPE_TAG || BTF_INFO_KFLAG(tag->info)) return 0;
  const btf_type* under = lib.type_by_id(btf, tag->type);
  if (under != nullptr && kind_of(under) == BTF_KIND_TYPE_TAG) return -EINVAL;
  const char* name = lib.name_by_offset(btf, tag->name_off);
  const KptrTag* k = nullptr;
  for (const KptrTag& c : legacy ? std::span<const KptrTag>(kKptrTags61) : std::span<const KptrTag>(kKptrTags))
    if (name != nullptr && strcmp(name, c.tag) == 0) k = &c;
  if (k == nullptr) return -EINVAL;
  if (!(k->kind & mask)) return 0;
  const btf_type* pointee = skip_modifiers(lib, btf, tag->type, target);
  if (pointee == nullptr || kind_of(pointee) != BTF_KIND_STRUCT) return -EINVAL;  // a union is refused too
  *kind = k->kind;
  return 1;
}

// The first STRUCT named `name`, or 0.
uint32_t struct_by_name(const LibbpfBtf& lib, const void* btf, const char* name) {
  const uint32_t n = lib.type_cnt(btf);
  for (uint32_t id = 1; id <= n; ++id) {
    const btf_type* t = lib.type_by_id(btf, id);
    const char* tn = t != nullptr ? lib.name_by_offset(btf, t->name_off) : nullptr;
    if (t != nullptr && kind_of(t) == BTF_KIND_STRUCT && tn != nullptr && strcmp(tn, name) == 0) return id;
  }
  return 0;
}

class Scan {
 public:
  Scan(const LibbpfBtf& lib, const void* btf, uint32_t mask, bool nested, BtfFields* out)
      : lib_(lib), btf_(btf), mask_(mask), nested_(nested), out_(*out) {}

  int in_struct(uint32_t id, const btf_type* t, uint32_t base, int depth) {
    uint32_t seen = 0;
    const auto* m = reinterpret_cast<const btf_member*>(t + 1);
    const bool kflag = BTF_INFO_KFLAG(t->info) != 0;
    for (uint32_t i = 0; i < BTF_INFO_VLEN(t->info); ++i) {
      const uint32_t bits = kflag ? BTF_MEMBER_BIT_OFFSET(m[i].offset) : m[i].offset;
      if (bits % 8 != 0) return -EINVAL;
      if (int e = one(m[i].type, bits / 8, base, &seen, depth, id, static_cast<int>(i)); e != 0) return e;
    }
    return 0;
  }

  int in_datasec(const btf_type* t) {
    uint32_t seen = 0;
    const auto* v = reinterpret_cast<const btf_var_secinfo*>(t + 1);
    for (uint32_t i = 0; i < BTF_INFO_VLEN(t->info); ++i) {
      const btf_type* var = lib_.type_by_id(btf_, v[i].type);
      if (var == nullptr || kind_of(var) != BTF_KIND_VAR) continue;
      if (int e = one(var->type, v[i].offset, 0, &seen, 0, v[i].type, -1); e != 0) return e;
    }
    return 0;
  }

 private:
  // One member (or variable) of type `id` at `off` in its container (BTF id
  // `owner`, member index `idx`), which sits at `base` in the value.
  int one(uint32_t id, uint32_t off, uint32_t base, uint32_t* seen, int depth, uint32_t owner, int idx) {
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
      const size_t before = out_.fields.size();
      if (int e = in_struct(id, t, base + off, depth + 1); e != 0) return e;
      if (out_.fields.size() == before || nelems == 1) return 0;
      // Repeated for each element: only kptrs and graph roots may be.
      for (size_t i = before; i < out_.fields.size(); ++i)
        if (!(out_.fields[i].kind & kRepeatable)) return -EINVAL;
      const size_t n = out_.fields.size() - before;
      if (out_.fields.size() + n * (nelems - 1) > ValueRecord::kMaxFields) return -E2BIG;
      for (uint64_t e = 1; e < nelems; ++e)
        for (size_t i = 0; i < n; ++i) {
          BtfFields::Field f = out_.fields[before + i];
          f.off += static_cast<uint32_t>(e * t->size);
          out_.fields.push_back(f);
        }
      return 0;
    }
    if (kind->once) {
      if (*seen & kind->kind) return -E2BIG;
      *seen |= kind->kind;
    }
    if ((kind != &kKptrKind && t->size != kind->size) || off % kind->align != 0) return 0;
    BtfFields::Field f{kind->kind, base + off, kind->size, 0};
    if (kind == &kKptrKind) {
      const int k = kptr_of(lib_, btf_, t, mask_, !nested_, &f.kind, &f.target);
      if (k <= 0) return k;
    } else if (kind->kind & (kFieldListHead | kFieldRbRoot)) {
      if (int e = root_target(owner, idx, &f.target, &f.node); e <= 0) return e;
    }
    if (nelems > 1 && !(f.kind & kRepeatable)) return -EINVAL;
    if (out_.fields.size() + nelems > ValueRecord::kMaxFields) return -E2BIG;
    for (uint64_t e = 0; e < nelems; ++e) {
      out_.fields.push_back(f);
      f.off += kind->size;
    }
    return 0;
  }

  // The struct and member a root's "contains:<struct>:<member>" tag names: 1
  // with *target and *member, or the kernel's error.
  int root_target(uint32_t owner, int idx, uint32_t* target, std::string* member) {
    const char* value = nullptr;
    const uint32_t n = lib_.type_cnt(btf_);
    for (uint32_t id = 1; id <= n; ++id) {
      const btf_type* t = lib_.type_by_id(btf_, id);
      if (t == nullptr || kind_of(t) != BTF_KIND_DECL_TAG || t->type != owner) continue;
      if (reinterpret_cast<const btf_decl_tag*>(t + 1)->component_idx != idx) continue;
      const char* name = lib_.name_by_offset(btf_, t->name_off);
      if (name == nullptr || strncmp(name, "contains:", 9) != 0) continue;
      if (value != nullptr) return -EINVAL;  // two of them
      value = name + 9;
    }
    if (value == nullptr) return -EINVAL;
    const char* colon = strchr(value, ':');
    if (colon == nullptr) return -EINVAL;
    *target = struct_by_name(lib_, btf_, std::string(value, colon).c_str());
    if (*target == 0) return -ENOENT;
    if (colon[1] == '\0') return -EINVAL;
    *member = colon + 1;
    return 1;
  }

  // The special kind of a member's type, or nullptr (kKptrKind: a candidate
  // kptr, which kptr_of looks at).
  const SpecialKind* special(const btf_type* t) const {
    if (!is_struct(t)) return (mask_ & (kFieldKptrs | kFieldUptr)) ? &kKptrKind : nullptr;
    const char* name = lib_.name_by_offset(btf_, t->name_off);
    if (name == nullptr || strncmp(name, "bpf_", 4) != 0) return nullptr;
    for (const SpecialKind& k : kStructKinds)
      if ((k.kind & mask_) && strcmp(name, k.name) == 0) return kind_of(t) == BTF_KIND_STRUCT ? &k : nullptr;
    return nullptr;
  }

  const LibbpfBtf& lib_;
  const void* btf_;
  uint32_t mask_;
  bool nested_;
  BtfFields& out_;
};

// A root's node member: the member `member` of struct `target` must be one
// (and only one) of type `node`, 8-byte aligned.
int check_node(const LibbpfBtf& lib, const void* btf, uint32_t target, const char* member, const char* node) {
  const btf_type* t = lib.type_by_id(btf, target);
  const auto* m = reinterpret_cast<const btf_member*>(t + 1);
  bool found = false;
  for (uint32_t i = 0; i < BTF_INFO_VLEN(t->info); ++i) {
    const char* name = lib.name_by_offset(btf, m[i].name_off);
    if (name == nullptr || strcmp(name, member) != 0) continue;
    if (found) return -EINVAL;
    found = true;
    const btf_type* n = lib.type_by_id(btf, m[i].type);
    const char* nn = n != nullptr ? lib.name_by_offset(btf, n->name_off) : nullptr;
    if (n == nullptr || !is_struct(n) || nn == nullptr || strcmp(nn, node) != 0) return -EINVAL;
    const uint32_t bits = BTF_INFO_KFLAG(t->info) ? BTF_MEMBER_BIT_OFFSET(m[i].offset) : m[i].offset;
    if (bits % 8 != 0 || (bits / 8) % 8 != 0) return -EINVAL;
  }
  return found ? 0 : -ENOENT;
}

// The record-wide rules once the fields are found (btf_parse_fields' second
// half): per field in the order found (bounds, overlap, a kptr's target, a
// root's node member), then over the whole record.
int check_record(const LibbpfBtf& lib, const void* btf, const BtfFields& f, uint32_t value_size, bool legacy) {
  uint32_t next = 0;
  for (const BtfFields::Field& x : f.fields) {
    if (x.off + x.size > value_size) return -EFAULT;
    if (x.off < next) return -EEXIST;
    next = x.off + x.size;
    if (x.kind & kFieldKptrs) {
      // A kernel struct must be one with a release kfunc; a program's own is
      // fine. 6.1 knows kernel structs only, and none with a release kfunc
      // (its only ones are in the test module).
      const btf_type* t = lib.type_by_id(btf, x.target);
      const char* name = lib.name_by_offset(btf, t->name_off);
      const VmlinuxTypes* vm = vmlinux_types();
      const bool in_kernel = name != nullptr && vm != nullptr && vm->struct_sizes.count(name) != 0;
      const bool releasable = name != nullptr && std::any_of(std::begin(kReleasable), std::end(kReleasable),
                                                             [&](const char* r) { return strcmp(r, name) == 0; });
      if (legacy && (!in_kernel || x.kind == kFieldKptrRef)) return -ENOENT;
      if (!legacy && x.kind == kFieldKptrRef && in_kernel && !releasable) return -ENOENT;
    }
    if (x.kind & (kFieldListHead | kFieldRbRoot)) {
      const bool list = x.kind == kFieldListHead;
      if (int e = check_node(lib, btf, x.target, x.node.c_str(), list ? "bpf_list_node" : "bpf_rb_node"); e != 0)
        return e;
    }
  }
  if ((f.mask & kFieldSpinLock) && (f.mask & kFieldResSpinLock)) return -EINVAL;
  if ((f.mask & (kFieldListHead | kFieldRbRoot)) && !(f.mask & (kFieldSpinLock | kFieldResSpinLock))) return -EINVAL;
  if ((f.mask & kFieldListNode) && (f.mask & kFieldRbNode) && !(f.mask & kFieldRefcount)) return -EINVAL;
  return 0;
}

// The fields of the STRUCT or DATASEC `t` (id `id`) with kinds in `mask`,
// record rules included.
int parse_fields(const LibbpfBtf& lib, const void* btf, uint32_t id, const btf_type* t, uint32_t mask, bool nested,
                 BtfFields* out) {
  Scan scan(lib, btf, mask, nested, out);
  int e = 0;
  if (kind_of(t) == BTF_KIND_STRUCT) e = scan.in_struct(id, t, 0, 0);
  if (kind_of(t) == BTF_KIND_DATASEC) e = scan.in_datasec(t);
  if (e != 0) return e;
  for (const BtfFields::Field& x : out->fields) out->mask |= x.kind;
  if (out->fields.empty()) return 0;
  return check_record(lib, btf, *out, t->size, !nested);
}

// Whether type `id` is one whose presence as a member makes BTF_LOAD check
// the struct: a special struct (the first of its name) or a valid kptr.
bool triggers_check(const LibbpfBtf& lib, const void* btf, uint32_t id, const uint32_t* special_ids, size_t n) {
  if (std::find(special_ids, special_ids + n, id) != special_ids + n) return true;
  const btf_type* t = lib.type_by_id(btf, id);
  uint32_t kind = 0, target = 0;
  return t != nullptr && kptr_of(lib, btf, t, kFieldKptrs, false, &kind, &target) == 1;
}

}  // namespace

std::vector<uint32_t> BtfFields::offs_of(uint32_t kind) const {
  std::vector<uint32_t> offs;
  for (const Field& f : fields)
    if (f.kind & kind) offs.push_back(f.off);
  return offs;
}

int find_value_fields(const LibbpfBtf& lib, const void* btf, uint32_t value_type_id, bool nested, BtfFields* out) {
  *out = BtfFields{};
  uint32_t id = value_type_id;
  const btf_type* t = skip_modifiers(lib, btf, value_type_id, &id);
  if (t == nullptr) return 0;
  if (nested) {
    const int e = parse_fields(lib, btf, id, t, kMapMask, true, out);
    if (e != 0) *out = BtfFields{};
    return e;
  }
  // 6.1 knows locks, timers and kptrs only, and finds kptrs in a pass of their
  // own: a kptr it cannot take leaves the lock and timer found (VM runner).
  const int e = parse_fields(lib, btf, id, t, kFieldSpinLock | kFieldTimer, false, out);
  if (e != 0) *out = BtfFields{};
  BtfFields kptrs;
  if (parse_fields(lib, btf, id, t, kFieldKptrUnref | kFieldKptrRef, false, &kptrs) == 0) {
    out->fields.insert(out->fields.end(), kptrs.fields.begin(), kptrs.fields.end());
    out->mask |= kptrs.mask;
  }
  return e;
}

int check_struct_fields(const LibbpfBtf& lib, const void* btf) {
  const char* const kAllocObj[] = {"bpf_spin_lock", "bpf_list_head", "bpf_list_node",
                                   "bpf_rb_root",   "bpf_rb_node",   "bpf_refcount"};
  uint32_t special_ids[std::size(kAllocObj)];
  size_t nspecial = 0;
  for (const char* name : kAllocObj)
    if (uint32_t id = struct_by_name(lib, btf, name); id != 0) special_ids[nspecial++] = id;
  const uint32_t n = lib.type_cnt(btf);
  for (uint32_t id = 1; id <= n; ++id) {
    const btf_type* t = lib.type_by_id(btf, id);
    if (t == nullptr || !is_struct(t)) continue;
    const auto* m = reinterpret_cast<const btf_member*>(t + 1);
    bool holds = false;
    for (uint32_t i = 0; i < BTF_INFO_VLEN(t->info) && !holds; ++i)
      holds = triggers_check(lib, btf, m[i].type, special_ids, nspecial);
    if (!holds || kind_of(t) != BTF_KIND_STRUCT) continue;
    BtfFields fields;
    if (int e = parse_fields(lib, btf, id, t, kLoadMask, true, &fields); e != 0) return e;
    // Such a struct must come out with fields (its lock may have been ignored).
    if (fields.fields.empty()) return -EFAULT;
  }
  return 0;
}

int check_graph_roots(const LibbpfBtf& lib, const void* btf, uint32_t value_type_id) {
  BtfFields value;
  if (find_value_fields(lib, btf, value_type_id, true, &value) != 0) return 0;
  for (const BtfFields::Field& f : value.fields) {
    if (!(f.kind & (kFieldListHead | kFieldRbRoot))) continue;
    // The node struct must have been checked at BTF_LOAD (it holds a node).
    BtfFields node;
    const btf_type* t = lib.type_by_id(btf, f.target);
    if (parse_fields(lib, btf, f.target, t, kLoadMask, true, &node) != 0 || node.fields.empty()) return -EFAULT;
  }
  return 0;
}

}  // namespace bpfemu::emu
