// fmod_ret, fentry and fexit programs on the kernel's bpf_modify_return_test,
// and LSM programs on an int hook (file_open) and a void one (task_free), as
// the kernel's selftests modify_return.c and lsm.c write them (without
// vmlinux.h: the context is the function's arguments as u64s, then its
// return value). bpf_object_test.cc loads, attaches and runs them on the
// emulator.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char _license[] SEC("license") = "GPL";

__u64 fentry_a;
__u64 fentry_runs;
__u64 modret_seen_ret;
__u64 fexit_ret;
__s32 mod_value;  // what the fmod_ret program returns (0: let the function run)

SEC("fentry/bpf_modify_return_test")
int on_modify_entry(__u64 *ctx) {
  fentry_a = ctx[0];
  fentry_runs++;
  return 0;
}

SEC("fmod_ret/bpf_modify_return_test")
int on_modify_return(__u64 *ctx) {
  modret_seen_ret = ctx[2];  // after (int a, int *b): the return value so far
  return mod_value;
}

SEC("fexit/bpf_modify_return_test")
int on_modify_exit(__u64 *ctx) {
  fexit_ret = ctx[2];
  return 0;
}

__u64 opened_file;
__u64 file_opens;
__u64 task_frees;
__s32 deny;  // file_open answers -EPERM while set

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 16);
  __type(key, __u64);
  __type(value, __u64);
} verdicts SEC(".maps");

SEC("lsm/file_open")
int on_file_open(__u64 *ctx) {
  __u64 file = ctx[0];
  __u64 verdict = deny ? 1 : 0;
  opened_file = file;
  file_opens++;
  bpf_map_update_elem(&verdicts, &file, &verdict, BPF_ANY);
  if (deny) return -1;  // -EPERM
  return 0;
}

SEC("lsm/task_free")
int on_task_free(__u64 *ctx) {
  task_frees++;
  return 0;
}
