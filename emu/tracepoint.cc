#include "emu/tracepoint.h"

#include <cerrno>
#include <cstdio>
#include <map>
#include <mutex>

#include "core/libbpf_btf.h"

namespace bpfemu::emu {
namespace {

constexpr uint64_t kMadeUpBase = 0x40000000;  // far above the kernel's ids (they are 16-bit)

std::mutex g_mu;
std::map<uint64_t, std::string>& names() {
  static auto* m = new std::map<uint64_t, std::string>();
  return *m;
}

// The kernel's id, when its tracefs can be read.
int64_t kernel_id(const std::string& full) {
  for (const char* root : {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"}) {
    const std::string path = std::string(root) + "/events/" + full + "/id";
    FILE* f = fopen(path.c_str(), "re");
    if (f == nullptr) continue;
    long long id = -1;
    const int n = fscanf(f, "%lld", &id);
    fclose(f);
    if (n == 1 && id >= 0) return id;
  }
  return -1;
}

bool kernel_has(std::string_view category, std::string_view name) {
  const VmlinuxTypes* types = vmlinux_types();
  if (types == nullptr) return true;  // nothing to check against
  if (category == "syscalls") {
    for (std::string_view prefix : {"sys_enter_", "sys_exit_"})
      if (name.substr(0, prefix.size()) == prefix) return types->syscalls.count(name.substr(prefix.size())) != 0;
    return false;
  }
  return types->raw_tracepoints.count(name) != 0;
}

// FNV-1a, folded to 24 bits: stable across processes and builds.
uint64_t made_up_id(const std::string& full) {
  uint32_t h = 2166136261u;
  for (unsigned char c : full) h = (h ^ c) * 16777619u;
  return kMadeUpBase | ((h >> 24) ^ (h & 0xffffff));
}

}  // namespace

int64_t tracepoint_id(std::string_view category, std::string_view name) {
  if (category.empty() || name.empty() || category.find('/') != std::string_view::npos ||
      name.find('/') != std::string_view::npos)
    return -ENOENT;
  const std::string full = std::string(category) + "/" + std::string(name);
  int64_t id = kernel_id(full);
  if (id < 0) {
    if (!kernel_has(category, name)) return -ENOENT;
    id = static_cast<int64_t>(made_up_id(full));
  }
  std::lock_guard<std::mutex> lock(g_mu);
  names()[static_cast<uint64_t>(id)] = full;
  return id;
}

std::string tracepoint_name(uint64_t id) {
  std::lock_guard<std::mutex> lock(g_mu);
  auto it = names().find(id);
  return it != names().end() ? it->second : std::string();
}

bool parse_tracepoint_id_path(std::string_view path, std::string* category, std::string* name) {
  std::string_view rest;
  for (std::string_view root : {"/sys/kernel/tracing/events/", "/sys/kernel/debug/tracing/events/"}) {
    if (path.substr(0, root.size()) == root) {
      rest = path.substr(root.size());
      break;
    }
  }
  const size_t slash1 = rest.find('/');
  if (slash1 == std::string_view::npos || slash1 == 0) return false;
  const size_t slash2 = rest.find('/', slash1 + 1);
  if (slash2 == std::string_view::npos || slash2 == slash1 + 1 || rest.substr(slash2) != "/id") return false;
  *category = std::string(rest.substr(0, slash1));
  *name = std::string(rest.substr(slash1 + 1, slash2 - slash1 - 1));
  return true;
}

}  // namespace bpfemu::emu
