// kprobe.multi and uprobe.multi programs, as a tracer attaches one program to
// many functions: each hit records the function's address (bpf_get_func_ip),
// the cookie its link gave that function (bpf_get_attach_cookie), its first
// argument or its return value. multi_probe_test.cc attaches them through the
// skeleton and libbpf's calls, fires the functions and reads .bss.
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define SLOTS 8

struct hit {
  __u64 ip;
  __u64 cookie;
  __u64 value;  // the first argument, or the return value
};

struct hit entries[SLOTS], returns[SLOTS], explicit_hits[SLOTS], uprobes[SLOTS], uretprobes[SLOTS];
__u32 n_entries, n_returns, n_explicit, n_uprobes, n_uretprobes;

static __always_inline void record(struct hit *slots, __u32 *n, struct pt_regs *ctx, __u64 value) {
  __u32 i = *n;
  if (i >= SLOTS) return;
  slots[i].ip = bpf_get_func_ip(ctx);
  slots[i].cookie = bpf_get_attach_cookie(ctx);
  slots[i].value = value;
  *n = i + 1;
}

// Every bpf_fentry_test<digit> function; libbpf resolves the pattern.
SEC("kprobe.multi/bpf_fentry_test?")
int on_entry(struct pt_regs *ctx) {
  record(entries, &n_entries, ctx, PT_REGS_PARM1(ctx));
  return 0;
}

SEC("kretprobe.multi/bpf_fentry_test?")
int on_return(struct pt_regs *ctx) {
  record(returns, &n_returns, ctx, PT_REGS_RC(ctx));
  return 0;
}

// No target in the section: the test attaches it with explicit names and
// cookies (bpf_program__attach_kprobe_multi_opts).
SEC("kprobe.multi")
int on_explicit(struct pt_regs *ctx) {
  record(explicit_hits, &n_explicit, ctx, PT_REGS_PARM1(ctx));
  return 0;
}

// uprobe.multi programs: this libbpf (1.1) predates SEC("uprobe.multi"), so
// the test sets their expected attach type (BPF_TRACE_UPROBE_MULTI) before
// the load and links them with BPF_LINK_CREATE itself.
SEC("kprobe.multi")
int on_uprobe(struct pt_regs *ctx) {
  record(uprobes, &n_uprobes, ctx, PT_REGS_PARM1(ctx));
  return 0;
}

SEC("kprobe.multi")
int on_uretprobe(struct pt_regs *ctx) {
  record(uretprobes, &n_uretprobes, ctx, PT_REGS_RC(ctx));
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
