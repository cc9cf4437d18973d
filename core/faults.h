// Emulator-side checks for the faults armed through bpfemu/faults.h.
#pragma once

#include "bpfemu/faults.h"

namespace bpfemu::emu {
// Counts one event at `site`; returns -err when it is the armed failing one, else 0.
int fault_check(FaultSite site);
// Exits the process (status 137) when `site` is armed and this is its nth pass.
void crash_point(const char* site);
}  // namespace bpfemu::emu
