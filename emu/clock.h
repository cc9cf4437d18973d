// The emulated clock (bpfemu/clock.h): what helpers and timers read.
#pragma once

#include <cstdint>
#include <ctime>

namespace bpfemu::emu {

// The emulated reading of clock `id` in ns (ids the host has; others read as
// CLOCK_MONOTONIC).
uint64_t clock_now(clockid_t id);
// Moves every emulated clock forward by ns, without firing anything.
void clock_step(uint64_t ns);

}  // namespace bpfemu::emu
