// Programs the kernel's verifier refuses, for what the emulator does with
// them at run time: a clean error, never a crash (kptr_object_test.cc).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

extern void *bpf_obj_new_impl(__u64 local_type_id, void *meta) __ksym;
extern void bpf_obj_drop_impl(void *kptr, void *meta) __ksym;
#define bpf_obj_new(type) ((type *)bpf_obj_new_impl(bpf_core_type_id_local(type), NULL))
#define bpf_obj_drop(kptr) bpf_obj_drop_impl(kptr, NULL)

struct knode {
  long a;
  long b;
};

struct kother {
  long a;
};

// n and c are tagged "kptr" by the test before loading (each needs a pointer
// type of its own, hence two structs).
struct value {
  long x;
  struct knode *n;
  struct kother *c;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct value);
} stash SEC(".maps");

struct args {
  __s64 out;
};

// Reads the object after dropping it.
SEC("syscall")
int use_after_drop(struct args *a) {
  struct knode *n = bpf_obj_new(struct knode);
  if (!n) return 1;
  n->a = 42;
  bpf_obj_drop(n);
  a->out = *(volatile long *)&n->a;
  return 0;
}

// Drops what is not an object: the context.
SEC("syscall")
int drop_ctx(struct args *a) {
  bpf_obj_drop(a);
  return 0;
}

// Drops the same object twice.
SEC("syscall")
int double_drop(struct args *a) {
  struct knode *n = bpf_obj_new(struct knode);
  if (!n) return 1;
  bpf_obj_drop(n);
  bpf_obj_drop(n);
  return 0;
}

// Exits holding the object (the verifier's "unreleased reference").
SEC("syscall")
int leak(struct args *a) {
  struct knode *n = bpf_obj_new(struct knode);
  if (!n) return 1;
  a->out = n->a;
  return 0;
}

// Stores the context in a kptr field.
SEC("syscall")
int xchg_ctx(struct args *a) {
  __u32 key = 0;
  struct value *v = bpf_map_lookup_elem(&stash, &key);
  if (!v) return 1;
  struct knode *old = bpf_kptr_xchg(&v->n, (struct knode *)a);
  if (old) bpf_obj_drop(old);
  return 0;
}

// Writes a pointer into a kptr field directly, then takes it out.
SEC("syscall")
int forge_field(struct args *a) {
  __u32 key = 0;
  struct value *v = bpf_map_lookup_elem(&stash, &key);
  if (!v) return 1;
  *(volatile __u64 *)&v->c = (__u64)a;
  struct kother *old = bpf_kptr_xchg(&v->c, NULL);
  if (old) {
    a->out = old->a;
    bpf_obj_drop(old);
  }
  return 0;
}

// A well-behaved one, which also makes clang emit struct kother's definition
// (not a forward declaration) into the BTF.
SEC("syscall")
int new_and_drop(struct args *a) {
  struct kother *k = bpf_obj_new(struct kother);
  if (!k) return 1;
  k->a = 7;
  a->out = k->a;
  bpf_obj_drop(k);
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
