// Local kptrs (bpf_obj_new) stashed in a map value with bpf_kptr_xchg, taken
// back by a later run, and refcounted ones (bpf_refcount_acquire): one program
// per operation, one BPF_PROG_TEST_RUN each (prog_side.cc).
//
// clang 14 emits no BTF type tags, so `__kptr` is lost here: prog_side.cc adds
// the "kptr" tag to value's n and c fields in the object's BTF before loading.
// The struct names are ones the kernel's own BTF lacks (a __kptr to a kernel
// struct must have a release kfunc).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct bpf_refcount {
  __u32 __opaque[1];
} __attribute__((aligned(4)));

extern void *bpf_obj_new_impl(__u64 local_type_id, void *meta) __ksym;
extern void bpf_obj_drop_impl(void *kptr, void *meta) __ksym;
extern void *bpf_refcount_acquire_impl(void *kptr, void *meta) __ksym;
#define bpf_obj_new(type) ((type *)bpf_obj_new_impl(bpf_core_type_id_local(type), NULL))
#define bpf_obj_drop(kptr) bpf_obj_drop_impl(kptr, NULL)
#define bpf_refcount_acquire(kptr) ((typeof(kptr))bpf_refcount_acquire_impl(kptr, NULL))

struct knode {
  long a;
  long b;
};

struct kcounted {
  long a;
  struct bpf_refcount ref;
};

struct value {
  long x;
  struct knode __kptr *n;
  struct kcounted __kptr *c;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 2);
  __type(key, __u32);
  __type(value, struct value);
} stash SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 2);
  __type(key, __u32);
  __type(value, struct value);
} hstash SEC(".maps");

// Shared with conformance/prog_side.cc.
// key: bit 0 the element, bit 1 the HASH map (else the ARRAY).
struct kptr_args {
  __u32 op, key;
  __s64 arg;
  __s64 out[4];
};

static __always_inline struct value *slot(struct kptr_args *a) {
  __u32 key = a->key & 1;
  if (a->key & 2) return bpf_map_lookup_elem(&hstash, &key);
  return bpf_map_lookup_elem(&stash, &key);
}

// Stashes a new node holding arg; the node it replaces is read (out[0], out[1])
// and dropped (out[2] = 1).
SEC("syscall")
int kptr_stash(struct kptr_args *a) {
  struct value *v = slot(a);
  if (!v) return 1;
  struct knode *n = bpf_obj_new(struct knode);
  if (!n) return 2;
  n->a = a->arg;
  n->b = a->arg * 2;
  n = bpf_kptr_xchg(&v->n, n);
  if (n) {
    a->out[0] = n->a;
    a->out[1] = n->b;
    bpf_obj_drop(n);
    a->out[2] = 1;
  }
  return 0;
}

// Takes the node out, reads it, adds arg to it and puts it back (out[2] = -1:
// there was none).
SEC("syscall")
int kptr_modify(struct kptr_args *a) {
  struct value *v = slot(a);
  if (!v) return 1;
  struct knode *n = bpf_kptr_xchg(&v->n, NULL);
  if (!n) {
    a->out[2] = -1;
    return 0;
  }
  a->out[0] = n->a;
  a->out[1] = n->b;
  n->a += a->arg;
  n = bpf_kptr_xchg(&v->n, n);
  if (n) {
    bpf_obj_drop(n);
    a->out[2] = 2;
  }
  return 0;
}

// Takes the node out and drops it.
SEC("syscall")
int kptr_take(struct kptr_args *a) {
  struct value *v = slot(a);
  if (!v) return 1;
  struct knode *n = bpf_kptr_xchg(&v->n, NULL);
  if (!n) {
    a->out[2] = -1;
    return 0;
  }
  a->out[0] = n->a;
  bpf_obj_drop(n);
  return 0;
}

// A refcounted object: a second reference is taken, the first is stashed,
// the second read and dropped; the one stashed before is read and dropped.
SEC("syscall")
int kptr_ref_stash(struct kptr_args *a) {
  struct value *v = slot(a);
  if (!v) return 1;
  struct kcounted *c = bpf_obj_new(struct kcounted);
  if (!c) return 2;
  c->a = a->arg;
  struct kcounted *c2 = bpf_refcount_acquire(c);
  c = bpf_kptr_xchg(&v->c, c);
  if (c) {
    a->out[0] = c->a;
    bpf_obj_drop(c);
  }
  if (c2) {
    a->out[1] = c2->a;
    bpf_obj_drop(c2);
  }
  return 0;
}

// Takes the refcounted object out and drops it.
SEC("syscall")
int kptr_ref_take(struct kptr_args *a) {
  struct value *v = slot(a);
  if (!v) return 1;
  struct kcounted *c = bpf_kptr_xchg(&v->c, NULL);
  if (!c) {
    a->out[2] = -1;
    return 0;
  }
  a->out[0] = c->a;
  bpf_obj_drop(c);
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
