// Process-shared spin lock for state that lives inside a map region.
//
// Invariants: all-zero bytes mean "unlocked", so a freshly created (zero-filled)
// region needs no initialisation; the locked word holds the owner's pid so that a
// waiter can take over a lock whose owner process died (a crashed writer must not
// wedge a pinned map for every other process). Threads of one process share a pid,
// which is fine: a live process never has its lock broken.
#pragma once

#include <atomic>
#include <cstdint>

namespace bpfemu::emu {

class SpinLock {
 public:
  SpinLock() = default;
  SpinLock(const SpinLock&) = delete;
  SpinLock& operator=(const SpinLock&) = delete;

  void lock() noexcept { (void)lock_recovering(); }
  // Like lock(); returns true when the lock was taken over from a dead owner,
  // i.e. the state it protects may be half-updated and needs repair.
  bool lock_recovering() noexcept {
    uint32_t expected = 0;
    if (word_.compare_exchange_strong(expected, self_pid(), std::memory_order_acquire)) return false;
    return lock_slow();
  }
  bool try_lock() noexcept {
    uint32_t expected = 0;
    return word_.compare_exchange_strong(expected, self_pid(), std::memory_order_acquire);
  }
  void unlock() noexcept { word_.store(0, std::memory_order_release); }
  bool is_locked() const noexcept { return word_.load(std::memory_order_relaxed) != 0; }

  // The pid of this process, cached (refreshed after fork).
  static uint32_t self_pid() noexcept;

 private:
  bool lock_slow() noexcept;
  std::atomic<uint32_t> word_{0};
};
static_assert(sizeof(SpinLock) == 4);

class SpinGuard {
 public:
  explicit SpinGuard(SpinLock& l) noexcept : l_(l) { l_.lock(); }
  ~SpinGuard() { l_.unlock(); }
  SpinGuard(const SpinGuard&) = delete;
  SpinGuard& operator=(const SpinGuard&) = delete;

 private:
  SpinLock& l_;
};

}  // namespace bpfemu::emu
