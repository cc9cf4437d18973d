// libbpfemu's own C API (bpfemu/programs.h): firing emulated programs and
// reading their bpf_trace_printk output.
#include <algorithm>
#include <cstring>
#include <string>

#include "api/libbpfemu/dropin.h"
#include "bpfemu/programs.h"

BPFEMU_EXPORT int bpfemu_prog_fire(int prog_fd, void* ctx, uint32_t ctx_size, int cpu, uint64_t* retval) {
  return bpfemu::prog_fire(prog_fd, ctx, ctx_size, cpu, retval);
}

BPFEMU_EXPORT int bpfemu_raw_tracepoint_fire(const char* name, const uint64_t* args, uint32_t nargs, int cpu) {
  return bpfemu::raw_tracepoint_fire(name, args, nargs, cpu);
}

BPFEMU_EXPORT size_t bpfemu_trace_read(char* buf, size_t size) {
  if (buf == nullptr || size == 0) return 0;
  // Whatever does not fit stays for the next read.
  thread_local std::string pending;
  pending += bpfemu::take_trace();
  const size_t n = std::min(size - 1, pending.size());
  memcpy(buf, pending.data(), n);
  buf[n] = '\0';
  pending.erase(0, n);
  return n;
}
