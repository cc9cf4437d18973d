// Internal helpers shared by the libbpfemu translation units.
//
// libbpfemu answers libbpf's <bpf/bpf.h> calls from the emulated kernel
// (emu/kernel.h). It follows libbpf 1.x's conventions: a failure returns -errno
// and leaves errno set; a success leaves errno as the caller had it.
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstdint>

// Marks the library's public C symbols (everything else is hidden).
#define BPFEMU_EXPORT __attribute__((visibility("default")))

namespace bpfemu::dropin {

// Depth of emulator calls on this thread. The emulator itself calls close(),
// fcntl(), mkdir() ...; while it runs, our libc interposers must pass straight
// through (no bookkeeping, no recursion into the fd table's lock).
inline thread_local int t_emu_depth = 0;

inline bool in_emu() { return t_emu_depth > 0; }

// Marks a stretch of code that runs emulator internals.
class EmuScope {
 public:
  EmuScope() { ++t_emu_depth; }
  ~EmuScope() { --t_emu_depth; }
  EmuScope(const EmuScope&) = delete;
  EmuScope& operator=(const EmuScope&) = delete;
};

// An emulated bpf() call: restores errno on success, like libbpf (whose only
// side effect on success is the syscall, which leaves errno alone).
class EmuCall : EmuScope {
 public:
  EmuCall() : saved_errno_(errno) {}

  // libbpf_err(): negative results set errno; others keep the caller's errno.
  int done(int r) const {
    errno = r < 0 ? -r : saved_errno_;
    return r;
  }

 private:
  int saved_errno_;
};

// libbpf's rule for option structs that start with `size_t sz`: NULL is fine;
// sz must be at least sizeof(long); bytes past what this libbpf knows (sizeof T)
// must all be zero so that newer callers cannot silently lose a setting.
template <class T>
bool opts_valid(const T* opts) {
  if (opts == nullptr) return true;
  if (opts->sz < sizeof(long)) return false;
  const auto* bytes = reinterpret_cast<const unsigned char*>(opts);
  for (size_t i = sizeof(T); i < opts->sz; ++i)
    if (bytes[i] != 0) return false;
  return true;
}

// A field the caller's (older, smaller) struct does not reach reads as zero.
#define BPFEMU_OPT(opts, type, field)                                                         \
  ((opts) != nullptr && offsetof(type, field) + sizeof((opts)->field) <= (opts)->sz ? (opts)->field \
                                                                                    : decltype((opts)->field){})

}  // namespace bpfemu::dropin
