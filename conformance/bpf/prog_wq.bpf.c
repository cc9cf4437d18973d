// The bpf_wq kfuncs' synchronous answers, in one run (BPF_PROG_TEST_RUN):
// each call's result goes into the context, in the order below (prog_side.cc
// reads them). The callback changes nothing a scenario reads, since on the
// kernel it runs whenever the workqueue gets to it.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct bpf_wq {  // 6.10's uapi; the installed header is older
  __u64 __opaque[2];
} __attribute__((aligned(8)));

extern int bpf_wq_init(struct bpf_wq *wq, void *p__map, unsigned int flags) __ksym;
extern int bpf_wq_start(struct bpf_wq *wq, unsigned int flags) __ksym;
extern int bpf_wq_set_callback_impl(struct bpf_wq *wq, int (callback_fn)(void *map, int *key, void *value),
                                    unsigned int flags, void *aux__ign) __ksym;

struct elem {
  __u64 data;
  struct bpf_wq w;
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, struct elem);
} wqs SEC(".maps");

// Shared with conformance/prog_side.cc.
struct wq_args {
  __s64 rc[14];
};

static int work(void *map, int *key, void *value) { return 0; }

SEC("syscall")
int wq_codes(struct wq_args *a) {
  __u32 key = 0;
  struct elem zero = {};
  a->rc[0] = bpf_map_update_elem(&wqs, &key, &zero, BPF_ANY);
  struct elem *v = bpf_map_lookup_elem(&wqs, &key);
  if (!v) return 1;
  a->rc[1] = bpf_wq_start(&v->w, 0);                      // not initialised
  a->rc[2] = bpf_wq_set_callback_impl(&v->w, work, 0, 0);  // not initialised
  a->rc[3] = bpf_wq_init(&v->w, &wqs, 1);                  // flags
  a->rc[4] = bpf_wq_init(&v->w, &wqs, 0);
  a->rc[5] = bpf_wq_init(&v->w, &wqs, 0);                  // again
  a->rc[6] = bpf_wq_start(&v->w, 0);                      // no callback yet
  a->rc[7] = bpf_wq_set_callback_impl(&v->w, work, 1, 0);  // flags
  a->rc[8] = bpf_wq_set_callback_impl(&v->w, work, 0, 0);
  a->rc[9] = bpf_wq_start(&v->w, 1);                      // flags
  a->rc[10] = bpf_wq_start(&v->w, 0);
  a->rc[11] = bpf_wq_start(&v->w, 0);                     // pending already
  a->rc[12] = bpf_map_delete_elem(&wqs, &key);            // frees the wq
  bpf_map_update_elem(&wqs, &key, &zero, BPF_ANY);
  v = bpf_map_lookup_elem(&wqs, &key);
  if (!v) return 2;
  a->rc[13] = bpf_wq_init(&v->w, &wqs, 0);  // a new element's wq
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
