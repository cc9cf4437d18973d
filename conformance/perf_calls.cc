#include "conformance/perf_calls.h"

#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/bpf.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

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

int perf_link(Recorder& r, int prog, int event, uint32_t flags, const std::string& label) {
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.link_create.prog_fd = static_cast<uint32_t>(prog);
  a.link_create.target_fd = static_cast<uint32_t>(event);
  a.link_create.attach_type = BPF_PERF_EVENT;
  a.link_create.flags = flags;
  return static_cast<int>(r.raw(label, BPF_LINK_CREATE, &a, sizeof(a), true));
}

int perf_link_info(Recorder& r, int link, unsigned char* raw, char* name, uint32_t name_len, uint32_t* len) {
  memset(raw, 0, 64);
  memset(name, 'x', name_len);
  const uint64_t uname = reinterpret_cast<uintptr_t>(name);
  memcpy(raw + 24, &uname, 8);
  memcpy(raw + 32, &name_len, 4);
  *len = 64;
  errno = 0;
  const int rc = r.backend().obj_get_info_by_fd(link, raw, len);
  r.note("link info", rc);
  return rc == 0 ? 0 : -errno;
}

std::string write_probe_target(Recorder& r, const std::string& prefix) {
  const std::string file = "/tmp/" + prefix + "-" + std::to_string(getpid());
  FILE* f = fopen(file.c_str(), "we");
  if (f == nullptr) return "";
  const std::vector<char> bytes(4096, '\x90');
  const bool written = fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  fclose(f);
  r.note("target written", written);
  return file;
}

}  // namespace bpfemu::conformance
