// Emulator-side checks for the faults armed through bpfemu/faults.h.
#pragma once

#include "bpfemu/faults.h"

namespace bpfemu::emu {
// Counts one event at `site`; returns -err when it is the armed failing one, else 0.
int fault_check(FaultSite site);
}  // namespace bpfemu::emu
