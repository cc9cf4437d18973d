// bpf_timer helpers' synchronous answers, in one run (BPF_PROG_TEST_RUN): each
// call's result goes into the context, in the order below (prog_side.cc reads
// them). Timers are armed an hour ahead and cancelled, so nothing fires.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define CLOCK_MONOTONIC 1
#define CLOCK_REALTIME_ALARM 8
#define TIMER_ABS 1  // BPF_F_TIMER_ABS (6.7); the installed uapi header is older
#define HOUR 3600000000000ULL

struct elem {
  __u64 data;
  struct bpf_timer t;
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, struct elem);
} timers SEC(".maps");

// Shared with conformance/prog_side.cc.
struct timer_args {
  __s64 rc[20];
};

static int expire(void* map, __u32* key, struct elem* v) { return 0; }

SEC("syscall")
int timer_codes(struct timer_args* a) {
  __u32 key = 0;
  struct elem zero = {};
  a->rc[0] = bpf_map_update_elem(&timers, &key, &zero, BPF_ANY);
  struct elem* v = bpf_map_lookup_elem(&timers, &key);
  if (!v) return 1;
  a->rc[1] = bpf_timer_cancel(&v->t);                          // not initialised
  a->rc[2] = bpf_timer_set_callback(&v->t, expire);            // not initialised
  a->rc[3] = bpf_timer_start(&v->t, HOUR, 0);                  // not initialised
  a->rc[4] = bpf_timer_init(&v->t, &timers, CLOCK_REALTIME_ALARM);
  a->rc[5] = bpf_timer_init(&v->t, &timers, 16);               // above the clock ids
  a->rc[6] = bpf_timer_init(&v->t, &timers, CLOCK_MONOTONIC);
  a->rc[7] = bpf_timer_init(&v->t, &timers, CLOCK_MONOTONIC);  // again
  a->rc[8] = bpf_timer_start(&v->t, HOUR, 0);                  // no callback yet
  a->rc[9] = bpf_timer_set_callback(&v->t, expire);
  a->rc[10] = bpf_timer_start(&v->t, HOUR, 4);                 // unknown flag
  a->rc[11] = bpf_timer_start(&v->t, HOUR, 0);
  a->rc[12] = bpf_timer_cancel(&v->t);                         // was armed
  a->rc[13] = bpf_timer_cancel(&v->t);                         // was not
  a->rc[14] = bpf_timer_start(&v->t, HOUR, 0);                 // after cancel: is the callback kept?
  a->rc[15] = bpf_timer_set_callback(&v->t, expire);
  a->rc[16] = bpf_timer_start(&v->t, bpf_ktime_get_ns() + HOUR, TIMER_ABS);
  a->rc[17] = bpf_timer_cancel(&v->t);
  a->rc[18] = bpf_map_delete_elem(&timers, &key);  // frees the timer
  bpf_map_update_elem(&timers, &key, &zero, BPF_ANY);
  v = bpf_map_lookup_elem(&timers, &key);
  if (!v) return 2;
  a->rc[19] = bpf_timer_init(&v->t, &timers, CLOCK_MONOTONIC);  // a new element's timer
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
