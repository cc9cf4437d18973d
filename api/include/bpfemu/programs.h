/* Running emulated BPF programs from a test, in C or C++.
 *
 * A program loaded on the emulator (BPF_PROG_LOAD through libbpfemu or
 * Backend::bpf) runs when a test fires it: attaching never makes it run by
 * itself. bpfemu_prog_fire runs it once with a context the test lays out (the
 * struct pt_regs of a kprobe, a tracepoint's fields, a raw tracepoint's u64
 * arguments, a syscall program's struct) on a chosen CPU, and returns what it
 * returned; the test then checks the maps it wrote. Network programs with a
 * packet go through BPF_PROG_TEST_RUN (bpf_prog_test_run_opts) as on the
 * kernel.
 *
 * bpf_trace_printk output (bpf_printk) is kept for bpfemu_trace_read, and also
 * appended to the file BPFEMU_TRACE names when that is set (e.g. /dev/stderr).
 */
#ifndef BPFEMU_PROGRAMS_H
#define BPFEMU_PROGRAMS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The C API comes with libbpfemu (link with -lbpfemu or LD_PRELOAD it); C++
 * code linked with the bpfemu library gets bpfemu::prog_fire and
 * bpfemu::take_trace below, which do the same. */

/* Runs the emulated program prog_fd with r1 = ctx (ctx_size bytes it may read
 * and write) on CPU cpu (-1: the calling thread's current CPU). Returns 0 and
 * sets *retval to the program's r0, or -errno: -EBADF/-EINVAL when prog_fd is
 * no emulated program, -ENXIO for a CPU that does not exist, -EFAULT when the
 * program faulted (an access outside its memory, a helper the emulator lacks;
 * BPFEMU_LOG=1 says which instruction). */
int bpfemu_prog_fire(int prog_fd, void* ctx, uint32_t ctx_size, int cpu, uint64_t* retval);

/* Fires raw tracepoint `name` (e.g. "sys_enter") with nargs u64 arguments on
 * CPU cpu (-1: the calling thread's): every program attached to it
 * (BPF_RAW_TRACEPOINT_OPEN, bpf_program__attach_raw_tracepoint, a skeleton's
 * __attach, and SEC("tp_btf/...") programs) runs once. Returns how many ran, or
 * -errno (-EFAULT when one faulted). */
int bpfemu_raw_tracepoint_fire(const char* name, const uint64_t* args, uint32_t nargs, int cpu);

/* Fires tracepoint `name`, "category/event" as in tracefs (e.g.
 * "syscalls/sys_enter_write", "sched/sched_switch"), with r1 = ctx (the
 * tracepoint's record: its 8-byte common header, then its fields, ctx_size
 * bytes the programs may read) on CPU cpu (-1: the calling thread's): every
 * program attached to it (a SEC("tp/...") program after a skeleton's __attach,
 * bpf_program__attach_tracepoint, PERF_EVENT_IOC_SET_BPF or a perf link on a
 * tracepoint perf event) runs once. Returns how many ran, or -errno (-EFAULT
 * when one faulted). */
int bpfemu_tracepoint_fire(const char* name, void* ctx, uint32_t ctx_size, int cpu);

/* Calls kernel function `func` as far as BPF programs can tell, on CPU cpu
 * (-1: the calling thread's): every kprobe program attached to its entry
 * (SEC("kprobe/func") after __attach, bpf_program__attach_kprobe) runs with a
 * struct pt_regs holding the first six of its nargs u64 arguments (di, si,
 * dx, cx, r8, r9: PT_REGS_PARM1..6), every fentry program with the
 * arguments, then every fmod_ret program (SEC("fmod_ret/func")) and LSM
 * program (SEC("lsm/hook") on func bpf_lsm_<hook> returning int) with the
 * arguments and the return value so far, until one returns non-zero: that
 * value replaces `ret` (what the function itself returns) and the function
 * body is skipped; then every fexit program (and LSM program on a void hook)
 * with the arguments and the final return value, then every kretprobe
 * program with it in ax (PT_REGS_RC). Programs of one kind run newest
 * attachment first, as the kernel's trampoline runs them. kprobe.multi
 * links holding func run after the kprobes (kretprobe.multi ones after the
 * kretprobes), once per link, with that function's cookie; bpf_get_func_ip
 * gives func's /proc/kallsyms address. Returns how many ran, or -errno. */
int bpfemu_function_fire(const char* func, const uint64_t* args, uint32_t nargs, uint64_t ret, int cpu);

/* bpfemu_function_fire, and *result gets what the function's caller sees:
 * `ret`, or what an fmod_ret or LSM program returned instead (for an LSM
 * hook, e.g. "bpf_lsm_file_open" with ret 0: the verdict, 0 or -errno). */
int bpfemu_function_call(const char* func, const uint64_t* args, uint32_t nargs, uint64_t ret, int cpu,
                         uint64_t* result);

/* Runs user-space code at `offset` in file `path` as far as BPF programs can
 * tell: every uprobe program attached there (SEC("uprobe/...") after
 * __attach, bpf_program__attach_uprobe; for this process or for all) runs
 * with a struct pt_regs holding the first six arguments, then every
 * uretprobe program with `ret` in ax, on CPU cpu (-1: the calling thread's).
 * uprobe.multi links (for every process, or this one's pid) holding the
 * offset run too, each entry there with its cookie. Within a phase the
 * newest probe runs first, events and links alike, as the kernel's uprobe
 * consumers do. The file is matched by device and inode, as the kernel does.
 * bpf_get_func_ip gives where this process maps the offset (0: unmapped).
 * Returns how many ran, or -errno. */
int bpfemu_uprobe_fire(const char* path, uint64_t offset, const uint64_t* args, uint32_t nargs, uint64_t ret,
                       int cpu);

/* Runs USDT probe provider:name of file `path` (a <sys/sdt.h> DTRACE_PROBE
 * site) as far as BPF programs can tell: at every site of that probe in the
 * file, the programs attached there (SEC("usdt/...") after __attach,
 * bpf_program__attach_usdt) run with a struct pt_regs in which each of the
 * nargs arguments is where the site's note says the probe finds it: in its
 * register, or at its offset from a register (a scratch buffer the register
 * points into); a constant argument is the note's own (args[i] is not used).
 * Returns how many programs ran, -ENOENT when the file has no such probe,
 * -EINVAL when nargs differs from the probe's or an argument has a form this
 * cannot lay out (BPFEMU_LOG=1 says which), or -errno. */
int bpfemu_usdt_fire(const char* path, const char* provider, const char* name, const uint64_t* args, uint32_t nargs,
                     int cpu);

/* The call stacks bpf_get_stackid and bpf_get_stack report to programs this
 * thread runs from now on, innermost frame first: kernel_ips[0, nk) as the
 * kernel stack, user_ips[0, nu) as the user stack (BPF_F_USER_STACK). Both
 * are copied. The emulator has no kernel to walk, so both are empty until a
 * test sets them; an empty stack gives what the kernel gives for a stack with
 * no frames (bpf_get_stackid -EFAULT, bpf_get_stack 0 bytes). Frames beyond
 * what a map value or buffer holds (plus those skipped, at most
 * kernel.perf_event_max_stack) are cut as the kernel cuts them. Build ids are
 * not resolved: BPF_F_STACK_BUILD_ID maps and BPF_F_USER_BUILD_ID get each
 * frame as an ip (BPF_STACK_BUILD_ID_IP). */
void bpfemu_set_stack(const uint64_t* kernel_ips, uint32_t nk, const uint64_t* user_ips, uint32_t nu);

/* Moves up to size - 1 bytes of bpf_trace_printk output not read yet into buf,
 * NUL-terminated, and returns how many bytes were moved. */
size_t bpfemu_trace_read(char* buf, size_t size);

#ifdef __cplusplus
}

#include <string>

namespace bpfemu {
// bpfemu_prog_fire.
int prog_fire(int prog_fd, void* ctx, uint32_t ctx_size, int cpu, uint64_t* retval);
// bpfemu_raw_tracepoint_fire.
int raw_tracepoint_fire(const char* name, const uint64_t* args, uint32_t nargs, int cpu);
// bpfemu_tracepoint_fire.
int tracepoint_fire(const char* name, void* ctx, uint32_t ctx_size, int cpu);
// bpfemu_function_fire.
int function_fire(const char* func, const uint64_t* args, uint32_t nargs, uint64_t ret, int cpu);
// bpfemu_function_call.
int function_call(const char* func, const uint64_t* args, uint32_t nargs, uint64_t ret, int cpu, uint64_t* result);
// bpfemu_uprobe_fire.
int uprobe_fire(const char* path, uint64_t offset, const uint64_t* args, uint32_t nargs, uint64_t ret, int cpu);
// bpfemu_usdt_fire.
int usdt_fire(const char* path, const char* provider, const char* name, const uint64_t* args, uint32_t nargs, int cpu);
// bpfemu_set_stack.
void set_stack(const uint64_t* kernel_ips, uint32_t nk, const uint64_t* user_ips, uint32_t nu);
// All bpf_trace_printk output not read yet (one line per call).
std::string take_trace();
// bpf_get_prandom_u32 gives a repeatable sequence in each thread from now on
// (0: random again).
void set_prandom_seed(uint64_t seed);
}  // namespace bpfemu
#endif

#endif /* BPFEMU_PROGRAMS_H */
