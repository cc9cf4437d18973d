#include "emu/profile.h"

#include <sys/utsname.h>

#include <atomic>
#include <cstdio>

namespace bpfemu {
namespace {

// Ordered oldest to newest. Only versions we can check against a real kernel
// (the host's 6.18, and 6.1 in the VM runner) get a profile.
constexpr KernelProfile kProfiles[] = {
    {"6.1", 6, 1, false, false, 31, 88, false, 40, true, true},
    {"6.18", 6, 18, true, true, 33, 104, true, 24, false, false},
};

std::atomic<const KernelProfile*> g_active{nullptr};

}  // namespace

const KernelProfile* find_profile(std::string_view name) {
  if (name == "host") {
    struct utsname u {};
    uname(&u);
    return &profile_for_release(u.release);
  }
  for (const auto& p : kProfiles)
    if (name == p.name) return &p;
  return nullptr;
}

const KernelProfile& profile_for_release(std::string_view release) {
  int major = 0, minor = 0;
  std::sscanf(std::string(release).c_str(), "%d.%d", &major, &minor);
  const KernelProfile* best = &kProfiles[0];
  for (const auto& p : kProfiles)
    if (p.major < major || (p.major == major && p.minor <= minor)) best = &p;
  return *best;
}

const KernelProfile& active_profile() {
  const KernelProfile* p = g_active.load(std::memory_order_acquire);
  if (p == nullptr) {
    p = find_profile("host");
    g_active.store(p, std::memory_order_release);
  }
  return *p;
}

bool set_active_profile(std::string_view name) {
  const KernelProfile* p = find_profile(name);
  if (p == nullptr) return false;
  g_active.store(p, std::memory_order_release);
  return true;
}

std::string profile_names() {
  std::string out = "host";
  for (const auto& p : kProfiles) {
    out += ", ";
    out += p.name;
  }
  return out;
}

}  // namespace bpfemu
