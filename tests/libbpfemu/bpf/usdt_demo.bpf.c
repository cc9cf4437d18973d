// USDT programs as libbpf's usdt.bpf.h has them written: BPF_USDT reads each
// argument where the probe site's note says it is (usdt_test.cc's probes,
// one in registers, one in memory off %rbp).
#include <stdbool.h>  // usdt.bpf.h expects vmlinux.h's bool
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>

__s64 last_id;
__s64 last_latency;
char last_name[16];
__u64 requests;
__s64 spilled_a;
__s64 spilled_b;
__s64 spilled_c;
__u64 spills;

SEC("usdt")
int BPF_USDT(on_request, int id, long latency, const char *name) {
  last_id = id;
  last_latency = latency;
  bpf_probe_read_user_str(last_name, sizeof(last_name), name);
  requests++;
  return 0;
}

SEC("usdt")
int BPF_USDT(on_spilled, short a, long b, unsigned char c) {
  spilled_a = a;
  spilled_b = b;
  spilled_c = c;
  spills++;
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
