// libc calls on file descriptors, interposed so that unmodified programs see
// emulated BPF handles as the kernel's.
//
//  - syscall(__NR_bpf, ...) is answered by the emulated kernel: this is how
//    libbpf itself (shared or linked statically, as in bpftool) reaches it.
//    (Unless the thread's route says kernel: api/libbpfemu/route.h; the same
//    for the BPF-output perf events perf_event_open makes.)
//    Other system calls made through syscall() go to the kernel, with the fd
//    bookkeeping below for close/dup2/dup3/close_range.
//  - close, dup and friends keep this process's fd table right.
//  - read, write, lseek, fstat, mmap ... on a handle answer as the kernel's
//    anonymous-inode BPF files do (emu/fd_ops.h), and none of them can reach
//    map memory.
//
// Rules that keep this safe: calls the emulator itself makes pass straight
// through (dropin::in_emu()); the common case (an fd that is no handle) costs
// one table probe; errno is left to libc there.
//
// The symbols are deliberately unversioned: a versioned reference such as
// close@GLIBC_2.2.5 binds to an unversioned definition that comes first.
#include <fcntl.h>
#include <linux/close_range.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>

static_assert(sizeof(struct stat) == sizeof(struct stat64), "stat64 is stat on this target");
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdarg>
#include <cstring>
#include <string>
#include <vector>

#include "api/libbpfemu/dropin.h"
#include "api/libbpfemu/interpose.h"
#include "api/libbpfemu/next.h"
#include "api/libbpfemu/route.h"
#include "core/log.h"
#include "emu/bpf_syscall.h"
#include "emu/fd_ops.h"
#include "emu/iter.h"
#include "emu/objects.h"
#include "emu/perf_event.h"

namespace bpfemu::dropin {

long raw_syscall(long nr, long a1, long a2, long a3, long a4, long a5, long a6) {
#if defined(__x86_64__)
  long ret;
  register long r10 asm("r10") = a4;
  register long r8 asm("r8") = a5;
  register long r9 asm("r9") = a6;
  asm volatile("syscall"
               : "=a"(ret)
               : "a"(nr), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
               : "rcx", "r11", "memory");
  return ret;
#else
  BPFEMU_NEXT(syscall, long (*)(long, ...));
  long r = next_syscall(nr, a1, a2, a3, a4, a5, a6);
  return r == -1 ? -errno : r;
#endif
}

// The bpf(2) route (route.h): a thread's scope, or kNoScope to follow the
// process default. Read only for __NR_bpf and __NR_perf_event_open.
namespace {
constexpr int8_t kNoScope = -1;
constinit std::atomic<BpfRoute> g_default_route{BpfRoute::kEmulator};
constinit thread_local int8_t t_route = kNoScope;
}  // namespace

void set_default_bpf_route(BpfRoute route) { g_default_route.store(route, std::memory_order_relaxed); }

bool bpf_routed_to_emulator() {
  const BpfRoute r = t_route != kNoScope ? static_cast<BpfRoute>(t_route) : g_default_route.load(std::memory_order_relaxed);
  return r == BpfRoute::kEmulator;
}

BpfRouteScope::BpfRouteScope(BpfRoute route) : saved_(t_route) { t_route = static_cast<int8_t>(route); }
BpfRouteScope::~BpfRouteScope() { t_route = saved_; }

}  // namespace bpfemu::dropin

namespace {

using namespace bpfemu::dropin::interpose;
namespace emu = bpfemu::emu;

int real_close(int fd) {
  BPFEMU_NEXT(close, int (*)(int));
  return next_close != nullptr ? next_close(fd) : static_cast<int>(libc_syscall(SYS_close, fd));
}

// Tells the fd table that new_fd now refers to whatever old_fd does.
void after_dup(int old_fd, int new_fd) {
  if (new_fd < 0 || in_emu()) return;
  const int saved = errno;
  EmuScope scope;
  emu::note_dup(old_fd, new_fd);
  errno = saved;
}

// Forgets every handle in [first, last] after they were closed together.
void after_close_range(unsigned first, unsigned last) {
  if (in_emu()) return;
  const int saved = errno;
  EmuScope scope;
  emu::note_closed_range(first, last);
  errno = saved;
}

int close_handle(int fd) {
  forget_poll_fd(fd);
  EmuScope scope;
  const int r = emu::sys_close(fd);  // forgets the handle first, then closes it
  return r < 0 ? fail(-r) : 0;
}

int fcntl_common(int fd, int cmd, void* arg, const char* name, void*& cache) {
  emu::ObjKind kind = emu::ObjKind::kNone;
  uint8_t access = 0;
  if (cmd == F_GETFL && handle(fd, &kind, &access)) return emu::handle_status_flags(kind, access);
  auto next = bpfemu::dropin::next_fn<int (*)(int, int, ...)>(cache, name);
  int r = next != nullptr ? next(fd, cmd, arg) : static_cast<int>(libc_syscall(SYS_fcntl, fd, cmd, (long)arg));
  if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) after_dup(fd, r);
  return r;
}

// The VFS checks the file's mode before the file's own read/write (which the
// kernel's BPF files answer with EINVAL).
int read_errno(emu::ObjKind, uint8_t access) { return (access & emu::kCanRead) ? EINVAL : EBADF; }
int write_errno(emu::ObjKind kind, uint8_t access, int otherwise) {
  return kind == emu::ObjKind::kBtf || kind == emu::ObjKind::kLink || !(access & emu::kCanWrite) ? EBADF : otherwise;
}

}  // namespace

extern "C" {

// ---- the system call ----

BPFEMU_EXPORT long syscall(long number, ...) {
  va_list ap;
  va_start(ap, number);
  long a[6];
  for (long& v : a) v = va_arg(ap, long);
  va_end(ap);
  if (number == SYS_bpf && !in_emu() && bpfemu::dropin::bpf_routed_to_emulator()) {
    const int saved = errno;
    EmuScope scope;
    const int cmd = static_cast<int>(a[0]);
    const long r = emu::bpf_syscall(cmd, reinterpret_cast<void*>(a[1]), static_cast<unsigned>(a[2]));
    emu::log_result(emu::bpf_cmd_name(cmd), r);
    if (r < 0) return fail<long>(static_cast<int>(-r));
    errno = saved;
    return r;
  }
  if (number == SYS_perf_event_open && !in_emu() && bpfemu::dropin::bpf_routed_to_emulator()) {
    const auto* attr = reinterpret_cast<const perf_event_attr*>(a[0]);
    EmuScope scope;
    if (emu::perf_event_is_emulated(attr)) {
      const int saved = errno;
      const long r = emu::sys_perf_event_open(attr, static_cast<pid_t>(a[1]), static_cast<int>(a[2]),
                                              static_cast<int>(a[3]), static_cast<unsigned long>(a[4]));
      emu::log_result("perf_event_open", r);
      if (r < 0) return fail<long>(static_cast<int>(-r));
      errno = saved;
      return r;
    }
  }
  if (number == SYS_close && handle(static_cast<int>(a[0]))) return close_handle(static_cast<int>(a[0]));
  const long r = libc_syscall(number, a[0], a[1], a[2], a[3], a[4], a[5]);
  if (r >= 0) {
    if (number == SYS_dup2 || number == SYS_dup3 || number == SYS_dup) {
      if (number == SYS_dup || a[0] != a[1]) after_dup(static_cast<int>(a[0]), static_cast<int>(r));
    } else if (number == SYS_close_range && !(a[2] & CLOSE_RANGE_CLOEXEC)) {
      after_close_range(static_cast<unsigned>(a[0]), static_cast<unsigned>(a[1]));
    }
  }
  return r;
}

// ---- fd lifetime ----

BPFEMU_EXPORT int close(int fd) {
  if (!handle(fd)) {
    forget_poll_fd(fd);  // an epoll fd with handles in it
    if (!in_emu()) {     // an iterator fd lets its program go
      EmuScope scope;
      emu::iter_forget(fd);
    }
    return real_close(fd);
  }
  return close_handle(fd);
}

BPFEMU_EXPORT int close_range(unsigned first, unsigned last, int flags) {
  BPFEMU_NEXT(close_range, int (*)(unsigned, unsigned, int));
  int r = next_close_range != nullptr ? next_close_range(first, last, flags)
                                      : static_cast<int>(libc_syscall(SYS_close_range, first, last, flags));
  if (r == 0 && !(flags & CLOSE_RANGE_CLOEXEC)) after_close_range(first, last);
  return r;
}

BPFEMU_EXPORT void closefrom(int lowfd) {
  BPFEMU_NEXT(closefrom, void (*)(int));
  if (next_closefrom != nullptr) {
    next_closefrom(lowfd);
  } else {
    libc_syscall(SYS_close_range, static_cast<unsigned>(lowfd), ~0U, 0);
  }
  if (lowfd >= 0) after_close_range(static_cast<unsigned>(lowfd), ~0U);
}

BPFEMU_EXPORT int dup(int fd) {
  BPFEMU_NEXT(dup, int (*)(int));
  int r = next_dup != nullptr ? next_dup(fd) : static_cast<int>(libc_syscall(SYS_dup, fd));
  after_dup(fd, r);
  return r;
}

BPFEMU_EXPORT int dup2(int old_fd, int new_fd) {
  BPFEMU_NEXT(dup2, int (*)(int, int));
  int r = next_dup2 != nullptr ? next_dup2(old_fd, new_fd) : static_cast<int>(libc_syscall(SYS_dup2, old_fd, new_fd));
  if (old_fd != new_fd) after_dup(old_fd, r);
  return r;
}

BPFEMU_EXPORT int dup3(int old_fd, int new_fd, int flags) {
  BPFEMU_NEXT(dup3, int (*)(int, int, int));
  int r = next_dup3 != nullptr ? next_dup3(old_fd, new_fd, flags)
                               : static_cast<int>(libc_syscall(SYS_dup3, old_fd, new_fd, flags));
  after_dup(old_fd, r);
  return r;
}

// The third argument is an int or a pointer depending on cmd; like glibc we
// carry it as a pointer-sized value, which preserves either.
BPFEMU_EXPORT int fcntl(int fd, int cmd, ...) {
  static void* cache = nullptr;
  va_list ap;
  va_start(ap, cmd);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  return fcntl_common(fd, cmd, arg, "fcntl", cache);
}

// What fcntl() calls become with _FILE_OFFSET_BITS=64 (glibc 2.28+).
BPFEMU_EXPORT int fcntl64(int fd, int cmd, ...) {
  static void* cache = nullptr;
  va_list ap;
  va_start(ap, cmd);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  return fcntl_common(fd, cmd, arg, "fcntl64", cache);
}

// ---- I/O on a handle: the kernel's bpf_dummy_read/write, no llseek, no fsync ----

BPFEMU_EXPORT ssize_t read(int fd, void* buf, size_t n) {
  emu::ObjKind kind = emu::ObjKind::kNone;
  uint8_t access = 0;
  if (!in_emu() && emu::iter_fds_open()) {  // an iterator's fd (BPF_ITER_CREATE): its program's output
    EmuScope scope;
    if (emu::is_iter_fd(fd)) {
      const ssize_t r = emu::iter_read(fd, buf, n);
      return r < 0 ? fail<ssize_t>(static_cast<int>(-r)) : r;
    }
  }
  if (handle(fd, &kind, &access)) {
    if (kind != emu::ObjKind::kPerfEvent) return fail<ssize_t>(read_errno(kind, access));
    EmuScope scope;
    const ssize_t r = emu::sys_handle_read(fd, buf, n);
    return r < 0 ? fail<ssize_t>(static_cast<int>(-r)) : r;
  }
  BPFEMU_NEXT(read, ssize_t (*)(int, void*, size_t));
  return next_or_syscall(next_read, SYS_read, fd, buf, n);
}

BPFEMU_EXPORT ssize_t write(int fd, const void* buf, size_t n) {
  emu::ObjKind kind = emu::ObjKind::kNone;
  uint8_t access = 0;
  if (handle(fd, &kind, &access)) return fail<ssize_t>(write_errno(kind, access, EINVAL));
  BPFEMU_NEXT(write, ssize_t (*)(int, const void*, size_t));
  return next_or_syscall(next_write, SYS_write, fd, buf, n);
}

BPFEMU_EXPORT ssize_t readv(int fd, const struct iovec* iov, int n) {
  emu::ObjKind kind = emu::ObjKind::kNone;
  uint8_t access = 0;
  if (handle(fd, &kind, &access)) return fail<ssize_t>(read_errno(kind, access));
  BPFEMU_NEXT(readv, ssize_t (*)(int, const struct iovec*, int));
  return next_or_syscall(next_readv, SYS_readv, fd, iov, n);
}

BPFEMU_EXPORT ssize_t writev(int fd, const struct iovec* iov, int n) {
  emu::ObjKind kind = emu::ObjKind::kNone;
  uint8_t access = 0;
  if (handle(fd, &kind, &access)) return fail<ssize_t>(write_errno(kind, access, EINVAL));
  BPFEMU_NEXT(writev, ssize_t (*)(int, const struct iovec*, int));
  return next_or_syscall(next_writev, SYS_writev, fd, iov, n);
}

#define BPFEMU_SPIPE_IO(name, bufconst, nr)                                     \
  BPFEMU_EXPORT ssize_t name(int fd, bufconst void* buf, size_t n, off_t off) {  \
    if (handle(fd)) return fail<ssize_t>(ESPIPE);                                \
    BPFEMU_NEXT(name, ssize_t (*)(int, bufconst void*, size_t, off_t));         \
    return next_or_syscall(next_##name, nr, fd, buf, n, off);                   \
  }
BPFEMU_SPIPE_IO(pread, , SYS_pread64)
BPFEMU_SPIPE_IO(pread64, , SYS_pread64)
BPFEMU_SPIPE_IO(pwrite, const, SYS_pwrite64)
BPFEMU_SPIPE_IO(pwrite64, const, SYS_pwrite64)
#undef BPFEMU_SPIPE_IO

BPFEMU_EXPORT off_t lseek(int fd, off_t off, int whence) {
  if (handle(fd)) return fail<off_t>(ESPIPE);
  BPFEMU_NEXT(lseek, off_t (*)(int, off_t, int));
  return next_or_syscall(next_lseek, SYS_lseek, fd, off, whence);
}

BPFEMU_EXPORT off_t lseek64(int fd, off_t off, int whence) {
  if (handle(fd)) return fail<off_t>(ESPIPE);
  BPFEMU_NEXT(lseek64, off_t (*)(int, off_t, int));
  return next_or_syscall(next_lseek64, SYS_lseek, fd, off, whence);
}

BPFEMU_EXPORT int ftruncate(int fd, off_t len) {
  if (handle(fd)) return fail(EINVAL);
  BPFEMU_NEXT(ftruncate, int (*)(int, off_t));
  return next_or_syscall(next_ftruncate, SYS_ftruncate, fd, len);
}

BPFEMU_EXPORT int ftruncate64(int fd, off_t len) {
  if (handle(fd)) return fail(EINVAL);
  BPFEMU_NEXT(ftruncate64, int (*)(int, off_t));
  return next_or_syscall(next_ftruncate64, SYS_ftruncate, fd, len);
}

BPFEMU_EXPORT int fallocate(int fd, int mode, off_t off, off_t len) {
  emu::ObjKind kind = emu::ObjKind::kNone;
  uint8_t access = 0;
  if (handle(fd, &kind, &access)) return fail(write_errno(kind, access, ENODEV));
  BPFEMU_NEXT(fallocate, int (*)(int, int, off_t, off_t));
  return next_or_syscall(next_fallocate, SYS_fallocate, fd, mode, off, len);
}

BPFEMU_EXPORT int fallocate64(int fd, int mode, off_t off, off_t len) {
  emu::ObjKind kind = emu::ObjKind::kNone;
  uint8_t access = 0;
  if (handle(fd, &kind, &access)) return fail(write_errno(kind, access, ENODEV));
  BPFEMU_NEXT(fallocate64, int (*)(int, int, off_t, off_t));
  return next_or_syscall(next_fallocate64, SYS_fallocate, fd, mode, off, len);
}

BPFEMU_EXPORT int fsync(int fd) {
  if (handle(fd)) return fail(EINVAL);
  BPFEMU_NEXT(fsync, int (*)(int));
  return next_or_syscall(next_fsync, SYS_fsync, fd);
}

BPFEMU_EXPORT int fdatasync(int fd) {
  if (handle(fd)) return fail(EINVAL);
  BPFEMU_NEXT(fdatasync, int (*)(int));
  return next_or_syscall(next_fdatasync, SYS_fdatasync, fd);
}

BPFEMU_EXPORT int ioctl(int fd, unsigned long request, ...) {
  va_list ap;
  va_start(ap, request);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  if (handle(fd)) {
    EmuScope scope;
    const int r = emu::sys_handle_ioctl(fd, request, reinterpret_cast<unsigned long>(arg));
    emu::log_result("ioctl", r);
    return r < 0 ? fail(-r) : r;
  }
  BPFEMU_NEXT(ioctl, int (*)(int, unsigned long, ...));
  return next_ioctl != nullptr ? next_ioctl(fd, request, arg)
                              : static_cast<int>(libc_syscall(SYS_ioctl, fd, static_cast<long>(request), (long)arg));
}

BPFEMU_EXPORT int fstat(int fd, struct stat* st) {
  if (handle(fd)) {
    emu::anon_inode_stat(st);
    return 0;
  }
  BPFEMU_NEXT(fstat, int (*)(int, struct stat*));
  return next_fstat != nullptr ? next_fstat(fd, st) : static_cast<int>(libc_syscall(SYS_fstat, fd, (long)st));
}

BPFEMU_EXPORT int fstat64(int fd, struct stat64* st64) {
  auto* st = reinterpret_cast<struct stat*>(st64);  // one layout on 64-bit targets
  if (handle(fd)) {
    emu::anon_inode_stat(st);
    return 0;
  }
  BPFEMU_NEXT(fstat64, int (*)(int, struct stat*));
  return next_or_syscall(next_fstat64, SYS_fstat, fd, st);
}

// glibc before 2.33 compiled fstat() into calls of __fxstat.
BPFEMU_EXPORT int __fxstat(int ver, int fd, struct stat* st) {
  if (handle(fd)) {
    emu::anon_inode_stat(st);
    return 0;
  }
  BPFEMU_NEXT(__fxstat, int (*)(int, int, struct stat*));
  return next___fxstat != nullptr ? next___fxstat(ver, fd, st) : static_cast<int>(libc_syscall(SYS_fstat, fd, (long)st));
}

BPFEMU_EXPORT int __fxstat64(int ver, int fd, struct stat* st) {
  if (handle(fd)) {
    emu::anon_inode_stat(st);
    return 0;
  }
  BPFEMU_NEXT(__fxstat64, int (*)(int, int, struct stat*));
  return next___fxstat64 != nullptr ? next___fxstat64(ver, fd, st)
                                  : static_cast<int>(libc_syscall(SYS_fstat, fd, (long)st));
}

// The anonymous-inode filesystem (ANON_INODE_FS_MAGIC).
static void anon_statfs(struct statfs* s) {
  memset(s, 0, sizeof(*s));
  s->f_type = 0x09041934;
  s->f_bsize = 4096;
  s->f_namelen = 255;
  s->f_frsize = 4096;
}

BPFEMU_EXPORT int fstatfs(int fd, struct statfs* s) {
  if (handle(fd)) {
    anon_statfs(s);
    return 0;
  }
  BPFEMU_NEXT(fstatfs, int (*)(int, struct statfs*));
  return next_or_syscall(next_fstatfs, SYS_fstatfs, fd, s);
}

BPFEMU_EXPORT int fstatfs64(int fd, struct statfs64* s64) {
  auto* s = reinterpret_cast<struct statfs*>(s64);  // one layout on 64-bit targets
  if (handle(fd)) {
    anon_statfs(s);
    return 0;
  }
  BPFEMU_NEXT(fstatfs64, int (*)(int, struct statfs*));
  return next_or_syscall(next_fstatfs64, SYS_fstatfs, fd, s);
}

// ---- memory mappings of map fds ----

BPFEMU_EXPORT void* mmap(void* addr, size_t len, int prot, int flags, int fd, off_t off) {
  BPFEMU_NEXT(mmap, void* (*)(void*, size_t, int, int, int, off_t));
  if ((flags & MAP_ANONYMOUS) || !handle(fd)) return next_or_syscall(next_mmap, SYS_mmap, addr, len, prot, flags, fd, off);
  const int saved = errno;
  EmuScope scope;
  void* out = nullptr;
  const int r = emu::sys_mmap(fd, addr, len, prot, flags, off, &out);
  emu::log_result("mmap", r);
  if (r < 0) {
    errno = -r;
    return MAP_FAILED;
  }
  errno = saved;
  return out;
}

BPFEMU_EXPORT void* mmap64(void* addr, size_t len, int prot, int flags, int fd, off_t off) {
  return mmap(addr, len, prot, flags, fd, off);
}

BPFEMU_EXPORT int munmap(void* addr, size_t len) {
  BPFEMU_NEXT(munmap, int (*)(void*, size_t));
  const int r = next_or_syscall(next_munmap, SYS_munmap, addr, len);
  if (r == 0 && !in_emu()) {
    const int saved = errno;
    EmuScope scope;
    emu::note_munmap(addr, len);
    errno = saved;
  }
  return r;
}

// A map's mapping cannot grow (the kernel answers EFAULT).
BPFEMU_EXPORT void* mremap(void* old_addr, size_t old_len, size_t new_len, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  void* new_addr = va_arg(ap, void*);
  va_end(ap);
  if (!in_emu() && new_len > old_len) {
    EmuScope scope;
    if (emu::is_map_mapping(old_addr, old_len)) {
      errno = EFAULT;
      return MAP_FAILED;
    }
  }
  BPFEMU_NEXT(mremap, void* (*)(void*, size_t, size_t, int, ...));
  if (next_mremap == nullptr)
    return reinterpret_cast<void*>(libc_syscall(SYS_mremap, (long)old_addr, static_cast<long>(old_len),
                                                static_cast<long>(new_len), flags, (long)new_addr));
  return next_mremap(old_addr, old_len, new_len, flags, new_addr);
}

}  // extern "C"
