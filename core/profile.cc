#include "core/profile.h"

#include "core/host.h"
#include "core/map_types.h"

#include <atomic>
#include <cstdint>
#include <cstdio>

namespace bpfemu {
namespace {

// Ordered oldest to newest. Only versions we can check against a real kernel
// (the host's 6.18, and 6.1 in the VM runner) get a profile.
constexpr KernelProfile kProfiles[] = {
    {"6.1", 6, 1, false, false, 88, 48, false, 40, true, true, true, true, false, false, false, false, false, 32, 32,
     {0, 0, 0, 0, 0, 0, 0, 0}, false, false, 44, false, false, false, 8192, 8, false, true, false, false, false, false},
    {"6.18", 6, 18, true, true, 104, 64, true, 24, false, false, false, false, true, true, true, true, true, 216, 255,
     {312, 896, 48, 312, 312, 304, 320, 16}, true, true, 58, true, true, true, 256, 10, true, true, true, true, true, true},
};

std::atomic<const KernelProfile*> g_active{nullptr};

}  // namespace

const KernelProfile* find_profile(std::string_view name) {
  if (name == "host") {
    return &profile_for_release(host().kernel_release());
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

bool log_attrs_valid(const KernelProfile& p, const void* buf, uint32_t size, uint32_t level) {
  constexpr uint32_t kLogMask = 1 | 2 | 4 | 8 | 16;  // BPF_LOG_MASK
  if (p.log_needs_buffer) {
    if (level == 0 && buf == nullptr && size == 0) return true;
    return size >= 128 && size <= (UINT32_MAX >> 2) && level != 0 && buf != nullptr && !(level & ~kLogMask);
  }
  if ((buf != nullptr) != (size != 0)) return false;
  if (buf != nullptr && level == 0) return false;
  return !(level & ~kLogMask) && size <= (UINT32_MAX >> 2);
}

KernelStructSizes struct_sizes(const KernelProfile& p) {
  KernelStructSizes s = p.sizes;
  const Host& h = host();
  if (&profile_for_release(h.kernel_release()) != &p) return s;
  auto take = [&h](const char* name, unsigned& field) {
    if (std::optional<unsigned> n = h.kernel_struct_size(name)) field = *n;
  };
  take("bpf_array", s.bpf_array);
  take("bpf_htab", s.bpf_htab);
  take("htab_elem", s.htab_elem);
  take("bpf_queue_stack", s.bpf_queue_stack);
  take("bpf_bloom_filter", s.bpf_bloom_filter);
  take("bpf_ringbuf_map", s.bpf_ringbuf_map);
  take("bpf_stack_map", s.bpf_stack_map);
  take("stack_map_bucket", s.stack_map_bucket);
  return s;
}

bool KernelProfile::has_map_type(uint32_t type) const {
  return type != 0 && type <= last_map_type_in(major, minor);
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
