// Global data for the conformance suite: one variable set in each of .bss,
// .data and .rodata (libbpf makes each section an array map of one element),
// read and written by the program and read back by user space through the
// maps' fds and libbpf's mappings of them. Run with BPF_PROG_TEST_RUN.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

// One struct per section keeps the layout fixed: prog_side.cc reads it.
struct counters {
  __u64 runs;
  __u64 last_add;
};
struct counters counters;                   // .bss
struct totals {
  __u64 total;
  __u64 marker;
} totals = {.total = 100, .marker = 0x1122334455667788ULL};  // .data
const volatile __u64 step = 1;              // .rodata, set by user space before load

// Shared with conformance/prog_side.cc.
struct global_args {
  __u64 add;
  __u64 runs;
  __u64 last_add;
  __u64 total;
  __u64 step;
};

SEC("syscall")
int global_op(struct global_args* a) {
  counters.runs++;
  counters.last_add = a->add;
  totals.total += a->add * step;
  a->runs = counters.runs;
  a->last_add = counters.last_add;
  a->total = totals.total;
  a->step = step;
  return (int)counters.runs;
}

char LICENSE[] SEC("license") = "GPL";
