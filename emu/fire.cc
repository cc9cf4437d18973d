// bpfemu/programs.h: firing a program with a test's context, and the
// bpf_trace_printk output of every run.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

#include "bpfemu/controls.h"
#include "bpfemu/programs.h"
#include "core/cpu.h"
#include "core/log.h"
#include "core/scope.h"
#include "emu/fire.h"
#include "emu/helpers_stack.h"
#include "emu/usdt.h"
#include "emu/interpreter.h"
#include "emu/link.h"
#include "emu/objects.h"
#include "emu/perf_event.h"
#include "emu/probe_event.h"
#include "emu/program.h"
#include "emu/test_run.h"

namespace bpfemu::emu {
namespace {

std::mutex g_trace_mu;
std::string g_trace;  // not read yet

}  // namespace

void trace_append(const std::string& text) {
  if (text.empty()) return;
  std::lock_guard<std::mutex> lock(g_trace_mu);
  g_trace += text;
  if (const char* path = getenv("BPFEMU_TRACE"); path != nullptr && *path != '\0') {
    const int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0) {
      ssize_t n = write(fd, text.data(), text.size());
      (void)n;
      close(fd);
    }
  }
}

size_t trace_read(char* buf, size_t size) {
  if (buf == nullptr || size == 0) return 0;
  std::lock_guard<std::mutex> lock(g_trace_mu);
  const size_t n = std::min(size - 1, g_trace.size());
  memcpy(buf, g_trace.data(), n);
  buf[n] = '\0';
  g_trace.erase(0, n);
  return n;
}

int fire_program(int prog_fd, void* ctx, uint32_t ctx_size, int cpu, uint64_t* retval) {
  EmulatorScope scope;  // the emulator's own file calls must not reach the libc interposers
  ObjKind kind = ObjKind::kNone;
  uint8_t access = 0;
  int err = -EBADF;
  Object* obj = object_from_fd(prog_fd, &kind, &access, &err);
  if (obj == nullptr) return log_reason(err, "fd %d is not an emulated BPF object", prog_fd);
  if (kind != ObjKind::kProg) return log_reason(-EINVAL, "fd %d is not a program", prog_fd);
  if (cpu >= possible_cpus()) return log_reason(-ENXIO, "CPU %d does not exist (%d possible)", cpu, possible_cpus());
  const auto& prog = *static_cast<const Program*>(obj);
  RunEnv env;
  if (int e = add_program_maps(prog, &env); e != 0) return e;
  env.set_ctx(ctx, ctx_size, true);
  ScopedCpu on(cpu >= 0 ? cpu : current_cpu());
  uint64_t r0 = 0;
  const int e = run_program(prog, env, reinterpret_cast<uint64_t>(ctx), &r0);
  if (e == 0 && retval != nullptr) *retval = r0;
  return e;
}

Firing::Firing(int cpu) {
  if (cpu >= possible_cpus()) {
    error_ = log_reason(-ENXIO, "CPU %d does not exist (%d possible)", cpu, possible_cpus());
    return;
  }
  int err = 0;
  store_ = Store::current(&err);
  if (store_ == nullptr) {
    error_ = log_reason(err, "the emulated bpffs root cannot be used");
    return;
  }
  on_.emplace(cpu >= 0 ? cpu : current_cpu());
}

int Firing::run(uint32_t prog_id, void* ctx, uint32_t ctx_size, uint64_t cookie, uint64_t* r0_out) {
  int err = 0;
  Object* p = view_of(*store_, ObjKind::kProg, prog_id, &err);
  if (p == nullptr) return 0;
  const auto& prog = *static_cast<const Program*>(p);
  RunEnv env;
  if (int e = add_program_maps(prog, &env); e != 0) return e;
  env.set_ctx(ctx, ctx_size, false);
  env.attach_cookie = cookie;
  env.func_ip = func_ip;
  env.func_name = func_name;
  uint64_t r0 = 0;
  if (int e = run_program(prog, env, reinterpret_cast<uint64_t>(ctx), &r0); e != 0) return e;
  ++ran_;
  if (r0_out != nullptr) *r0_out = r0;
  return 0;
}

}  // namespace bpfemu::emu

namespace bpfemu {

int prog_fire(int prog_fd, void* ctx, uint32_t ctx_size, int cpu, uint64_t* retval) {
  return emu::fire_program(prog_fd, ctx, ctx_size, cpu, retval);
}

int raw_tracepoint_fire(const char* name, const uint64_t* args, uint32_t nargs, int cpu) {
  return emu::fire_raw_tracepoint(name, args, nargs, cpu);
}

int tracepoint_fire(const char* name, void* ctx, uint32_t ctx_size, int cpu) {
  return emu::fire_tracepoint(name, ctx, ctx_size, cpu);
}

int function_fire(const char* func, const uint64_t* args, uint32_t nargs, uint64_t ret, int cpu) {
  return emu::fire_function(func, args, nargs, ret, cpu);
}

int function_call(const char* func, const uint64_t* args, uint32_t nargs, uint64_t ret, int cpu, uint64_t* result) {
  return emu::fire_function(func, args, nargs, ret, cpu, result);
}

int uprobe_fire(const char* path, uint64_t offset, const uint64_t* args, uint32_t nargs, uint64_t ret, int cpu) {
  return emu::fire_uprobes(path, offset, args, nargs, ret, cpu);
}

int usdt_fire(const char* path, const char* provider, const char* name, const uint64_t* args, uint32_t nargs, int cpu) {
  return emu::fire_usdt(path, provider, name, args, nargs, cpu);
}

void set_prandom_seed(uint64_t seed) { emu::interp::set_prandom_seed(seed); }

void set_stack(const uint64_t* kernel_ips, uint32_t nk, const uint64_t* user_ips, uint32_t nu) {
  emu::set_thread_stacks(kernel_ips, nk, user_ips, nu);
}

std::string take_trace() {
  std::lock_guard<std::mutex> lock(emu::g_trace_mu);
  std::string out;
  out.swap(emu::g_trace);
  return out;
}

}  // namespace bpfemu
