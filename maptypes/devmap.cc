// DEVMAP and DEVMAP_HASH, after kernel/bpf/devmap.c.
//
// A value names a network device by ifindex and, with 8-byte values, an XDP
// program (loaded with expected_attach_type BPF_XDP_DEVMAP) to run on frames
// sent to it: syscalls store the program by fd and read back its id. An entry
// holds a kernel reference on its program, dropped when the entry goes or the
// map is freed (devmap_release). Programs read entries (bpf_map_lookup_elem
// yields the {ifindex, prog id} pair, read-only: the kernel marks these maps
// BPF_F_RDONLY_PROG) and redirect to them (bpf_redirect_map); a test run
// reports the verdict and sends nothing.
//
// DEVMAP layout: slot i is a u64 at i * 8, {ifindex, prog id} as the kernel's
// struct bpf_devmap_val lays them out; ifindex 0 marks an empty slot.
// DEVMAP_HASH layout: n_buckets u32 bucket heads (element numbers, 0: none),
// then max_entries elements {next, key, ifindex, prog id}. A key's bucket is
// key & (n_buckets - 1) and new or replaced entries go to the head of their
// bucket, so get_next_key walks in the kernel's order.
#include <net/if.h>

#include <atomic>
#include <climits>
#include <cstddef>
#include <mutex>
#include <cstring>

#include "core/spinlock.h"
#include "maptypes/families.h"

namespace bpfemu::maptypes {
namespace {

constexpr uint32_t kCreateFlags = BPF_F_NUMA_NODE | BPF_F_RDONLY | BPF_F_WRONLY;
// sizeof(struct bpf_dtab) and sizeof(struct bpf_dtab_netdev) in the 6.18
// kernel (what its map_mem_usage counts; read off fdinfo's memlock).
constexpr uint64_t kDtabSize = 344;
constexpr uint64_t kDtabNetdevSize = 64;

uint32_t load_u32(const void* p) {
  uint32_t v;
  memcpy(&v, p, sizeof(v));
  return v;
}

void put_prog(uint32_t id) {
  if (id != 0) fd_objects().put(ObjRef{emu::ObjKind::kProg, id, 0});
}

// __dev_map_alloc_node: the device must exist and a program given by fd must
// be an XDP program for devmaps. Every failure is EINVAL. On success *prog_id
// holds the program's id with a reference taken (0: no program).
int resolve_entry(uint32_t ifindex, int prog_fd, uint32_t* prog_id) {
  char name[IF_NAMESIZE];
  if (if_indextoname(ifindex, name) == nullptr) return -EINVAL;
  *prog_id = 0;
  if (prog_fd <= 0) return 0;
  ObjRef ref;
  if (fd_objects().get(prog_fd, &ref) != 0) return -EINVAL;
  if (ref.kind != emu::ObjKind::kProg || ref.prog_type != BPF_PROG_TYPE_XDP ||
      ref.expected_attach_type != BPF_XDP_DEVMAP) {
    fd_objects().put(ref);
    return -EINVAL;
  }
  *prog_id = ref.id;
  return 0;
}

// The value as the kernel reads it: value_size bytes over a zeroed
// struct bpf_devmap_val.
void read_value(const Map& map, const void* value, uint32_t* ifindex, int* prog_fd) {
  uint32_t v[2] = {0, 0};
  memcpy(v, value, map.attr().value_size);
  *ifindex = v[0];
  memcpy(prog_fd, &v[1], sizeof(*prog_fd));
}

// __bpf_xdp_redirect_map: the low bits of flags are the verdict when there is
// no entry; BPF_F_BROADCAST redirects whatever the key; other flags abort.
long redirect_verdict(bool found, uint64_t flags, uint64_t flag_mask) {
  constexpr uint64_t kActionMask = XDP_ABORTED | XDP_DROP | XDP_PASS | XDP_TX;
  if (flags & ~(kActionMask | flag_mask)) return XDP_ABORTED;
  if (!found && !(flags & BPF_F_BROADCAST)) return static_cast<long>(flags & kActionMask);
  return XDP_REDIRECT;
}

struct DevState {
  std::atomic<uint32_t> items;  // the kernel's dtab->items (memlock counts it)
  uint32_t n_buckets;           // DEVMAP_HASH
  emu::SpinLock lock;           // DEVMAP_HASH: the kernel's index_lock
  uint32_t next_unused;         // DEVMAP_HASH: elements never used yet start here (1-based)
  uint32_t free_head;           // DEVMAP_HASH: freed elements
};

class DevMapBase : public MapOps {
 public:
  // dev_map_init_map.
  int alloc_check(MapAttr& attr, const CreateEnv&) const override {
    if (attr.max_entries == 0 || attr.key_size != 4 || (attr.value_size != 4 && attr.value_size != 8) ||
        (attr.map_flags & ~kCreateFlags))
      return -EINVAL;
    // Lookups hand programs the entry itself, which they must not write.
    attr.map_flags |= BPF_F_RDONLY_PROG;
    return 0;
  }

  uint64_t mem_usage(const Map& map) const override {
    return kDtabSize + table_bytes(map) + uint64_t{map.state<DevState>().items.load()} * kDtabNetdevSize;
  }

  // The entry's {ifindex, prog id}, value_size bytes of it.
  int lookup(Map& map, const void* key, void* value, uint64_t) const override {
    const void* e = prog_lookup(map, key);
    if (e == nullptr) return -ENOENT;
    memcpy(value, e, map.attr().value_size);
    return 0;
  }

  long prog_redirect(Map& map, uint64_t key, uint64_t flags) const override {
    const uint32_t k = static_cast<uint32_t>(key);  // the lookup takes a u32 key
    return redirect_verdict(prog_lookup(map, &k) != nullptr, flags, BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS);
  }

 protected:
  virtual uint64_t table_bytes(const Map& map) const = 0;
};

// --- DEVMAP ---

std::atomic<uint64_t>* dev_slot(const Map& map, uint32_t i) {
  return reinterpret_cast<std::atomic<uint64_t>*>(map.data() + uint64_t{i} * 8);
}

class DevMap final : public DevMapBase {
 public:
  int64_t data_size(const MapAttr& attr, const CreateEnv&) const override {
    const uint64_t bytes = uint64_t{attr.max_entries} * 8;
    if (!emu::fits_in_memory(bytes)) return -ENOMEM;
    return static_cast<int64_t>(bytes);
  }
  int init(Map&) const override { return 0; }

  // __dev_map_update_elem. ifindex 0 empties the slot (and, as in the
  // kernel, counts an item when the slot was empty already).
  int update(Map& map, const void* key, const void* value, uint64_t flags) const override {
    const uint32_t i = load_u32(key);
    if (flags > BPF_EXIST) return -EINVAL;
    if (i >= map.attr().max_entries) return -E2BIG;
    if (flags == BPF_NOEXIST) return -EEXIST;
    uint32_t ifindex;
    int prog_fd;
    read_value(map, value, &ifindex, &prog_fd);
    uint64_t entry = 0;
    if (ifindex == 0) {
      if (prog_fd > 0) return -EINVAL;
    } else {
      uint32_t prog_id = 0;
      if (int e = resolve_entry(ifindex, prog_fd, &prog_id); e != 0) return e;
      entry = ifindex | (uint64_t{prog_id} << 32);
    }
    const uint64_t old = dev_slot(map, i)->exchange(entry, std::memory_order_acq_rel);
    if (old != 0)
      put_prog(static_cast<uint32_t>(old >> 32));
    else
      map.state<DevState>().items.fetch_add(1);
    return 0;
  }

  // dev_map_delete_elem: an empty slot is no error.
  int delete_elem(Map& map, const void* key) const override {
    const uint32_t i = load_u32(key);
    if (i >= map.attr().max_entries) return -EINVAL;
    const uint64_t old = dev_slot(map, i)->exchange(0, std::memory_order_acq_rel);
    if (old != 0) {
      put_prog(static_cast<uint32_t>(old >> 32));
      map.state<DevState>().items.fetch_sub(1);
    }
    return 0;
  }

  int get_next_key(Map& map, const void* key, void* next_key) const override {
    return array_get_next_key(map, key, next_key);
  }

  void* prog_lookup(Map& map, const void* key) const override {
    const uint32_t i = load_u32(key);
    if (i >= map.attr().max_entries) return nullptr;
    std::atomic<uint64_t>* s = dev_slot(map, i);
    return s->load(std::memory_order_acquire) != 0 ? s : nullptr;
  }

 protected:
  uint64_t table_bytes(const Map& map) const override { return uint64_t{map.attr().max_entries} * 8; }
};

// --- DEVMAP_HASH ---

struct HashElem {
  uint32_t next;
  uint32_t key;
  uint32_t ifindex;
  uint32_t prog_id;
};

uint32_t pow2_at_least(uint32_t n) {
  uint64_t p = 1;
  while (p < n) p <<= 1;
  return static_cast<uint32_t>(p);
}

class DevMapHash final : public DevMapBase {
 public:
  int alloc_check(MapAttr& attr, const CreateEnv& env) const override {
    if (int e = DevMapBase::alloc_check(attr, env); e != 0) return e;
    return attr.max_entries > (1U << 31) ? -EINVAL : 0;
  }

  int64_t data_size(const MapAttr& attr, const CreateEnv&) const override {
    const uint64_t bytes = uint64_t{pow2_at_least(attr.max_entries)} * 4 + uint64_t{attr.max_entries} * sizeof(HashElem);
    if (!emu::fits_in_memory(bytes)) return -ENOMEM;
    return static_cast<int64_t>(bytes);
  }

  int init(Map& map) const override {
    DevState& s = map.state<DevState>();
    s.n_buckets = pow2_at_least(map.attr().max_entries);
    s.next_unused = 1;
    return 0;
  }

  // __dev_map_hash_update_elem: BPF_EXIST needs no entry, ifindex 0 is
  // refused, a new key past max_entries entries is E2BIG. A replaced entry
  // moves to the head of its bucket.
  int update(Map& map, const void* key, const void* value, uint64_t flags) const override {
    const uint32_t k = load_u32(key);
    uint32_t ifindex;
    int prog_fd;
    read_value(map, value, &ifindex, &prog_fd);
    if (flags > BPF_EXIST || ifindex == 0) return -EINVAL;
    DevState& s = map.state<DevState>();
    uint32_t prog_id = 0;
    uint32_t old_prog = 0;
    int err = 0;
    {
      std::lock_guard g(s.lock);
      uint32_t* link = nullptr;
      const uint32_t idx = find(map, k, &link);
      if (idx != 0 && flags == BPF_NOEXIST) return -EEXIST;
      err = resolve_entry(ifindex, prog_fd, &prog_id);
      if (err != 0) return err;
      uint32_t e = idx;
      if (e != 0) {
        *link = elem(map, e)->next;  // unlinked; relinked at the head below
        old_prog = elem(map, e)->prog_id;
      } else if (s.items.load() >= map.attr().max_entries || (e = alloc(map)) == 0) {
        err = -E2BIG;
      } else {
        s.items.fetch_add(1);
      }
      if (err == 0) {
        HashElem* h = elem(map, e);
        h->key = k;
        h->ifindex = ifindex;
        h->prog_id = prog_id;
        uint32_t* head = bucket(map, k);
        h->next = *head;
        *head = e;
      }
    }
    put_prog(err == 0 ? old_prog : prog_id);
    return err;
  }

  int delete_elem(Map& map, const void* key) const override {
    DevState& s = map.state<DevState>();
    uint32_t prog = 0;
    {
      std::lock_guard g(s.lock);
      uint32_t* link = nullptr;
      const uint32_t idx = find(map, load_u32(key), &link);
      if (idx == 0) return -ENOENT;
      HashElem* h = elem(map, idx);
      *link = h->next;
      prog = h->prog_id;
      h->ifindex = 0;
      h->next = s.free_head;
      s.free_head = idx;
      s.items.fetch_sub(1);
    }
    put_prog(prog);
    return 0;
  }

  // dev_map_hash_get_next_key: the next element of the key's bucket, else
  // the first of a later bucket; a missing key starts over.
  int get_next_key(Map& map, const void* key, void* next_key) const override {
    DevState& s = map.state<DevState>();
    std::lock_guard g(s.lock);
    uint32_t b = 0;
    if (key != nullptr) {
      const uint32_t k = load_u32(key);
      uint32_t* link = nullptr;
      if (const uint32_t idx = find(map, k, &link); idx != 0) {
        if (const uint32_t n = elem(map, idx)->next; n != 0) {
          memcpy(next_key, &elem(map, n)->key, 4);
          return 0;
        }
        b = (k & (s.n_buckets - 1)) + 1;
      }
    }
    for (; b < s.n_buckets; ++b) {
      if (const uint32_t head = bucket_at(map, b); head != 0) {
        memcpy(next_key, &elem(map, head)->key, 4);
        return 0;
      }
    }
    return -ENOENT;
  }

  void* prog_lookup(Map& map, const void* key) const override {
    DevState& s = map.state<DevState>();
    std::lock_guard g(s.lock);
    uint32_t* link = nullptr;
    const uint32_t idx = find(map, load_u32(key), &link);
    return idx != 0 ? &elem(map, idx)->ifindex : nullptr;
  }

 protected:
  uint64_t table_bytes(const Map& map) const override { return uint64_t{map.state<DevState>().n_buckets} * 8; }

 private:
  static uint32_t* bucket(const Map& map, uint32_t k) {
    return reinterpret_cast<uint32_t*>(map.data()) + (k & (map.state<DevState>().n_buckets - 1));
  }
  static uint32_t bucket_at(const Map& map, uint32_t b) { return reinterpret_cast<uint32_t*>(map.data())[b]; }
  static HashElem* elem(const Map& map, uint32_t idx) {
    return reinterpret_cast<HashElem*>(map.data() + uint64_t{map.state<DevState>().n_buckets} * 4) + (idx - 1);
  }
  // The element holding k (0: none), and the link that points at it.
  static uint32_t find(const Map& map, uint32_t k, uint32_t** link) {
    uint32_t* l = bucket(map, k);
    for (uint64_t steps = 0; *l != 0 && steps < map.attr().max_entries; ++steps) {
      if (elem(map, *l)->key == k) {
        *link = l;
        return *l;
      }
      l = &elem(map, *l)->next;
    }
    return 0;
  }
  static uint32_t alloc(const Map& map) {
    DevState& s = map.state<DevState>();
    if (s.free_head != 0) {
      const uint32_t idx = s.free_head;
      s.free_head = elem(map, idx)->next;
      return idx;
    }
    if (s.next_unused > map.attr().max_entries) return 0;
    return s.next_unused++;
  }
};

const DevMap kDevMap;
const DevMapHash kDevMapHash;

}  // namespace

const MapOps& kDevMapOps = kDevMap;
const MapOps& kDevMapHashOps = kDevMapHash;

void devmap_release(const emu::MapHeader& hdr, const uint8_t* data, uint64_t size) {
  // DEVMAP and CPUMAP slots alike: a u64 whose high half is the program id.
  if (hdr.attr.map_type == BPF_MAP_TYPE_DEVMAP || hdr.attr.map_type == BPF_MAP_TYPE_CPUMAP) {
    for (uint64_t i = 0; i < hdr.attr.max_entries && (i + 1) * 8 <= size; ++i) put_prog(load_u32(data + i * 8 + 4));
    return;
  }
  uint32_t n_buckets;
  memcpy(&n_buckets, hdr.family + offsetof(DevState, n_buckets), sizeof(n_buckets));
  const uint64_t elems = uint64_t{n_buckets} * 4;
  // Live elements have an ifindex; freed ones were zeroed.
  for (uint64_t i = 0; i < hdr.attr.max_entries && elems + (i + 1) * sizeof(HashElem) <= size; ++i) {
    HashElem h;
    memcpy(&h, data + elems + i * sizeof(HashElem), sizeof(h));
    if (h.ifindex != 0) put_prog(h.prog_id);
  }
}

}  // namespace bpfemu::maptypes
