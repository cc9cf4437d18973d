// The emulated clock: each clock reads as the host's clock of the same id (or,
// frozen, as it read when frozen) plus its offset. Advancing moves every offset
// alike; resuming gives each clock its own lag, since the clocks were read one
// after another when frozen.
#include "emu/clock.h"

#include <atomic>
#include <cstdint>

#include "bpfemu/clock.h"
#include "emu/timer.h"

namespace bpfemu::emu {
namespace {

constexpr clockid_t kClocks[] = {CLOCK_MONOTONIC, CLOCK_BOOTTIME, CLOCK_REALTIME, CLOCK_TAI, CLOCK_MONOTONIC_COARSE};
constexpr int kClockCount = sizeof(kClocks) / sizeof(kClocks[0]);

std::atomic<bool> g_frozen{false};
std::atomic<int64_t> g_offset[kClockCount];
std::atomic<uint64_t> g_frozen_at[kClockCount];

int index_of(clockid_t id) {
  for (int i = 0; i < kClockCount; ++i)
    if (kClocks[i] == id) return i;
  return 0;
}

uint64_t host_ns(clockid_t id) {
  struct timespec ts {};
  clock_gettime(id, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace

uint64_t clock_now(clockid_t id) {
  const int i = index_of(id);
  const uint64_t base = g_frozen.load(std::memory_order_acquire) ? g_frozen_at[i].load(std::memory_order_relaxed)
                                                                  : host_ns(kClocks[i]);
  return base + static_cast<uint64_t>(g_offset[i].load(std::memory_order_relaxed));
}

void clock_step(uint64_t ns) {
  for (auto& offset : g_offset) offset.fetch_add(static_cast<int64_t>(ns), std::memory_order_relaxed);
}

}  // namespace bpfemu::emu

namespace bpfemu {

void Clock::freeze() {
  using namespace emu;
  if (g_frozen.load()) return;
  for (int i = 0; i < kClockCount; ++i) g_frozen_at[i].store(host_ns(kClocks[i]), std::memory_order_relaxed);
  g_frozen.store(true, std::memory_order_release);
}

void Clock::resume() {
  using namespace emu;
  if (!g_frozen.load()) return;
  // Go on from the frozen readings: each offset takes up the time its clock
  // spent frozen.
  for (int i = 0; i < kClockCount; ++i) {
    const int64_t lag = static_cast<int64_t>(g_frozen_at[i].load() - host_ns(kClocks[i]));
    g_offset[i].fetch_add(lag, std::memory_order_relaxed);
  }
  g_frozen.store(false, std::memory_order_release);
}

bool Clock::frozen() { return emu::g_frozen.load(std::memory_order_acquire); }
int Clock::advance(uint64_t ns) { return emu::timers_advance(ns); }
int Clock::run_due_timers() { return emu::timers_advance(0); }
uint64_t Clock::now_ns(clockid_t id) { return emu::clock_now(id); }
int Clock::armed_timers() { return emu::timers_armed(); }

}  // namespace bpfemu
