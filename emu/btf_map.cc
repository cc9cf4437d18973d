// map_check_btf: a map created with BTF key and value types (every map libbpf
// creates from a BTF-described object) must name types whose sizes are the
// map's key and value sizes, with each family's own rules for the key, as the
// kernel checks them. Types are read with libbpf's BTF API (core/libbpf_btf.h).
//
// Values with the kernel's special fields (bpf_spin_lock, bpf_timer, kptrs,
// ...) are refused here with a log line: they are not emulated yet.
#include <linux/bpf.h>
#include <linux/btf.h>

#include <cerrno>
#include <cstring>

#include "core/libbpf_btf.h"
#include "core/log.h"
#include "emu/btf.h"

namespace bpfemu::emu {
namespace {

const char* const kSpecialStructs[] = {"bpf_spin_lock", "bpf_res_spin_lock", "bpf_timer", "bpf_wq",
                                       "bpf_list_head", "bpf_list_node",     "bpf_rb_root", "bpf_rb_node",
                                       "bpf_refcount"};

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

// Whether the type (or anything it contains) is one of the special fields.
bool has_special_field(const LibbpfBtf& lib, const void* btf, uint32_t id, int depth = 0) {
  if (depth > 8) return false;
  const btf_type* t = lib.type_by_id(btf, id);
  if (t == nullptr) return false;
  const uint32_t kind = BTF_INFO_KIND(t->info);
  if (kind == BTF_KIND_TYPE_TAG) return true;  // kptr, percpu_kptr, uptr
  if (kind == BTF_KIND_TYPEDEF || kind == BTF_KIND_VOLATILE || kind == BTF_KIND_CONST || kind == BTF_KIND_RESTRICT ||
      kind == BTF_KIND_VAR)
    return has_special_field(lib, btf, t->type, depth + 1);
  if (kind == BTF_KIND_ARRAY) return has_special_field(lib, btf, reinterpret_cast<const btf_array*>(t + 1)->type, depth + 1);
  if (kind == BTF_KIND_DATASEC) {
    const auto* v = reinterpret_cast<const btf_var_secinfo*>(t + 1);
    for (uint32_t i = 0; i < BTF_INFO_VLEN(t->info); ++i)
      if (has_special_field(lib, btf, v[i].type, depth + 1)) return true;
    return false;
  }
  if (kind != BTF_KIND_STRUCT && kind != BTF_KIND_UNION) return false;
  if (const char* name = lib.name_by_offset(btf, t->name_off))
    for (const char* special : kSpecialStructs)
      if (strcmp(name, special) == 0) return true;
  const auto* m = reinterpret_cast<const btf_member*>(t + 1);
  for (uint32_t i = 0; i < BTF_INFO_VLEN(t->info); ++i)
    if (has_special_field(lib, btf, m[i].type, depth + 1)) return true;
  return false;
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
    default:
      return key_type != nullptr ? 0 : log_reason(-EINVAL, "this map type needs a BTF key type");
  }
}

}  // namespace

int check_map_btf(const Btf& btf, const MapAttr& a) {
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
  }
  const btf_type* value_type = sized_type(*lib, b, a.btf_value_type_id);
  const long long value_size = value_type != nullptr ? lib->resolve_size(b, a.btf_value_type_id) : -1;
  if (value_size != a.value_size)
    return log_reason(-EINVAL, "BTF value type %u is not %u bytes", a.btf_value_type_id, a.value_size);
  if (has_special_field(*lib, b, a.btf_value_type_id))
    return log_reason(-EINVAL, "values with bpf_spin_lock, bpf_timer, kptrs or other special fields are not emulated yet");
  return check_key(a, key_type, value_type);
}

}  // namespace bpfemu::emu
