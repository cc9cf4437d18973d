// Tracepoints as perf_event_open names them: by the id in
// <tracefs>/events/<category>/<name>/id.
//
// libbpf reads that file before it opens a tracepoint perf event, and tracefs
// is root's alone (and often not mounted). So the emulator answers the id:
// the kernel's own when its tracefs can be read, else a stable one it makes up
// for a tracepoint the running kernel has (its BTF declares a btf_trace_<name>
// typedef for each, and a __x64_sys_<name> function for each system call
// behind syscalls/sys_enter_<name> and sys_exit_<name>). Either way the id
// maps back to "category/name" for the perf event that opens it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace bpfemu::emu {

// The id of tracepoint category/name, or -ENOENT when the kernel has none.
int64_t tracepoint_id(std::string_view category, std::string_view name);
// "category/name" of an id tracepoint_id answered in this process; empty otherwise.
std::string tracepoint_name(uint64_t id);
// When path is <tracefs>/events/<category>/<name>/id (tracefs at
// /sys/kernel/tracing or /sys/kernel/debug/tracing): true with the two names.
bool parse_tracepoint_id_path(std::string_view path, std::string* category, std::string* name);

}  // namespace bpfemu::emu
