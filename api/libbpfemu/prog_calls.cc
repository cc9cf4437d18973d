// libbpfemu's own C API (bpfemu/programs.h): firing emulated programs and
// reading their bpf_trace_printk output.
#include "api/libbpfemu/dropin.h"
#include "bpfemu/programs.h"
#include "emu/interpreter.h"

BPFEMU_EXPORT int bpfemu_prog_fire(int prog_fd, void* ctx, uint32_t ctx_size, int cpu, uint64_t* retval) {
  return bpfemu::prog_fire(prog_fd, ctx, ctx_size, cpu, retval);
}

BPFEMU_EXPORT int bpfemu_raw_tracepoint_fire(const char* name, const uint64_t* args, uint32_t nargs, int cpu) {
  return bpfemu::raw_tracepoint_fire(name, args, nargs, cpu);
}

BPFEMU_EXPORT int bpfemu_tracepoint_fire(const char* name, void* ctx, uint32_t ctx_size, int cpu) {
  return bpfemu::tracepoint_fire(name, ctx, ctx_size, cpu);
}

BPFEMU_EXPORT int bpfemu_function_fire(const char* func, const uint64_t* args, uint32_t nargs, uint64_t ret, int cpu) {
  return bpfemu::function_fire(func, args, nargs, ret, cpu);
}

BPFEMU_EXPORT int bpfemu_function_call(const char* func, const uint64_t* args, uint32_t nargs, uint64_t ret, int cpu,
                                       uint64_t* result) {
  return bpfemu::function_call(func, args, nargs, ret, cpu, result);
}

BPFEMU_EXPORT int bpfemu_uprobe_fire(const char* path, uint64_t offset, const uint64_t* args, uint32_t nargs,
                                     uint64_t ret, int cpu) {
  return bpfemu::uprobe_fire(path, offset, args, nargs, ret, cpu);
}

BPFEMU_EXPORT int bpfemu_usdt_fire(const char* path, const char* provider, const char* name, const uint64_t* args,
                                   uint32_t nargs, int cpu) {
  return bpfemu::usdt_fire(path, provider, name, args, nargs, cpu);
}

BPFEMU_EXPORT void bpfemu_set_stack(const uint64_t* kernel_ips, uint32_t nk, const uint64_t* user_ips, uint32_t nu) {
  bpfemu::set_stack(kernel_ips, nk, user_ips, nu);
}

BPFEMU_EXPORT size_t bpfemu_trace_read(char* buf, size_t size) { return bpfemu::emu::trace_read(buf, size); }
