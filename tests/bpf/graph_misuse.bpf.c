// Programs the kernel's verifier refuses, for the emulator only: list and
// rbtree kfuncs without the root's lock, with another value's lock, on a node
// the program does not own, and a node touched after the unlock. Each run
// must stop with an error, leaving no object behind and the lock free.
#include "../../conformance/bpf/prog_graph.bpf.c"

SEC("syscall")
int push_unlocked(struct graph_args *a) {
  struct value *v = slot(a);
  if (!v) return 1;
  struct lnode *n = bpf_obj_new(struct lnode);
  if (!n) return 2;
  bpf_list_push_back(&v->head, &n->node);
  return 0;
}

// Holds element 0's lock, pushes into element 1's list.
SEC("syscall")
int push_other_value(struct graph_args *a) {
  __u32 k0 = 0, k1 = 1;
  struct value *v0 = bpf_map_lookup_elem(&garr, &k0);
  struct value *v1 = bpf_map_lookup_elem(&garr, &k1);
  if (!v0 || !v1) return 1;
  struct lnode *n = bpf_obj_new(struct lnode);
  if (!n) return 2;
  bpf_spin_lock(&v0->lock);
  bpf_list_push_back(&v1->head, &n->node);
  bpf_spin_unlock(&v0->lock);
  return 0;
}

// The second push passes a node the program no longer owns.
SEC("syscall")
int push_twice(struct graph_args *a) {
  struct value *v = slot(a);
  if (!v) return 1;
  struct lnode *n = bpf_obj_new(struct lnode);
  if (!n) return 2;
  bpf_spin_lock(&v->lock);
  bpf_list_push_back(&v->head, &n->node);
  bpf_list_push_back(&v->head, &n->node);
  bpf_spin_unlock(&v->lock);
  return 0;
}

// Writes a pushed node after the unlock.
SEC("syscall")
int touch_after_unlock(struct graph_args *a) {
  struct value *v = slot(a);
  if (!v) return 1;
  struct tnode *n = bpf_obj_new(struct tnode);
  if (!n) return 2;
  bpf_spin_lock(&v->lock);
  bpf_rbtree_add(&v->root, &n->node, tless);
  bpf_spin_unlock(&v->lock);
  n->v = 5;
  return 0;
}

// Pops and never drops what it popped (the verifier's unreleased reference).
SEC("syscall")
int pop_and_leak(struct graph_args *a) {
  struct value *v = slot(a);
  if (!v) return 1;
  bpf_spin_lock(&v->lock);
  struct bpf_list_node *l = bpf_list_pop_front(&v->head);
  bpf_spin_unlock(&v->lock);
  if (l) a->out[0] = container_of(l, struct lnode, node)->v;
  return 0;
}
