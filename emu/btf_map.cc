// map_check_btf: a map created with BTF key and value types (every map libbpf
// creates from a BTF-described object) must name types whose sizes are the
// map's key and value sizes, with each family's own rules for the key, as the
// kernel checks them. Types are read with libbpf's BTF API (core/libbpf_btf.h).
//
// Values with special fields are taken where the kernel takes them: their
// offsets go into the map's record, so syscalls read them as zero and never
// write them. bpf_spin_lock, bpf_timer, bpf_wq and __kptr (of a program's own
// structs) work program-side as well; list/rbtree roots are only held
// (programs using their kfuncs are refused at load).
#include <linux/bpf.h>
#include <linux/btf.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "bpfemu/uapi.h"
#include "core/libbpf_btf.h"
#include "core/log.h"
#include "core/profile.h"
#include "emu/btf.h"

namespace bpfemu::emu {
namespace {

// The type `id` stands for once typedefs and qualifiers are skipped, as the
// kernel's btf_type_id_size sees it: nullptr for void and for kinds that have
// no size of their own (VAR, FUNC, FWD, ...).
const btf_type* sized_type(const LibbpfBtf& lib, const void* btf, uint32_t id) {
  for (int depth = 0; depth < 32 && id != 0; ++depth) {
    const btf_type* t = lib.type_by_id(btf, id);
    if (t == nullptr) return nullptr;
    switch (BTF_INFO_KIND(t->info)) {
      case BTF_KIND_TYPEDEF:
      case BTF_KIND_VOLATILE:
      case BTF_KIND_CONST:
      case BTF_KIND_RESTRICT:
      case BTF_KIND_TYPE_TAG:
        id = t->type;
        continue;
      case BTF_KIND_INT:
      case BTF_KIND_PTR:
      case BTF_KIND_ARRAY:
      case BTF_KIND_STRUCT:
      case BTF_KIND_UNION:
      case BTF_KIND_ENUM:
      case BTF_KIND_ENUM64:
      case BTF_KIND_FLOAT:
      case BTF_KIND_DATASEC:
        return t;
      default:
        return nullptr;
    }
  }
  return nullptr;
}

// Whether the family has a map_check_btf callback, without which a map
// cannot leave its BTF key type unspecified.
bool takes_keyless_btf(uint32_t map_type) {
  return map_type == BPF_MAP_TYPE_ARRAY || map_type == BPF_MAP_TYPE_PERCPU_ARRAY || map_type == BPF_MAP_TYPE_LPM_TRIE ||
         map_type == BPF_MAP_TYPE_BLOOM_FILTER || map_type == BPF_MAP_TYPE_ARRAY_OF_MAPS ||
         map_type == BPF_MAP_TYPE_HASH_OF_MAPS || map_type == BPF_MAP_TYPE_DEVMAP ||
         map_type == BPF_MAP_TYPE_DEVMAP_HASH || map_type == BPF_MAP_TYPE_CPUMAP;
}

// The map types whose values may hold a bpf_spin_lock.
bool takes_spin_lock(uint32_t map_type) {
  switch (map_type) {
    case BPF_MAP_TYPE_HASH:
    case BPF_MAP_TYPE_ARRAY:
    case BPF_MAP_TYPE_CGROUP_STORAGE:
    case BPF_MAP_TYPE_SK_STORAGE:
    case BPF_MAP_TYPE_INODE_STORAGE:
    case BPF_MAP_TYPE_TASK_STORAGE:
    case kMapTypeCgrpStorage:
      return true;
    default:
      return false;
  }
}

bool is_storage(uint32_t t) {
  return t == BPF_MAP_TYPE_SK_STORAGE || t == BPF_MAP_TYPE_INODE_STORAGE || t == BPF_MAP_TYPE_TASK_STORAGE ||
         t == kMapTypeCgrpStorage;
}

// Whether map_type may hold fields of `kind` (map_check_btf's switch; checked
// on 6.18 for the hash and array types: conformance scenarios_btf_fields.cc).
bool takes_field(uint32_t map_type, uint32_t kind, bool record_rules) {
  const bool h = map_type == BPF_MAP_TYPE_HASH, a = map_type == BPF_MAP_TYPE_ARRAY;
  const bool lru = map_type == BPF_MAP_TYPE_LRU_HASH;
  const bool percpu = map_type == BPF_MAP_TYPE_PERCPU_HASH || map_type == BPF_MAP_TYPE_LRU_PERCPU_HASH ||
                      map_type == BPF_MAP_TYPE_PERCPU_ARRAY;
  switch (kind) {
    case kFieldSpinLock:
    case kFieldResSpinLock:
      return takes_spin_lock(map_type);
    case kFieldTimer:
    case kFieldWq:
    case kFieldTaskWork:
      return h || lru || a;
    case kFieldKptrUnref:
    case kFieldKptrRef:
      if (!record_rules) return h || lru || a || map_type == BPF_MAP_TYPE_PERCPU_ARRAY;  // 6.1
      [[fallthrough]];
    case kFieldKptrPercpu:
    case kFieldRefcount:
      return h || lru || a || percpu || is_storage(map_type);
    case kFieldUptr:
      return map_type == BPF_MAP_TYPE_TASK_STORAGE;
    case kFieldListHead:
    case kFieldRbRoot:
      return h || a;
    default:
      return false;
  }
}

const char* field_name(uint32_t kind) {
  switch (kind) {
    case kFieldSpinLock: return "bpf_spin_lock";
    case kFieldResSpinLock: return "bpf_res_spin_lock";
    case kFieldTimer: return "bpf_timer";
    case kFieldWq: return "bpf_wq";
    case kFieldTaskWork: return "bpf_task_work";
    case kFieldRefcount: return "bpf_refcount";
    case kFieldListHead: return "bpf_list_head";
    case kFieldRbRoot: return "bpf_rb_root";
    case kFieldUptr: return "__uptr";
    default: return "__kptr";
  }
}

// The value's special fields, checked as map_check_btf checks them: 0 with
// attr->record filled, or -errno.
int check_value_fields(const LibbpfBtf& lib, const void* btf, MapAttr* a) {
  const bool record_rules = active_profile().btf_record_fields;
  BtfFields fields;
  // A value type the kernel cannot make a record of is taken as a plain value.
  (void)find_value_fields(lib, btf, a->btf_value_type_id, record_rules, &fields);
  a->record = ValueRecord{};
  if (fields.fields.empty()) return 0;
  if (a->map_flags & (record_rules ? BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG : BPF_F_RDONLY_PROG))
    return log_reason(-EACCES, "a value with special fields needs programs to read and write it (no BPF_F_*_PROG)");
  std::vector<BtfFields::Field> sorted = fields.fields;
  std::sort(sorted.begin(), sorted.end(), [](const auto& x, const auto& y) { return x.off < y.off; });
  for (const BtfFields::Field& f : sorted) {
    if (takes_field(a->map_type, f.kind, record_rules)) continue;
    const int err = f.kind == kFieldSpinLock && !record_rules ? -kENOTSUPP : -EOPNOTSUPP;
    return log_reason(err, "map type %u cannot hold a %s in its values", a->map_type, field_name(f.kind));
  }
  if (int e = record_rules ? check_graph_roots(lib, btf, a->btf_value_type_id) : 0; e != 0)
    return log_reason(e, "a list or rbtree root holds a struct BTF_LOAD found no fields in");
  const std::vector<uint32_t> locks = fields.offs_of(kFieldSpinLock), timers = fields.offs_of(kFieldTimer);
  // Nested structs may each hold a timer; the emulator keeps one per value.
  if (timers.size() > 1)
    return log_reason(-EINVAL, "values with %zu bpf_timer fields are not emulated (one is)", timers.size());
  for (uint32_t off : locks)
    if (off % 4 != 0)
      return log_reason(-EINVAL, "a bpf_spin_lock at value offset %u (not 4-byte aligned) is not emulated", off);
  ValueRecord& rec = a->record;
  if (!timers.empty()) {
    rec.timer_count = 1;
    rec.timer_off = timers.front();
  }
  for (const BtfFields::Field& f : sorted) {
    if (f.kind == kFieldSpinLock || f.kind == kFieldTimer) continue;
    if (f.kind == kFieldRefcount) rec.other_refcounts |= 1u << rec.other_count;
    if (f.kind == kFieldKptrRef) rec.other_kptrs |= 1u << rec.other_count;
    if (f.kind == kFieldWq) rec.other_wqs |= 1u << rec.other_count;
    if (f.kind == kFieldListHead || f.kind == kFieldRbRoot) rec.other_graphs |= 1u << rec.other_count;
    rec.other_offs[rec.other_count] = f.off;
    rec.other_sizes[rec.other_count++] = f.size;
  }
  if (locks.empty()) return 0;
  rec.lock_count = static_cast<uint32_t>(locks.size());
  rec.lock_off = locks.back();  // the kernel's spin_lock_off: the last one found
  std::copy(locks.begin(), locks.end(), rec.lock_offs);
  std::sort(rec.lock_offs, rec.lock_offs + rec.lock_count);
  return 0;
}

// Each family's map_check_btf: what its key type may be (key_type: nullptr
// for an unspecified key).
int check_key(const MapAttr& a, const btf_type* key_type, const btf_type* value_type) {
  switch (a.map_type) {
    case BPF_MAP_TYPE_ARRAY:
    case BPF_MAP_TYPE_PERCPU_ARRAY:
      if (key_type == nullptr) {
        // Only global data (.bss, .data, .rodata): one ARRAY element holding a DATASEC.
        if (a.map_type == BPF_MAP_TYPE_ARRAY && a.max_entries == 1 && BTF_INFO_KIND(value_type->info) == BTF_KIND_DATASEC)
          return 0;
        return log_reason(-EINVAL, "an array without a BTF key type must be global data (one DATASEC value)");
      }
      if (BTF_INFO_KIND(key_type->info) != BTF_KIND_INT)
        return log_reason(-EINVAL, "an array's BTF key type must be a 32-bit integer");
      {
        uint32_t enc = 0;
        memcpy(&enc, key_type + 1, sizeof(enc));
        if (BTF_INT_BITS(enc) != 32 || BTF_INT_OFFSET(enc) != 0)
          return log_reason(-EINVAL, "an array's BTF key type must be a 32-bit integer");
      }
      return 0;
    case BPF_MAP_TYPE_LPM_TRIE:
      if (key_type == nullptr || BTF_INFO_KIND(key_type->info) != BTF_KIND_STRUCT)
        return log_reason(-EINVAL, "an LPM trie's BTF key type must be a struct");
      return 0;
    case BPF_MAP_TYPE_BLOOM_FILTER:
      return key_type == nullptr ? 0 : log_reason(-EINVAL, "a bloom filter has no key type");
    case BPF_MAP_TYPE_ARRAY_OF_MAPS:
    case BPF_MAP_TYPE_HASH_OF_MAPS:
      return log_reason(-kENOTSUPP, "maps of maps take no BTF key or value types");
    case BPF_MAP_TYPE_DEVMAP:
    case BPF_MAP_TYPE_DEVMAP_HASH:
    case BPF_MAP_TYPE_CPUMAP:  // map_check_no_btf
      return log_reason(-kENOTSUPP, "device and CPU maps take no BTF key or value types");
    case BPF_MAP_TYPE_STACK_TRACE:  // map_check_no_btf
      return log_reason(-kENOTSUPP, "stack trace maps take no BTF key or value types");
    default:
      return 0;
  }
}

}  // namespace

int check_map_btf(const Btf& btf, MapAttr* attr) {
  const MapAttr& a = *attr;
  const LibbpfBtf* lib = libbpf_btf();
  if (lib == nullptr)
    return log_reason(-EINVAL, "maps with BTF types need libbpf.so.1 at run time to read the BTF (apt install libbpf1)");
  BtfHandle parsed(*lib, lib->from_raw(btf.blob(), btf.size()));
  if (parsed.get() == nullptr) return log_reason(-EINVAL, "the map's BTF cannot be parsed");
  const void* b = parsed.get();
  const btf_type* key_type = nullptr;
  if (a.btf_key_type_id != 0) {
    key_type = sized_type(*lib, b, a.btf_key_type_id);
    const long long size = key_type != nullptr ? lib->resolve_size(b, a.btf_key_type_id) : -1;
    if (size != a.key_size)
      return log_reason(-EINVAL, "BTF key type %u is not %u bytes", a.btf_key_type_id, a.key_size);
  } else if (!takes_keyless_btf(a.map_type)) {
    return log_reason(-EINVAL, "this map type needs a BTF key type");
  }
  const btf_type* value_type = sized_type(*lib, b, a.btf_value_type_id);
  const long long value_size = value_type != nullptr ? lib->resolve_size(b, a.btf_value_type_id) : -1;
  if (value_size != a.value_size)
    return log_reason(-EINVAL, "BTF value type %u is not %u bytes", a.btf_value_type_id, a.value_size);
  if (int err = check_value_fields(*lib, b, attr); err != 0) return err;
  return check_key(a, key_type, value_type);
}

}  // namespace bpfemu::emu
