// The emulated clock behind bpf_ktime_get_ns, _boot_ns, _coarse_ns, _tai_ns
// and bpf_timer. By default it follows the host's clocks; a test freezes it
// and moves it forward explicitly, so a program that expires entries after 30
// seconds is tested in microseconds:
//
//   bpfemu::Clock::freeze();
//   ... a program arms bpf_timers of 30 s ...
//   bpfemu::Clock::advance(29'000'000'000);  // nothing fires
//   bpfemu::Clock::advance(2'000'000'000);   // the callbacks run, in expiry order
//   bpfemu::Clock::resume();
//
// The clock is per process, as are timers: a timer fires in the process whose
// program armed it, on that process's clock. Emulated clocks never go back:
// each reads as the host's clock of the same id plus one offset that
// advance() raises and resume() adjusts so that time goes on from where it
// stood.
//
// When timers fire: only in advance() and run_due_timers(), on the calling
// thread (there is no background thread, so a test sees every callback's
// effects as soon as the call returns). In real-time mode a test that wants
// due timers to fire calls run_due_timers().
#pragma once

#include <cstdint>
#include <ctime>

namespace bpfemu {

class Clock {
 public:
  // Stops emulated time at its current reading.
  static void freeze();
  // Follows the host's clocks again, going on from the emulated time now.
  static void resume();
  static bool frozen();
  // Moves every emulated clock forward by ns (frozen or not), firing each
  // timer that falls due on the way at its expiry time, earliest first
  // (callbacks that re-arm their timer fire again if it falls due before the
  // end). Returns the number of callbacks run.
  static int advance(uint64_t ns);
  // Fires the timers due now without moving time: the number of callbacks run.
  static int run_due_timers();
  // The emulated reading of clock `id` (CLOCK_MONOTONIC, CLOCK_BOOTTIME,
  // CLOCK_REALTIME, CLOCK_TAI, CLOCK_MONOTONIC_COARSE) in nanoseconds.
  static uint64_t now_ns(clockid_t id = CLOCK_MONOTONIC);
  // Timers armed now in this process.
  static int armed_timers();
};

// Freezes the clock for the scope's lifetime (resumed when it ends).
class ScopedFrozenClock {
 public:
  ScopedFrozenClock() { Clock::freeze(); }
  ~ScopedFrozenClock() { Clock::resume(); }
  ScopedFrozenClock(const ScopedFrozenClock&) = delete;
  ScopedFrozenClock& operator=(const ScopedFrozenClock&) = delete;
};

}  // namespace bpfemu
