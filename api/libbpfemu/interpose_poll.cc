// poll() and epoll on map and perf event handles, as the kernel's
// bpf_map_poll and perf_poll answer them.
//
// A handle is a plain file underneath, which epoll refuses and poll reports
// always ready. So the interposers put a stand-in in its place:
//  - a ring buffer's or perf event's stand-in is its wait fd (emu/fd_ops.h),
//    which a program writing a record makes readable in any process. Readiness is level, as
//    the kernel's ("records are waiting"): before each wait, the stand-in is
//    emptied and made readable again only if records are waiting, so a
//    producer that asked for no wake-up is still seen by the next wait;
//  - a map without map_poll gets the write end of a pipe with no reader,
//    which reports EPOLLERR, as the kernel does for such maps.
// epoll registrations are remembered per (epoll fd, handle) to turn MOD, DEL
// and close() of either into the stand-in's.
#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <functional>
#include <mutex>
#include <vector>

#include "api/libbpfemu/interpose.h"
#include "emu/fd_ops.h"

namespace bpfemu::dropin::interpose {
namespace {

struct Registration {
  int epfd;
  int handle;
  int stand_in;  // our fd in the epoll set
  bool ring;     // stand_in waits on the map's wake channel
};

std::mutex g_mu;
std::vector<Registration>& registrations() {
  static auto* r = new std::vector<Registration>();
  return *r;
}
std::atomic<int> g_count{0};  // registrations().size(), read without the lock

// Maps and perf events answer poll; the kernel's other BPF files do not.
bool pollable(emu::ObjKind kind) { return kind == emu::ObjKind::kMap || kind == emu::ObjKind::kPerfEvent; }

int real_epoll_ctl(int epfd, int op, int fd, struct epoll_event* ev) {
  BPFEMU_NEXT(epoll_ctl, int (*)(int, int, int, struct epoll_event*));
  return next_epoll_ctl != nullptr ? next_epoll_ctl(epfd, op, fd, ev)
                                   : static_cast<int>(libc_syscall(SYS_epoll_ctl, epfd, op, fd, (long)ev));
}

int real_close_fd(int fd) { return static_cast<int>(libc_syscall(SYS_close, fd)); }

// An end of a pipe whose other end is closed: the write end always reports
// EPOLLERR, the read end EPOLLHUP.
int dead_pipe_end(bool hangup) {
  int p[2];
  if (pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0) return -errno;
  real_close_fd(p[hangup ? 1 : 0]);
  return p[hangup ? 0 : 1];
}

// Makes a ring's stand-in readable exactly when records are waiting.
void refresh(int handle, int stand_in) {
  EmuScope scope;
  emu::drain_wait_fd(stand_in);
  const int ev = emu::sys_poll_events(handle);
  if (ev > 0 && (ev & EPOLLIN)) {
    const char byte = 1;
    (void)!::write(stand_in, &byte, 1);
  }
}

// Refreshes the ring stand-ins registered in epfd before a wait.
void before_wait(int epfd) {
  if (g_count.load(std::memory_order_acquire) == 0) return;
  std::lock_guard<std::mutex> lock(g_mu);
  for (const Registration& r : registrations())
    if (r.epfd == epfd && r.ring) refresh(r.handle, r.stand_in);
}

int add(int epfd, int handle, struct epoll_event* ev) {
  std::lock_guard<std::mutex> lock(g_mu);
  for (const Registration& r : registrations())
    if (r.epfd == epfd && r.handle == handle) return fail(EEXIST);
  int stand_in;
  bool ring = false;
  {
    EmuScope scope;
    const int wait_fd = emu::sys_poll_wait_fd(handle);
    ring = wait_fd >= 0;
    // One fd per registration: epoll keys its entries by fd number. What never
    // wakes reports what it always reports: EPOLLERR (maps without map_poll)
    // or EPOLLHUP (perf events without a ring).
    const int now = ring ? 0 : emu::sys_poll_events(handle);
    stand_in = ring ? fcntl(wait_fd, F_DUPFD_CLOEXEC, 0) : dead_pipe_end(now > 0 && (now & EPOLLHUP));
  }
  if (stand_in < 0) return fail(ENOMEM);
  if (real_epoll_ctl(epfd, EPOLL_CTL_ADD, stand_in, ev) != 0) {
    const int err = errno;
    real_close_fd(stand_in);
    return fail(err);
  }
  registrations().push_back({epfd, handle, stand_in, ring});
  g_count.fetch_add(1, std::memory_order_release);
  return 0;
}

int modify_or_delete(int epfd, int op, int handle, struct epoll_event* ev) {
  std::lock_guard<std::mutex> lock(g_mu);
  auto& regs = registrations();
  for (auto it = regs.begin(); it != regs.end(); ++it) {
    if (it->epfd != epfd || it->handle != handle) continue;
    const int r = real_epoll_ctl(epfd, op, it->stand_in, ev);
    if (r == 0 && op == EPOLL_CTL_DEL) {
      real_close_fd(it->stand_in);
      regs.erase(it);
      g_count.fetch_sub(1, std::memory_order_release);
    }
    return r;
  }
  return fail(ENOENT);  // not in this epoll set
}

}  // namespace

void forget_poll_fd(int fd) {
  if (g_count.load(std::memory_order_acquire) == 0) return;
  std::lock_guard<std::mutex> lock(g_mu);
  auto& regs = registrations();
  for (auto it = regs.begin(); it != regs.end();) {
    if (it->epfd != fd && it->handle != fd) {
      ++it;
      continue;
    }
    if (it->handle == fd) real_epoll_ctl(it->epfd, EPOLL_CTL_DEL, it->stand_in, nullptr);
    real_close_fd(it->stand_in);
    it = regs.erase(it);
    g_count.fetch_sub(1, std::memory_order_release);
  }
}

int poll_with_handles(struct pollfd* fds, nfds_t n, const std::function<int(struct pollfd*, nfds_t, bool)>& real) {
  std::vector<struct pollfd> copy;
  std::vector<short> fixed;  // what never-woken handles report
  std::vector<nfds_t> rings;
  bool ready_now = false;
  for (nfds_t i = 0; i < n; ++i) {
    emu::ObjKind kind = emu::ObjKind::kNone;
    if (fds[i].fd < 0 || !handle(fds[i].fd, &kind) || !pollable(kind)) continue;
    if (copy.empty()) {
      copy.assign(fds, fds + n);
      fixed.assign(n, 0);
    }
    EmuScope scope;
    const int wait_fd = emu::sys_poll_wait_fd(fds[i].fd);
    if (wait_fd < 0) {  // never woken: what it reports now, at once
      const int now = emu::sys_poll_events(fds[i].fd);
      copy[i].fd = -1;
      fixed[i] = static_cast<short>(now > 0 ? now & (fds[i].events | POLLERR | POLLHUP) : POLLNVAL);
      ready_now = true;
      continue;
    }
    emu::drain_wait_fd(wait_fd);
    const int ev = emu::sys_poll_events(fds[i].fd);
    if (ev > 0 && (ev & (fds[i].events | POLLERR | POLLHUP))) ready_now = true;
    copy[i].fd = wait_fd;
    copy[i].events = POLLIN;
    rings.push_back(i);
  }
  if (copy.empty()) return real(fds, n, false);
  const int r = real(copy.data(), n, ready_now);
  if (r < 0) return r;
  int count = 0;
  size_t next_ring = 0;
  for (nfds_t i = 0; i < n; ++i) {
    if (next_ring < rings.size() && rings[next_ring] == i) {
      ++next_ring;
      EmuScope scope;
      const int ev = emu::sys_poll_events(fds[i].fd);
      fds[i].revents = static_cast<short>(ev >= 0 ? ev & (fds[i].events | POLLERR | POLLHUP) : POLLNVAL);
    } else if (copy[i].fd == -1 && fds[i].fd >= 0) {
      fds[i].revents = fixed[i];
    } else {
      fds[i].revents = copy[i].revents;
    }
    if (fds[i].revents != 0) ++count;
  }
  return count;
}

}  // namespace bpfemu::dropin::interpose

using namespace bpfemu::dropin::interpose;
namespace emu = bpfemu::emu;

extern "C" {

BPFEMU_EXPORT int epoll_ctl(int epfd, int op, int fd, struct epoll_event* ev) {
  emu::ObjKind kind = emu::ObjKind::kNone;
  // Other handles are plain files to epoll too, which it refuses (EPERM) as
  // it refuses the kernel's BPF files without a poll method.
  if (!handle(fd, &kind) || !pollable(kind)) return real_epoll_ctl(epfd, op, fd, ev);
  if (op == EPOLL_CTL_ADD) return add(epfd, fd, ev);
  return modify_or_delete(epfd, op, fd, ev);
}

BPFEMU_EXPORT int epoll_wait(int epfd, struct epoll_event* events, int max, int timeout) {
  before_wait(epfd);
  BPFEMU_NEXT(epoll_wait, int (*)(int, struct epoll_event*, int, int));
  if (next_epoll_wait != nullptr) return next_epoll_wait(epfd, events, max, timeout);
  return static_cast<int>(libc_syscall(SYS_epoll_pwait, epfd, (long)events, max, timeout, 0, 8));
}

BPFEMU_EXPORT int epoll_pwait(int epfd, struct epoll_event* events, int max, int timeout, const sigset_t* mask) {
  before_wait(epfd);
  BPFEMU_NEXT(epoll_pwait, int (*)(int, struct epoll_event*, int, int, const sigset_t*));
  if (next_epoll_pwait != nullptr) return next_epoll_pwait(epfd, events, max, timeout, mask);
  return static_cast<int>(libc_syscall(SYS_epoll_pwait, epfd, (long)events, max, timeout, (long)mask, 8));
}

BPFEMU_EXPORT int epoll_pwait2(int epfd, struct epoll_event* events, int max, const struct timespec* timeout,
                               const sigset_t* mask) {
  before_wait(epfd);
  BPFEMU_NEXT(epoll_pwait2, int (*)(int, struct epoll_event*, int, const struct timespec*, const sigset_t*));
  if (next_epoll_pwait2 != nullptr) return next_epoll_pwait2(epfd, events, max, timeout, mask);
  return static_cast<int>(libc_syscall(SYS_epoll_pwait2, epfd, (long)events, max, (long)timeout, (long)mask, 8));
}

BPFEMU_EXPORT int poll(struct pollfd* fds, nfds_t n, int timeout) {
  BPFEMU_NEXT(poll, int (*)(struct pollfd*, nfds_t, int));
  if (in_emu()) return next_or_syscall(next_poll, SYS_poll, fds, n, timeout);
  return poll_with_handles(fds, n, [&](struct pollfd* f, nfds_t k, bool now) {
    return next_or_syscall(next_poll, SYS_poll, f, k, now ? 0 : timeout);
  });
}

BPFEMU_EXPORT int ppoll(struct pollfd* fds, nfds_t n, const struct timespec* timeout, const sigset_t* mask) {
  BPFEMU_NEXT(ppoll, int (*)(struct pollfd*, nfds_t, const struct timespec*, const sigset_t*));
  // Without a next ppoll (static binary): the system call, which writes the
  // time left into its timeout argument, so it gets a copy as glibc does.
  auto real_ppoll = [&](struct pollfd* f, nfds_t k, const struct timespec* t) {
    if (next_ppoll != nullptr) return next_ppoll(f, k, t, mask);
    struct timespec left = t != nullptr ? *t : timespec{};
    return static_cast<int>(libc_syscall(SYS_ppoll, (long)f, static_cast<long>(k), t != nullptr ? (long)&left : 0,
                                         (long)mask, _NSIG / 8));
  };
  if (in_emu()) return real_ppoll(fds, n, timeout);
  static const struct timespec kNow = {0, 0};
  return poll_with_handles(fds, n, [&](struct pollfd* f, nfds_t k, bool now) {
    return real_ppoll(f, k, now ? &kNow : timeout);
  });
}

}  // extern "C"
