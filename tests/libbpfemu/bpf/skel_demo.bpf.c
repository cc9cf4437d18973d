// A libbpf-bootstrap-style object: BTF-defined maps (one pinned by name), global
// data in .rodata/.data/.bss, a ring buffer, a perf event array, an XDP program, a raw tracepoint program and a
// tracepoint program that
// use map helpers, callbacks (bpf_for_each_map_elem, bpf_loop) and bpf_printk.
// The skeleton tests run it on the emulator and on the kernel.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __u64);
} counts SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 64);
  __type(key, __u32);
  __type(value, __u64);
} protos SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 16);
  __type(key, __u32);
  __type(value, __u32);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} seen SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_QUEUE);
  __uint(max_entries, 8);
  __type(value, __u64);
} events SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 4096);
} rb SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
  __uint(key_size, sizeof(__u32));
  __uint(value_size, sizeof(__u32));
} pkts SEC(".maps");

struct event {
  __u32 len;
  __u32 proto;
  __u64 seq;
};

const volatile __u32 bump = 1;
__u64 configured = 7;
__u64 packets;
__u32 last_len;
__u64 count_sum;
__u64 loop_sum;

SEC("xdp")
int count_xdp(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
  if (data + 14 > end) return XDP_DROP;
  __u32 k = 1;
  __u64 *v = bpf_map_lookup_elem(&counts, &k);
  if (v) __sync_fetch_and_add(v, bump);
  __u32 proto = *(__u16 *)(data + 12);
  __u64 one = 1, *p = bpf_map_lookup_elem(&protos, &proto);
  if (p)
    (*p)++;
  else
    bpf_map_update_elem(&protos, &proto, &one, BPF_NOEXIST);
  __u32 len = end - data;
  bpf_map_update_elem(&seen, &len, &len, BPF_ANY);
  packets++;
  last_len = len;
  /* The length, then the packet's first 14 bytes (its Ethernet header). */
  bpf_perf_event_output(ctx, &pkts, BPF_F_CURRENT_CPU | (14ULL << 32), &len, sizeof(len));
  struct event *e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
  if (e) {
    e->len = len;
    e->proto = proto;
    e->seq = packets;
    if (len > 100)
      bpf_ringbuf_discard(e, 0);
    else
      bpf_ringbuf_submit(e, 0);
  }
  bpf_printk("xdp len %u", len);
  return len > 100 ? XDP_DROP : XDP_PASS;
}

static long add_count(void *map, __u32 *key, __u64 *value, void *ctx) {
  count_sum += *value * (*key + 1);
  return *key == 2;  // stop after the third element
}

static long add_index(__u32 i, void *ctx) {
  loop_sum += i * configured;
  return 0;
}

SEC("raw_tp/sys_enter")
int on_enter(struct bpf_raw_tracepoint_args *ctx) {
  __u64 nr = ctx->args[1];
  __u32 k = nr % 4;
  __u64 *v = bpf_map_lookup_elem(&counts, &k);
  if (v) *v += 10;
  bpf_map_push_elem(&events, &nr, BPF_EXIST);
  bpf_ringbuf_output(&rb, &nr, sizeof(nr), BPF_RB_NO_WAKEUP);
  count_sum = 0;
  long visited = bpf_for_each_map_elem(&counts, add_count, 0, 0);
  bpf_loop(5, add_index, 0, 0);
  bpf_printk("sys %lu visited %ld", nr, visited);
  return visited;
}

/* The record of syscalls/sys_enter_*: the common header, the syscall number,
 * its six arguments. */
struct sys_enter_record {
  __u64 common;
  long id;
  unsigned long args[6];
};

SEC("tp/syscalls/sys_enter_write")
int on_write(struct sys_enter_record *ctx) {
  __u32 k = 3;
  __u64 *v = bpf_map_lookup_elem(&counts, &k);
  if (v) *v += ctx->args[2];  /* bytes written */
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
