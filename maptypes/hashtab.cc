// HASH with BPF_F_ZERO_SEED, and PERCPU_HASH (LRU variants: see
// hashtab_lru.cc), after kernel/bpf/hashtab.c. Plain HASH maps with a random
// seed use the open-addressing layout of hashtab_flat.cc (variant_for below).
//
// Region layout: [buckets: n_buckets x Bucket][elements: capacity x elem_size].
// Elements are addressed by 1-based index (0 = none); a bucket chains elements
// through ElemHdr::next, newest first, exactly like the kernel's hlist, so
// get_next_key walks buckets and chains in the kernel's order. With
// BPF_F_ZERO_SEED the bucket of a key is the kernel's jhash(key, 0); otherwise
// XXH3 with a random seed (the kernel's order is random then too).
//
// Invariants: `count` equals the number of linked elements and never exceeds
// max_entries; an element is either linked in exactly one bucket, on the free
// stack, or beyond next_fresh (never used). All chain edits hold the bucket lock.
#include "maptypes/hashtab.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <random>
#include <vector>

#include "core/cpu.h"
#include "core/faults.h"
#include "core/profile.h"
#include "core/value_lock.h"
#include "maptypes/jhash.h"

namespace bpfemu::maptypes {

uint32_t Htab::hash(const void* key) const {
  if (st_.zero_seed) return jhash(key, m_.attr().key_size, 0);
  return static_cast<uint32_t>(XXH3_64bits_withSeed(key, m_.attr().key_size, st_.seed));
}

uint32_t Htab::find(const Bucket& b, uint32_t h, const void* key) const {
  for (uint32_t i = b.head.load(std::memory_order_acquire); i != 0; i = hdr(i).next.load(std::memory_order_relaxed)) {
    if (hdr(i).hash == h && keys_equal(key_of(i), key)) return i;
  }
  return 0;
}

void Htab::link_head(Bucket& b, uint32_t idx) const {
  hdr(idx).next.store(b.head.load(std::memory_order_relaxed), std::memory_order_relaxed);
  b.head.store(idx, std::memory_order_release);
}

bool Htab::unlink(Bucket& b, uint32_t idx) const {
  std::atomic<uint32_t>* link = &b.head;
  for (uint32_t i = link->load(std::memory_order_relaxed); i != 0; i = link->load(std::memory_order_relaxed)) {
    if (i == idx) {
      link->store(hdr(i).next.load(std::memory_order_relaxed), std::memory_order_release);
      return true;
    }
    link = &hdr(i).next;
  }
  return false;
}

uint32_t Htab::take_spare(uint32_t cpu) {
  if (st_.percpu || st_.lru) return 0;
  auto* slots = reinterpret_cast<SpareSlot*>(extra());
  return slots[cpu].idx.exchange(0, std::memory_order_acquire);
}

bool Htab::put_spare(uint32_t cpu, uint32_t idx) {
  if (st_.percpu || st_.lru) return false;
  auto* slots = reinterpret_cast<SpareSlot*>(extra());
  uint32_t empty = 0;
  return slots[cpu].idx.compare_exchange_strong(empty, idx, std::memory_order_release);
}

void Htab::replace(Bucket& b, uint32_t fresh, uint32_t old) const {
  if (old == 0) {
    link_head(b, fresh);
    return;
  }
  b.replacing.store(old, std::memory_order_relaxed);
  link_head(b, fresh);
  emu::crash_point("htab.replace.linked");
  unlink(b, old);
  b.replacing.store(0, std::memory_order_relaxed);
}

void Htab::repair_bucket(Bucket& b) const {
  // seq was left odd by the dead writer: make it even again (the guard then
  // makes it odd for us).
  uint32_t s = b.seq.load(std::memory_order_relaxed);
  b.seq.store(s + (s & 1), std::memory_order_relaxed);
  // Killed between linking a replacement and unlinking the element it replaces:
  // if the head now holds the same key, the update was committed — finish it.
  // The dead writer's element is not returned to the pool (a small leak within
  // the spare elements) because the pool's state for it is unknown.
  uint32_t old = b.replacing.load(std::memory_order_relaxed);
  uint32_t first = b.head.load(std::memory_order_relaxed);
  if (old != 0 && first != 0 && first != old && first <= st_.capacity && old <= st_.capacity &&
      keys_equal(key_of(first), key_of(old))) {
    unlink(b, old);
  }
  b.replacing.store(0, std::memory_order_relaxed);
}

uint32_t Htab::fresh_elem() {
  uint32_t fresh = st_.next_fresh.load(std::memory_order_relaxed);
  while (fresh <= st_.capacity) {
    if (st_.next_fresh.compare_exchange_weak(fresh, fresh + 1, std::memory_order_relaxed)) return fresh;
  }
  return 0;
}

uint32_t Htab::alloc_elem() {
  if (st_.pcpu_freelist) {
    // The current CPU's list first, then the others in CPU order, wrapping.
    const uint32_t ncpus = m_.nr_cpus();
    const uint32_t start = m_.current_cpu();
    for (uint32_t n = 0; n < ncpus; ++n) {
      PcpuFreeList& l = pcpu_list((start + n) % ncpus);
      emu::SpinGuard g(l.lock);
      if (l.head != 0) {
        uint32_t idx = l.head;
        l.head = hdr(idx).next.load(std::memory_order_relaxed);
        return idx;
      }
      if (l.fresh_left != 0) {
        --l.fresh_left;
        return fresh_elem();
      }
    }
    return 0;
  }
  uint64_t head = st_.free_head.load(std::memory_order_acquire);
  while (static_cast<uint32_t>(head) != 0) {
    uint32_t idx = static_cast<uint32_t>(head);
    uint32_t next = hdr(idx).next.load(std::memory_order_relaxed);
    uint64_t replacement = (((head >> 32) + 1) << 32) | next;
    if (st_.free_head.compare_exchange_weak(head, replacement, std::memory_order_acq_rel)) return idx;
  }
  return fresh_elem();
}

void Htab::free_elem(uint32_t idx) {
  if (st_.pcpu_freelist) {
    PcpuFreeList& l = pcpu_list(m_.current_cpu());
    emu::SpinGuard g(l.lock);
    hdr(idx).next.store(l.head, std::memory_order_relaxed);
    l.head = idx;
    return;
  }
  uint64_t head = st_.free_head.load(std::memory_order_relaxed);
  for (;;) {
    hdr(idx).next.store(static_cast<uint32_t>(head), std::memory_order_relaxed);
    uint64_t replacement = (((head >> 32) + 1) << 32) | idx;
    if (st_.free_head.compare_exchange_weak(head, replacement, std::memory_order_acq_rel)) return;
  }
}

void Htab::copy_value_in(uint32_t idx, const void* value, bool all_cpus) {
  const uint32_t vs = m_.attr().value_size;
  if (!st_.percpu) {
    emu::value_copy_in(m_.attr().record, value_of(idx), value, vs, false);
    return;
  }
  const auto* src = static_cast<const uint8_t*>(value);
  if (all_cpus) {  // syscall side: round_up(value_size, 8) bytes per possible CPU
    for (uint32_t cpu = 0; cpu < m_.nr_cpus(); ++cpu)
      emu::value_copy_in(m_.attr().record, value_of(idx, cpu), src + cpu * st_.stride, st_.stride, false);
    return;
  }
  emu::value_copy_in(m_.attr().record, value_of(idx, m_.current_cpu()), src, vs, false);
}

void Htab::init_percpu_value(uint32_t idx, const void* value, bool all_cpus) {
  if (!all_cpus) {
    // A new element from a program has only the current CPU's slot set. 6.18
    // clears value_size bytes per CPU, so a reused element's padding keeps what
    // an earlier syscall update put there; 6.1 clears the whole slot.
    const uint32_t clear = st_.prog_init_zeroes_padding ? st_.stride : m_.attr().value_size;
    for (uint32_t cpu = 0; cpu < m_.nr_cpus(); ++cpu) memset(value_of(idx, cpu), 0, clear);
  }
  copy_value_in(idx, value, all_cpus);
}

void Htab::copy_value_out(uint32_t idx, void* out, bool locked) const {
  if (!st_.percpu) {
    emu::value_copy_out(m_.attr().record, out, value_of(idx), m_.attr().value_size, locked);
    return;
  }
  auto* dst = static_cast<uint8_t*>(out);
  // Each CPU's slot with its padding, special fields (kptrs) read as zero.
  for (uint32_t cpu = 0; cpu < m_.nr_cpus(); ++cpu)
    emu::value_copy_out(m_.attr().record, dst + cpu * st_.stride, value_of(idx, cpu), st_.stride, false);
}

namespace {

// struct htab_elem in the kernel: hash node, lru node/pointer, hash, then the key.
constexpr uint64_t kKernelElemHeader = 48;
// KMALLOC_MAX_SIZE with 4 KiB pages and MAX_PAGE_ORDER 10.
constexpr uint64_t kKmallocMax = uint64_t{1} << 22;
// PCPU_MIN_UNIT_SIZE.
constexpr uint32_t kPcpuMinUnit = 32 << 10;
constexpr uint32_t kHtabCreateFlags = BPF_F_NO_PREALLOC | BPF_F_NO_COMMON_LRU | BPF_F_NUMA_NODE | BPF_F_RDONLY |
                                      BPF_F_WRONLY | BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG | BPF_F_ZERO_SEED;

}  // namespace

uint32_t roundup_pow_of_two(uint32_t v) {
  uint32_t p = 1;
  while (p < v) p <<= 1;
  return p;
}

bool access_flags_ok(uint32_t flags) {
  return (flags & (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG)) != (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG);
}

int HtabOps::alloc_check(MapAttr& attr, const CreateEnv& env) const {
  const bool prealloc = !(attr.map_flags & BPF_F_NO_PREALLOC);
  const bool percpu_lru = attr.map_flags & BPF_F_NO_COMMON_LRU;
  if ((attr.map_flags & ~kHtabCreateFlags) || !access_flags_ok(attr.map_flags)) return -EINVAL;
  if (!lru_ && percpu_lru) return -EINVAL;
  if (lru_ && !prealloc) return -kENOTSUPP;
  if ((attr.map_flags & BPF_F_NUMA_NODE) && (percpu_ || percpu_lru)) return -EINVAL;
  if (attr.max_entries == 0 || attr.key_size == 0 || attr.value_size == 0) return -EINVAL;
  if (uint64_t{attr.key_size} + attr.value_size >= kKmallocMax - kKernelElemHeader) return -E2BIG;
  if (percpu_ && emu::round_up8(attr.value_size) > kPcpuMinUnit) return -E2BIG;
  if (lru_ && percpu_lru) {
    // Each CPU's list gets the same number of elements, at least one.
    uint64_t n = env.nr_cpus;
    uint64_t up = (attr.max_entries + n - 1) / n * n;
    attr.max_entries = up > UINT32_MAX ? static_cast<uint32_t>(attr.max_entries / n * n) : static_cast<uint32_t>(up);
  }
  if (attr.max_entries > (1U << 31)) return -E2BIG;
  if (roundup_pow_of_two(attr.max_entries) > UINT32_MAX / 16) return -E2BIG;
  return 0;
}

HtabLayout HtabOps::layout(const MapAttr& attr, uint32_t nr_cpus) const {
  HtabLayout l{};
  l.n_buckets = roundup_pow_of_two(attr.max_entries);
  l.stride = emu::round_up8(attr.value_size);
  uint64_t lru_node = lru_ ? lru_node_size() : 0;
  l.lru_node_off = sizeof(ElemHdr);
  l.key_off = static_cast<uint32_t>(sizeof(ElemHdr) + lru_node);
  l.value_off = l.key_off + emu::round_up8(attr.key_size);
  uint64_t values = percpu_ ? uint64_t{l.stride} * nr_cpus : l.stride;
  l.elem_size = l.value_off + values;
  // Spare elements let an update of an existing key build the new element before
  // the old one is unlinked, like the kernel's extra_elems. LRU maps have none:
  // every element is on the LRU lists.
  l.capacity = lru_ ? uint64_t{attr.max_entries} : uint64_t{attr.max_entries} + nr_cpus + 64;
  l.buckets_off = 0;
  l.elems_off = (uint64_t{l.n_buckets} * sizeof(Bucket) + 63) & ~uint64_t{63};
  l.extra_off = l.elems_off + l.capacity * l.elem_size;
  l.extra_off = (l.extra_off + 63) & ~uint64_t{63};
  l.total = l.extra_off + extra_size(attr, nr_cpus);
  return l;
}

bool HtabOps::kernel_allocation_fits(const MapAttr& attr, const CreateEnv& env) const {
  // The kernel allocates the buckets always and the elements when preallocating.
  const uint64_t stride = emu::round_up8(attr.value_size);
  uint64_t eager = uint64_t{roundup_pow_of_two(attr.max_entries)} * 16;
  if (!(attr.map_flags & BPF_F_NO_PREALLOC)) {
    uint64_t kelem = kKernelElemHeader + emu::round_up8(attr.key_size) + (percpu_ ? 8 : stride);
    eager += kelem * attr.max_entries;
    if (percpu_) eager += stride * env.nr_cpus * attr.max_entries;
  }
  return emu::fits_in_memory(eager);
}

int64_t HtabOps::data_size(const MapAttr& attr, const CreateEnv& env) const {
  HtabLayout l = layout(attr, env.nr_cpus);
  if (l.capacity > UINT32_MAX - 1) return -E2BIG;
  if (!kernel_allocation_fits(attr, env)) return -ENOMEM;
  return static_cast<int64_t>(l.total);
}

const MapOps& HtabOps::variant_for(const MapAttr& attr) const {
  // A random seed makes the kernel's element order unpredictable, so plain HASH
  // maps can use the faster open-addressing layout (hashtab_flat.cc).
  // Values with lock words keep the chained layout: an update replaces the
  // element (as the kernel's does) and BPF_F_LOCK rewrites it in place.
  if (!percpu_ && !lru_ && !(attr.map_flags & BPF_F_ZERO_SEED) && !attr.record.has_fields()) return flat_htab_ops();
  return *this;
}

int HtabOps::init(Map& map) const {
  auto& st = map.state<HtabState>();
  static_cast<HtabLayout&>(st) = layout(map.attr(), map.nr_cpus());
  st.percpu = percpu_;
  st.lru = lru_;
  st.zero_seed = (map.attr().map_flags & BPF_F_ZERO_SEED) != 0;
  st.seed = st.zero_seed ? 0 : static_cast<uint32_t>(std::random_device{}());
  st.pcpu_freelist = percpu_ && !lru_ && !(map.attr().map_flags & BPF_F_NO_PREALLOC);
  st.prog_init_zeroes_padding = map.profile().prog_percpu_init_zeroes_padding;
  st.next_fresh.store(1);
  return init_extra(map);
}

uint64_t HtabOps::extra_size(const MapAttr& attr, uint32_t nr_cpus) const {
  if (lru_) return 0;
  bool pcpu_freelist = percpu_ && !(attr.map_flags & BPF_F_NO_PREALLOC);
  if (pcpu_freelist) return uint64_t{nr_cpus} * sizeof(PcpuFreeList);
  return percpu_ ? 0 : uint64_t{nr_cpus} * sizeof(SpareSlot);
}

int HtabOps::init_extra(Map& map) const {
  Htab h(map);
  if (!h.state().pcpu_freelist) return 0;
  // pcpu_freelist_populate: max_entries / nr_cpus + 1 elements per CPU in CPU
  // order, the last CPUs getting what is left.
  const uint32_t n = map.attr().max_entries;
  const uint32_t per_cpu = n / map.nr_cpus() + 1;
  uint32_t left = n;
  for (uint32_t cpu = 0; cpu < map.nr_cpus(); ++cpu) {
    auto* l = new (h.extra() + cpu * sizeof(PcpuFreeList)) PcpuFreeList();
    l->fresh_left = std::min(per_cpu, left);
    left -= l->fresh_left;
  }
  return 0;
}

uint32_t HtabOps::sys_value_size(const Map& map) const {
  return percpu_ ? emu::round_up8(map.attr().value_size) * map.nr_cpus() : map.attr().value_size;
}

int HtabOps::lookup(Map& map, const void* key, void* value, uint64_t flags) const {
  Htab h(map);
  uint32_t hv = h.hash(key);
  const bool locked = (flags & BPF_F_LOCK) != 0;
  bool found = h.find_optimistic(h.bucket(hv), hv, key, [&](uint32_t idx) { h.copy_value_out(idx, value, locked); });
  return found ? 0 : -ENOENT;
}

int HtabOps::check_flags(uint32_t old_idx, uint64_t flags) {
  uint64_t f = flags & ~uint64_t{BPF_F_LOCK};
  if (old_idx != 0 && f == BPF_NOEXIST) return -EEXIST;
  if (old_idx == 0 && f == BPF_EXIST) return -ENOENT;
  return 0;
}

int HtabOps::update_common(Map& map, const void* key, const void* value, uint64_t flags, bool all_cpus) const {
  if (percpu_ ? flags > BPF_EXIST : (flags & ~uint64_t{BPF_F_LOCK}) > BPF_EXIST) return -EINVAL;
  if ((flags & BPF_F_LOCK) && !has_spin_lock(map)) return -EINVAL;
  Htab h(map);
  auto& st = h.state();
  uint32_t hv = h.hash(key);
  Bucket& b = h.bucket(hv);
  BucketWriteGuard g(h, b);
  uint32_t old = h.find(b, hv, key);
  if (int err = check_flags(old, flags); err != 0) return err;
  if (old != 0 && (flags & BPF_F_LOCK)) {
    // copy_map_value_locked: the element stays, its value is rewritten under its lock.
    emu::value_copy_in(map.attr().record, h.value_of(old), value, map.attr().value_size, true);
    return 0;
  }
  if (old != 0 && percpu_) {  // per-CPU values are updated in place
    h.copy_value_in(old, value, all_cpus);
    return 0;
  }
  if (old == 0 && st.count.fetch_add(1, std::memory_order_relaxed) >= map.attr().max_entries) {
    st.count.fetch_sub(1, std::memory_order_relaxed);
    return -E2BIG;
  }
  const int fault = old == 0 ? emu::fault_check(FaultSite::kElemAlloc) : 0;
  // Replacing a key takes this CPU's spare element (the kernel's extra_elems),
  // so updates of existing keys do not all meet on the shared free stack.
  const uint32_t cpu = old != 0 ? map.current_cpu() : 0;
  uint32_t idx = fault != 0 ? 0 : (old != 0 ? h.take_spare(cpu) : 0);
  if (idx == 0 && fault == 0) idx = h.alloc_elem();
  if (idx == 0) {
    if (old == 0) st.count.fetch_sub(1, std::memory_order_relaxed);
    return fault != 0 ? fault : -ENOMEM;
  }
  h.hdr(idx).hash = hv;
  memcpy(h.key_of(idx), key, map.attr().key_size);
  if (percpu_) {
    h.init_percpu_value(idx, value, all_cpus);
  } else {
    h.copy_value_in(idx, value, all_cpus);
  }
  // New element goes to the head, then the old one is dropped: an update moves
  // the key to the front of its bucket, as in the kernel.
  h.replace(b, idx, old);
  if (old != 0) free_value(map, h.value_of(old));  // the replaced element's timer goes
  if (old != 0 && !h.put_spare(cpu, old)) h.free_elem(old);
  return 0;
}

int HtabOps::update(Map& map, const void* key, const void* value, uint64_t flags) const {
  return update_common(map, key, value, flags, true);
}

int HtabOps::remove_key(Map& map, const void* key, void* value_out, bool locked) const {
  Htab h(map);
  uint32_t hv = h.hash(key);
  Bucket& b = h.bucket(hv);
  uint32_t idx;
  {
    BucketWriteGuard g(h, b);
    idx = h.find(b, hv, key);
    if (idx == 0) return -ENOENT;
    if (value_out != nullptr) h.copy_value_out(idx, value_out, locked);
    h.unlink(b, idx);
    h.state().count.fetch_sub(1, std::memory_order_relaxed);
  }
  if (!percpu_) free_value(map, h.value_of(idx));
  release_elem(map, idx);  // after the bucket lock: the LRU takes its own locks
  return 0;
}

int HtabOps::delete_elem(Map& map, const void* key) const { return remove_key(map, key, nullptr); }

int HtabOps::lookup_and_delete(Map& map, const void* key, void* value, uint64_t flags) const {
  return remove_key(map, key, value, (flags & BPF_F_LOCK) != 0);
}

int HtabOps::get_next_key(Map& map, const void* key, void* next_key) const {
  Htab h(map);
  const uint32_t ks = map.attr().key_size;
  const uint32_t n = h.state().n_buckets;
  uint32_t i = 0;
  if (key != nullptr) {
    uint32_t hv = h.hash(key);
    Bucket& b = h.bucket(hv);
    BucketReadGuard g(h, b);
    uint32_t idx = h.find(b, hv, key);
    if (idx != 0) {
      uint32_t next = h.hdr(idx).next.load(std::memory_order_relaxed);
      if (next != 0) {
        memcpy(next_key, h.key_of(next), ks);
        return 0;
      }
      i = (hv & (n - 1)) + 1;
    }
  }
  for (; i < n; ++i) {
    Bucket& b = h.bucket_at(i);
    if (b.head.load(std::memory_order_acquire) == 0) continue;
    BucketReadGuard g(h, b);
    uint32_t first = b.head.load(std::memory_order_relaxed);
    if (first != 0) {
      memcpy(next_key, h.key_of(first), ks);
      return 0;
    }
  }
  return -ENOENT;
}

void HtabOps::free_value(Map& map, uint8_t* value) const { emu::value_free_fields(map, value); }

uint64_t HtabOps::mem_usage(const Map& map) const {
  const MapAttr& a = map.attr();
  const KernelProfile& p = map.profile();
  const uint64_t ncpus = map.nr_cpus();
  const uint64_t value_size = emu::round_up8(a.value_size);
  // htab_map_mem_usage.
  const bool prealloc = !(a.map_flags & BPF_F_NO_PREALLOC);
  const KernelStructSizes sizes = struct_sizes(p);
  const uint64_t elem_size = sizes.htab_elem + emu::round_up8(a.key_size) + (percpu_ ? 8 : value_size);
  uint64_t usage = sizes.bpf_htab;
  usage += 16 * uint64_t{roundup_pow_of_two(a.max_entries)};  // struct bucket
  usage += sizeof(int) * ncpus * 8;                          // HASHTAB_MAP_LOCK_COUNT
  if (prealloc) {
    uint64_t entries = a.max_entries;
    if (!percpu_ && !lru_) entries += ncpus;  // the per-CPU extra elements
    usage += elem_size * entries;
    if (percpu_) {
      usage += value_size * ncpus * entries;
    } else if (!lru_) {
      usage += sizeof(void*) * ncpus;
    }
  } else {
    const uint64_t entries = live_count(map);
    constexpr uint64_t kLlistNode = 8;
    usage += (elem_size + kLlistNode) * entries;
    if (percpu_) {
      usage += (kLlistNode + sizeof(void*)) * entries;
      usage += value_size * ncpus * entries;
    }
  }
  return usage;
}

uint32_t HtabOps::live_count(const Map& map) const { return map.state<HtabState>().count.load(); }

void* HtabOps::prog_lookup_percpu(Map& map, const void* key, uint32_t cpu) const {
  if (!percpu_ || cpu >= map.nr_cpus()) return nullptr;
  Htab h(map);
  uint32_t hv = h.hash(key);
  uint32_t found = 0;
  h.find_optimistic(h.bucket(hv), hv, key, [&](uint32_t idx) { found = idx; });
  return found != 0 ? h.value_of(found, cpu) : nullptr;
}

const uint8_t* HtabOps::value_containing(const Map& map, const void* p) const {
  Htab h(const_cast<Map&>(map));
  const HtabState& st = h.state();
  const auto* at = static_cast<const uint8_t*>(p);
  if (st.percpu || at < h.elems_base() || at >= h.elems_base() + st.capacity * st.elem_size) return nullptr;
  const uint8_t* value = h.value_of(h.index_of(p));
  return at >= value && at - value < map.attr().value_size ? value : nullptr;
}

void* HtabOps::prog_lookup(Map& map, const void* key) const {
  Htab h(map);
  uint32_t hv = h.hash(key);
  uint32_t found = 0;
  h.find_optimistic(h.bucket(hv), hv, key, [&](uint32_t idx) { found = idx; });
  if (found == 0) return nullptr;
  return percpu_ ? h.value_of(found, map.current_cpu()) : h.value_of(found);
}

long HtabOps::prog_update(Map& map, const void* key, const void* value, uint64_t flags) const {
  return update_common(map, key, value, flags, false);
}

long HtabOps::prog_delete(Map& map, const void* key) const { return delete_elem(map, key); }

long HtabOps::for_each(Map& map, ForEachCallback cb, void* ctx, uint64_t flags) const {
  if (flags != 0) return -EINVAL;
  Htab h(map);
  long visited = 0;
  std::vector<uint32_t> chain;
  const uint32_t cpu = map.current_cpu();
  for (uint32_t i = 0; i < h.state().n_buckets; ++i) {
    Bucket& b = h.bucket_at(i);
    chain.clear();
    {
      // Snapshot the chain: the callback may update or delete in this bucket.
      BucketReadGuard g(h, b);
      for (uint32_t e = b.head.load(std::memory_order_relaxed); e != 0; e = h.hdr(e).next.load(std::memory_order_relaxed))
        chain.push_back(e);
    }
    for (uint32_t e : chain) {
      ++visited;
      void* v = percpu_ ? h.value_of(e, cpu) : h.value_of(e);
      if (cb(map, h.key_of(e), v, ctx) != 0) return visited;
    }
  }
  return visited;
}

namespace {
const HtabOps kHash(false, false);
const HtabOps kPercpuHash(true, false);
}  // namespace

const MapOps& kHtabOps = kHash;
const MapOps& kHtabPercpuOps = kPercpuHash;

}  // namespace bpfemu::maptypes
