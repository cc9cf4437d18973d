// Programs that call kfuncs. Those that fill map values' __kptr fields
// (bpf/prog_kptr.bpf.c): objects
// made with bpf_obj_new, stashed with bpf_kptr_xchg, taken back by a later
// run, read, changed and dropped; refcounted ones (bpf_refcount_acquire);
// what syscalls see of the field (zero) and which syscalls free what it holds
// (an array element's update, a hash element's delete or replacement). The
// bpf_wq kfuncs' answers (bpf/prog_wq.bpf.c); callbacks running on the
// emulated clock: tests/timer_test.cc.
#include "conformance/scenario.h"

namespace bpfemu::conformance {
namespace {

// struct value {long x; struct knode __kptr *n; struct kcounted __kptr *c;}
Bytes value_with_x(uint64_t x) { return concat(u64(x), fill(16, 0xab)); }

}  // namespace

SCENARIO("ARRAY", "prog", "kptr_stash_and_take") {
  if (r.prog_kptr_load() != 0) return;
  const int arr = r.prog_kptr_fd("stash");
  if (arr < 0) return;
  r.prog_kptr_run("kptr_take", 0, 0);  // nothing stashed yet
  r.prog_kptr_run("kptr_stash", 0, 5);
  r.lookup(arr, u32(0));                // the kptr field reads as zero
  r.update(arr, u32(0), value_with_x(1), BPF_F_LOCK);  // no lock in the value
  r.prog_kptr_run("kptr_stash", 0, 7);  // hands back the node of 5
  r.prog_kptr_run("kptr_modify", 0, 100);
  r.prog_kptr_run("kptr_modify", 0, 1);
  r.prog_kptr_run("kptr_take", 0, 0);  // 108
  r.prog_kptr_run("kptr_take", 0, 0);  // gone
  // A syscall update of an array element drops what its kptr fields hold.
  r.prog_kptr_run("kptr_stash", 1, 9);
  r.update(arr, u32(1), value_with_x(3));
  r.lookup(arr, u32(1));
  r.prog_kptr_run("kptr_take", 1, 0);
  r.prog_kptr_run("kptr_stash", 1, 10);  // left in the map when it is freed
}

SCENARIO("ARRAY", "prog", "kptr_refcount") {
  if (r.prog_kptr_load() != 0) return;
  r.prog_kptr_run("kptr_ref_take", 0, 0);
  r.prog_kptr_run("kptr_ref_stash", 0, 9);
  r.prog_kptr_run("kptr_ref_stash", 0, 11);  // hands back the object of 9
  r.prog_kptr_run("kptr_ref_take", 0, 0);
  r.prog_kptr_run("kptr_ref_take", 0, 0);
  r.prog_kptr_run("kptr_ref_stash", 1, 12);
}

SCENARIO("HASH", "prog", "kptr_stash_and_take") {
  if (r.prog_kptr_load() != 0) return;
  const int h = r.prog_kptr_fd("hstash");
  if (h < 0) return;
  r.prog_kptr_run("kptr_stash", 2, 3);  // no element: retval 1
  r.update(h, u32(0), value_with_x(1));
  r.prog_kptr_run("kptr_stash", 2, 3);
  r.lookup(h, u32(0));
  r.prog_kptr_run("kptr_modify", 2, 4);
  // Deleting the element drops the node; a new element's field is empty.
  r.remove(h, u32(0));
  r.update(h, u32(0), value_with_x(2));
  r.prog_kptr_run("kptr_take", 2, 0);
  // So does replacing it.
  r.prog_kptr_run("kptr_stash", 2, 5);
  r.update(h, u32(0), value_with_x(3), BPF_EXIST);
  r.lookup(h, u32(0));
  r.prog_kptr_run("kptr_take", 2, 0);
  r.update(h, u32(1), value_with_x(4));
  r.prog_kptr_run("kptr_stash", 3, 6);  // left in the map when it is freed
  r.prog_kptr_run("kptr_take", 3, 0);
  r.prog_kptr_run("kptr_ref_stash", 3, 7);
}

SCENARIO("HASH", "prog", "wq_kfunc_codes") {
  // init, set_callback and start in each state a bpf_wq goes through; the
  // kernel runs the (empty) callback on its workqueue, so only the answers
  // are compared.
  r.prog_wq_codes();
}

}  // namespace bpfemu::conformance

// Lists and rbtrees of local kptrs in map values (bpf/prog_graph.bpf.c):
// elements pushed or added in one run are read, popped or removed in later
// ones, in the order the kernel keeps them (an rbtree's equal keys after the
// ones there before); a node already in a list cannot be pushed again; an
// array element's update drops what its roots hold, a hash element's delete
// or replacement too. (A lookup would read an empty list head as the kernel's
// own addresses: the scenarios do none.)
namespace bpfemu::conformance {
namespace {

// struct value {long x; bpf_spin_lock; list_head; rb_root; list_head; rb_root}
Bytes graph_value(uint64_t x) { return concat(u64(x), fill(72, 0)); }

}  // namespace

SCENARIO("ARRAY", "prog", "graph_list_and_rbtree") {
  if (r.prog_graph_load() != 0) return;
  const int arr = r.prog_graph_fd("garr");
  if (arr < 0) return;
  r.prog_graph_run("list_pop", 0, 0, 0);  // empty
  r.prog_graph_run("list_push", 0, 0, 1);
  r.prog_graph_run("list_push", 0, 0, 2);
  r.prog_graph_run("list_push", 1, 0, 3);  // at the front: 3 1 2
  r.prog_graph_run("list_peek", 0, 0, 10);  // 3 becomes 13
  r.prog_graph_run("list_peek", 1, 0, 0);
  r.prog_graph_run("list_pop", 1, 0, 0);  // 2
  r.prog_graph_run("list_pop", 0, 0, 0);  // 13
  r.prog_graph_run("tree_first", 0, 0, 0);  // empty
  r.prog_graph_run("tree_add", 0, 0, 5);
  r.prog_graph_run("tree_add", 0, 0, 3);
  r.prog_graph_run("tree_add", 0, 0, 8);
  r.prog_graph_run("tree_add", 1, 0, 3);  // after the first 3
  r.prog_graph_run("tree_add", 2, 0, -4);
  r.prog_graph_run("tree_first", 0, 0, 0);
  for (int i = 0; i < 4; ++i) r.prog_graph_run("tree_pop", 0, 0, 0);
  // Left: list 1, tree 8. An update with BPF_F_LOCK, then a plain one.
  r.update(arr, u32(0), graph_value(7), BPF_F_LOCK);
  r.prog_graph_run("list_peek", 0, 0, 0);
  r.prog_graph_run("tree_first", 0, 0, 0);
  r.update(arr, u32(0), graph_value(8));
  r.prog_graph_run("list_pop", 0, 0, 0);
  r.prog_graph_run("tree_pop", 0, 0, 0);
  // Refcounted elements in a list and a tree at once.
  r.prog_graph_run("ref_take", 0, 1, 0);
  r.prog_graph_run("ref_both", 0, 1, 4);
  r.prog_graph_run("ref_both", 0, 1, 2);
  r.prog_graph_run("ref_repush", 0, 1, 0);  // 2 is in the list already: -EINVAL
  r.prog_graph_run("ref_take", 0, 1, 0);
  r.prog_graph_run("ref_take", 0, 1, 0);
  r.prog_graph_run("ref_take", 0, 1, 0);
  // Left in the map when it is freed.
  r.prog_graph_run("list_push", 0, 1, 7);
  r.prog_graph_run("tree_add", 0, 1, 9);
  r.prog_graph_run("ref_both", 0, 1, 5);
  r.prog_graph_unload();
}

SCENARIO("HASH", "prog", "graph_list_and_rbtree") {
  if (r.prog_graph_load() != 0) return;
  const int h = r.prog_graph_fd("ghash");
  if (h < 0) return;
  r.prog_graph_run("list_push", 0, 2, 1);  // no element: retval 1
  r.update(h, u32(0), graph_value(1));
  r.prog_graph_run("list_push", 0, 2, 1);
  r.prog_graph_run("list_push", 0, 2, 2);
  r.prog_graph_run("tree_add", 0, 2, 5);
  r.prog_graph_run("ref_both", 0, 2, 6);
  // Deleting the element drops what its roots hold; a new one's are empty.
  r.remove(h, u32(0));
  r.update(h, u32(0), graph_value(2));
  r.prog_graph_run("list_pop", 0, 2, 0);
  r.prog_graph_run("tree_pop", 0, 2, 0);
  r.prog_graph_run("ref_take", 0, 2, 0);
  // So does replacing it; an update with BPF_F_LOCK keeps them.
  r.prog_graph_run("list_push", 0, 2, 3);
  r.prog_graph_run("tree_add", 0, 2, 4);
  r.update(h, u32(0), graph_value(3), BPF_F_LOCK);
  r.prog_graph_run("list_peek", 0, 2, 0);
  r.prog_graph_run("tree_first", 0, 2, 0);
  r.update(h, u32(0), graph_value(4), BPF_EXIST);
  r.prog_graph_run("list_pop", 0, 2, 0);
  r.prog_graph_run("tree_pop", 0, 2, 0);
  // A node whose list went with its element stays marked as in a list.
  r.prog_graph_run("ref_orphan", 0, 2, 6);
  r.prog_graph_run("ref_take", 0, 2, 0);
  // Left in the map when it is freed.
  r.update(h, u32(1), graph_value(5));
  r.prog_graph_run("list_push", 0, 3, 7);
  r.prog_graph_run("tree_add", 0, 3, 8);
  r.prog_graph_run("ref_both", 0, 3, 9);
  r.prog_graph_unload();
}

}  // namespace bpfemu::conformance
