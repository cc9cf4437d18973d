// A sampling profiler's kprobe, as BCC's profile and stackcount tools write
// it: each hit counts (pid, kernel stack id, user stack id) and keeps the last
// kernel stack it saw through bpf_get_stack. stack_profile_test.cc fires it
// with the stacks it gives the emulator.
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>

#define MAX_FRAMES 16

struct stack_key {
  __u32 pid;
  __s32 kernel_id;
  __s32 user_id;
};

struct {
  __uint(type, BPF_MAP_TYPE_STACK_TRACE);
  __uint(max_entries, 64);
  __uint(key_size, sizeof(__u32));
  __uint(value_size, MAX_FRAMES * sizeof(__u64));
} stacks SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 64);
  __type(key, struct stack_key);
  __type(value, __u64);
} counts SEC(".maps");

__s64 last_stack_bytes;
__u64 last_stack[4];

SEC("kprobe/do_unlinkat")
int sample(struct pt_regs *ctx) {
  struct stack_key k = {};
  k.pid = bpf_get_current_pid_tgid() >> 32;
  k.kernel_id = bpf_get_stackid(ctx, &stacks, 0);
  k.user_id = bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK);
  __u64 one = 1, *n = bpf_map_lookup_elem(&counts, &k);
  if (n)
    __sync_fetch_and_add(n, 1);
  else
    bpf_map_update_elem(&counts, &k, &one, BPF_NOEXIST);
  last_stack_bytes = bpf_get_stack(ctx, last_stack, sizeof(last_stack), 1);  // skips the innermost frame
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
