// Internal helpers shared by the libbpfemu translation units.
//
// libbpfemu answers libbpf's <bpf/bpf.h> calls from the emulated kernel
// (emu/kernel.h). It follows libbpf 1.x's conventions: a failure returns -errno
// and leaves errno set; a success leaves errno as the caller had it.
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstdint>

#include "core/log.h"
#include "core/scope.h"

// Marks the library's public C symbols (everything else is hidden). Weak, so
// that a program linking libbpfemu.a and libbpf.a statically gets libbpf's own
// <bpf/bpf.h> functions where both define one (they reach the emulator
// through syscall()) instead of a duplicate-symbol error; the dynamic linker
// does not look at weakness, so libbpfemu.so's definitions win as before.
#define BPFEMU_EXPORT __attribute__((visibility("default"), weak))

namespace bpfemu::dropin {

// Emulator code on this thread (core/scope.h): the interposers pass through.
inline bool in_emu() { return emu::in_emulator(); }
using EmuScope = emu::EmulatorScope;

// An emulated bpf() call: restores errno on success, like libbpf (whose only
// side effect on success is the syscall, which leaves errno alone). `what`
// names the call in BPFEMU_LOG lines.
class EmuCall : EmuScope {
 public:
  explicit EmuCall(const char* what) : saved_errno_(errno), what_(what) {}

  // libbpf_err(): negative results set errno; others keep the caller's errno.
  int done(int r) const {
    emu::log_result(what_, r);
    errno = r < 0 ? -r : saved_errno_;
    return r;
  }

 private:
  int saved_errno_;
  const char* what_;
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
