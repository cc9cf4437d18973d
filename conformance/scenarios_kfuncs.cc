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
