// Map-in-map from the program side: look a map up in an outer map (an
// ARRAY_OF_MAPS or a HASH_OF_MAPS), then look up, update or delete in the map
// it yields. The outer maps are BTF-defined with libbpf's initial values
// (`.values = {...}`), so loading this object also checks that libbpf can
// create them and fill their slots. Run with BPF_PROG_TEST_RUN.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct inner_map {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __u64);
} inner_a SEC(".maps"), inner_b SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
  __uint(max_entries, 8);
  __type(key, __u32);
  __array(values, struct inner_map);
} outer_arr SEC(".maps") = {
    .values = {[0] = &inner_a, [1] = &inner_b},
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
  __uint(max_entries, 8);
  __type(key, __u32);
  __type(value, __u32);
  __array(values, struct inner_map);
} outer_hash SEC(".maps") = {
    .values = {[0] = &inner_b, [1] = &inner_a},
};

// Shared with conformance/prog_side.cc.
struct mim_args {
  __u32 outer;  // 0 outer_arr (mim_arr_op), 1 outer_hash (mim_hash_op)
  __u32 op;     // 0 lookup (value out), 1 update (value in), 2 delete
  __u32 slot;   // key in the outer map
  __u32 key;    // key in the inner map
  __u64 value;
  __s64 ret;
};

#define NO_INNER_MAP (-1000)

static __always_inline long inner_op(void* inner, struct mim_args* a) {
  __u32 key = a->key;
  __u64 v = a->value;
  if (!inner) return NO_INNER_MAP;
  if (a->op == 0) {
    __u64* p = bpf_map_lookup_elem(inner, &key);
    if (!p) return -2;  // -ENOENT
    a->value = *p;
    return 0;
  }
  if (a->op == 1) return bpf_map_update_elem(inner, &key, &v, BPF_ANY);
  return bpf_map_delete_elem(inner, &key);
}

// One program per outer map, so that each helper call sees maps of one
// template only (a call reached by maps of two templates makes the verifier
// call the generic helper instead of the map's own op, which changes how a
// kernel before 6.4 extends a negative result).
SEC("syscall")
int mim_arr_op(struct mim_args* a) {
  __u32 slot = a->slot;
  a->ret = inner_op(bpf_map_lookup_elem(&outer_arr, &slot), a);
  return 0;
}

SEC("syscall")
int mim_hash_op(struct mim_args* a) {
  __u32 slot = a->slot;
  a->ret = inner_op(bpf_map_lookup_elem(&outer_hash, &slot), a);
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
