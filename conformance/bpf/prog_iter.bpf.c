// Iterator programs (SEC("iter/...")) for the COMMON/iter scenarios: each
// prints what it is given with bpf_seq_printf / bpf_seq_write, so that what a
// read() of the iterator returns can be compared byte for byte.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

// The kernel's types, relocated against its BTF (CO-RE): only what is read.
struct bpf_iter_meta {
  struct seq_file *seq;
  __u64 session_id;
  __u64 seq_num;
} __attribute__((preserve_access_index));

struct bpf_map {
  __u32 id;
  char name[16];
  __u32 max_entries;
  __u32 key_size;
  __u32 value_size;
} __attribute__((preserve_access_index));

// The context: the target function's arguments, 8 bytes each.
struct iter_elem_ctx {
  struct bpf_iter_meta *meta;
  struct bpf_map *map;
  __u32 *key;
  __u64 *value;
};
struct iter_map_ctx {
  struct bpf_iter_meta *meta;
  struct bpf_map *map;
};

#define PRINT(seq, fmt, ...)                                                   \
  ({                                                                           \
    static const char ___fmt[] = fmt;                                          \
    __u64 ___args[] = {__VA_ARGS__};                                           \
    bpf_seq_printf(seq, ___fmt, sizeof(___fmt), ___args, sizeof(___args));     \
  })

// key=value and the object's number; at the end (no key) the last number.
SEC("iter/bpf_map_elem")
int dump_u64(struct iter_elem_ctx *ctx) {
  struct seq_file *seq = ctx->meta->seq;
  if (ctx->key == 0 || ctx->value == 0) {
    PRINT(seq, "end #%llu\n", ctx->meta->seq_num);
    return 0;
  }
  PRINT(seq, "%u=%llu #%llu\n", *ctx->key, *ctx->value, ctx->meta->seq_num);
  return 0;
}

// Per-CPU maps: CPU 0's value.
SEC("iter/bpf_map_elem")
int dump_percpu(struct iter_elem_ctx *ctx) {
  struct seq_file *seq = ctx->meta->seq;
  if (ctx->key == 0 || ctx->value == 0) return 0;
  PRINT(seq, "%u cpu0=%llu\n", *ctx->key, ctx->value[0]);
  return 0;
}

// Writes through the iterator: value += key * 100.
SEC("iter/bpf_map_elem")
int add_key(struct iter_elem_ctx *ctx) {
  if (ctx->key == 0 || ctx->value == 0) return 0;
  *ctx->value += (__u64)*ctx->key * 100;
  return 0;
}

// Returns 1 on key 2 (after printing it).
SEC("iter/bpf_map_elem")
int skip_two(struct iter_elem_ctx *ctx) {
  struct seq_file *seq = ctx->meta->seq;
  __u32 *key = ctx->key;  // read once: every load of ctx->key may be NULL to the verifier
  if (key == 0) return 0;
  __u32 k = *key;
  PRINT(seq, "%u #%llu\n", k, ctx->meta->seq_num);
  return k == 2;
}

// Key 1 prints more than the seq buffer holds; the others their key.
SEC("iter/bpf_map_elem")
int too_big(struct iter_elem_ctx *ctx) {
  struct seq_file *seq = ctx->meta->seq;
  char chunk[500];
  __u32 *key = ctx->key;
  if (key == 0) return 0;
  __u32 k = *key;
  if (k != 1) {
    PRINT(seq, "%u\n", k);
    return 0;
  }
  __builtin_memset(chunk, 'x', sizeof(chunk));
  long rc = 0;
  for (int i = 0; i < 70 && rc == 0; i++) rc = bpf_seq_write(seq, chunk, sizeof(chunk));
  return 0;
}

// At the first element: the helpers' answers to good and bad formats.
SEC("iter/bpf_map_elem")
int codes(struct iter_elem_ctx *ctx) {
  struct seq_file *seq = ctx->meta->seq;
  static const char ok[] = "[%5d|%-4u|%08x|%X|%lld|%c|%%|%s]\n";
  static const char two[] = "%d %d\n";
  static const char bad_conv[] = "%q\n";
  static const char bad_char[] = "a\x01\n";
  static const char str[] = "str";
  __u64 args[12] = {};
  long rc[6];
  if (ctx->key == 0 || ctx->meta->seq_num != 0) return 0;
  args[0] = (__u64)-42;
  args[1] = 7;
  args[2] = 0xbeef;
  args[3] = 0xabc;
  args[4] = (__u64)-5;
  args[5] = 'z';
  args[6] = (__u64)(unsigned long)str;
  rc[0] = bpf_seq_printf(seq, ok, sizeof(ok), args, 7 * 8);
  rc[1] = bpf_seq_printf(seq, two, sizeof(two), args, 8);       // one argument for two conversions
  rc[2] = bpf_seq_printf(seq, two, sizeof(two), args, 12);      // not a multiple of 8
  rc[3] = bpf_seq_printf(seq, bad_conv, sizeof(bad_conv), args, 8);
  rc[4] = bpf_seq_printf(seq, bad_char, sizeof(bad_char), args, 0);
  rc[5] = bpf_seq_write(seq, str, 3);
  PRINT(seq, "\n%lld %lld %lld %lld %lld %lld\n", rc[0], rc[1], rc[2], rc[3], rc[4], rc[5]);
  // Strings and addresses read through pointers: an unreadable string, an
  // IPv4 and an IPv6 address, a kernel string.
  static const unsigned char ip[16] = {10, 0, 0, 1, 0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x2a};
  PRINT(seq, "[%s] %pI4 %pi4 %pI6 %pi6 %pks\n", 8, (__u64)(unsigned long)ip, (__u64)(unsigned long)ip,
        (__u64)(unsigned long)ip, (__u64)(unsigned long)ip, (__u64)(unsigned long)str);
  return 0;
}

// The call at the end prints more than the buffer holds; the elements their key.
SEC("iter/bpf_map_elem")
int big_end(struct iter_elem_ctx *ctx) {
  struct seq_file *seq = ctx->meta->seq;
  char chunk[500];
  __u32 *key = ctx->key;
  if (key != 0) {
    PRINT(seq, "%u\n", *key);
    return 0;
  }
  __builtin_memset(chunk, 'y', sizeof(chunk));
  long rc = 0;
  for (int i = 0; i < 70 && rc == 0; i++) rc = bpf_seq_write(seq, chunk, sizeof(chunk));
  return 0;
}

// Every map: those named itr_* print their name and sizes; "end" at the end.
SEC("iter/bpf_map")
int maps(struct iter_map_ctx *ctx) {
  struct seq_file *seq = ctx->meta->seq;
  struct bpf_map *map = ctx->map;
  char name[16];
  if (map == 0) {
    PRINT(seq, "end\n");
    return 0;
  }
  bpf_probe_read_kernel(name, sizeof(name), map->name);
  if (name[0] != 'i' || name[1] != 't' || name[2] != 'r' || name[3] != '_') return 0;
  PRINT(seq, "%s k=%u v=%u n=%u\n", (__u64)(unsigned long)map->name, map->key_size, map->value_size,
        map->max_entries);
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
