#include "core/spinlock.h"

#include "core/arch.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>

namespace bpfemu::emu {
namespace {

std::atomic<uint32_t> g_pid{0};

void refresh_pid() { g_pid.store(static_cast<uint32_t>(getpid()), std::memory_order_relaxed); }

struct PidCache {
  PidCache() {
    refresh_pid();
    pthread_atfork(nullptr, nullptr, refresh_pid);
  }
};
PidCache g_pid_cache;

bool owner_is_dead(uint32_t pid) { return pid != 0 && kill(static_cast<pid_t>(pid), 0) == -1 && errno == ESRCH; }

}  // namespace

uint32_t SpinLock::self_pid() noexcept {
  uint32_t p = g_pid.load(std::memory_order_relaxed);
  if (p == 0) {  // before static initialisation ran (e.g. from another static ctor)
    refresh_pid();
    p = g_pid.load(std::memory_order_relaxed);
  }
  return p;
}

bool SpinLock::lock_slow() noexcept {
  const uint32_t me = self_pid();
  for (unsigned spins = 1;; ++spins) {
    uint32_t cur = word_.load(std::memory_order_relaxed);
    if (cur == 0) {
      if (word_.compare_exchange_weak(cur, me, std::memory_order_acquire)) return false;
      continue;
    }
    if (spins % 64 == 0) sched_yield();
    else
      cpu_relax();
    // Rarely, check whether the holder still exists; a dead holder's lock is taken over.
    if (spins % 4096 == 0 && cur != me && owner_is_dead(cur)) {
      int saved = errno;
      if (word_.compare_exchange_strong(cur, me, std::memory_order_acquire)) {
        errno = saved;
        return true;
      }
      errno = saved;
    }
  }
}

}  // namespace bpfemu::emu
