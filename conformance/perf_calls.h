// perf_event_open, ioctl and close of perf events in conformance scenarios:
// the kernel's syscalls on the kernel backend, the emulator's own calls on
// the emulator (a scenario runs both in one process, without the
// interposers). Each call is noted under its label: an opened event as 1,
// any other result as it is.
#pragma once

#include <linux/perf_event.h>
#include <sys/types.h>

#include <string>

#include "conformance/scenario.h"

namespace bpfemu::conformance {

// The event's fd, or -errno.
int perf_open(Recorder& r, perf_event_attr& attr, pid_t pid, int cpu, const std::string& label);
// 0 (or the ioctl's result), or -errno.
int perf_ioctl(Recorder& r, int fd, unsigned long request, unsigned long arg, const std::string& label);
// Not noted (fd < 0: nothing to close).
void perf_close(Recorder& r, int fd);

}  // namespace bpfemu::conformance
