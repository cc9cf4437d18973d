// BPF_MAP_TYPE_LPM_TRIE algorithm (mirrors kernel/bpf/lpm_trie.c of Linux 6.18),
// operating entirely inside one caller-provided, zero-filled memory block.
//
// Keys are `struct { u32 prefixlen; u8 data[key_size - 4]; }` (host-endian
// prefixlen, data read as a big-endian bit string). Lookup is longest-prefix
// match, delete and get_next_key are exact (data bits beyond prefixlen ignored),
// and update stores the caller's data bytes verbatim, host bits included, because
// the kernel does and get_next_key returns them.
//
// Tree invariants (the same as the kernel's, so the shape — and therefore the
// get_next_key order — is identical for every sequence of operations):
//   * a node's children have strictly larger prefixlen and share its first
//     `prefixlen` bits; child[b] continues with bit b at index `prefixlen`;
//   * intermediate ("glue") nodes carry no value, are never returned, and always
//     have exactly two children; hence #intermediate <= #real - 1;
//   * n_entries counts real nodes only; ENOSPC is returned only when an update
//     would add a real node (a brand-new prefix, or turning a glue node real) while
//     n_entries == max_entries; replacing an existing real node always succeeds.
//
// Storage: a 128-byte header followed by a node pool of fixed-size slots. Nodes
// are named by 32-bit references (slot index + 1, 0 = none), never by pointers,
// so the block may be mapped at different addresses in different processes. The
// pool holds 2 * max_entries slots, which covers the worst case (max real nodes,
// max - 1 glue nodes, and the one spare slot the replace path needs); slots are
// handed out never-used-first and then from a FIFO free list, so a value pointer
// that a program still holds keeps its old contents for as long as possible (our
// stand-in for the kernel's RCU-deferred free). Slots are only touched when first
// used, so a huge sparse block costs nothing until it fills.
//
// Locking: one emu::SpinLock in the header, like the kernel's per-trie lock.
// Every operation, lookups included, takes it (the kernel's lookups are RCU and
// lock-free; ours are not, for simplicity). A pointer returned by lookup() stays
// dereferenceable after the lock is dropped because the block is never unmapped
// while the map exists.
//
// Not in the kernel's lpm trie ops (the adapter must answer these itself):
// lookup_and_delete (ENOTSUPP, 524), BPF_F_LOCK (EINVAL, no spin lock in value),
// bpf_for_each_map_elem (the verifier rejects it: no map_for_each_callback) and
// the bpf_map_elem iterator. Batch lookup/update/delete are supported, through the
// kernel's generic_map_*_batch, which are built on get_next_key/lookup/update/delete.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/spinlock.h"

namespace bpfemu::maptypes {

class LpmTrieCore {
 public:
  // uapi values, spelled out so we do not depend on the installed linux headers.
  static constexpr uint64_t kAny = 0, kNoExist = 1, kExist = 2;
  static constexpr uint32_t kFNoPrealloc = 1u << 0, kFNumaNode = 1u << 2, kFRdonly = 1u << 3,
                            kFWronly = 1u << 4, kFRdonlyProg = 1u << 7, kFWronlyProg = 1u << 8;
  static constexpr uint32_t kCreateFlagMask =
      kFNoPrealloc | kFNumaNode | kFRdonly | kFWronly | kFRdonlyProg | kFWronlyProg;

  static constexpr uint32_t kKeyHeader = 4;  // sizeof(u32 prefixlen)
  static constexpr uint32_t kDataSizeMin = 1, kDataSizeMax = 256;
  // Kernel: LPM_VAL_SIZE_MAX = KMALLOC_MAX_SIZE (4 MiB on x86-64) - 256 - sizeof(node) (24).
  static constexpr uint32_t kKmallocMaxSize = 4u << 20;
  static constexpr uint32_t kKernelNodeHeader = 24;
  static constexpr uint32_t kValueSizeMin = 1;
  static constexpr uint32_t kValueSizeMax = kKmallocMaxSize - kDataSizeMax - kKernelNodeHeader;
  // Nodes come from bpf_mem_alloc, which adds an 8-byte header to the kmalloc
  // size: when 24 + data + value + 8 exceeds KMALLOC_MAX_SIZE, the map creates fine
  // but every update fails with ENOMEM (measured on 6.18: key 260/value 4194024).
  static constexpr uint32_t kMaxNodePayload = kKmallocMaxSize - kKernelNodeHeader - 8;

  // Default cap on footprint(): the block is sparse, so only its virtual size is
  // bounded. A trie whose full pool would exceed the cap gets fewer slots and then
  // reports ENOMEM when they run out — the kernel's answer to memory exhaustion.
  static constexpr size_t kDefaultMaxBytes = size_t{256} << 30;

  // Create-time attribute checks of trie_alloc(): 0 or -EINVAL. Generic
  // map_create checks (unknown attr bits, map_extra, numa node, RDONLY+WRONLY,
  // capabilities) belong to the caller; trie_check_btf (key BTF type must be a
  // struct, else EINVAL) too.
  static int check_create(uint32_t key_size, uint32_t value_size, uint32_t max_entries,
                          uint32_t map_flags);

  // Bytes the block needs; 0 if key/value sizes are invalid. Never overflows.
  static size_t footprint(uint32_t key_size, uint32_t value_size, uint32_t max_entries,
                          size_t max_bytes = kDefaultMaxBytes);

  LpmTrieCore() = default;

  // Formats a zero-filled block of at least footprint(...) bytes (same max_bytes)
  // and binds this view to it. -EINVAL on bad sizes or a too-small block.
  int init(void* base, size_t len, uint32_t key_size, uint32_t value_size, uint32_t max_entries,
           size_t max_bytes = kDefaultMaxBytes);
  // Binds this view to a block formatted by init(), possibly in another process
  // and at another address. -EINVAL if it does not look like one.
  int attach(void* base, size_t len);
  bool valid() const { return hdr_ != nullptr; }

  // All ops return 0 or -errno exactly as the kernel's map ops do.
  // key points to key_size bytes; value to value_size bytes.
  int update(const void* key, const void* value, uint64_t flags);
  // Longest-prefix match; pointer to the value bytes inside the block, or nullptr
  // (also for prefixlen > max_prefixlen, which the kernel treats as no match).
  void* lookup(const void* key);
  int lookup_copy(const void* key, void* value_out);  // -ENOENT if no match
  int delete_elem(const void* key);
  // key may be nullptr. Post-order: a missing key (or prefixlen > max) yields the
  // first key; the last key yields -ENOENT; an empty trie -ENOENT.
  int get_next_key(const void* key, void* next_key);

  // Visits real nodes in get_next_key order. cb gets a key buffer and the value
  // pointer and returns 0 to go on, nonzero to stop; the result is the number of
  // elements visited, the stopping one included. The lock is not held while cb
  // runs, so cb may use this trie; the next key is fetched before cb is called,
  // so deleting the current element is safe (as with get_next_key loops, deleting
  // the prefetched one restarts from the first key).
  using ForEachFn = int (*)(const void* key, void* value, void* ctx);
  long for_each(ForEachFn cb, void* ctx);
  template <class F>
  long for_each(F&& f) {
    return for_each([](const void* k, void* v, void* c) -> int { return (*static_cast<F*>(c))(k, v); },
                    static_cast<void*>(&f));
  }

  uint32_t count() const;               // real entries (the kernel's n_entries)
  uint32_t intermediate_count() const;  // glue nodes currently in the tree
  // trie_mem_usage(): n_entries * (24 + data_size + value_size) — fdinfo "memlock".
  uint64_t kernel_mem_usage() const;

  uint32_t key_size() const;
  uint32_t value_size() const;
  uint32_t max_entries() const;
  uint32_t max_prefixlen() const;
  uint32_t capacity() const;  // node slots in the pool

  // Pre-order dump for tests and debugging: "(I 0a000000/23 (0a000000/24) (0a000100/24))".
  // Data bytes in hex, "I " marks a glue node, children follow only if there is
  // one ("-" for an empty slot), "()" is an empty trie.
  std::string debug_string() const;

 private:
  struct Header;
  struct Node;

  // The trie's lock, taken as a scope; taking it over from a dead holder
  // repairs what that holder left half done (repair_locked).
  class TrieLock {
   public:
    explicit TrieLock(const LpmTrieCore& t);
    ~TrieLock() { lock_.unlock(); }
    TrieLock(const TrieLock&) = delete;
    TrieLock& operator=(const TrieLock&) = delete;

   private:
    emu::SpinLock& lock_;
  };
  void repair_locked();

  Node* node(uint32_t ref) const;
  uint8_t* value_of(Node* n) const;
  uint32_t alloc_node();
  void free_node(uint32_t ref);
  uint32_t match_len(const Node* n, const uint8_t* key_data, uint32_t key_plen) const;
  Node* find_lpm_locked(uint32_t plen, const uint8_t* key_data) const;
  uint32_t leftmost(uint32_t ref) const;
  int next_key_locked(const void* key, void* next_key) const;
  void copy_key(const Node* n, void* out) const;
  void dump(uint32_t ref, std::string& out) const;

  Header* hdr_ = nullptr;
  uint8_t* pool_ = nullptr;
};

}  // namespace bpfemu::maptypes
