#include "core/host.h"

#include <sys/utsname.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>

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
  std::optional<unsigned> kernel_struct_size(std::string_view name) const override {
    const VmlinuxTypes* types = vmlinux_types();
    if (types == nullptr) return std::nullopt;
    auto it = types->struct_sizes.find(name);
    if (it == types->struct_sizes.end()) return std::nullopt;
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
