// perf_event_open, ioctl and close of perf events in conformance scenarios:
// the kernel's syscalls on the kernel backend, the emulator's own calls on
// the emulator (a scenario runs both in one process, without the
// interposers). Each call is noted under its label: an opened event as 1,
// any other result as it is.
#pragma once

#include <linux/perf_event.h>
#include <sys/types.h>

#include <cstdint>
#include <string>

#include "conformance/scenario.h"

namespace bpfemu::conformance {

// The event's fd, or -errno.
int perf_open(Recorder& r, perf_event_attr& attr, pid_t pid, int cpu, const std::string& label);
// 0 (or the ioctl's result), or -errno.
int perf_ioctl(Recorder& r, int fd, unsigned long request, unsigned long arg, const std::string& label);
// Not noted (fd < 0: nothing to close).
void perf_close(Recorder& r, int fd);
// BPF_LINK_CREATE of a perf link (BPF_PERF_EVENT) from prog to event, noted
// under label: the link's fd or -errno.
int perf_link(Recorder& r, int prog, int event, uint32_t flags, const std::string& label);
// bpf_obj_get_info_by_fd of a perf link into raw (64 bytes), with `name`
// (name_len bytes, filled with 'x' first) as the buffer for the event's name
// at 24/32 (tracepoint tp_name, kprobe func_name, uprobe file_name); the call
// is noted as "link info". 0 or -errno.
int perf_link_info(Recorder& r, int link, unsigned char* raw, char* name, uint32_t name_len, uint32_t* len);

// Writes a 4096-byte file of NOPs, /tmp/<prefix>-<pid>, for uprobes to be
// placed in (no process maps it), noting "target written": its path, or ""
// when it cannot be created. The caller unlinks it.
std::string write_probe_target(Recorder& r, const std::string& prefix);

}  // namespace bpfemu::conformance
