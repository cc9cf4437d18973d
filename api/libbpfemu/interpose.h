// Helpers shared by the libc interposers (interpose_fd.cc, interpose_fs.cc).
#pragma once

#include <cerrno>
#include <cstdint>

#include "api/libbpfemu/dropin.h"
#include "api/libbpfemu/next.h"
#include "emu/objects.h"

namespace bpfemu::dropin::interpose {

using bpfemu::dropin::EmuScope;
using bpfemu::dropin::in_emu;
using bpfemu::dropin::libc_syscall;
using bpfemu::dropin::next_or_syscall;

// A handle's kind and access, when fd is one (and we are not inside the emulator).
inline bool handle(int fd, emu::ObjKind* kind = nullptr, uint8_t* access = nullptr) {
  if (in_emu()) return false;
  emu::ObjKind k = emu::ObjKind::kNone;
  emu::Object* obj = nullptr;
  uint8_t a = 0;
  if (!emu::fd_object(fd, &k, &obj, &a)) return false;
  if (kind != nullptr) *kind = k;
  if (access != nullptr) *access = a;
  return true;
}

// glibc declares most path arguments nonnull, which lets the compiler drop our
// null checks; a caller may still pass NULL (the kernel answers EFAULT), so
// the interposers look at paths through this.
inline const char* opaque(const char* p) {
  asm("" : "+r"(p));
  return p;
}

// After fd was closed (an epoll fd or a map handle): drops the epoll
// registrations of handles it took part in (interpose_poll.cc).
void forget_poll_fd(int fd);

// libc's convention: -1 with errno.
template <class T = int>
T fail(int err) {
  errno = err;
  return static_cast<T>(-1);
}

}  // namespace bpfemu::dropin::interpose
