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

// Crash points, for testing that a process killed anywhere leaves shared maps
// usable for the others: the nth (1-based) time this process passes the named
// point inside the emulator, it exits at once with status 137 (as if
// SIGKILLed), holding whatever locks it holds. Site names are listed in
// docs/ (e.g. "lpm.update.allocated"); an unknown name is never reached.
void arm_crash_point(const char* site, uint64_t nth);
void clear_crash_points();

}  // namespace bpfemu
