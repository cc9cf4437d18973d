#include "core/value_lock.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
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

// The special fields of a value in offset order: lock words, the timer, the
// others. They never overlap (the BTF checks see to it).
struct Hole {
  uint32_t off, len;
};
uint32_t holes_of(const ValueRecord& rec, Hole* out) {
  uint32_t n = 0;
  for (uint32_t i = 0; i < rec.lock_count; ++i) out[n++] = {rec.lock_offs[i], 4};
  if (rec.has_timer()) out[n++] = {rec.timer_off, ValueRecord::kTimerSize};
  for (uint32_t i = 0; i < rec.other_count; ++i) out[n++] = {rec.other_offs[i], rec.other_sizes[i]};
  std::sort(out, out + n, [](const Hole& a, const Hole& b) { return a.off < b.off; });
  return n;
}

// Calls copy(from, to) for each stretch of [0, size) between special fields.
// size may pass value_size (a per-CPU slot's padding): fields past it are skipped.
template <class F>
void around_fields(const ValueRecord& rec, uint32_t size, F&& copy) {
  Hole holes[3 * ValueRecord::kMaxFields];
  const uint32_t n = holes_of(rec, holes);
  uint32_t from = 0;
  for (uint32_t i = 0; i < n && holes[i].off < size; ++i) {
    if (holes[i].off > from) copy(from, holes[i].off);
    from = holes[i].off + holes[i].len;
  }
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
    around_fields(rec, value_size, [&](uint32_t from, uint32_t to) { memcpy(d + from, s + from, to - from); });
  }
  Hole holes[3 * ValueRecord::kMaxFields];
  const uint32_t n = holes_of(rec, holes);
  for (uint32_t i = 0; i < n; ++i)
    if (holes[i].off + holes[i].len <= value_size) memset(d + holes[i].off, 0, holes[i].len);
  // As the kernel's bpf_obj_init on the copy: a bpf_refcount reads as 1.
  for (uint32_t i = 0; i < rec.other_count; ++i) {
    if (!(rec.other_refcounts & (1u << i)) || rec.other_offs[i] + 4 > value_size) continue;
    const uint32_t one = 1;
    memcpy(d + rec.other_offs[i], &one, sizeof(one));
  }
}

void value_copy_in_fields(const ValueRecord& rec, void* dst, const void* src, uint32_t value_size, bool locked) {
  auto* d = static_cast<uint8_t*>(dst);
  const auto* s = static_cast<const uint8_t*>(src);
  LockGuard g(rec, dst, locked);
  around_fields(rec, value_size, [&](uint32_t from, uint32_t to) { memcpy(d + from, s + from, to - from); });
}

}  // namespace bpfemu::emu
