// Replays a chunk of recorded map operations on `target` inside the kernel, for
// bpfemu-advise's kernel program-side column.
//
// User space writes up to CHUNK ops into the `ops` array and the chunk length
// into stats.n, then runs this program once with BPF_PROG_TEST_RUN; the kernel's
// reported duration divided by n is the in-kernel per-op cost (the op fetch from
// `ops` is an inlined array access, a nanosecond or two, and the emulator replay
// pays the same to read its op vector). The loader rewrites `target`'s type,
// key/value sizes, max_entries and flags before load; keys and values are read
// straight out of the op record, so any size up to KMAX/VMAX works.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define CHUNK 512
#define KMAX 64
#define VMAX 512

enum { OP_LOOKUP = 0, OP_UPDATE = 1, OP_DELETE = 2, OP_INCREMENT = 3 };
#define F_CHAIN 1   /* skip when the previous lookup hit (later probes, insert-on-miss) */
#define F_EXPECT 2  /* the workload holds this key: a miss is a lost lookup */

struct op {
  __u8 kind;
  __u8 flags;
  __u16 pad;
  __u32 update_flags;
  __u8 key[KMAX];
  __u8 value[VMAX];
};

struct stats {
  __u32 n;       /* ops in this chunk */
  __u32 percpu;  /* target is per-CPU: increments need no atomics */
  __u64 hits;
  __u64 lost;
  __u64 fails;
  __u64 sum;
  __s64 last_err;  /* the last refused insert's error, for diagnostics */
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, CHUNK);
  __type(key, __u32);
  __type(value, struct op);
} ops SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct stats);
} stats_map SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1);
  __uint(key_size, 4);
  __uint(value_size, 8);
} target SEC(".maps");

/* `counters` is a compile-time constant per program: the increment path reads
 * the value as a u64, which the verifier only accepts for value_size >= 8. */
static __always_inline int replay_chunk(const int counters) {
  __u32 zero = 0;
  struct stats *s = bpf_map_lookup_elem(&stats_map, &zero);
  if (!s) return XDP_ABORTED;
  /* Counters start from map memory (unknown to the verifier), so paths that
   * differ only in counts prune instead of multiplying. */
  __u32 n = s->n, percpu = s->percpu;
  __u64 hits = s->hits, lost = s->lost, fails = s->fails, sum = s->sum;
  __s64 last_err = s->last_err;
  int last_hit = 0;
  for (__u32 i = 0; i < CHUNK; i++) {
    if (i >= n) break;
    __u32 idx = i;
    struct op *o = bpf_map_lookup_elem(&ops, &idx);
    if (!o) break;
    if ((o->flags & F_CHAIN) && last_hit) continue;
    if (o->kind == OP_LOOKUP) {
      __u8 *v = bpf_map_lookup_elem(&target, o->key);
      last_hit = v != 0;
      if (v) {
        hits++;
        sum += *v;
      } else if (o->flags & F_EXPECT) {
        lost++;
      }
    } else if (o->kind == OP_UPDATE) {
      long r = bpf_map_update_elem(&target, o->key, o->value, o->update_flags);
      if (r) {
        fails++;
        last_err = r;
      }
    } else if (o->kind == OP_DELETE) {
      bpf_map_delete_elem(&target, o->key);
    } else if (counters) {
      __u64 *v = bpf_map_lookup_elem(&target, o->key);
      if (v) {
        if (percpu)
          *v += 1;
        else
          __sync_fetch_and_add(v, 1);
      } else {
        long r = bpf_map_update_elem(&target, o->key, o->value, BPF_NOEXIST);
        if (r && r != -17 /* EEXIST: another CPU inserted it first */) {
          fails++;
          last_err = r;
        }
      }
    }
  }
  s->hits = hits;
  s->lost = lost;
  s->fails = fails;
  s->sum = sum;
  s->last_err = last_err;
  return XDP_PASS;
}

SEC("xdp")
int replay(struct xdp_md *ctx) { return replay_chunk(0); }

SEC("xdp")
int replay_counters(struct xdp_md *ctx) { return replay_chunk(1); }

char LICENSE[] SEC("license") = "GPL";
