// Kernel-version profiles: which behaviours of the emulated kernel follow which
// real kernel. Each field is a behaviour that really differs between versions and
// was checked against that kernel; "host" resolves to the profile of the running
// kernel's version.
#pragma once

#include <string>
#include <string_view>

namespace bpfemu {

struct KernelProfile {
  const char* name;  // "6.1", "6.18", ...
  int major;
  int minor;
  // A second BPF_MAP_FREEZE answers EPERM (permission check first) from 6.x on,
  // EBUSY on 6.1.
  bool refreeze_eperm;
  // LRU local free target scales with max_entries / nr_cpus (6.15+) instead of a
  // fixed 128.
  bool lru_scaled_target_free;
  // Highest map type id the kernel knows (BPF_MAP_TYPE_*).
  unsigned max_map_type;
  // bpf_map_info size the kernel copies out.
  unsigned map_info_size;
};

// The active profile for maps created from now on (process-wide).
const KernelProfile& active_profile();
// Selects a profile by name ("6.1", "6.18", "host"); false if unknown.
bool set_active_profile(std::string_view name);
// Looks up a profile by name; nullptr if unknown.
const KernelProfile* find_profile(std::string_view name);
// The profile that matches a kernel release string such as "6.18.44-fc".
const KernelProfile& profile_for_release(std::string_view release);
// Comma-separated list of known profile names, for help texts.
std::string profile_names();

}  // namespace bpfemu
