#include "conformance/perf_calls.h"

#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "emu/fd_ops.h"
#include "emu/objects.h"
#include "emu/perf_event.h"

namespace bpfemu::conformance {

int perf_open(Recorder& r, perf_event_attr& attr, pid_t pid, int cpu, const std::string& label) {
  int fd;
  if (r.backend().emulated()) {
    fd = emu::sys_perf_event_open(&attr, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC);
    if (fd < 0) errno = -fd;
  } else {
    fd = static_cast<int>(syscall(SYS_perf_event_open, &attr, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC));
    if (fd < 0) fd = -errno;
  }
  r.note(label, fd < 0 ? fd : 1);
  return fd;
}

int perf_ioctl(Recorder& r, int fd, unsigned long request, unsigned long arg, const std::string& label) {
  int rc;
  if (r.backend().emulated()) {
    rc = emu::sys_handle_ioctl(fd, request, arg);
    if (rc < 0) errno = -rc;  // the note records errno beside the value
  } else {
    rc = ioctl(fd, request, arg);
    if (rc < 0) rc = -errno;
  }
  r.note(label, rc);
  return rc;
}

void perf_close(Recorder& r, int fd) {
  if (fd < 0) return;
  if (r.backend().emulated())
    emu::sys_close(fd);
  else
    close(fd);
}

}  // namespace bpfemu::conformance
