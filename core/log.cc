#include "core/log.h"

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace bpfemu::emu {
namespace log_detail {

std::atomic<int> g_enabled{-1};

int read_env() {
  const char* v = getenv("BPFEMU_LOG");
  int on = v != nullptr && *v != '\0' && strcmp(v, "0") != 0 ? 1 : 0;
  int expected = -1;
  g_enabled.compare_exchange_strong(expected, on, std::memory_order_relaxed);
  return g_enabled.load(std::memory_order_relaxed);
}

}  // namespace log_detail

namespace {
thread_local char t_reason[256];
thread_local bool t_has_reason = false;

const char* errno_name(int e) {
  switch (e) {
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case EBADF: return "EBADF";
    case EFAULT: return "EFAULT";
    case EEXIST: return "EEXIST";
    case EINVAL: return "EINVAL";
    case ENOSPC: return "ENOSPC";
    case E2BIG: return "E2BIG";
    case ENOMEM: return "ENOMEM";
    case EACCES: return "EACCES";
    case EBUSY: return "EBUSY";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case EBADFD: return "EBADFD";
    case 524: return "ENOTSUPP";
    default: return nullptr;
  }
}
}  // namespace

void set_log_enabled(bool on) { log_detail::g_enabled.store(on ? 1 : 0, std::memory_order_relaxed); }

int log_reason(int err, const char* fmt, ...) {
  if (!log_enabled()) return err;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(t_reason, sizeof(t_reason), fmt, ap);
  va_end(ap);
  t_has_reason = true;
  return err;
}

void log_failure(const char* what, long r) {
  if (!log_enabled()) return;
  const int saved = errno;
  const int e = static_cast<int>(-r);
  const char* name = errno_name(e);
  char code[48];
  if (name != nullptr) {
    snprintf(code, sizeof(code), "%s", name);
  } else {
    snprintf(code, sizeof(code), "errno %d", e);
  }
  if (t_has_reason) {
    fprintf(stderr, "bpfemu: %s: %s (%s)\n", what, t_reason, code);
  } else {
    fprintf(stderr, "bpfemu: %s: %s (%s)\n", what, strerror(e), code);
  }
  t_has_reason = false;
  errno = saved;
}

const char* bpf_cmd_name(int cmd) {
  static const char* const kNames[] = {
      "BPF_MAP_CREATE",          "BPF_MAP_LOOKUP_ELEM",       "BPF_MAP_UPDATE_ELEM",
      "BPF_MAP_DELETE_ELEM",     "BPF_MAP_GET_NEXT_KEY",      "BPF_PROG_LOAD",
      "BPF_OBJ_PIN",             "BPF_OBJ_GET",               "BPF_PROG_ATTACH",
      "BPF_PROG_DETACH",         "BPF_PROG_TEST_RUN",         "BPF_PROG_GET_NEXT_ID",
      "BPF_MAP_GET_NEXT_ID",     "BPF_PROG_GET_FD_BY_ID",     "BPF_MAP_GET_FD_BY_ID",
      "BPF_OBJ_GET_INFO_BY_FD",  "BPF_PROG_QUERY",            "BPF_RAW_TRACEPOINT_OPEN",
      "BPF_BTF_LOAD",            "BPF_BTF_GET_FD_BY_ID",      "BPF_TASK_FD_QUERY",
      "BPF_MAP_LOOKUP_AND_DELETE_ELEM", "BPF_MAP_FREEZE",     "BPF_BTF_GET_NEXT_ID",
      "BPF_MAP_LOOKUP_BATCH",    "BPF_MAP_LOOKUP_AND_DELETE_BATCH", "BPF_MAP_UPDATE_BATCH",
      "BPF_MAP_DELETE_BATCH",    "BPF_LINK_CREATE",           "BPF_LINK_UPDATE",
      "BPF_LINK_GET_FD_BY_ID",   "BPF_LINK_GET_NEXT_ID",      "BPF_ENABLE_STATS",
      "BPF_ITER_CREATE",         "BPF_LINK_DETACH",           "BPF_PROG_BIND_MAP",
      "BPF_TOKEN_CREATE",        "BPF_PROG_STREAM_READ_BY_FD",
  };
  if (cmd >= 0 && static_cast<size_t>(cmd) < sizeof(kNames) / sizeof(kNames[0])) return kNames[cmd];
  thread_local char buf[32];
  snprintf(buf, sizeof(buf), "BPF_CMD_%d", cmd);
  return buf;
}

}  // namespace bpfemu::emu
