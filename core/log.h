// BPFEMU_LOG: one plain line on stderr for every emulated call that fails,
// naming the reason ("bpfemu: BPF_MAP_CREATE: map type RINGBUF (27) is not
// emulated yet"). Off by default; it never changes a result.
//
// Code that decides a failure states why with log_reason(); the entry point
// that returns the failure to the caller prints the line (log_failure), so a
// reason recorded on a path that later recovers is never printed.
#pragma once

#include <atomic>

namespace bpfemu::emu {

namespace log_detail {
extern std::atomic<int> g_enabled;  // -1 = not read from the environment yet
int read_env();
}  // namespace log_detail

inline bool log_enabled() {
  int v = log_detail::g_enabled.load(std::memory_order_relaxed);
  if (v < 0) [[unlikely]]
    v = log_detail::read_env();
  return v != 0;
}
// Turns the log on or off (overrides BPFEMU_LOG).
void set_log_enabled(bool on);

// Records why the current call fails and returns err. Formats only when the
// log is on.
int log_reason(int err, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

// Called by an entry point with its result: when r < 0 and the log is on,
// prints "bpfemu: <what>: <reason>" (or the errno's name when no reason was
// recorded). Clears the recorded reason either way.
void log_failure(const char* what, long r);
inline void log_result(const char* what, long r) {
  if (r < 0) [[unlikely]]
    log_failure(what, r);
}

// "BPF_MAP_CREATE", ... for a bpf(2) command number ("BPF_CMD_<n>" when unknown).
const char* bpf_cmd_name(int cmd);

}  // namespace bpfemu::emu
