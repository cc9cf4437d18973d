// Unit tests for the LPM trie core. Expected error codes and get_next_key orders
// were checked against the host kernel (6.18) with a libbpf probe that builds the
// same shapes; comments explain why the kernel's algorithm gives each order.
#include "maptypes/lpm_trie_core.h"

#include "bpfemu/faults.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace bpfemu::maptypes {
namespace {

using T = LpmTrieCore;
constexpr uint32_t NP = T::kFNoPrealloc;

// A zero-filled shared memory block, like a map region. map() adds another
// mapping of the same memory at a different address.
class Region {
 public:
  explicit Region(size_t len) : len_(len) {
    fd_ = memfd_create("lpm_test", MFD_CLOEXEC);
    EXPECT_GE(fd_, 0);
    EXPECT_EQ(ftruncate(fd_, static_cast<off_t>(len)), 0);
  }
  ~Region() {
    for (void* p : maps_) munmap(p, len_);
    close(fd_);
  }
  void* map() {
    void* p = mmap(nullptr, len_, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
    EXPECT_NE(p, MAP_FAILED);
    maps_.push_back(p);
    return p;
  }
  void unmap(void* p) {
    EXPECT_EQ(munmap(p, len_), 0);
    std::erase(maps_, p);
  }
  size_t len() const { return len_; }

 private:
  int fd_ = -1;
  size_t len_;
  std::vector<void*> maps_;
};

// A trie in its own region; value_size 8 unless given.
struct Trie {
  Trie(uint32_t data_size, uint32_t max_entries, uint32_t value_size = 8)
      : region(T::footprint(4 + data_size, value_size, max_entries)) {
    EXPECT_EQ(t.init(region.map(), region.len(), 4 + data_size, value_size, max_entries), 0);
  }
  Region region;
  T t;
};

// Key buffer: u32 prefixlen followed by data bytes.
std::vector<uint8_t> K(uint32_t plen, std::vector<uint8_t> data) {
  std::vector<uint8_t> k(4 + data.size());
  std::memcpy(k.data(), &plen, 4);
  std::memcpy(k.data() + 4, data.data(), data.size());
  return k;
}
std::vector<uint8_t> V4(uint32_t plen, int a, int b, int c, int d) {
  return K(plen, {uint8_t(a), uint8_t(b), uint8_t(c), uint8_t(d)});
}

int put(T& t, const std::vector<uint8_t>& k, uint64_t v, uint64_t flags = T::kAny) {
  std::vector<uint8_t> val(t.value_size(), 0);
  std::memcpy(val.data(), &v, std::min<size_t>(8, val.size()));
  return t.update(k.data(), val.data(), flags);
}
int del(T& t, const std::vector<uint8_t>& k) { return t.delete_elem(k.data()); }
// Value found by longest-prefix match, or -errno.
int64_t get(T& t, const std::vector<uint8_t>& k) {
  std::vector<uint8_t> val(t.value_size());
  int r = t.lookup_copy(k.data(), val.data());
  if (r != 0) return r;
  uint64_t v = 0;
  std::memcpy(&v, val.data(), std::min<size_t>(8, val.size()));
  return static_cast<int64_t>(v);
}

std::string fmt(const uint8_t* key, uint32_t data_size) {
  uint32_t plen;
  std::memcpy(&plen, key, 4);
  char buf[16];
  std::string s;
  for (uint32_t i = 0; i < data_size; ++i) {
    if (data_size == 4) {
      if (i) s += '.';
      s += std::to_string(key[4 + i]);
    } else {
      snprintf(buf, sizeof buf, "%02x", key[4 + i]);
      s += buf;
    }
  }
  return s + "/" + std::to_string(plen);
}

// Full get_next_key walk from NULL, as "a.b.c.d/len" (IPv4) or "hex/len".
std::string order(T& t) {
  const uint32_t ds = t.key_size() - 4;
  std::vector<uint8_t> cur(t.key_size()), next(t.key_size());
  std::string out;
  int r = t.get_next_key(nullptr, next.data());
  while (r == 0) {
    if (!out.empty()) out += ' ';
    out += fmt(next.data(), ds);
    cur = next;
    r = t.get_next_key(cur.data(), next.data());
  }
  EXPECT_EQ(r, -ENOENT);
  return out;
}

// ---------------------------------------------------------------------------

TEST(LpmTrieCore, CheckCreate) {
  // Each line is a case the kernel probe ran; all failures are EINVAL.
  EXPECT_EQ(T::check_create(8, 8, 16, 0), -EINVAL);  // BPF_F_NO_PREALLOC required
  EXPECT_EQ(T::check_create(8, 8, 16, NP), 0);
  EXPECT_EQ(T::check_create(8, 8, 0, NP), -EINVAL);
  EXPECT_EQ(T::check_create(8, 8, 0xffffffffu, NP), 0);
  EXPECT_EQ(T::check_create(4, 8, 16, NP), -EINVAL);  // no data bytes
  EXPECT_EQ(T::check_create(3, 8, 16, NP), -EINVAL);
  EXPECT_EQ(T::check_create(5, 8, 16, NP), 0);
  EXPECT_EQ(T::check_create(260, 8, 16, NP), 0);  // 256 data bytes
  EXPECT_EQ(T::check_create(261, 8, 16, NP), -EINVAL);
  EXPECT_EQ(T::check_create(8, 0, 16, NP), -EINVAL);
  EXPECT_EQ(T::check_create(8, 4194024, 16, NP), 0);  // KMALLOC_MAX_SIZE - 256 - 24
  EXPECT_EQ(T::check_create(8, 4194025, 16, NP), -EINVAL);
  EXPECT_EQ(T::check_create(8, 8, 16, NP | T::kFNumaNode), 0);
  EXPECT_EQ(T::check_create(8, 8, 16, NP | T::kFRdonly), 0);
  EXPECT_EQ(T::check_create(8, 8, 16, NP | T::kFWronly), 0);
  EXPECT_EQ(T::check_create(8, 8, 16, NP | T::kFRdonlyProg), 0);
  EXPECT_EQ(T::check_create(8, 8, 16, NP | T::kFRdonlyProg | T::kFWronlyProg), -EINVAL);
  EXPECT_EQ(T::check_create(8, 8, 16, NP | (1u << 6)), -EINVAL);   // BPF_F_ZERO_SEED
  EXPECT_EQ(T::check_create(8, 8, 16, NP | (1u << 10)), -EINVAL);  // BPF_F_MMAPABLE
  EXPECT_EQ(T::check_create(8, 8, 16, NP | (1u << 15)), -EINVAL);
}

TEST(LpmTrieCore, Footprint) {
  EXPECT_EQ(T::footprint(4, 8, 16), 0u);
  EXPECT_EQ(T::footprint(8, 0, 16), 0u);
  const size_t small = T::footprint(8, 8, 16);
  EXPECT_GT(small, 0u);
  EXPECT_LT(small, 4096u);
  // The kernel accepts max_entries = UINT32_MAX (nothing is preallocated); we
  // cap the sparse block's virtual size instead of failing.
  const size_t huge = T::footprint(260, 4194024, 0xffffffffu);
  EXPECT_GT(huge, 0u);
  EXPECT_LE(huge, T::kDefaultMaxBytes);
  EXPECT_LE(T::footprint(8, 8, 0xffffffffu), T::kDefaultMaxBytes);
}

TEST(LpmTrieCore, InitAndAttachValidate) {
  Region r(T::footprint(8, 8, 4));
  void* p = r.map();
  T t;
  EXPECT_EQ(t.attach(p, r.len()), -EINVAL);  // not formatted yet
  EXPECT_EQ(t.init(p, r.len() - 1, 8, 8, 4), -EINVAL);
  EXPECT_EQ(t.init(p, r.len(), 8, 8, 4), 0);
  T u;
  EXPECT_EQ(u.attach(p, r.len()), 0);
  EXPECT_EQ(u.max_prefixlen(), 32u);
  EXPECT_EQ(u.max_entries(), 4u);
  EXPECT_EQ(u.capacity(), 8u);  // 2 * max_entries slots
  EXPECT_EQ(u.attach(p, 64), -EINVAL);
}

TEST(LpmTrieCore, Ipv4ErrorsAndPrefixlenEdges) {
  Trie m(4, 4);
  T& t = m.t;
  std::vector<uint8_t> n(8);
  EXPECT_EQ(t.get_next_key(nullptr, n.data()), -ENOENT);  // empty
  EXPECT_EQ(put(t, V4(33, 10, 0, 0, 0), 1), -EINVAL);      // prefixlen > 32
  EXPECT_EQ(put(t, V4(24, 10, 0, 0, 0), 1, 3), -EINVAL);   // flags > BPF_EXIST
  EXPECT_EQ(put(t, V4(24, 10, 0, 0, 0), 1, 4), -EINVAL);   // BPF_F_LOCK too
  EXPECT_EQ(put(t, V4(24, 10, 0, 0, 0), 1, T::kExist), -ENOENT);
  EXPECT_EQ(put(t, V4(24, 10, 0, 0, 0), 1, T::kNoExist), 0);
  EXPECT_EQ(put(t, V4(24, 10, 0, 0, 0), 2, T::kNoExist), -EEXIST);
  EXPECT_EQ(put(t, V4(24, 10, 0, 0, 0), 3, T::kExist), 0);
  // Same prefix with host bits set replaces the node and stores those bytes.
  EXPECT_EQ(put(t, V4(24, 10, 0, 0, 77), 4), 0);
  EXPECT_EQ(t.count(), 1u);
  EXPECT_EQ(get(t, V4(32, 10, 0, 0, 5)), 4);
  // Lookups with prefixlen > max are a miss (not clamped), like trie_lookup_elem.
  EXPECT_EQ(get(t, V4(33, 10, 0, 0, 5)), -ENOENT);
  EXPECT_EQ(get(t, V4(0xffffffffu, 10, 0, 0, 5)), -ENOENT);
  EXPECT_EQ(t.lookup(V4(33, 10, 0, 0, 5).data()), nullptr);
  EXPECT_EQ(get(t, V4(23, 10, 0, 0, 5)), -ENOENT);  // key shorter than every prefix
  EXPECT_EQ(get(t, V4(32, 10, 0, 1, 5)), -ENOENT);
  EXPECT_EQ(del(t, V4(33, 10, 0, 0, 0)), -EINVAL);
  EXPECT_EQ(del(t, V4(23, 10, 0, 0, 0)), -ENOENT);
  EXPECT_EQ(del(t, V4(32, 10, 0, 0, 0)), -ENOENT);  // delete is exact, not LPM
  EXPECT_EQ(order(t), "10.0.0.77/24");
  // get_next_key: invalid (prefixlen > max) or missing keys give the first key;
  // the present key (whatever its host bits) is the last one, hence ENOENT.
  EXPECT_EQ(t.get_next_key(V4(33, 1, 2, 3, 4).data(), n.data()), 0);
  EXPECT_EQ(fmt(n.data(), 4), "10.0.0.77/24");
  EXPECT_EQ(t.get_next_key(V4(16, 1, 2, 3, 4).data(), n.data()), 0);
  EXPECT_EQ(fmt(n.data(), 4), "10.0.0.77/24");
  EXPECT_EQ(t.get_next_key(V4(24, 10, 0, 0, 0).data(), n.data()), -ENOENT);
  EXPECT_EQ(t.get_next_key(V4(24, 10, 0, 0, 99).data(), n.data()), -ENOENT);
  EXPECT_EQ(del(t, V4(24, 10, 0, 0, 1)), 0);  // host bits ignored
  EXPECT_EQ(t.count(), 0u);
  EXPECT_EQ(order(t), "");
}

TEST(LpmTrieCore, LongestPrefixMatch) {
  Trie m(4, 16);
  T& t = m.t;
  ASSERT_EQ(put(t, V4(0, 0, 0, 0, 0), 1), 0);
  ASSERT_EQ(put(t, V4(8, 10, 0, 0, 0), 2), 0);
  ASSERT_EQ(put(t, V4(24, 10, 1, 2, 0), 3), 0);
  ASSERT_EQ(put(t, V4(25, 10, 1, 2, 128), 4), 0);
  ASSERT_EQ(put(t, V4(32, 10, 1, 2, 200), 5), 0);
  EXPECT_EQ(get(t, V4(32, 192, 168, 0, 1)), 1);
  EXPECT_EQ(get(t, V4(32, 10, 9, 9, 9)), 2);
  EXPECT_EQ(get(t, V4(32, 10, 1, 2, 3)), 3);
  EXPECT_EQ(get(t, V4(32, 10, 1, 2, 129)), 4);
  EXPECT_EQ(get(t, V4(32, 10, 1, 2, 200)), 5);
  EXPECT_EQ(get(t, V4(24, 10, 1, 2, 200)), 3);  // the key's own prefixlen limits the match
  EXPECT_EQ(get(t, V4(7, 10, 1, 2, 200)), 1);
  // The pointer points at the stored value; writes through it are visible.
  auto* p = static_cast<uint64_t*>(t.lookup(V4(32, 10, 1, 2, 3).data()));
  ASSERT_NE(p, nullptr);
  *p = 33;
  EXPECT_EQ(get(t, V4(24, 10, 1, 2, 0)), 33);
  EXPECT_EQ(del(t, V4(24, 10, 1, 2, 0)), 0);
  EXPECT_EQ(get(t, V4(32, 10, 1, 2, 3)), 2);  // falls back to the /8
}

// 10.0.0.0/24 and 10.0.1.0/24 share 23 bits: the second insert adds a glue node
// 10.0.0.0/23 (data copied from the existing node) with the two as children.
TEST(LpmTrieCore, GlueNodeAndEnospcRules) {
  Trie m(4, 2);
  T& t = m.t;
  ASSERT_EQ(put(t, V4(24, 10, 0, 0, 0), 1), 0);
  ASSERT_EQ(put(t, V4(24, 10, 0, 1, 0), 2), 0);
  EXPECT_EQ(t.debug_string(), "(I 0a000000/23 (0a000000/24) (0a000100/24))");
  EXPECT_EQ(t.count(), 2u);
  EXPECT_EQ(t.intermediate_count(), 1u);
  EXPECT_EQ(order(t), "10.0.0.0/24 10.0.1.0/24");  // glue nodes are never returned
  // Full (2 of 2). Kernel rules, as the probe showed:
  EXPECT_EQ(put(t, V4(23, 10, 0, 0, 0), 3, T::kExist), -ENOENT);  // glue is "not there"
  EXPECT_EQ(put(t, V4(23, 10, 0, 0, 0), 3), -ENOSPC);   // making glue real adds an entry
  EXPECT_EQ(put(t, V4(24, 10, 0, 0, 0), 9), 0);         // replacing never needs room
  EXPECT_EQ(put(t, V4(24, 10, 0, 0, 0), 9, T::kNoExist), -EEXIST);  // EEXIST before ENOSPC
  EXPECT_EQ(put(t, V4(24, 10, 0, 2, 0), 9, T::kExist), -ENOENT);   // ENOENT before ENOSPC
  EXPECT_EQ(put(t, V4(8, 10, 0, 0, 0), 9), -ENOSPC);    // would become an ancestor
  EXPECT_EQ(put(t, V4(32, 10, 0, 0, 1), 9), -ENOSPC);   // would become a leaf
  EXPECT_EQ(get(t, V4(32, 10, 0, 0, 1)), 9);
  EXPECT_EQ(del(t, V4(23, 10, 0, 0, 0)), -ENOENT);      // glue cannot be deleted
  // Deleting a leaf under a glue node removes the glue node too.
  EXPECT_EQ(del(t, V4(24, 10, 0, 1, 0)), 0);
  EXPECT_EQ(t.debug_string(), "(0a000000/24)");
  EXPECT_EQ(t.intermediate_count(), 0u);
  EXPECT_EQ(order(t), "10.0.0.0/24");
  EXPECT_EQ(put(t, V4(24, 10, 0, 1, 0), 2), 0);
  EXPECT_EQ(put(t, V4(24, 10, 0, 2, 0), 2), -ENOSPC);
}

TEST(LpmTrieCore, GlueBecomesRealAndBack) {
  Trie m(4, 16);
  T& t = m.t;
  ASSERT_EQ(put(t, V4(24, 10, 0, 0, 0), 1), 0);
  ASSERT_EQ(put(t, V4(24, 10, 0, 1, 0), 2), 0);
  // NOEXIST on a glue node succeeds: it is not an element.
  EXPECT_EQ(put(t, V4(23, 10, 0, 0, 0), 3, T::kNoExist), 0);
  EXPECT_EQ(t.debug_string(), "(0a000000/23 (0a000000/24) (0a000100/24))");
  EXPECT_EQ(order(t), "10.0.0.0/24 10.0.1.0/24 10.0.0.0/23");  // post-order: parent last
  EXPECT_EQ(t.count(), 3u);
  // A real node with two children is only flagged as glue on delete.
  EXPECT_EQ(del(t, V4(23, 10, 0, 0, 0)), 0);
  EXPECT_EQ(t.debug_string(), "(I 0a000000/23 (0a000000/24) (0a000100/24))");
  EXPECT_EQ(order(t), "10.0.0.0/24 10.0.1.0/24");
  EXPECT_EQ(t.count(), 2u);
  EXPECT_EQ(get(t, V4(23, 10, 0, 0, 0)), -ENOENT);
  // A node with one child is replaced by that child.
  ASSERT_EQ(put(t, V4(16, 10, 0, 0, 0), 4), 0);
  EXPECT_EQ(t.debug_string(), "(0a000000/16 (I 0a000000/23 (0a000000/24) (0a000100/24)) -)");
  EXPECT_EQ(del(t, V4(16, 10, 0, 0, 0)), 0);
  EXPECT_EQ(t.debug_string(), "(I 0a000000/23 (0a000000/24) (0a000100/24))");
}

// The example from the kernel's lpm_trie.c comment, then grown. Tree after the
// first four inserts: 192.168.0.0/16 -> [0] glue 192.168.0.0/23 (.0/24, .1/24),
// [1] 192.168.128.0/24. Post-order = left subtree, right subtree, node.
TEST(LpmTrieCore, GetNextKeyOrderKernelExample) {
  Trie m(4, 16);
  T& t = m.t;
  ASSERT_EQ(put(t, V4(16, 192, 168, 0, 0), 1), 0);
  ASSERT_EQ(put(t, V4(24, 192, 168, 0, 0), 2), 0);
  ASSERT_EQ(put(t, V4(24, 192, 168, 128, 0), 3), 0);
  ASSERT_EQ(put(t, V4(24, 192, 168, 1, 0), 5), 0);
  EXPECT_EQ(order(t), "192.168.0.0/24 192.168.1.0/24 192.168.128.0/24 192.168.0.0/16");
  // 0/0 becomes the root (an ancestor of everything; 192 has bit 0 set, so the
  // old root hangs at [1]); 10/8 goes to root[0] and therefore comes first; the
  // two /32s hang under a glue /31 below 192.168.1.0/24; /25 under .128/24.
  ASSERT_EQ(put(t, V4(0, 0, 0, 0, 0), 6), 0);
  ASSERT_EQ(put(t, V4(32, 192, 168, 1, 1), 7), 0);
  ASSERT_EQ(put(t, V4(32, 192, 168, 1, 0), 8), 0);
  ASSERT_EQ(put(t, V4(8, 10, 0, 0, 0), 9), 0);
  ASSERT_EQ(put(t, V4(25, 192, 168, 128, 128), 10), 0);
  EXPECT_EQ(order(t),
            "10.0.0.0/8 192.168.0.0/24 192.168.1.0/32 192.168.1.1/32 192.168.1.0/24 "
            "192.168.128.128/25 192.168.128.0/24 192.168.0.0/16 0.0.0.0/0");
  EXPECT_EQ(t.intermediate_count(), 2u);
  // 192.168.1.0/24 has one child (the glue /31): it is spliced out.
  EXPECT_EQ(del(t, V4(24, 192, 168, 1, 0)), 0);
  EXPECT_EQ(order(t),
            "10.0.0.0/8 192.168.0.0/24 192.168.1.0/32 192.168.1.1/32 "
            "192.168.128.128/25 192.168.128.0/24 192.168.0.0/16 0.0.0.0/0");
  // Two children each: both turn into glue nodes, the order just loses them.
  EXPECT_EQ(del(t, V4(16, 192, 168, 0, 0)), 0);
  EXPECT_EQ(del(t, V4(0, 0, 0, 0, 0)), 0);
  EXPECT_EQ(order(t),
            "10.0.0.0/8 192.168.0.0/24 192.168.1.0/32 192.168.1.1/32 "
            "192.168.128.128/25 192.168.128.0/24");
  EXPECT_EQ(t.count(), 6u);
  EXPECT_EQ(t.intermediate_count(), 4u);
}

TEST(LpmTrieCore, Ipv6) {
  Trie m(16, 8, 4);
  T& t = m.t;
  std::vector<uint8_t> a(16, 0);
  a[0] = 0x20, a[1] = 0x01, a[2] = 0x0d, a[3] = 0xb8;
  auto c = a;
  c[15] = 1;
  ASSERT_EQ(put(t, K(64, a), 1), 0);
  ASSERT_EQ(put(t, K(48, a), 2), 0);
  ASSERT_EQ(put(t, K(128, c), 3), 0);
  EXPECT_EQ(put(t, K(129, c), 3), -EINVAL);
  // A chain /48 -> /64 -> /128: post-order is deepest first (kernel: /128 /64 /48).
  EXPECT_EQ(order(t),
            "20010db8000000000000000000000001/128 20010db8000000000000000000000000/64 "
            "20010db8000000000000000000000000/48");
  EXPECT_EQ(get(t, K(128, c)), 3);
  auto d = c;
  d[15] = 2;
  EXPECT_EQ(get(t, K(128, d)), 1);
  d[6] = 0xff;
  EXPECT_EQ(get(t, K(128, d)), 2);
  d[5] = 0xff;
  EXPECT_EQ(get(t, K(128, d)), -ENOENT);
}

// 3 data bytes. Tree: 0/0 -> [0] 0a/8 -> { [0] glue /11 -> { [0] glue /22 ->
// (0a0001/24, 0a0002/24), [1] 0a1000/12 }, [1] 0a8000/9 }.
TEST(LpmTrieCore, OddDataSize3) {
  Trie m(3, 16, 4);
  T& t = m.t;
  ASSERT_EQ(put(t, K(8, {0x0a, 0, 0}), 100), 0);
  ASSERT_EQ(put(t, K(9, {0x0a, 0x80, 0}), 101), 0);
  ASSERT_EQ(put(t, K(24, {0x0a, 0, 1}), 102), 0);
  ASSERT_EQ(put(t, K(24, {0x0a, 0, 2}), 103), 0);
  ASSERT_EQ(put(t, K(12, {0x0a, 0x10, 0}), 104), 0);
  ASSERT_EQ(put(t, K(0, {0, 0, 0}), 105), 0);
  EXPECT_EQ(t.debug_string(),
            "(000000/0 (0a0000/8 (I 0a0001/11 (I 0a0001/22 (0a0001/24) (0a0002/24)) (0a1000/12)) "
            "(0a8000/9)) -)");
  EXPECT_EQ(order(t), "0a0001/24 0a0002/24 0a1000/12 0a8000/9 0a0000/8 000000/0");
  EXPECT_EQ(get(t, K(24, {0x0a, 0x10, 0x05})), 104);
  EXPECT_EQ(get(t, K(24, {0x0a, 0x00, 0x03})), 100);
  EXPECT_EQ(get(t, K(24, {0x0b, 0, 0})), 105);
  EXPECT_EQ(get(t, K(24, {0x0a, 0xff, 0})), 101);
  EXPECT_EQ(put(t, K(25, {0, 0, 0}), 1), -EINVAL);
}

// 5 data bytes (max prefixlen 40). Tree: 01020304 00/32 (glue /32 made real)
// -> { [0] 00/36 -> { [0] 05/40, [1] 0e/39 -> [1] 0f/40 }, [1] 80/33 }.
TEST(LpmTrieCore, OddDataSize5) {
  Trie m(5, 16, 4);
  T& t = m.t;
  ASSERT_EQ(put(t, K(40, {1, 2, 3, 4, 5}), 100), 0);
  ASSERT_EQ(put(t, K(36, {1, 2, 3, 4, 0}), 101), 0);
  ASSERT_EQ(put(t, K(40, {1, 2, 3, 4, 0x0f}), 102), 0);
  ASSERT_EQ(put(t, K(33, {1, 2, 3, 4, 0x80}), 103), 0);
  ASSERT_EQ(put(t, K(32, {1, 2, 3, 4, 0}), 104), 0);
  ASSERT_EQ(put(t, K(39, {1, 2, 3, 4, 0x0e}), 105), 0);
  EXPECT_EQ(t.intermediate_count(), 0u);
  EXPECT_EQ(order(t),
            "0102030405/40 010203040f/40 010203040e/39 0102030400/36 0102030480/33 0102030400/32");
  EXPECT_EQ(get(t, K(40, {1, 2, 3, 4, 6})), 101);
  EXPECT_EQ(get(t, K(40, {1, 2, 3, 4, 0x0f})), 102);
  EXPECT_EQ(get(t, K(40, {1, 2, 3, 4, 0xc0})), 103);
  EXPECT_EQ(get(t, K(40, {1, 2, 3, 5, 0})), -ENOENT);
}

TEST(LpmTrieCore, OneByteKeysFillEveryPrefix) {
  // All 511 prefixes of an 8-bit space: no glue nodes, a complete binary tree.
  Trie m(1, 511, 4);
  T& t = m.t;
  for (uint32_t plen = 0; plen <= 8; ++plen)
    for (uint32_t v = 0; v < (1u << plen); ++v)
      ASSERT_EQ(put(t, K(plen, {uint8_t(v << (8 - plen))}), plen * 1000 + v), 0);
  EXPECT_EQ(t.count(), 511u);
  EXPECT_EQ(t.intermediate_count(), 0u);
  EXPECT_EQ(put(t, K(8, {0}), 1, T::kNoExist), -EEXIST);
  EXPECT_EQ(put(t, K(8, {0}), 1, T::kAny), 0);  // full, but a replacement
  for (uint32_t v = 0; v < 256; ++v) EXPECT_EQ(get(t, K(8, {uint8_t(v)})), v == 0 ? 1 : 8000 + v);
  const std::string o = order(t);
  EXPECT_EQ(o.substr(0, 23), "00/8 01/8 00/7 02/8 03/");  // post-order of a full tree
  EXPECT_EQ(o.substr(o.size() - 4), "00/0");
}

TEST(LpmTrieCore, HugeNodesFailWithEnomemLikeTheKernel) {
  // Key 260 + value 4194024 is accepted at create time, but 24 + 256 + value + 8
  // exceeds KMALLOC_MAX_SIZE, so every update fails with ENOMEM (kernel probe).
  ASSERT_EQ(T::check_create(260, 4194024, 4, NP), 0);
  Region r(T::footprint(260, 4194024, 4));
  T t;
  ASSERT_EQ(t.init(r.map(), r.len(), 260, 4194024, 4), 0);
  std::vector<uint8_t> key(260, 0), val(4194024, 0);
  key[0] = 8;
  EXPECT_EQ(t.update(key.data(), val.data(), 0), -ENOMEM);
  EXPECT_EQ(t.update(key.data(), val.data(), 5), -EINVAL);  // flags are checked first
}

TEST(LpmTrieCore, CappedPoolReportsEnomem) {
  // A pool limited by max_bytes behaves like a kernel out of memory.
  const size_t cap = T::footprint(8, 8, 1);  // room for 2 slots
  Region r(T::footprint(8, 8, 1000, cap));
  T t;
  ASSERT_EQ(t.init(r.map(), r.len(), 8, 8, 1000, cap), 0);
  EXPECT_EQ(t.capacity(), 2u);
  EXPECT_EQ(put(t, V4(24, 10, 0, 0, 0), 1), 0);
  EXPECT_EQ(put(t, V4(24, 10, 0, 1, 0), 1), -ENOMEM);  // needs a leaf and a glue node
  EXPECT_EQ(t.count(), 1u);
  EXPECT_EQ(put(t, V4(16, 10, 0, 0, 0), 1), 0);        // an ancestor needs one slot
  EXPECT_EQ(put(t, V4(24, 10, 0, 0, 0), 2), -ENOMEM);  // no spare slot to replace into
  EXPECT_EQ(order(t), "10.0.0.0/24 10.0.0.0/16");
}

TEST(LpmTrieCore, FullPoolNeverRunsOutUnderChurn) {
  // 2 * max_entries slots must cover any mix of real and glue nodes plus the
  // spare slot a replacement needs: only ENOSPC/EEXIST/ENOENT may ever appear.
  for (uint32_t me : {1u, 2u, 3u, 7u, 64u}) {
    Trie m(2, me);
    T& t = m.t;
    uint32_t x = 12345;
    for (int i = 0; i < 20000; ++i) {
      x = x * 1103515245 + 12345;
      const uint32_t plen = (x >> 8) % 17;
      const uint8_t a = uint8_t(x >> 16), b = uint8_t(x >> 24);
      if ((x >> 4) % 3 == 0) {
        int r = del(t, K(plen, {a, b}));
        ASSERT_TRUE(r == 0 || r == -ENOENT) << r;
      } else {
        int r = put(t, K(plen, {a, b}), i, (x >> 6) % 3);
        ASSERT_TRUE(r == 0 || r == -ENOSPC || r == -EEXIST || r == -ENOENT) << r;
      }
      ASSERT_LE(t.count(), me);
      ASSERT_LT(t.intermediate_count(), std::max(t.count(), 1u));
    }
  }
}

TEST(LpmTrieCore, ForEachInGetNextKeyOrder) {
  Trie m(4, 16);
  T& t = m.t;
  for (int i = 0; i < 6; ++i) ASSERT_EQ(put(t, V4(24, 10, 0, i, 0), i), 0);
  ASSERT_EQ(put(t, V4(8, 10, 0, 0, 0), 99), 0);
  std::string seen;
  long n = t.for_each([&](const void* k, void* v) {
    if (!seen.empty()) seen += ' ';
    seen += fmt(static_cast<const uint8_t*>(k), 4) + "=" + std::to_string(*static_cast<uint64_t*>(v));
    return 0;
  });
  EXPECT_EQ(n, 7);
  EXPECT_EQ(seen,
            "10.0.0.0/24=0 10.0.1.0/24=1 10.0.2.0/24=2 10.0.3.0/24=3 10.0.4.0/24=4 10.0.5.0/24=5 "
            "10.0.0.0/8=99");
  // Stopping counts the stopping element.
  int calls = 0;
  EXPECT_EQ(t.for_each([&](const void*, void*) { return ++calls == 3 ? 1 : 0; }), 3);
  // The callback may delete the element it is given.
  n = t.for_each([&](const void* k, void*) { return t.delete_elem(k) == 0 ? 0 : 1; });
  EXPECT_EQ(n, 7);
  EXPECT_EQ(t.count(), 0u);
  EXPECT_EQ(t.intermediate_count(), 0u);
}

TEST(LpmTrieCore, KernelMemUsage) {
  Trie m(3, 100, 5);  // fdinfo memlock on 6.18: 32 bytes per entry (24 + 3 + 5)
  EXPECT_EQ(m.t.kernel_mem_usage(), 0u);
  ASSERT_EQ(put(m.t, K(8, {1, 0, 0}), 0), 0);
  ASSERT_EQ(put(m.t, K(16, {1, 1, 0}), 0), 0);
  EXPECT_EQ(m.t.kernel_mem_usage(), 64u);
}

TEST(LpmTrieCore, RelocatedMappings) {
  // One memfd mapped twice: both views must see the same trie, although every
  // pointer differs.
  Region r(T::footprint(8, 8, 64));
  uint8_t* a = static_cast<uint8_t*>(r.map());
  uint8_t* b = static_cast<uint8_t*>(r.map());
  ASSERT_NE(a, b);
  T ta, tb;
  ASSERT_EQ(ta.init(a, r.len(), 8, 8, 64), 0);
  ASSERT_EQ(tb.attach(b, r.len()), 0);
  ASSERT_EQ(put(ta, V4(24, 10, 0, 0, 0), 1), 0);
  ASSERT_EQ(put(tb, V4(24, 10, 0, 1, 0), 2), 0);
  ASSERT_EQ(put(ta, V4(16, 10, 0, 0, 0), 3), 0);
  EXPECT_EQ(order(ta), order(tb));
  EXPECT_EQ(tb.debug_string(), "(0a000000/16 (I 0a000000/23 (0a000000/24) (0a000100/24)) -)");
  auto* pa = static_cast<uint8_t*>(ta.lookup(V4(32, 10, 0, 1, 9).data()));
  auto* pb = static_cast<uint8_t*>(tb.lookup(V4(32, 10, 0, 1, 9).data()));
  ASSERT_NE(pa, nullptr);
  EXPECT_EQ(pa - a, pb - b);  // same offset in each mapping
  EXPECT_TRUE(pb >= b && pb < b + r.len());
  uint64_t v = 42;
  std::memcpy(pb, &v, 8);
  EXPECT_EQ(get(ta, V4(24, 10, 0, 1, 0)), 42);
  EXPECT_EQ(del(tb, V4(24, 10, 0, 0, 0)), 0);
  EXPECT_EQ(ta.debug_string(), "(0a000000/16 (0a000100/24) -)");
  EXPECT_EQ(ta.count(), 2u);
  // Drop the first view and attach a third one: the state lives in the memory.
  r.unmap(a);
  T tc;
  ASSERT_EQ(tc.attach(r.map(), r.len()), 0);
  EXPECT_EQ(order(tc), "10.0.1.0/24 10.0.0.0/16");
  EXPECT_EQ(get(tc, V4(32, 10, 0, 1, 7)), 42);
}

TEST(LpmTrieCore, ConcurrentWritersAndReaders) {
  Region r(T::footprint(8, 8, 256));
  T t0;
  ASSERT_EQ(t0.init(r.map(), r.len(), 8, 8, 256), 0);
  // Each thread gets its own mapping (made here: Region is not thread-safe).
  std::vector<void*> views;
  for (int w = 0; w < 4; ++w) views.push_back(r.map());
  std::vector<std::thread> th;
  for (int w = 0; w < 4; ++w) {
    th.emplace_back([&, w] {
      T t;
      ASSERT_EQ(t.attach(views[w], r.len()), 0);
      for (int i = 0; i < 5000; ++i) {
        auto k = V4(16 + (i % 17), 10, w, i & 0xff, 0);
        if (w < 2) {
          put(t, k, i);
          if (i % 3 == 0) del(t, k);
        } else {
          (void)get(t, V4(32, 10, i & 3, i & 0xff, 1));
          std::vector<uint8_t> n(8);
          (void)t.get_next_key(k.data(), n.data());
        }
      }
    });
  }
  for (auto& x : th) x.join();
  // Whatever survived is a consistent trie.
  long n = t0.for_each([](const void*, void*) { return 0; });
  EXPECT_EQ(n, static_cast<long>(t0.count()));
  EXPECT_LT(t0.intermediate_count(), std::max(t0.count(), 1u));
}

}  // namespace
}  // namespace bpfemu::maptypes

namespace bpfemu::maptypes {
namespace {

// /32 keys 10.0.i.j: any two of them need a glue node, so max_entries of them
// use every node slot but one.
std::vector<uint8_t> host_key(uint32_t i) { return V4(32, 10, 0, static_cast<int>(i >> 8), static_cast<int>(i & 0xff)); }

// Runs op in a child process that dies (status 137, as if SIGKILLed) the
// first time it passes crash point `site`, holding the trie's lock.
void die_at(const char* site, const std::function<void()>& op) {
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    arm_crash_point(site, 1);
    op();
    _exit(0);  // the site was not reached
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 137) << site << " was not reached";
}

class LpmKilledWriter : public ::testing::TestWithParam<const char*> {};

// A writer killed anywhere inside an update or delete leaves the trie usable
// by the next process: the lock is taken over, the count is right, and no node
// slot is lost (the whole capacity can be filled again). Each crash is made
// twice, since a single lost slot would still leave room for max_entries.
TEST_P(LpmKilledWriter, NextProcessTakesOverAndLosesNothing) {
  constexpr uint32_t kMax = 16;
  Trie trie(4, kMax);
  T& t = trie.t;
  for (uint32_t i = 0; i < 4; ++i) ASSERT_EQ(put(t, host_key(i), i), 0);
  const std::string site = GetParam();
  for (int round = 0; round < 2; ++round) {
    if (site == "lpm.update.counted") {
      die_at(GetParam(), [&] { put(t, host_key(100 + round), 1); });
    } else if (site == "lpm.delete.unlinked" || site == "lpm.free.linked") {
      // A leaf under a glue node: both are unlinked, then freed.
      die_at(GetParam(), [&] { del(t, host_key(static_cast<uint32_t>(round))); });
    } else {
      die_at(GetParam(), [&] { put(t, host_key(2 + static_cast<uint32_t>(round)), 77); });  // replaces
    }
  }
  // The survivor: every key the trie holds reads back, and the count matches them.
  std::vector<uint8_t> value(8);
  uint32_t present = 0;
  for (uint32_t i : {0u, 1u, 2u, 3u, 100u, 101u}) present += t.lookup_copy(host_key(i).data(), value.data()) == 0;
  EXPECT_EQ(t.count(), present);
  // Empty it, then fill it to max_entries: every slot is usable again.
  for (uint32_t i : {0u, 1u, 2u, 3u, 100u, 101u}) del(t, host_key(i));
  EXPECT_EQ(t.count(), 0u);
  for (uint32_t i = 0; i < kMax; ++i) ASSERT_EQ(put(t, host_key(1000 + i), i), 0) << "key " << i;
  EXPECT_EQ(put(t, host_key(5000), 1), -ENOSPC);
  EXPECT_EQ(t.count(), kMax);
}

INSTANTIATE_TEST_SUITE_P(CrashPoints, LpmKilledWriter,
                         ::testing::Values("lpm.update.counted", "lpm.update.allocated", "lpm.update.linked",
                                           "lpm.delete.unlinked", "lpm.free.linked"),
                         [](const auto& info) {
                           std::string name = info.param;
                           std::replace(name.begin(), name.end(), '.', '_');
                           return name;
                         });

}  // namespace
}  // namespace bpfemu::maptypes
