// Deterministic fault injection, so code that consumes maps can test its error
// paths: "the 3rd element allocation from now fails with ENOMEM" is repeatable,
// where real memory pressure is not.
#pragma once

#include <cstdint>

namespace bpfemu {

enum class FaultSite : uint8_t {
  kMapCreate,  // BPF_MAP_CREATE's allocation
  kElemAlloc,  // a hash/LRU element for a new key (update, program-side update)
  kCount,
};

// The nth (1-based) event at `site` from now fails with -err, once. Several
// faults may be armed at different sites; re-arming a site replaces its fault.
void inject_fault(FaultSite site, uint64_t nth, int err);
// Disarms every fault.
void clear_faults();

}  // namespace bpfemu
