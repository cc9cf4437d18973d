// Lists and rbtrees of local kptrs in map values (bpf_list_head and
// bpf_rb_root with their __contains tags), built under the value's
// bpf_spin_lock: objects pushed or added in one run are popped or removed in
// later ones. One program per operation, one BPF_PROG_TEST_RUN each
// (prog_side.cc); the kernel's verifier must accept every one of them.
//
// Debian's uapi header (6.1) lacks the graph structs and bpf_refcount; they
// are declared here with the 6.18 kernel's sizes (the verifier finds them by
// name and size).
#include <stdbool.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct bpf_list_head {
  __u64 __opaque[2];
} __attribute__((aligned(8)));
struct bpf_list_node {
  __u64 __opaque[3];
} __attribute__((aligned(8)));
struct bpf_rb_root {
  __u64 __opaque[2];
} __attribute__((aligned(8)));
struct bpf_rb_node {
  __u64 __opaque[4];
} __attribute__((aligned(8)));
struct bpf_refcount {
  __u32 __opaque[1];
} __attribute__((aligned(4)));

#define __contains(name, node) __attribute__((btf_decl_tag("contains:" #name ":" #node)))

extern void *bpf_obj_new_impl(__u64 local_type_id, void *meta) __ksym;
extern void bpf_obj_drop_impl(void *kptr, void *meta) __ksym;
extern void *bpf_refcount_acquire_impl(void *kptr, void *meta) __ksym;
extern int bpf_list_push_front_impl(struct bpf_list_head *head, struct bpf_list_node *node, void *meta,
                                    __u64 off) __ksym;
extern int bpf_list_push_back_impl(struct bpf_list_head *head, struct bpf_list_node *node, void *meta,
                                   __u64 off) __ksym;
extern struct bpf_list_node *bpf_list_pop_front(struct bpf_list_head *head) __ksym;
extern struct bpf_list_node *bpf_list_pop_back(struct bpf_list_head *head) __ksym;
extern struct bpf_list_node *bpf_list_front(struct bpf_list_head *head) __ksym;
extern struct bpf_list_node *bpf_list_back(struct bpf_list_head *head) __ksym;
extern int bpf_rbtree_add_impl(struct bpf_rb_root *root, struct bpf_rb_node *node,
                               bool (*less)(struct bpf_rb_node *a, const struct bpf_rb_node *b), void *meta,
                               __u64 off) __ksym;
extern struct bpf_rb_node *bpf_rbtree_first(struct bpf_rb_root *root) __ksym;
extern struct bpf_rb_node *bpf_rbtree_remove(struct bpf_rb_root *root, struct bpf_rb_node *node) __ksym;

#define bpf_obj_new(type) ((type *)bpf_obj_new_impl(bpf_core_type_id_local(type), NULL))
#define bpf_obj_drop(kptr) bpf_obj_drop_impl(kptr, NULL)
#define bpf_refcount_acquire(kptr) ((typeof(kptr))bpf_refcount_acquire_impl(kptr, NULL))
#define bpf_list_push_front(head, node) bpf_list_push_front_impl(head, node, NULL, 0)
#define bpf_list_push_back(head, node) bpf_list_push_back_impl(head, node, NULL, 0)
#define bpf_rbtree_add(root, node, less) bpf_rbtree_add_impl(root, node, less, NULL, 0)

// A list element.
struct lnode {
  long v;
  struct bpf_list_node node;
};

// An rbtree element, ordered by key.
struct tnode {
  long key;
  long v;
  struct bpf_rb_node node;
};

// A refcounted element that can sit in a list and an rbtree at once.
struct rnode {
  long v;
  struct bpf_list_node l;
  struct bpf_rb_node r;
  struct bpf_refcount ref;
};

struct value {
  long x;
  struct bpf_spin_lock lock;
  struct bpf_list_head head __contains(lnode, node);
  struct bpf_rb_root root __contains(tnode, node);
  struct bpf_list_head rhead __contains(rnode, l);
  struct bpf_rb_root rroot __contains(rnode, r);
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 2);
  __type(key, __u32);
  __type(value, struct value);
} garr SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 2);
  __type(key, __u32);
  __type(value, struct value);
} ghash SEC(".maps");

// Shared with conformance/prog_side.cc.
// key: bit 0 the element, bit 1 the HASH map (else the ARRAY); op: variant.
struct graph_args {
  __u32 op, key;
  __s64 arg;
  __s64 out[4];
};

static __always_inline struct value *slot(struct graph_args *a) {
  __u32 key = a->key & 1;
  if (a->key & 2) return bpf_map_lookup_elem(&ghash, &key);
  return bpf_map_lookup_elem(&garr, &key);
}

static bool tless(struct bpf_rb_node *a, const struct bpf_rb_node *b) {
  return container_of(a, struct tnode, node)->key < container_of(b, struct tnode, node)->key;
}

static bool rless(struct bpf_rb_node *a, const struct bpf_rb_node *b) {
  return container_of(a, struct rnode, r)->v < container_of(b, struct rnode, r)->v;
}

// Pushes a new element holding arg, at the back (op 1: the front); out[0] the
// push's result, out[1] the element read back under the lock.
SEC("syscall")
int list_push(struct graph_args *a) {
  struct value *v = slot(a);
  if (!v) return 1;
  struct lnode *n = bpf_obj_new(struct lnode);
  if (!n) return 2;
  n->v = a->arg;
  bpf_spin_lock(&v->lock);
  if (a->op == 1)
    a->out[0] = bpf_list_push_front(&v->head, &n->node);
  else
    a->out[0] = bpf_list_push_back(&v->head, &n->node);
  a->out[1] = n->v;
  bpf_spin_unlock(&v->lock);
  return 0;
}

// Pops the first element (op 1: the last): out[0] its value, out[1] 1; or
// out[1] 0 when the list is empty.
SEC("syscall")
int list_pop(struct graph_args *a) {
  struct value *v = slot(a);
  if (!v) return 1;
  struct bpf_list_node *l;
  bpf_spin_lock(&v->lock);
  if (a->op == 1)
    l = bpf_list_pop_back(&v->head);
  else
    l = bpf_list_pop_front(&v->head);
  bpf_spin_unlock(&v->lock);
  if (!l) return 0;
  struct lnode *n = container_of(l, struct lnode, node);
  a->out[0] = n->v;
  a->out[1] = 1;
  bpf_obj_drop(n);
  return 0;
}

// Reads the first element (op 1: the last) in place and adds arg to it:
// out[0] its value before, out[1] 1; or out[1] 0 when the list is empty.
SEC("syscall")
int list_peek(struct graph_args *a) {
  struct value *v = slot(a);
  if (!v) return 1;
  struct bpf_list_node *l;
  bpf_spin_lock(&v->lock);
  if (a->op == 1)
    l = bpf_list_back(&v->head);
  else
    l = bpf_list_front(&v->head);
  if (l) {
    struct lnode *n = container_of(l, struct lnode, node);
    a->out[0] = n->v;
    a->out[1] = 1;
    n->v += a->arg;
  }
  bpf_spin_unlock(&v->lock);
  return 0;
}

// Adds an element with key arg and value op: out[0] the add's result.
SEC("syscall")
int tree_add(struct graph_args *a) {
  struct value *v = slot(a);
  if (!v) return 1;
  struct tnode *n = bpf_obj_new(struct tnode);
  if (!n) return 2;
  n->key = a->arg;
  n->v = a->op;
  bpf_spin_lock(&v->lock);
  a->out[0] = bpf_rbtree_add(&v->root, &n->node, tless);
  bpf_spin_unlock(&v->lock);
  return 0;
}

// Reads the smallest element in place: out[0] its key, out[1] its value,
// out[2] 1; or out[2] 0 when the tree is empty.
SEC("syscall")
int tree_first(struct graph_args *a) {
  struct value *v = slot(a);
  if (!v) return 1;
  bpf_spin_lock(&v->lock);
  struct bpf_rb_node *r = bpf_rbtree_first(&v->root);
  if (r) {
    struct tnode *n = container_of(r, struct tnode, node);
    a->out[0] = n->key;
    a->out[1] = n->v;
    a->out[2] = 1;
  }
  bpf_spin_unlock(&v->lock);
  return 0;
}

// Removes the smallest element: out[0] its key, out[1] its value, out[2] 1;
// out[2] 0 when the tree is empty.
SEC("syscall")
int tree_pop(struct graph_args *a) {
  struct value *v = slot(a);
  if (!v) return 1;
  bpf_spin_lock(&v->lock);
  struct bpf_rb_node *r = bpf_rbtree_first(&v->root);
  if (!r) {
    bpf_spin_unlock(&v->lock);
    return 0;
  }
  r = bpf_rbtree_remove(&v->root, r);
  bpf_spin_unlock(&v->lock);
  if (!r) return 3;
  struct tnode *n = container_of(r, struct tnode, node);
  a->out[0] = n->key;
  a->out[1] = n->v;
  a->out[2] = 1;
  bpf_obj_drop(n);
  return 0;
}

// A refcounted element holding arg goes into the list (out[0]: the push's
// result) and, through a second reference, the tree (out[1]).
SEC("syscall")
int ref_both(struct graph_args *a) {
  struct value *v = slot(a);
  if (!v) return 1;
  struct rnode *n = bpf_obj_new(struct rnode);
  if (!n) return 2;
  n->v = a->arg;
  struct rnode *m = bpf_refcount_acquire(n);
  bpf_spin_lock(&v->lock);
  a->out[0] = bpf_list_push_back(&v->rhead, &n->l);
  a->out[1] = bpf_rbtree_add(&v->rroot, &m->r, rless);
  bpf_spin_unlock(&v->lock);
  return 0;
}

// The tree's smallest element is pushed to the list again through a new
// reference: its list node is taken already, so the push fails (out[0]) and
// drops that reference. out[1]: its value; out[2] 0: the tree is empty.
SEC("syscall")
int ref_repush(struct graph_args *a) {
  struct value *v = slot(a);
  if (!v) return 1;
  bpf_spin_lock(&v->lock);
  struct bpf_rb_node *r = bpf_rbtree_first(&v->rroot);
  if (!r) {
    bpf_spin_unlock(&v->lock);
    return 0;
  }
  struct rnode *n = bpf_refcount_acquire(container_of(r, struct rnode, r));
  if (!n) {
    bpf_spin_unlock(&v->lock);
    return 3;
  }
  a->out[1] = n->v;
  a->out[2] = 1;
  a->out[0] = bpf_list_push_back(&v->rhead, &n->l);
  bpf_spin_unlock(&v->lock);
  return 0;
}

// Takes the first element off the list (out[0] its value, else -1) and the
// smallest out of the tree (out[1], else -1).
SEC("syscall")
int ref_take(struct graph_args *a) {
  struct value *v = slot(a);
  if (!v) return 1;
  struct bpf_rb_node *r;
  bpf_spin_lock(&v->lock);
  struct bpf_list_node *l = bpf_list_pop_front(&v->rhead);
  r = bpf_rbtree_first(&v->rroot);
  if (r) r = bpf_rbtree_remove(&v->rroot, r);
  bpf_spin_unlock(&v->lock);
  long o0 = -1, o1 = -1;
  if (l) {
    struct rnode *n = container_of(l, struct rnode, l);
    o0 = n->v;
    bpf_obj_drop(n);
  }
  if (r) {
    struct rnode *n = container_of(r, struct rnode, r);
    o1 = n->v;
    bpf_obj_drop(n);
  }
  a->out[0] = o0;
  a->out[1] = o1;
  return 0;
}

// A refcounted element goes into the list of hash element key (which must
// exist); the element is deleted and made again while the program holds a
// second reference, and that reference is pushed to the new element's list:
// out[0] the first push's result, out[1] the second's (the kernel leaves the
// node marked as in a list when a freed root drops it, so -EINVAL), out[2]
// the element read back.
SEC("syscall")
int ref_orphan(struct graph_args *a) {
  __u32 key = a->key & 1;
  struct value *v = bpf_map_lookup_elem(&ghash, &key);
  if (!v) return 1;
  struct rnode *n = bpf_obj_new(struct rnode);
  if (!n) return 2;
  n->v = a->arg;
  struct rnode *m = bpf_refcount_acquire(n);
  bpf_spin_lock(&v->lock);
  a->out[0] = bpf_list_push_back(&v->rhead, &n->l);
  bpf_spin_unlock(&v->lock);
  if (!m) return 3;
  struct value zero = {};
  if (bpf_map_delete_elem(&ghash, &key) != 0 || bpf_map_update_elem(&ghash, &key, &zero, BPF_NOEXIST) != 0) {
    bpf_obj_drop(m);
    return 4;
  }
  v = bpf_map_lookup_elem(&ghash, &key);
  if (!v) {
    bpf_obj_drop(m);
    return 5;
  }
  a->out[2] = m->v;
  bpf_spin_lock(&v->lock);
  a->out[1] = bpf_list_push_back(&v->rhead, &m->l);
  bpf_spin_unlock(&v->lock);
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
