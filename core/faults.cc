#include "core/faults.h"

#include <unistd.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <string>

namespace bpfemu {
namespace {

struct Armed {
  std::atomic<int64_t> countdown{0};  // events left before the failing one; <= 0: disarmed
  std::atomic<int> err{0};
};
Armed g_sites[static_cast<int>(FaultSite::kCount)];
std::atomic<bool> g_any{false};

// One armed crash point at a time is all the tests need.
std::mutex g_crash_mu;
std::string g_crash_site;
std::atomic<int64_t> g_crash_countdown{0};

}  // namespace

void arm_crash_point(const char* site, uint64_t nth) {
  std::lock_guard<std::mutex> lock(g_crash_mu);
  g_crash_site = site != nullptr ? site : "";
  g_crash_countdown.store(static_cast<int64_t>(nth), std::memory_order_release);
}

void clear_crash_points() { g_crash_countdown.store(0, std::memory_order_release); }

void inject_fault(FaultSite site, uint64_t nth, int err) {
  Armed& a = g_sites[static_cast<int>(site)];
  a.err.store(err, std::memory_order_relaxed);
  a.countdown.store(static_cast<int64_t>(nth), std::memory_order_release);
  g_any.store(true, std::memory_order_release);
}

void clear_faults() {
  for (Armed& a : g_sites) a.countdown.store(0, std::memory_order_release);
  g_any.store(false, std::memory_order_release);
}

namespace emu {

int fault_check(FaultSite site) {
  if (!g_any.load(std::memory_order_acquire)) return 0;  // the common case: one load
  Armed& a = g_sites[static_cast<int>(site)];
  if (a.countdown.load(std::memory_order_acquire) <= 0) return 0;
  return a.countdown.fetch_sub(1, std::memory_order_acq_rel) == 1 ? -a.err.load(std::memory_order_relaxed) : 0;
}

void crash_point(const char* site) {
  if (g_crash_countdown.load(std::memory_order_acquire) <= 0) return;  // the common case: one load
  {
    std::lock_guard<std::mutex> lock(g_crash_mu);
    if (g_crash_site != site) return;
  }
  if (g_crash_countdown.fetch_sub(1, std::memory_order_acq_rel) == 1) _exit(137);
}

}  // namespace emu
}  // namespace bpfemu
