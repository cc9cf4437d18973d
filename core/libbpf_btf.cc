#include "core/libbpf_btf.h"

#include <dlfcn.h>

#include <cstring>

// libbpf's own symbols, when the process has libbpf linked in (statically, or
// a libbpf.so it was linked with): weak, so that nothing requires them.
extern "C" {
struct btf;
struct btf_ext;
struct btf* btf__parse(const char*, struct btf_ext**) __attribute__((weak));
struct btf* btf__new(const void*, uint32_t) __attribute__((weak));
void btf__free(struct btf*) __attribute__((weak));
uint32_t btf__type_cnt(const struct btf*) __attribute__((weak));
const struct btf_type* btf__type_by_id(const struct btf*, uint32_t) __attribute__((weak));
const char* btf__name_by_offset(const struct btf*, uint32_t) __attribute__((weak));
long long btf__resolve_size(const struct btf*, uint32_t) __attribute__((weak));
int btf__resolve_type(const struct btf*, uint32_t) __attribute__((weak));
}

namespace bpfemu {
namespace {

template <class Fn>
bool bind(void* lib, const char* name, Fn* out) {
  *out = reinterpret_cast<Fn>(dlsym(lib, name));
  return *out != nullptr;
}

// The process's own libbpf, if it has every call.
const LibbpfBtf* linked() {
  if (btf__parse == nullptr || btf__new == nullptr || btf__free == nullptr || btf__type_cnt == nullptr ||
      btf__type_by_id == nullptr || btf__name_by_offset == nullptr || btf__resolve_size == nullptr ||
      btf__resolve_type == nullptr)
    return nullptr;
  static LibbpfBtf api;
  api.parse = reinterpret_cast<void* (*)(const char*, void*)>(btf__parse);
  api.from_raw = reinterpret_cast<void* (*)(const void*, uint32_t)>(btf__new);
  api.free = reinterpret_cast<void (*)(void*)>(btf__free);
  api.type_cnt = reinterpret_cast<uint32_t (*)(const void*)>(btf__type_cnt);
  api.type_by_id = reinterpret_cast<const btf_type* (*)(const void*, uint32_t)>(btf__type_by_id);
  api.name_by_offset = reinterpret_cast<const char* (*)(const void*, uint32_t)>(btf__name_by_offset);
  api.resolve_size = reinterpret_cast<long long (*)(const void*, uint32_t)>(btf__resolve_size);
  api.resolve_type = reinterpret_cast<int (*)(const void*, uint32_t)>(btf__resolve_type);
  return &api;
}

const LibbpfBtf* load() {
  if (const LibbpfBtf* own = linked()) return own;
  void* lib = dlopen("libbpf.so.1", RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) return nullptr;
  static LibbpfBtf api;
  // btf__type_cnt is libbpf 0.7's; from then on errors are NULL returns.
  const bool ok = bind(lib, "btf__parse", &api.parse) && bind(lib, "btf__new", &api.from_raw) &&
                  bind(lib, "btf__free", &api.free) && bind(lib, "btf__type_cnt", &api.type_cnt) &&
                  bind(lib, "btf__type_by_id", &api.type_by_id) &&
                  bind(lib, "btf__name_by_offset", &api.name_by_offset) &&
                  bind(lib, "btf__resolve_size", &api.resolve_size) &&
                  bind(lib, "btf__resolve_type", &api.resolve_type);
  // The library stays loaded for the process's lifetime (the pointers above).
  return ok ? &api : nullptr;
}

}  // namespace

const LibbpfBtf* libbpf_btf() {
  static const LibbpfBtf* const api = load();
  return api;
}

const VmlinuxTypes* vmlinux_types() {
  static const VmlinuxTypes* const types = []() -> const VmlinuxTypes* {
    const LibbpfBtf* lib = libbpf_btf();
    if (lib == nullptr) return nullptr;
    BtfHandle btf(*lib, lib->parse("/sys/kernel/btf/vmlinux", nullptr));
    if (btf.get() == nullptr) return nullptr;
    auto* out = new VmlinuxTypes();
    for (uint32_t id = 1, n = lib->type_cnt(btf.get()); id < n; ++id) {
      const btf_type* t = lib->type_by_id(btf.get(), id);
      if (t == nullptr || t->name_off == 0) continue;
      const char* name = lib->name_by_offset(btf.get(), t->name_off);
      if (name == nullptr) continue;
      if (BTF_INFO_KIND(t->info) == BTF_KIND_STRUCT) {
        out->struct_sizes.emplace(name, t->size);
        if (strcmp(name, "lsm_static_calls_table") == 0 || strcmp(name, "security_hook_heads") == 0) {
          const auto* m = reinterpret_cast<const btf_member*>(t + 1);
          for (uint32_t i = 0; i < BTF_INFO_VLEN(t->info); ++i)
            if (const char* hook = lib->name_by_offset(btf.get(), m[i].name_off); hook != nullptr && *hook != '\0')
              out->lsm_hooks.insert(hook);
        }
        for (const char* wanted : kStructsWithFields) {
          if (strcmp(name, wanted) != 0) continue;
          VmlinuxTypes::FieldMap& fields = out->struct_fields[name];
          const auto* m = reinterpret_cast<const btf_member*>(t + 1);
          const bool bitfields = BTF_INFO_KFLAG(t->info) != 0;
          for (uint32_t i = 0; i < BTF_INFO_VLEN(t->info); ++i) {
            const char* field = lib->name_by_offset(btf.get(), m[i].name_off);
            const uint32_t bits = bitfields ? BTF_MEMBER_BIT_OFFSET(m[i].offset) : m[i].offset;
            const long long size = lib->resolve_size(btf.get(), m[i].type);
            if (field != nullptr && *field != '\0' && bits % 8 == 0 && size > 0)
              fields.emplace(field, std::make_pair(bits / 8, static_cast<uint32_t>(size)));
          }
        }
      } else if (BTF_INFO_KIND(t->info) == BTF_KIND_TYPEDEF && strncmp(name, "btf_trace_", 10) == 0) {
        out->raw_tracepoints.insert(name + 10);
        out->raw_tracepoint_ids.emplace(id, name + 10);
      } else if (BTF_INFO_KIND(t->info) == BTF_KIND_FUNC) {
        out->funcs.emplace(id, name);
        const btf_type* proto = lib->type_by_id(btf.get(), t->type);
        if (proto != nullptr && proto->type == 0) out->void_funcs.insert(id);
        if (strncmp(name, "__x64_sys_", 10) == 0) out->syscalls.insert(name + 10);
      }
    }
    return out;
  }();
  return types;
}

}  // namespace bpfemu
