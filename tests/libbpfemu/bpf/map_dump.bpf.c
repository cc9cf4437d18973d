// A map dumped through an iterator: SEC("iter/bpf_map_elem") prints a header
// before the first element, one line per element, and a count at the end.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct bpf_iter_meta {
  struct seq_file *seq;
  __u64 session_id;
  __u64 seq_num;
} __attribute__((preserve_access_index));

struct bpf_map {
  __u32 id;
  char name[16];
  __u32 max_entries;
} __attribute__((preserve_access_index));

struct bpf_iter__bpf_map_elem {
  struct bpf_iter_meta *meta;
  struct bpf_map *map;
  void *key;
  void *value;
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 64);
  __type(key, __u32);
  __type(value, __u64);
} counts SEC(".maps");

__u64 shown = 0;

SEC("iter/bpf_map_elem")
int dump_counts(struct bpf_iter__bpf_map_elem *ctx) {
  struct seq_file *seq = ctx->meta->seq;
  __u32 *key = ctx->key;
  __u64 *value = ctx->value;
  if (key == 0 || value == 0) {
    BPF_SEQ_PRINTF(seq, "%llu of %u\n", shown, ctx->map->max_entries);
    return 0;
  }
  if (ctx->meta->seq_num == 0) {
    static const char header[] = "key value\n";
    bpf_seq_write(seq, header, sizeof(header) - 1);
  }
  BPF_SEQ_PRINTF(seq, "%u %llu\n", *key, *value);
  *value += 1;  // the iterator's value pointer is the element's own
  shown++;
  return 0;
}

char LICENSE[] SEC("license") = "GPL";

// Prints every key and deletes the odd ones as it goes.
SEC("iter/bpf_map_elem")
int drop_odd(struct bpf_iter__bpf_map_elem *ctx) {
  __u32 *key = ctx->key;
  if (key == 0) return 0;
  __u32 k = *key;
  BPF_SEQ_PRINTF(ctx->meta->seq, "%u\n", k);
  if (k & 1) bpf_map_delete_elem(&counts, &k);
  return 0;
}
