// LPM trie core. See lpm_trie_core.h for the invariants; the comments here say
// where and why we follow (or deliberately deviate from) kernel/bpf/lpm_trie.c.
#include "maptypes/lpm_trie_core.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <vector>
#include <new>

#include "core/faults.h"
#include "core/spinlock.h"

namespace bpfemu::maptypes {

namespace {

constexpr uint32_t kMagic = 0x4c504d54;  // "LPMT"
constexpr uint32_t kVersion = 2;  // 2: 12-byte node header
constexpr uint32_t kFlagIntermediate = 1u << 0;
constexpr size_t kHeaderBytes = 128;
constexpr uint32_t kNodeHeaderBytes = 12;  // child[2], u16 prefixlen, u16 flags
constexpr uint64_t kMaxSlots = 0xFFFFFFFEull;  // refs are slot + 1 in a u32, 0 = none
constexpr uint32_t kMaxPrefixBits = LpmTrieCore::kDataSizeMax * 8;

constexpr uint64_t round8(uint64_t x) { return (x + 7) & ~uint64_t{7}; }

// The value starts 8-aligned after the key data (programs read it in place); the
// node is as small as that allows, since glue nodes come from the same pool.
uint64_t value_offset(uint32_t data_size) { return round8(kNodeHeaderBytes + uint64_t{data_size}); }
uint64_t node_stride(uint32_t data_size, uint32_t value_size) { return round8(value_offset(data_size) + value_size); }

bool sizes_ok(uint32_t key_size, uint32_t value_size) {
  return key_size >= LpmTrieCore::kKeyHeader + LpmTrieCore::kDataSizeMin &&
         key_size <= LpmTrieCore::kKeyHeader + LpmTrieCore::kDataSizeMax &&
         value_size >= LpmTrieCore::kValueSizeMin && value_size <= LpmTrieCore::kValueSizeMax;
}

// Slots the pool gets: 2 * max_entries (see header), limited by the u32 refs and
// by max_bytes. Zero when the kernel could never allocate a node anyway.
uint64_t pool_slots(uint32_t key_size, uint32_t value_size, uint32_t max_entries, size_t max_bytes) {
  const uint32_t data_size = key_size - LpmTrieCore::kKeyHeader;
  if (uint64_t{data_size} + value_size > LpmTrieCore::kMaxNodePayload) return 0;
  const uint64_t stride = node_stride(data_size, value_size);
  const uint64_t by_bytes = max_bytes > kHeaderBytes ? (max_bytes - kHeaderBytes) / stride : 0;
  return std::min({uint64_t{max_entries} * 2, kMaxSlots, by_bytes});
}

uint32_t read_u32(const void* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// Bit `index` of a big-endian bit string.
unsigned bit_at(const uint8_t* data, uint32_t index) {
  return (data[index / 8] >> (7 - index % 8)) & 1u;
}

uint32_t load_relaxed(const uint32_t& v) { return __atomic_load_n(&v, __ATOMIC_RELAXED); }

}  // namespace

struct LpmTrieCore::Header {
  uint32_t magic;
  uint32_t version;
  emu::SpinLock lock;
  uint32_t key_size;
  uint32_t value_size;
  uint32_t max_entries;
  uint32_t data_size;
  uint32_t max_prefixlen;
  uint32_t root;            // ref of the root node, 0 = empty trie
  uint32_t n_entries;       // real nodes (kernel: trie->n_entries)
  uint32_t n_intermediate;  // glue nodes in the tree
  uint32_t capacity;        // slots in the pool
  uint32_t bump;            // slots [0, bump) have been handed out at least once
  uint32_t free_head;       // FIFO of freed slots, linked through child[0]
  uint32_t free_tail;
  uint32_t free_len;
  uint64_t stride;
  uint64_t total_bytes;
};

struct LpmTrieCore::Node {
  uint32_t child[2];
  uint16_t prefixlen;  // <= 2048 (256 data bytes)
  uint16_t flags;
  uint8_t* data() { return reinterpret_cast<uint8_t*>(this + 1); }
  const uint8_t* data() const { return reinterpret_cast<const uint8_t*>(this + 1); }
  bool intermediate() const { return flags & kFlagIntermediate; }
};

// ---------------------------------------------------------------------------
// Create-time checks and block layout

int LpmTrieCore::check_create(uint32_t key_size, uint32_t value_size, uint32_t max_entries,
                              uint32_t map_flags) {
  // trie_alloc() tests all of these in one expression and answers EINVAL for any.
  if (max_entries == 0) return -EINVAL;
  if (!(map_flags & kFNoPrealloc)) return -EINVAL;
  if (map_flags & ~kCreateFlagMask) return -EINVAL;
  // bpf_map_flags_access_ok(): a map cannot be both read-only and write-only for programs.
  if ((map_flags & kFRdonlyProg) && (map_flags & kFWronlyProg)) return -EINVAL;
  if (!sizes_ok(key_size, value_size)) return -EINVAL;
  return 0;
}

size_t LpmTrieCore::footprint(uint32_t key_size, uint32_t value_size, uint32_t max_entries,
                              size_t max_bytes) {
  if (!sizes_ok(key_size, value_size)) return 0;
  const uint64_t slots = pool_slots(key_size, value_size, max_entries, max_bytes);
  // slots <= 2^32 and stride < 2^23, so this cannot overflow 64 bits.
  return kHeaderBytes + slots * node_stride(key_size - kKeyHeader, value_size);
}

int LpmTrieCore::init(void* base, size_t len, uint32_t key_size, uint32_t value_size,
                      uint32_t max_entries, size_t max_bytes) {
  static_assert(sizeof(Header) <= kHeaderBytes && sizeof(Node) == kNodeHeaderBytes);
  if (base == nullptr || max_entries == 0 || !sizes_ok(key_size, value_size)) return -EINVAL;
  const size_t need = footprint(key_size, value_size, max_entries, max_bytes);
  if (len < need) return -EINVAL;
  // The block is zero-filled, which is a valid unlocked SpinLock; placement-new
  // just gives the header a proper lifetime. Node slots are left untouched.
  auto* h = new (base) Header{};
  h->key_size = key_size;
  h->value_size = value_size;
  h->max_entries = max_entries;
  h->data_size = key_size - kKeyHeader;
  h->max_prefixlen = h->data_size * 8;
  h->capacity = static_cast<uint32_t>(pool_slots(key_size, value_size, max_entries, max_bytes));
  h->stride = node_stride(h->data_size, value_size);
  h->total_bytes = need;
  h->version = kVersion;
  h->magic = kMagic;
  hdr_ = h;
  pool_ = static_cast<uint8_t*>(base) + kHeaderBytes;
  return 0;
}

int LpmTrieCore::attach(void* base, size_t len) {
  if (base == nullptr || len < kHeaderBytes) return -EINVAL;
  auto* h = static_cast<Header*>(base);
  if (h->magic != kMagic || h->version != kVersion || !sizes_ok(h->key_size, h->value_size) ||
      h->data_size != h->key_size - kKeyHeader || h->max_prefixlen != h->data_size * 8 ||
      h->stride != node_stride(h->data_size, h->value_size) || h->total_bytes > len ||
      kHeaderBytes + uint64_t{h->capacity} * h->stride > h->total_bytes)
    return -EINVAL;
  hdr_ = h;
  pool_ = static_cast<uint8_t*>(base) + kHeaderBytes;
  return 0;
}

// ---------------------------------------------------------------------------
// Node pool

LpmTrieCore::Node* LpmTrieCore::node(uint32_t ref) const {
  return reinterpret_cast<Node*>(pool_ + uint64_t{ref - 1} * hdr_->stride);
}

uint8_t* LpmTrieCore::value_of(Node* n) const { return reinterpret_cast<uint8_t*>(n) + value_offset(hdr_->data_size); }

uint32_t LpmTrieCore::alloc_node() {
  Header& h = *hdr_;
  // Never-used slots first, then the oldest freed one: this delays reuse of a
  // freed node (whose value a program may still be reading) as long as possible.
  if (h.bump < h.capacity) return ++h.bump;
  if (h.free_head == 0) return 0;
  const uint32_t ref = h.free_head;
  h.free_head = node(ref)->child[0];
  if (h.free_head == 0) h.free_tail = 0;
  --h.free_len;
  return ref;
}

void LpmTrieCore::free_node(uint32_t ref) {
  Header& h = *hdr_;
  Node* n = node(ref);
  n->child[0] = n->child[1] = 0;
  n->flags = 0;
  if (h.free_tail == 0)
    h.free_head = ref;
  else
    node(h.free_tail)->child[0] = ref;
  emu::crash_point("lpm.free.linked");
  h.free_tail = ref;
  ++h.free_len;
}

// A writer that died holding the lock (its lock is taken over) may have left
// counters advanced, a node allocated but not linked, or one unlinked but not
// freed, or the free list half-extended; the tree itself is consistent at
// every store. So the tree is the truth: recount it, and rebuild the free list
// from every handed-out slot it does not hold.
void LpmTrieCore::repair_locked() {
  Header& h = *hdr_;
  std::vector<bool> in_tree(uint64_t{h.bump} + 1, false);
  uint32_t real = 0, glue = 0;
  std::vector<uint32_t> todo;
  if (h.root != 0) todo.push_back(h.root);
  while (!todo.empty()) {
    const uint32_t ref = todo.back();
    todo.pop_back();
    if (ref == 0 || ref > h.bump || in_tree[ref]) continue;
    in_tree[ref] = true;
    const Node* n = node(ref);
    ++(n->intermediate() ? glue : real);
    todo.push_back(n->child[0]);
    todo.push_back(n->child[1]);
  }
  h.n_entries = real;
  h.n_intermediate = glue;
  h.free_head = h.free_tail = 0;
  h.free_len = 0;
  for (uint32_t ref = 1; ref <= h.bump; ++ref)
    if (!in_tree[ref]) free_node(ref);
}

LpmTrieCore::TrieLock::TrieLock(const LpmTrieCore& t) : lock_(t.hdr_->lock) {
  if (lock_.lock_recovering()) const_cast<LpmTrieCore&>(t).repair_locked();
}

// ---------------------------------------------------------------------------
// Matching

// Number of leading bits that n's data and the key share, capped at
// min(n->prefixlen, key_plen): the kernel's longest_prefix_match().
uint32_t LpmTrieCore::match_len(const Node* n, const uint8_t* kd, uint32_t key_plen) const {
  const uint32_t limit = std::min<uint32_t>(n->prefixlen, key_plen);
  const uint8_t* nd = n->data();
  const uint32_t size = hdr_->data_size;
  uint32_t i = 0;
  for (; i + 8 <= size && i * 8 < limit; i += 8) {  // 64 bits at a time
    uint64_t a, b;
    std::memcpy(&a, nd + i, 8);
    std::memcpy(&b, kd + i, 8);
    if (a != b) return std::min<uint32_t>(limit, i * 8 + __builtin_clzll(__builtin_bswap64(a ^ b)));
  }
  for (; i < size && i * 8 < limit; ++i) {
    const unsigned x = nd[i] ^ kd[i];
    if (x != 0) return std::min<uint32_t>(limit, i * 8 + __builtin_clz(x) - 24);
  }
  return limit;
}

// ---------------------------------------------------------------------------
// Map operations

int LpmTrieCore::update(const void* key, const void* value, uint64_t flags) {
  Header& h = *hdr_;
  // Order of checks as in trie_update_elem(): flags, prefixlen, node allocation.
  if (flags > kExist) return -EINVAL;
  const uint32_t plen = read_u32(key);
  const auto* kd = static_cast<const uint8_t*>(key) + kKeyHeader;
  if (plen > h.max_prefixlen) return -EINVAL;
  if (uint64_t{h.data_size} + h.value_size > kMaxNodePayload) return -ENOMEM;

  TrieLock guard(*this);
  // The kernel allocates the new node before anything else, so running out of
  // memory wins over EEXIST/ENOENT/ENOSPC. With a full-size pool this never fires.
  const auto slots_left = [&] { return (h.capacity - h.bump) + h.free_len; };
  if (slots_left() == 0) return -ENOMEM;

  // Descend while the node is a proper, fully matching prefix of the key.
  uint32_t* slot = &h.root;
  uint32_t ref = *slot;
  uint32_t matchlen = 0;
  while (ref != 0) {
    Node* n = node(ref);
    matchlen = match_len(n, kd, plen);
    if (n->prefixlen != matchlen || n->prefixlen == plen) break;
    slot = &n->child[bit_at(kd, n->prefixlen)];
    ref = *slot;
  }

  // trie_check_add_elem(): only paths that add a real node go through here.
  const auto check_add = [&]() -> int {
    if (flags == kExist) return -ENOENT;
    if (h.n_entries == h.max_entries) return -ENOSPC;
    ++h.n_entries;
    emu::crash_point("lpm.update.counted");
    return 0;
  };
  // Fill the node completely before linking it, so the tree is consistent at
  // every single store.
  const auto make_node = [&](uint32_t c0, uint32_t c1) {
    const uint32_t r = alloc_node();
    Node* nn = node(r);
    nn->child[0] = c0;
    nn->child[1] = c1;
    nn->prefixlen = plen;
    nn->flags = 0;
    std::memcpy(nn->data(), kd, h.data_size);  // verbatim, host bits included
    std::memcpy(value_of(nn), value, h.value_size);
    return r;
  };

  if (ref == 0) {  // empty slot
    if (int err = check_add()) return err;
    *slot = make_node(0, 0);
    return 0;
  }

  Node* n = node(ref);
  if (n->prefixlen == matchlen) {  // same prefix: replace the node with a new one
    if (!n->intermediate()) {
      if (flags == kNoExist) return -EEXIST;
    } else {
      if (int err = check_add()) return err;
      --h.n_intermediate;
    }
    const uint32_t fresh = make_node(n->child[0], n->child[1]);
    emu::crash_point("lpm.update.allocated");
    *slot = fresh;
    emu::crash_point("lpm.update.linked");
    free_node(ref);
    return 0;
  }

  if (int err = check_add()) return err;

  if (matchlen == plen) {  // the key is a prefix of n: insert it above n
    const unsigned b = bit_at(n->data(), matchlen);
    *slot = make_node(b == 0 ? ref : 0, b == 1 ? ref : 0);
    return 0;
  }

  // The key and n diverge at bit `matchlen`: join them under a glue node that
  // copies n's data (host bits and all, as the kernel does).
  if (slots_left() < 2) {
    --h.n_entries;
    return -ENOMEM;
  }
  const uint32_t fresh = make_node(0, 0);
  const uint32_t im = alloc_node();
  Node* g = node(im);
  g->prefixlen = matchlen;
  g->flags = kFlagIntermediate;
  std::memcpy(g->data(), n->data(), h.data_size);
  const bool key_right = bit_at(kd, matchlen);
  g->child[0] = key_right ? ref : fresh;
  g->child[1] = key_right ? fresh : ref;
  *slot = im;
  ++h.n_intermediate;
  return 0;
}

// trie_lookup_elem(): walk down while the node's whole prefix matches and
// remember the deepest real node seen.
LpmTrieCore::Node* LpmTrieCore::find_lpm_locked(uint32_t plen, const uint8_t* kd) const {
  Node* found = nullptr;
  for (uint32_t ref = hdr_->root; ref != 0;) {
    Node* n = node(ref);
    const uint32_t matchlen = match_len(n, kd, plen);
    if (matchlen == hdr_->max_prefixlen) return n;  // full-length match, cannot get better
    if (matchlen < n->prefixlen) break;
    if (!n->intermediate()) found = n;
    ref = n->child[bit_at(kd, n->prefixlen)];
  }
  return found;
}

void* LpmTrieCore::lookup(const void* key) {
  const uint32_t plen = read_u32(key);
  // Not clamped: trie_lookup_elem() returns NULL, so the syscall says ENOENT.
  if (plen > hdr_->max_prefixlen) return nullptr;
  TrieLock guard(*this);
  Node* n = find_lpm_locked(plen, static_cast<const uint8_t*>(key) + kKeyHeader);
  return n ? value_of(n) : nullptr;
}

int LpmTrieCore::lookup_copy(const void* key, void* value_out) {
  Header& h = *hdr_;
  const uint32_t plen = read_u32(key);
  if (plen > h.max_prefixlen) return -ENOENT;
  // Copy under the lock so that no update can recycle the node mid-copy.
  TrieLock guard(*this);
  Node* n = find_lpm_locked(plen, static_cast<const uint8_t*>(key) + kKeyHeader);
  if (n == nullptr) return -ENOENT;
  std::memcpy(value_out, value_of(n), h.value_size);
  return 0;
}

int LpmTrieCore::delete_elem(const void* key) {
  Header& h = *hdr_;
  const uint32_t plen = read_u32(key);
  const auto* kd = static_cast<const uint8_t*>(key) + kKeyHeader;
  if (plen > h.max_prefixlen) return -EINVAL;

  TrieLock guard(*this);
  // Find the exact node, remembering the slot that holds it, its parent and the
  // slot that holds the parent.
  uint32_t* trim = &h.root;
  uint32_t* trim2 = trim;
  uint32_t parent = 0;
  uint32_t ref = *trim;
  uint32_t matchlen = 0;
  while (ref != 0) {
    Node* n = node(ref);
    matchlen = match_len(n, kd, plen);
    if (n->prefixlen != matchlen || n->prefixlen == plen) break;
    parent = ref;
    trim2 = trim;
    trim = &n->child[bit_at(kd, n->prefixlen)];
    ref = *trim;
  }
  if (ref == 0) return -ENOENT;
  Node* n = node(ref);
  if (n->prefixlen != plen || n->prefixlen != matchlen || n->intermediate()) return -ENOENT;

  --h.n_entries;

  // Two children: the node stays as glue.
  if (n->child[0] != 0 && n->child[1] != 0) {
    n->flags |= kFlagIntermediate;
    ++h.n_intermediate;
    return 0;
  }

  // A leaf under a glue node: the glue node goes too and the sibling moves up,
  // keeping "every glue node has two children".
  if (parent != 0 && node(parent)->intermediate() && n->child[0] == 0 && n->child[1] == 0) {
    Node* p = node(parent);
    *trim2 = (p->child[0] == ref) ? p->child[1] : p->child[0];
    --h.n_intermediate;
    emu::crash_point("lpm.delete.unlinked");
    free_node(parent);
    free_node(ref);
    return 0;
  }

  // Zero or one child: the child (or nothing) takes the node's place.
  *trim = n->child[0] != 0 ? n->child[0] : n->child[1];
  free_node(ref);
  return 0;
}

// First real node of the subtree in post-order: keep going left (right when
// there is no left child) down to a leaf. Glue nodes always have two children,
// so the leaf is real.
uint32_t LpmTrieCore::leftmost(uint32_t ref) const {
  uint32_t last_real = 0;
  while (ref != 0) {
    Node* n = node(ref);
    if (n->intermediate()) {
      ref = n->child[0];
    } else {
      last_real = ref;
      ref = n->child[0] != 0 ? n->child[0] : n->child[1];
    }
  }
  return last_real;
}

void LpmTrieCore::copy_key(const Node* n, void* out) const {
  std::memcpy(out, &n->prefixlen, kKeyHeader);
  std::memcpy(static_cast<uint8_t*>(out) + kKeyHeader, n->data(), hdr_->data_size);
}

int LpmTrieCore::next_key_locked(const void* key, void* next_key) const {
  const Header& h = *hdr_;
  if (h.root == 0) return -ENOENT;

  uint32_t start = h.root;  // subtree whose post-order-first node is the answer
  if (key != nullptr && read_u32(key) <= h.max_prefixlen) {
    const uint32_t plen = read_u32(key);
    const auto* kd = static_cast<const uint8_t*>(key) + kKeyHeader;
    // Path from the root; depth <= max_prefixlen + 1 since prefixlen grows downwards.
    std::array<uint32_t, kMaxPrefixBits + 1> path;
    int top = -1;
    uint32_t ref = h.root;
    uint32_t matchlen = 0;
    while (ref != 0 && top + 1 < static_cast<int>(path.size())) {
      path[++top] = ref;
      Node* n = node(ref);
      matchlen = match_len(n, kd, plen);
      if (n->prefixlen != matchlen || n->prefixlen == plen) break;
      ref = n->child[bit_at(kd, n->prefixlen)];
    }
    // Only an exact, real match continues from the key; anything else starts over.
    if (ref != 0 && node(ref)->prefixlen == matchlen && !node(ref)->intermediate()) {
      uint32_t cur = path[top];
      for (;; --top) {
        if (top == 0) return -ENOENT;  // climbed past the root
        Node* p = node(path[top - 1]);
        // Coming up from the left: the right subtree comes next.
        if (p->child[0] == cur && p->child[1] != 0) {
          start = p->child[1];
          break;
        }
        if (!p->intermediate()) {
          copy_key(p, next_key);
          return 0;
        }
        cur = path[top - 1];
      }
    }
  }
  const uint32_t first = leftmost(start);
  if (first == 0) return -ENOENT;  // only possible in a corrupted block
  copy_key(node(first), next_key);
  return 0;
}

int LpmTrieCore::get_next_key(const void* key, void* next_key) {
  TrieLock guard(*this);
  return next_key_locked(key, next_key);
}

long LpmTrieCore::for_each(ForEachFn cb, void* ctx) {
  std::array<uint8_t, kKeyHeader + kDataSizeMax> cur, next;
  long visited = 0;
  int more;
  {
    TrieLock guard(*this);
    more = next_key_locked(nullptr, cur.data()) == 0;
  }
  while (more) {
    void* v;
    {
      TrieLock guard(*this);
      // cur is an exact key, so the longest match is cur's own node if it still exists.
      Node* n = find_lpm_locked(read_u32(cur.data()), cur.data() + kKeyHeader);
      v = n ? value_of(n) : nullptr;
      more = next_key_locked(cur.data(), next.data()) == 0;
    }
    if (v != nullptr) {
      ++visited;
      if (cb(cur.data(), v, ctx) != 0) break;
    }
    if (more) cur = next;
  }
  return visited;
}

// ---------------------------------------------------------------------------
// Accessors

uint32_t LpmTrieCore::count() const { return load_relaxed(hdr_->n_entries); }
uint32_t LpmTrieCore::intermediate_count() const { return load_relaxed(hdr_->n_intermediate); }
uint64_t LpmTrieCore::kernel_mem_usage() const {
  return uint64_t{count()} * (kKernelNodeHeader + hdr_->data_size + hdr_->value_size);
}
uint32_t LpmTrieCore::key_size() const { return hdr_->key_size; }
uint32_t LpmTrieCore::value_size() const { return hdr_->value_size; }
uint32_t LpmTrieCore::max_entries() const { return hdr_->max_entries; }
uint32_t LpmTrieCore::max_prefixlen() const { return hdr_->max_prefixlen; }
uint32_t LpmTrieCore::capacity() const { return hdr_->capacity; }

void LpmTrieCore::dump(uint32_t ref, std::string& out) const {
  if (ref == 0) {
    out += '-';
    return;
  }
  static const char kHex[] = "0123456789abcdef";
  const Node* n = node(ref);
  out += '(';
  if (n->intermediate()) out += "I ";
  for (uint32_t i = 0; i < hdr_->data_size; ++i) {
    out += kHex[n->data()[i] >> 4];
    out += kHex[n->data()[i] & 15];
  }
  out += '/';
  out += std::to_string(n->prefixlen);
  if (n->child[0] != 0 || n->child[1] != 0) {
    out += ' ';
    dump(n->child[0], out);
    out += ' ';
    dump(n->child[1], out);
  }
  out += ')';
}

std::string LpmTrieCore::debug_string() const {
  TrieLock guard(*this);
  if (hdr_->root == 0) return "()";
  std::string out;
  dump(hdr_->root, out);
  return out;
}

}  // namespace bpfemu::maptypes
