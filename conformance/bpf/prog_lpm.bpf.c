// Program-side lookup, update and delete on an LPM_TRIE for the conformance
// suite, with 8-byte keys ({u32 prefixlen; u8 data[4]}) and 8-byte values.
// `target` is rebound to the scenario's map before loading. A sleepable program
// (SEC("syscall"), as in prog_ops.bpf.c) may not use an LPM trie, so this is a
// raw tracepoint program that takes its arguments from, and leaves its result
// in, the `args` array.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct lpm_key {
  __u32 prefixlen;
  __u8 data[4];
};

struct {
  __uint(type, BPF_MAP_TYPE_LPM_TRIE);
  __uint(max_entries, 1);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, struct lpm_key);
  __type(value, __u64);
} target SEC(".maps");

// Shared with conformance/prog_side.cc.
struct lpm_args {
  __u32 op;  // 0 lookup, 1 update, 2 delete
  __u32 pad;
  __u64 flags;
  __s64 ret;
  struct lpm_key key;
  __u64 value;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct lpm_args);
} args SEC(".maps");

SEC("raw_tp")
int lpm_op(void* ctx) {
  __u32 zero = 0;
  struct lpm_args* a = bpf_map_lookup_elem(&args, &zero);
  if (!a) return 0;
  struct lpm_key key = a->key;
  if (a->op == 0) {
    __u64* v = bpf_map_lookup_elem(&target, &key);
    a->ret = v ? 0 : -2;
    if (v) a->value = *v;
  } else if (a->op == 1) {
    __u64 value = a->value;
    a->ret = bpf_map_update_elem(&target, &key, &value, a->flags);
  } else if (a->op == 2) {
    a->ret = bpf_map_delete_elem(&target, &key);
  }
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
