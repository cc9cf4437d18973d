#include "core/libbpf_btf.h"

#include <dlfcn.h>

namespace bpfemu {
namespace {

template <class Fn>
bool bind(void* lib, const char* name, Fn* out) {
  *out = reinterpret_cast<Fn>(dlsym(lib, name));
  return *out != nullptr;
}

const LibbpfBtf* load() {
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

}  // namespace bpfemu
