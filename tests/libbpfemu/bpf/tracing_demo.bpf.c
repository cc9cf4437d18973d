// fentry, fexit and tp_btf programs, as libbpf-bootstrap's fentry example
// writes them (without vmlinux.h: a tracing program's context is its
// function's or tracepoint's arguments as u64s). bpf_object_test.cc loads,
// attaches and fires them on the emulator.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

__u64 entered_dfd;
__u64 exit_ret;
__u64 enters;
__u64 last_syscall;

SEC("fentry/do_unlinkat")
int on_unlink_entry(__u64 *ctx) {
  entered_dfd = ctx[0];
  enters++;
  return 0;
}

SEC("fexit/do_unlinkat")
int on_unlink_exit(__u64 *ctx) {
  exit_ret = ctx[2];  // after do_unlinkat's two arguments
  return 0;
}

SEC("tp_btf/sys_enter")
int on_sys_enter(__u64 *ctx) {
  last_syscall = ctx[1];  // sys_enter(regs, id)
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
