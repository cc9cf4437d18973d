// Program-side push/pop/peek for the conformance suite's key-less maps (QUEUE,
// STACK, BLOOM_FILTER). `target` is rebound to the scenario's map before loading
// and one of the two programs is loaded: the verifier refuses pop on a bloom
// filter, and a sleepable program (SEC("syscall")) may not use one at all, so
// these are raw tracepoint programs that take their arguments from, and leave
// their result in, the `args` array. Values up to 64 bytes.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_QUEUE);
  __uint(max_entries, 1);
  __uint(value_size, 8);
} target SEC(".maps");

// Shared with conformance/prog_side.cc.
struct keyless_args {
  __u32 op;  // 0 peek, 1 push, 2 pop
  __u32 pad;
  __u64 flags;
  __s64 ret;
  __u8 value[64];
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct keyless_args);
} args SEC(".maps");

SEC("raw_tp")
int qs_op(void* ctx) {
  __u32 zero = 0;
  struct keyless_args* a = bpf_map_lookup_elem(&args, &zero);
  if (!a) return 0;
  if (a->op == 0) a->ret = bpf_map_peek_elem(&target, a->value);
  else if (a->op == 1) a->ret = bpf_map_push_elem(&target, a->value, a->flags);
  else if (a->op == 2) a->ret = bpf_map_pop_elem(&target, a->value);
  return 0;
}

SEC("raw_tp")
int bloom_op(void* ctx) {
  __u32 zero = 0;
  struct keyless_args* a = bpf_map_lookup_elem(&args, &zero);
  if (!a) return 0;
  if (a->op == 0) a->ret = bpf_map_peek_elem(&target, a->value);
  else if (a->op == 1) a->ret = bpf_map_push_elem(&target, a->value, a->flags);
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
