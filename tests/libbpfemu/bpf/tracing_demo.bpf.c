// fentry, fexit, tp_btf, kprobe and uprobe programs, as libbpf-bootstrap's
// fentry and kprobe examples write them (without vmlinux.h: a tracing program's context is its
// function's or tracepoint's arguments as u64s). bpf_object_test.cc loads,
// attaches and fires them on the emulator.
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

__u64 entered_dfd;
__u64 exit_ret;
__u64 enters;
__u64 last_syscall;

// The kernel's struct filename, as much as the program reads (libbpf
// relocates the member to the running kernel's offset).
struct filename {
  const char *name;
} __attribute__((preserve_access_index));

char unlinked[32];
long unlinked_len;

SEC("fentry/do_unlinkat")
int on_unlink_entry(__u64 *ctx) {
  entered_dfd = ctx[0];
  enters++;
  // A direct load through the pointer argument, as libbpf-bootstrap's fentry
  // example reads name->name: the kernel makes it a BPF_PROBE_MEM load, which
  // reads 0 from a bad pointer instead of faulting.
  const struct filename *name = (const struct filename *)ctx[1];
  unlinked_len = bpf_probe_read_kernel_str(unlinked, sizeof(unlinked), name->name);
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

// kprobes and uprobes see a struct pt_regs (x86-64, user-space names here:
// no vmlinux.h); PT_REGS_PARM1 is its rdi, PT_REGS_RC its rax.
__u64 kprobe_dfd;
__u64 kretprobe_ret;
__u64 uprobe_arg;
__u64 uprobe_cookie;
__u64 uretprobe_ret;

SEC("kprobe/do_unlinkat")
int on_unlink_kprobe(struct pt_regs *ctx) {
  kprobe_dfd = PT_REGS_PARM1(ctx);
  return 0;
}

SEC("kretprobe/do_unlinkat")
int on_unlink_kretprobe(struct pt_regs *ctx) {
  kretprobe_ret = PT_REGS_RC(ctx);
  return 0;
}

SEC("uprobe")  // attached by the test, to a function of its own
int on_probed_call(struct pt_regs *ctx) {
  uprobe_arg = PT_REGS_PARM2(ctx);
  uprobe_cookie = bpf_get_attach_cookie(ctx);
  return 0;
}

SEC("uretprobe")
int on_probed_return(struct pt_regs *ctx) {
  uretprobe_ret = PT_REGS_RC(ctx);
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
