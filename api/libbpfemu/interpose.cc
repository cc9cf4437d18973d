// libc calls interposed so that unmodified programs keep the emulator right.
//
// Map handles are real fds, so a program closes and dups them with libc. The
// emulator's per-process fd table must hear about that, or a closed map fd whose
// number is reused would still look like the map. Likewise an unmodified program
// manages pins with unlink/rm/mkdir on /sys/fs/bpf paths, which must land in the
// emulated bpffs. Each wrapper forwards to the next definition (libc) found with
// dlsym(RTLD_NEXT) and adds the bookkeeping.
//
// Rules that keep this safe:
//  - calls the emulator itself makes (close of a region fd, fcntl(F_DUPFD), mkdir
//    of the root ...) pass straight through (dropin::in_emu()), so there is no
//    recursion and no re-entry into the fd table's lock;
//  - the common case (an fd that is not a map, an absolute path outside
//    /sys/fs/bpf) costs one table probe or one string compare, and errno is left
//    to libc;
//  - if dlsym cannot find the next definition (a static binary), the raw
//    syscall is used.
//
// The symbols are deliberately unversioned: a versioned reference such as
// close@GLIBC_2.2.5 binds to an unversioned definition that comes first.
#include <dlfcn.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdarg>
#include <string>

#include "api/libbpfemu/dropin.h"
#include "api/libbpfemu/paths.h"
#include "emu/kernel.h"

namespace {

using bpfemu::dropin::EmuScope;
using bpfemu::dropin::emulated_path;
using bpfemu::dropin::in_emu;
namespace emu = bpfemu::emu;

// The next definition of `name` after ours, looked up once.
template <class Fn>
Fn next_fn(std::atomic<void*>& cache, const char* name) {
  void* p = cache.load(std::memory_order_acquire);
  if (p == nullptr) {
    p = dlsym(RTLD_NEXT, name);
    cache.store(p, std::memory_order_release);
  }
  return reinterpret_cast<Fn>(p);
}

// Declares next_<name>: the libc (or next interposer's) definition of <name>.
#define BPFEMU_NEXT(name, type)                   \
  static std::atomic<void*> cache_##name{nullptr}; \
  auto next_##name = next_fn<type>(cache_##name, #name)

int real_close(int fd) {
  BPFEMU_NEXT(close, int (*)(int));
  return next_close != nullptr ? next_close(fd) : static_cast<int>(syscall(SYS_close, fd));
}

int real_unlinkat(int dirfd, const char* path, int flags) {
  BPFEMU_NEXT(unlinkat, int (*)(int, const char*, int));
  return next_unlinkat != nullptr ? next_unlinkat(dirfd, path, flags)
                                  : static_cast<int>(syscall(SYS_unlinkat, dirfd, path, flags));
}

int real_mkdirat(int dirfd, const char* path, mode_t mode) {
  BPFEMU_NEXT(mkdirat, int (*)(int, const char*, mode_t));
  return next_mkdirat != nullptr ? next_mkdirat(dirfd, path, mode)
                                 : static_cast<int>(syscall(SYS_mkdirat, dirfd, path, mode));
}

int real_faccessat(int dirfd, const char* path, int mode, int flags) {
  BPFEMU_NEXT(faccessat, int (*)(int, const char*, int, int));
  return next_faccessat != nullptr ? next_faccessat(dirfd, path, mode, flags)
                                   : static_cast<int>(syscall(SYS_faccessat, dirfd, path, mode));
}

// Tells the fd table that new_fd now refers to whatever old_fd does.
void after_dup(int old_fd, int new_fd) {
  if (new_fd < 0 || in_emu()) return;
  int saved = errno;
  EmuScope scope;
  emu::note_dup(old_fd, new_fd);
  errno = saved;
}

// Forgets every map handle in [first, last] after they were closed together.
void after_close_range(unsigned first, unsigned last) {
  if (in_emu()) return;
  struct rlimit rl {};
  unsigned limit = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (1U << 20) ? rl.rlim_cur : 1U << 20;
  if (limit == 0) return;
  int saved = errno;
  EmuScope scope;
  for (unsigned fd = first; fd <= last && fd < limit; ++fd)
    if (emu::is_map_fd(static_cast<int>(fd))) emu::note_dup(-1, static_cast<int>(fd));  // "now not a map"
  errno = saved;
}

// A pin (or a directory holding pins) went away: drop views nothing holds now.
void after_unpin() {
  int saved = errno;
  EmuScope scope;
  emu::collect_unpinned_views();
  errno = saved;
}

// Runs `op` on the emulated location of (dirfd, path) when the path is under
// /sys/fs/bpf, else on the path itself. `unpins` says whether success may have
// dropped a pin.
template <class Op>
int on_bpffs_path(int dirfd, const char* path, bool unpins, Op op) {
  std::string target;
  if (in_emu()) return op(dirfd, path);
  int saved = errno;
  if (!emulated_path(dirfd, path, &target)) {
    errno = saved;
    return op(dirfd, path);
  }
  errno = saved;
  int r = op(AT_FDCWD, target.c_str());
  if (r == 0 && unpins) after_unpin();
  return r;
}

int fcntl_common(int fd, int cmd, void* arg, const char* name, std::atomic<void*>& cache) {
  auto next = next_fn<int (*)(int, int, ...)>(cache, name);
  int r = next != nullptr ? next(fd, cmd, arg) : static_cast<int>(syscall(SYS_fcntl, fd, cmd, arg));
  if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) after_dup(fd, r);
  return r;
}

}  // namespace

extern "C" {

BPFEMU_EXPORT int close(int fd) {
  if (in_emu() || !emu::is_map_fd(fd)) return real_close(fd);
  EmuScope scope;
  int r = emu::sys_close(fd);  // forgets the handle first, then closes it
  if (r < 0) {
    errno = -r;
    return -1;
  }
  return 0;
}

BPFEMU_EXPORT int close_range(unsigned first, unsigned last, int flags) {
  BPFEMU_NEXT(close_range, int (*)(unsigned, unsigned, int));
  int r = next_close_range != nullptr ? next_close_range(first, last, flags)
                                      : static_cast<int>(syscall(SYS_close_range, first, last, flags));
  if (r == 0 && !(flags & CLOSE_RANGE_CLOEXEC)) after_close_range(first, last);
  return r;
}

BPFEMU_EXPORT void closefrom(int lowfd) {
  BPFEMU_NEXT(closefrom, void (*)(int));
  if (next_closefrom != nullptr)
    next_closefrom(lowfd);
  else
    syscall(SYS_close_range, static_cast<unsigned>(lowfd), ~0U, 0);
  if (lowfd >= 0) after_close_range(static_cast<unsigned>(lowfd), ~0U);
}

BPFEMU_EXPORT int dup(int fd) {
  BPFEMU_NEXT(dup, int (*)(int));
  int r = next_dup != nullptr ? next_dup(fd) : static_cast<int>(syscall(SYS_dup, fd));
  after_dup(fd, r);
  return r;
}

BPFEMU_EXPORT int dup2(int old_fd, int new_fd) {
  BPFEMU_NEXT(dup2, int (*)(int, int));
  int r = next_dup2 != nullptr ? next_dup2(old_fd, new_fd)
                               : static_cast<int>(syscall(SYS_dup2, old_fd, new_fd));
  if (old_fd != new_fd) after_dup(old_fd, r);
  return r;
}

BPFEMU_EXPORT int dup3(int old_fd, int new_fd, int flags) {
  BPFEMU_NEXT(dup3, int (*)(int, int, int));
  int r = next_dup3 != nullptr ? next_dup3(old_fd, new_fd, flags)
                               : static_cast<int>(syscall(SYS_dup3, old_fd, new_fd, flags));
  after_dup(old_fd, r);
  return r;
}

// The third argument is an int or a pointer depending on cmd; like glibc we
// carry it as a pointer-sized value, which preserves either.
BPFEMU_EXPORT int fcntl(int fd, int cmd, ...) {
  static std::atomic<void*> cache{nullptr};
  va_list ap;
  va_start(ap, cmd);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  return fcntl_common(fd, cmd, arg, "fcntl", cache);
}

// What fcntl() calls become with _FILE_OFFSET_BITS=64 (glibc 2.28+).
BPFEMU_EXPORT int fcntl64(int fd, int cmd, ...) {
  static std::atomic<void*> cache{nullptr};
  va_list ap;
  va_start(ap, cmd);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  return fcntl_common(fd, cmd, arg, "fcntl64", cache);
}

BPFEMU_EXPORT int unlinkat(int dirfd, const char* path, int flags) {
  return on_bpffs_path(dirfd, path, true, [flags](int d, const char* p) { return real_unlinkat(d, p, flags); });
}

// The path-only calls below forward to libc's *at form; for them dirfd is
// always AT_FDCWD (or the translated path is absolute), so that is the same call.
BPFEMU_EXPORT int unlink(const char* path) {
  return on_bpffs_path(AT_FDCWD, path, true, [](int d, const char* p) { return real_unlinkat(d, p, 0); });
}

BPFEMU_EXPORT int rmdir(const char* path) {
  return on_bpffs_path(AT_FDCWD, path, true,
                       [](int d, const char* p) { return real_unlinkat(d, p, AT_REMOVEDIR); });
}

// remove(3) is unlink, or rmdir for a directory (glibc's remove() makes those
// calls internally, not through the PLT, so it needs its own wrapper).
BPFEMU_EXPORT int remove(const char* path) {
  return on_bpffs_path(AT_FDCWD, path, true, [](int d, const char* p) {
    int r = real_unlinkat(d, p, 0);
    return r != 0 && errno == EISDIR ? real_unlinkat(d, p, AT_REMOVEDIR) : r;
  });
}

BPFEMU_EXPORT int mkdirat(int dirfd, const char* path, mode_t mode) {
  return on_bpffs_path(dirfd, path, false, [mode](int d, const char* p) { return real_mkdirat(d, p, mode); });
}

BPFEMU_EXPORT int mkdir(const char* path, mode_t mode) {
  return on_bpffs_path(AT_FDCWD, path, false, [mode](int d, const char* p) { return real_mkdirat(d, p, mode); });
}

BPFEMU_EXPORT int faccessat(int dirfd, const char* path, int mode, int flags) {
  return on_bpffs_path(dirfd, path, false,
                       [mode, flags](int d, const char* p) { return real_faccessat(d, p, mode, flags); });
}

BPFEMU_EXPORT int access(const char* path, int mode) {
  return on_bpffs_path(AT_FDCWD, path, false, [mode](int d, const char* p) { return real_faccessat(d, p, mode, 0); });
}

}  // extern "C"
