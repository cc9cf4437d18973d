#include "core/host.h"

#include <dlfcn.h>
#include <linux/btf.h>
#include <sys/utsname.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <map>

#include "core/cpu.h"

namespace bpfemu {
namespace {

// Parses a cpu list such as "0-3,5" and returns the highest id + 1, like libbpf.
int parse_possible(const char* s) {
  int max_id = -1;
  while (*s != '\0' && *s != '\n') {
    char* end = nullptr;
    long a = strtol(s, &end, 10);
    if (end == s) break;
    long b = a;
    s = end;
    if (*s == '-') {
      b = strtol(s + 1, &end, 10);
      s = end;
    }
    if (b > max_id) max_id = static_cast<int>(b);
    if (*s == ',') ++s;
  }
  return max_id + 1;
}

using StructSizeMap = std::map<std::string, unsigned, std::less<>>;

// sizeof every named struct in the running kernel's BTF, read with libbpf's BTF
// API. libbpf is loaded at run time rather than linked: the emulator's
// libraries must not carry libbpf's symbols (libbpfemu defines some of the same
// names). Without libbpf or a readable BTF the map is empty.
StructSizeMap read_vmlinux_struct_sizes() {
  StructSizeMap out;
  void* lib = dlopen("libbpf.so.1", RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) return out;
  using ParseFn = void* (*)(const char*, void*);
  using CountFn = uint32_t (*)(const void*);
  using TypeFn = const btf_type* (*)(const void*, uint32_t);
  using NameFn = const char* (*)(const void*, uint32_t);
  using FreeFn = void (*)(void*);
  auto parse = reinterpret_cast<ParseFn>(dlsym(lib, "btf__parse"));
  auto type_cnt = reinterpret_cast<CountFn>(dlsym(lib, "btf__type_cnt"));
  auto type_by_id = reinterpret_cast<TypeFn>(dlsym(lib, "btf__type_by_id"));
  auto name_of = reinterpret_cast<NameFn>(dlsym(lib, "btf__name_by_offset"));
  auto free_btf = reinterpret_cast<FreeFn>(dlsym(lib, "btf__free"));
  void* btf = nullptr;
  if (parse != nullptr && type_cnt != nullptr && type_by_id != nullptr && name_of != nullptr && free_btf != nullptr)
    btf = parse("/sys/kernel/btf/vmlinux", nullptr);
  if (btf != nullptr) {  // btf__type_cnt exists from libbpf 0.7, which returns NULL on error
    for (uint32_t id = 1, n = type_cnt(btf); id < n; ++id) {
      const btf_type* t = type_by_id(btf, id);
      if (t == nullptr || BTF_INFO_KIND(t->info) != BTF_KIND_STRUCT || t->name_off == 0) continue;
      if (const char* name = name_of(btf, t->name_off)) out.emplace(name, t->size);
    }
    free_btf(btf);
  }
  dlclose(lib);
  return out;
}

class RealHost final : public Host {
 public:
  std::string kernel_release() const override {
    struct utsname u {};
    return uname(&u) == 0 ? u.release : "";
  }
  int possible_cpus() const override {
    static const int n = [] {
      FILE* f = fopen("/sys/devices/system/cpu/possible", "re");
      if (f == nullptr) return 1;
      char buf[256] = {0};
      size_t len = fread(buf, 1, sizeof(buf) - 1, f);
      fclose(f);
      buf[len] = '\0';
      int count = parse_possible(buf);
      return count > 0 ? count : 1;
    }();
    return n;
  }
  std::string shm_root() const override { return "/dev/shm"; }
  // The BTF is parsed once, on the first question.
  std::optional<unsigned> kernel_struct_size(std::string_view name) const override {
    static const StructSizeMap* const sizes = new StructSizeMap(read_vmlinux_struct_sizes());
    auto it = sizes->find(name);
    if (it == sizes->end()) return std::nullopt;
    return it->second;
  }
};

const RealHost g_real;
std::atomic<const Host*> g_host{&g_real};

}  // namespace

const Host& real_host() { return g_real; }
const Host& host() { return *g_host.load(std::memory_order_acquire); }

ScopedHost::ScopedHost(const Host& h) : saved_(g_host.exchange(&h)) { set_possible_cpus(0); }
ScopedHost::~ScopedHost() {
  g_host.store(saved_);
  set_possible_cpus(0);
}

}  // namespace bpfemu
