#include "core/value_lock.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "core/arch.h"

namespace bpfemu::emu {
namespace {

// The calling thread's id, cached per thread; a fork bumps the generation so
// that the child's thread asks again.
std::atomic<uint32_t> g_fork_generation{1};

struct ForkHook {
  ForkHook() {
    pthread_atfork(nullptr, nullptr, [] { g_fork_generation.fetch_add(1, std::memory_order_relaxed); });
  }
};
ForkHook g_fork_hook;

uint32_t self_tid() {
  thread_local uint32_t generation = 0;
  thread_local uint32_t tid = 0;
  const uint32_t g = g_fork_generation.load(std::memory_order_relaxed);
  if (generation != g) {
    tid = static_cast<uint32_t>(syscall(SYS_gettid));
    generation = g;
  }
  return tid;
}

// kill(tid, 0) finds any thread by its id; ESRCH: there is none.
bool thread_is_gone(uint32_t tid) {
  const int saved = errno;
  const bool gone = kill(static_cast<pid_t>(tid), 0) == -1 && errno == ESRCH;
  errno = saved;
  return gone;
}

std::atomic_ref<uint32_t> word_of(void* word) { return std::atomic_ref<uint32_t>(*static_cast<uint32_t*>(word)); }

// Calls copy(from, to) for each stretch of [0, size) between special fields
// (lock words, the timer); fields never overlap.
template <class F>
void around_locks(const ValueRecord& rec, uint32_t size, F&& copy) {
  uint32_t from = 0;
  bool timer_done = !rec.has_timer();
  auto skip = [&](uint32_t off, uint32_t len) {
    if (off > from) copy(from, off);
    from = off + len;
  };
  for (uint32_t i = 0; i < rec.lock_count; ++i) {
    if (!timer_done && rec.timer_off < rec.lock_offs[i]) {
      skip(rec.timer_off, ValueRecord::kTimerSize);
      timer_done = true;
    }
    skip(rec.lock_offs[i], 4);
  }
  if (!timer_done) skip(rec.timer_off, ValueRecord::kTimerSize);
  if (size > from) copy(from, size);
}

// Holds a value's lock for a BPF_F_LOCK copy. A thread that holds that lock
// already (C++ code between MapRef::spin_lock and spin_unlock making a
// syscall; no program can) copies under the hold it has.
class LockGuard {
 public:
  LockGuard(const ValueRecord& rec, const void* value, bool take)
      : word_(take ? value_lock_word(rec, const_cast<void*>(value)) : nullptr) {
    if (word_ != nullptr && value_lock(word_) != 0) word_ = nullptr;
  }
  ~LockGuard() {
    if (word_ != nullptr) (void)value_unlock(word_);
  }
  LockGuard(const LockGuard&) = delete;
  LockGuard& operator=(const LockGuard&) = delete;

 private:
  void* word_;
};

std::atomic<ValueFreeHook> g_value_free_hook{nullptr};

}  // namespace

void set_value_free_hook(ValueFreeHook hook) { g_value_free_hook.store(hook, std::memory_order_release); }

void value_free_fields_slow(const Map& map, void* value) {
  if (ValueFreeHook hook = g_value_free_hook.load(std::memory_order_acquire); hook != nullptr) hook(map, value);
}

static_assert(std::atomic_ref<uint32_t>::required_alignment == 4);

int value_lock(void* word) {
  auto w = word_of(word);
  const uint32_t me = self_tid();
  uint32_t seen = 0;
  if (w.compare_exchange_strong(seen, me, std::memory_order_acquire)) return 0;
  if (seen == me) return -EDEADLK;
  for (unsigned spins = 1;; ++spins) {
    uint32_t cur = w.load(std::memory_order_relaxed);
    if (cur == 0) {
      if (w.compare_exchange_weak(cur, me, std::memory_order_acquire)) return 0;
      continue;
    }
    if (spins % 64 == 0) {
      sched_yield();
    } else {
      cpu_relax();
    }
    // Now and then: is the holder still there? A dead holder's lock is taken over.
    if (spins % 4096 == 0 && thread_is_gone(cur) && w.compare_exchange_strong(cur, me, std::memory_order_acquire))
      return 0;
  }
}

int value_unlock(void* word) {
  auto w = word_of(word);
  if (w.load(std::memory_order_relaxed) != self_tid()) return -EPERM;
  w.store(0, std::memory_order_release);
  return 0;
}

void value_copy_out_fields(const ValueRecord& rec, void* dst, const void* src, uint32_t value_size, bool locked) {
  auto* d = static_cast<uint8_t*>(dst);
  const auto* s = static_cast<const uint8_t*>(src);
  {
    LockGuard g(rec, src, locked);
    around_locks(rec, value_size, [&](uint32_t from, uint32_t to) { memcpy(d + from, s + from, to - from); });
  }
  for (uint32_t i = 0; i < rec.lock_count; ++i) memset(d + rec.lock_offs[i], 0, 4);
  if (rec.has_timer()) memset(d + rec.timer_off, 0, ValueRecord::kTimerSize);
}

void value_copy_in_fields(const ValueRecord& rec, void* dst, const void* src, uint32_t value_size, bool locked) {
  auto* d = static_cast<uint8_t*>(dst);
  const auto* s = static_cast<const uint8_t*>(src);
  LockGuard g(rec, dst, locked);
  around_locks(rec, value_size, [&](uint32_t from, uint32_t to) { memcpy(d + from, s + from, to - from); });
}

}  // namespace bpfemu::emu
