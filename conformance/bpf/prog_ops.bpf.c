// One BPF program that performs a single map operation from the program side,
// chosen by its context, so the conformance suite can compare program-side
// behaviour (pointers into values, per-CPU slots, LRU reference bits,
// bpf_for_each_map_elem) between the emulator and the kernel. Run with
// BPF_PROG_TEST_RUN on both; `target` is rebound to the scenario's map before
// loading.
// Built once per value size (VALUE_SIZE) because the program copies a whole value.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#ifndef VALUE_SIZE
#define VALUE_SIZE 8
#endif

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1);
  __uint(key_size, 4);
  __uint(value_size, VALUE_SIZE);
} target SEC(".maps");

// Shared with conformance/prog_side.cc.
struct prog_args {
  __u32 op;  // 0 lookup, 1 update, 2 delete, 3 for_each, 4 for_each deleting each element
  __u32 stop_at;
  __u64 flags;
  __s64 ret;
  __u32 key;
  __u32 visited;
  __u32 deleted;     // op 4: deletes that returned 0
  __u32 pad;
  __s64 delete_err;  // op 4: the last failed delete's result
  __u8 value[VALUE_SIZE];
};

struct walk_ctx {
  __u32 stop_at;
  __u32 seen;
  __u32 deleted;
  __s64 delete_err;
};

static long visit(void* map, const void* key, void* value, void* ctx) {
  struct walk_ctx* w = ctx;
  w->seen++;
  return w->seen == w->stop_at ? 1 : 0;
}

// Deletes the element it is given, through the callback's own map and key.
static long visit_delete(void* map, const void* key, void* value, void* ctx) {
  struct walk_ctx* w = ctx;
  long r = bpf_map_delete_elem(map, key);
  if (r == 0) w->deleted++;
  else w->delete_err = r;
  w->seen++;
  return w->seen == w->stop_at ? 1 : 0;
}

SEC("syscall")
int prog_op(struct prog_args* a) {
  __u32 key = a->key;
  if (a->op == 0) {
    __u8* v = bpf_map_lookup_elem(&target, &key);
    a->ret = v ? 0 : -2;
    if (v) __builtin_memcpy(a->value, v, VALUE_SIZE);
  } else if (a->op == 1) {
    __u8 value[VALUE_SIZE];
    __builtin_memcpy(value, a->value, VALUE_SIZE);
    a->ret = bpf_map_update_elem(&target, &key, value, a->flags);
  } else if (a->op == 2) {
    a->ret = bpf_map_delete_elem(&target, &key);
  } else if (a->op == 3) {
    struct walk_ctx w = {.stop_at = a->stop_at};
    a->ret = bpf_for_each_map_elem(&target, visit, &w, a->flags);
    a->visited = w.seen;
  } else if (a->op == 4) {
    struct walk_ctx w = {.stop_at = a->stop_at};
    a->ret = bpf_for_each_map_elem(&target, visit_delete, &w, a->flags);
    a->visited = w.seen;
    a->deleted = w.deleted;
    a->delete_err = w.delete_err;
  }
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
