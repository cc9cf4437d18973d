// LPM_TRIE scenarios (expected behaviour: the kernel's kernel/bpf/lpm_trie.c).
#include "conformance/scenario.h"

namespace bpfemu::conformance {
namespace {

constexpr uint32_t L = BPF_MAP_TYPE_LPM_TRIE;
Bytes ip4(uint32_t plen, uint8_t a, uint8_t b, uint8_t c, uint8_t d) { return lpm_key(plen, Bytes{a, b, c, d}); }

}  // namespace

SCENARIO("LPM_TRIE", "create", "rules") {
  r.create(L, 8, 4, 16);                                  // prealloc not supported
  r.create(L, 8, 4, 16, BPF_F_NO_PREALLOC);
  r.create(L, 4, 4, 16, BPF_F_NO_PREALLOC);               // no data bytes
  r.create(L, 5, 4, 16, BPF_F_NO_PREALLOC);
  r.create(L, 260, 4, 16, BPF_F_NO_PREALLOC);
  r.create(L, 261, 4, 16, BPF_F_NO_PREALLOC);
  r.create(L, 8, 0, 16, BPF_F_NO_PREALLOC);
  r.create(L, 8, 4, 0, BPF_F_NO_PREALLOC);
  r.create(L, 8, 4, 16, BPF_F_NO_PREALLOC | BPF_F_ZERO_SEED);
  r.create(L, 8, 4, 16, BPF_F_NO_PREALLOC | BPF_F_MMAPABLE);
  r.create(L, 8, 4, 0xFFFFFFFF, BPF_F_NO_PREALLOC);
  r.create(L, 8, 4194024, 1, BPF_F_NO_PREALLOC);
  r.create(L, 8, 4194025, 1, BPF_F_NO_PREALLOC);
}

SCENARIO("LPM_TRIE", "lookup", "longest_prefix_match") {
  int fd = r.create(L, 8, 4, 16, BPF_F_NO_PREALLOC);
  r.update(fd, ip4(8, 10, 0, 0, 0), u32(8));
  r.update(fd, ip4(16, 10, 1, 0, 0), u32(16));
  r.update(fd, ip4(24, 10, 1, 2, 0), u32(24));
  r.update(fd, ip4(0, 0, 0, 0, 0), u32(0));
  r.lookup(fd, ip4(32, 10, 1, 2, 3));
  r.lookup(fd, ip4(32, 10, 1, 3, 3));
  r.lookup(fd, ip4(32, 10, 2, 3, 3));
  r.lookup(fd, ip4(32, 11, 2, 3, 3));
  r.lookup(fd, ip4(12, 10, 1, 2, 3));
  r.lookup(fd, ip4(33, 10, 1, 2, 3));  // beyond the max prefix length
  r.walk(fd, 8);
}

SCENARIO("LPM_TRIE", "update", "flags_full_and_glue") {
  int fd = r.create(L, 8, 4, 2, BPF_F_NO_PREALLOC);
  r.update(fd, ip4(24, 10, 0, 0, 0), u32(1));
  r.update(fd, ip4(24, 10, 0, 1, 0), u32(2));
  r.walk(fd, 8);
  r.update(fd, ip4(23, 10, 0, 0, 0), u32(3), BPF_EXIST);   // glue node is not an element
  r.update(fd, ip4(23, 10, 0, 0, 0), u32(3), BPF_ANY);     // full
  r.update(fd, ip4(24, 10, 0, 0, 0), u32(4), BPF_ANY);     // replace is fine when full
  r.update(fd, ip4(24, 10, 0, 0, 0), u32(4), BPF_NOEXIST);
  r.update(fd, ip4(8, 10, 0, 0, 0), u32(5));
  r.update(fd, ip4(33, 10, 0, 0, 0), u32(5));
  r.update(fd, ip4(8, 10, 0, 0, 0), u32(5), 3);
  r.remove(fd, ip4(23, 10, 0, 0, 0));
  r.remove(fd, ip4(24, 10, 0, 1, 0));
  r.walk(fd, 8);
  r.update(fd, ip4(23, 10, 0, 0, 0), u32(6), BPF_NOEXIST);
  r.walk(fd, 8);
  r.lookup(fd, ip4(32, 10, 0, 1, 9));
}

SCENARIO("LPM_TRIE", "delete", "exact_only") {
  int fd = r.create(L, 8, 4, 8, BPF_F_NO_PREALLOC);
  r.update(fd, ip4(16, 192, 168, 0, 0), u32(1));
  r.remove(fd, ip4(24, 192, 168, 0, 0));
  r.remove(fd, ip4(16, 192, 168, 7, 7));  // bits past the prefix are ignored
  r.remove(fd, ip4(16, 192, 168, 0, 0));
  r.remove(fd, ip4(40, 192, 168, 0, 0));
  r.remove(fd, std::nullopt);
}

SCENARIO("LPM_TRIE", "get_next_key", "post_order") {
  int fd = r.create(L, 8, 4, 32, BPF_F_NO_PREALLOC);
  r.next_key(fd, std::nullopt, 8);
  const uint8_t third[] = {0, 1, 128, 0, 1};
  const uint32_t plens[] = {24, 24, 24, 16, 32};
  for (int i = 0; i < 5; ++i) r.update(fd, ip4(plens[i], 192, 168, third[i], i == 4 ? 1 : 0), u32(i));
  r.update(fd, ip4(0, 0, 0, 0, 0), u32(9));
  r.update(fd, ip4(8, 10, 0, 0, 0), u32(10));
  r.walk(fd, 8);
  r.next_key(fd, ip4(16, 192, 168, 0, 0), 8);
  r.next_key(fd, ip4(0, 0, 0, 0, 0), 8);
  r.next_key(fd, ip4(20, 1, 2, 3, 4), 8);   // missing key: first key
  r.next_key(fd, ip4(40, 1, 2, 3, 4), 8);
}

SCENARIO("LPM_TRIE", "update", "ipv6_and_odd_sizes") {
  int fd = r.create(L, 20, 8, 8, BPF_F_NO_PREALLOC);
  Bytes a(16, 0x20), b(16, 0x20);
  b[7] = 0x21;
  r.update(fd, lpm_key(48, a), u64(48));
  r.update(fd, lpm_key(64, b), u64(64));
  r.update(fd, lpm_key(128, a), u64(128));
  r.lookup(fd, lpm_key(128, b));
  r.lookup(fd, lpm_key(128, a));
  r.walk(fd, 20);
  int odd = r.create(L, 7, 3, 8, BPF_F_NO_PREALLOC);
  r.update(odd, lpm_key(24, Bytes{10, 0, 1}), Bytes{1, 2, 3});
  r.update(odd, lpm_key(9, Bytes{10, 128, 0}), Bytes{4, 5, 6});
  r.update(odd, lpm_key(12, Bytes{10, 16, 0}), Bytes{7, 8, 9});
  r.lookup(odd, lpm_key(24, Bytes{10, 0, 1}));
  r.lookup(odd, lpm_key(24, Bytes{10, 200, 1}));
  r.walk(odd, 7);
}

SCENARIO("LPM_TRIE", "lookup_and_delete", "enotsupp_and_batch") {
  int fd = r.create(L, 8, 4, 8, BPF_F_NO_PREALLOC);
  r.update(fd, ip4(8, 10, 0, 0, 0), u32(1));
  r.update(fd, ip4(16, 10, 1, 0, 0), u32(2));
  r.lookup_and_delete(fd, ip4(8, 10, 0, 0, 0));
  r.lookup(fd, ip4(8, 10, 0, 0, 0), BPF_F_LOCK);
  r.lookup_batch(fd, std::nullopt, 8, 8, 4);
  r.lookup_batch(fd, std::nullopt, 8, 8, 4, {}, true);
  r.delete_batch(fd, {ip4(8, 10, 0, 0, 0), ip4(9, 10, 0, 0, 0)}, 2);
  r.update_batch(fd, {ip4(8, 10, 0, 0, 0)}, {u32(7)}, 1);
  r.walk(fd, 8);
}

}  // namespace bpfemu::conformance
