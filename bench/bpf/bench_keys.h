// The key of key index k, shared by the C++ suites (common.h) and the BPF
// programs (bench_ops.bpf.c), which must walk the very same keys. Plain C so
// that clang -target bpf compiles it too.
#pragma once

// LPM_TRIE addresses: a bijection on u32 (multiplying by an odd constant).
static inline __attribute__((always_inline)) unsigned int bench_lpm_addr(unsigned int k) { return k * 2654435761u; }

// Random-looking u32 keys: murmur3's finaliser, a bijection on u32. Not a
// multiply alone, which would line the keys up with a multiplicative hash.
static inline __attribute__((always_inline)) unsigned int bench_scatter(unsigned int k) {
  k ^= k >> 16;
  k *= 0x85ebca6bu;
  k ^= k >> 13;
  k *= 0xc2b2ae35u;
  k ^= k >> 16;
  return k;
}
