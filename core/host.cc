#include "core/host.h"

#include <sys/utsname.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <map>

#include "core/cpu.h"
#include "core/libbpf_btf.h"

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

// sizeof every named struct in the running kernel's BTF (empty without
// libbpf or a readable BTF).
StructSizeMap read_vmlinux_struct_sizes() {
  StructSizeMap out;
  const LibbpfBtf* lib = libbpf_btf();
  if (lib == nullptr) return out;
  BtfHandle btf(*lib, lib->parse("/sys/kernel/btf/vmlinux", nullptr));
  if (btf.get() == nullptr) return out;
  for (uint32_t id = 1, n = lib->type_cnt(btf.get()); id < n; ++id) {
    const btf_type* t = lib->type_by_id(btf.get(), id);
    if (t == nullptr || BTF_INFO_KIND(t->info) != BTF_KIND_STRUCT || t->name_off == 0) continue;
    if (const char* name = lib->name_by_offset(btf.get(), t->name_off)) out.emplace(name, t->size);
  }
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
