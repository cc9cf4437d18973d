// In-kernel per-op cost of map helpers, for the `kernel_prog` benchmarks.
//
// Each XDP program below does OPS_PER_RUN map operations per run on `target`
// and is driven by BPF_PROG_TEST_RUN with a large `repeat`, so
// per-op cost = reported duration / OPS_PER_RUN. The loader (bench/kernel_prog.cc)
// rewrites `target`'s type, sizes, max_entries and flags before load, so one
// object serves every map type. `target` has no BTF key/value types for that
// reason: only key_size/value_size, which libbpf lets us change.
//
// Keys walk 0..nkeys-1 with a fixed stride (k += stride mod nkeys): the same
// sequence the emulator-side benchmarks use, so both touch the same keys in the
// same order. The walk position persists in cfg between runs. The *_scattered
// programs look up bench_scatter(k) instead of k: the emulator-side `*_random_keys`
// benchmarks' keys (bench/common.h's KeySet::kScattered).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "bench_keys.h"

#define OPS_PER_RUN 256

struct cfg {
  __u32 nkeys;
  __u32 stride;
  __u32 pos;
  __u32 misses;
  __u64 sum;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct cfg);
} cfg_map SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1);
  __uint(key_size, 4);
  __uint(value_size, 8);
} target SEC(".maps");

// LPM_TRIE keys: a /32 prefix whose address is the key index mixed by a
// bijection on u32 (bench_lpm_addr, bench_keys.h).
struct lpm_key {
  __u32 prefixlen;
  __u32 addr;
};


// Which keys a program walks: key index k itself, its /32 LPM key, or
// bench_scatter(k). A compile-time constant in every caller, so each program keeps
// only one branch.
enum key_mode { KEY_U32, KEY_LPM, KEY_SCATTERED };

static __always_inline struct cfg *get_cfg(void) {
  __u32 zero = 0;
  return bpf_map_lookup_elem(&cfg_map, &zero);
}

// One key of the walk, as the map wants it (see key_mode).
static __always_inline __u64 *lookup_key(__u32 k, const enum key_mode mode) {
  if (mode == KEY_LPM) {
    struct lpm_key key = {32, bench_lpm_addr(k)};
    return bpf_map_lookup_elem(&target, &key);
  }
  if (mode == KEY_SCATTERED) k = bench_scatter(k);
  return bpf_map_lookup_elem(&target, &k);
}

static __always_inline long update_key(__u32 k, const enum key_mode mode) {
  __u64 v = k;
  if (mode == KEY_LPM) {
    struct lpm_key key = {32, bench_lpm_addr(k)};
    return bpf_map_update_elem(&target, &key, &v, BPF_ANY);
  }
  if (mode == KEY_SCATTERED) k = bench_scatter(k);
  return bpf_map_update_elem(&target, &k, &v, BPF_ANY);
}

// OPS_PER_RUN lookups of the next keys of the walk.
static __always_inline int lookup_run(const enum key_mode mode) {
  struct cfg *c = get_cfg();
  if (!c) return XDP_ABORTED;
  __u32 k = c->pos, n = c->nkeys, s = c->stride, miss = 0;
  __u64 sum = 0;
  for (int i = 0; i < OPS_PER_RUN; i++) {
    k += s;
    if (k >= n) k -= n;
    __u64 *v = lookup_key(k, mode);
    if (v)
      sum += *v;
    else
      miss++;
  }
  c->pos = k;
  c->sum += sum;
  c->misses += miss;
  return XDP_PASS;
}

// OPS_PER_RUN BPF_ANY updates of the next keys of the walk.
static __always_inline int update_run(const enum key_mode mode) {
  struct cfg *c = get_cfg();
  if (!c) return XDP_ABORTED;
  __u32 k = c->pos, n = c->nkeys, s = c->stride, miss = 0;
  for (int i = 0; i < OPS_PER_RUN; i++) {
    k += s;
    if (k >= n) k -= n;
    if (update_key(k, mode)) miss++;
  }
  c->pos = k;
  c->misses += miss;
  return XDP_PASS;
}

SEC("xdp")
int lookup_u32(struct xdp_md *ctx) { return lookup_run(KEY_U32); }

SEC("xdp")
int update_u32(struct xdp_md *ctx) { return update_run(KEY_U32); }

SEC("xdp")
int lookup_lpm(struct xdp_md *ctx) { return lookup_run(KEY_LPM); }

SEC("xdp")
int update_lpm(struct xdp_md *ctx) { return update_run(KEY_LPM); }

SEC("xdp")
int lookup_u32_scattered(struct xdp_md *ctx) { return lookup_run(KEY_SCATTERED); }

SEC("xdp")
int update_u32_scattered(struct xdp_md *ctx) { return update_run(KEY_SCATTERED); }

char LICENSE[] SEC("license") = "GPL";
