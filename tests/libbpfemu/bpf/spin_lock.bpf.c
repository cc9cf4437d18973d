// A clang-built object whose maps' values hold a struct bpf_spin_lock (the
// BTF libbpf sends is the compiler's, not a test's): an XDP program counts
// packets and bytes per packet length under the value's lock.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct counter {
  __u64 packets;
  struct bpf_spin_lock lock;
  __u32 last_len;
  __u64 bytes;
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 16);
  __type(key, __u32);
  __type(value, struct counter);
} by_len SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct counter);
} total SEC(".maps");

static void count(struct counter *c, __u32 len) {
  bpf_spin_lock(&c->lock);
  c->packets++;
  c->bytes += len;
  c->last_len = len;
  bpf_spin_unlock(&c->lock);
}

SEC("xdp")
int count_packets(struct xdp_md *ctx) {
  __u32 len = ctx->data_end - ctx->data;
  __u32 zero = 0;
  struct counter *c = bpf_map_lookup_elem(&total, &zero);
  if (!c) return XDP_ABORTED;
  count(c, len);
  c = bpf_map_lookup_elem(&by_len, &len);
  if (!c) {
    struct counter fresh = {};
    bpf_map_update_elem(&by_len, &len, &fresh, BPF_NOEXIST);
    c = bpf_map_lookup_elem(&by_len, &len);
    if (!c) return XDP_ABORTED;
  }
  count(c, len);
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
