// LRU_HASH and LRU_PERCPU_HASH: the hash table of hashtab.cc with its elements
// owned by the kernel's LRU algorithm (bpf_lru_list.cc) instead of a free stack.
//
// As in the kernel (htab_lru_map_*), an update takes a node from the LRU before
// it looks at the bucket — possibly evicting other keys, or even the key being
// updated — and only then checks BPF_NOEXIST/BPF_EXIST; a failed check returns
// the node but does not undo the eviction. A syscall lookup leaves the reference
// bit alone; program-side lookups set it, and so does replacing a key.
#include "core/cpu.h"
#include "core/faults.h"
#include "core/profile.h"
#include "core/value_lock.h"
#include "maptypes/bpf_lru_list.h"
#include "maptypes/families.h"
#include "maptypes/hashtab.h"

namespace bpfemu::maptypes {
namespace {

class HtabLruOps : public HtabOps {
 public:
  explicit HtabLruOps(bool percpu) : HtabOps(percpu, true) {}

  void* prog_lookup(Map& map, const void* key) const override { return find(map, key, true); }
  void* peek_value(Map& map, const void* key) const override { return find(map, key, false); }

 protected:
  // The value of key (the current CPU's), marking the element referenced
  // when a program looked it up.
  void* find(Map& map, const void* key, bool mark) const {
    Htab h(map);
    uint32_t hv = h.hash(key);
    uint32_t idx = 0;
    h.find_optimistic(h.bucket(hv), hv, key, [&](uint32_t i) { idx = i; });
    if (idx == 0) return nullptr;
    if (mark) BpfLru::set_ref(node(h, idx));
    return percpu_ ? h.value_of(idx, map.current_cpu()) : h.value_of(idx);
  }
  uint32_t lru_node_size() const override { return sizeof(LruNode); }
  uint64_t extra_size(const MapAttr& attr, uint32_t nr_cpus) const override {
    return BpfLru::footprint(nr_cpus, (attr.map_flags & BPF_F_NO_COMMON_LRU) != 0);
  }

  int init_extra(Map& map) const override {
    Htab h(map);
    const auto& st = h.state();
    BpfLru::Params p;
    p.nr_cpus = map.nr_cpus();
    p.percpu = (map.attr().map_flags & BPF_F_NO_COMMON_LRU) != 0;
    // The element's hash sits just before its LRU node (ElemHdr::hash).
    p.hash_offset = static_cast<int32_t>(offsetof(ElemHdr, hash)) - static_cast<int32_t>(st.lru_node_off);
    p.target_free = !map.profile().lru_scaled_target_free
                        ? BpfLru::kLocalFreeTarget
                        : BpfLru::target_free_for(map.attr().max_entries, map.nr_cpus());
    BpfLru* lru = BpfLru::init(h.extra(), p);
    if (lru == nullptr) return -ENOMEM;
    lru->populate(h.elems_base(), st.lru_node_off, static_cast<uint32_t>(st.elem_size),
                  static_cast<uint32_t>(st.capacity));
    return 0;
  }

  void release_elem(Map& map, uint32_t idx) const override {
    Htab h(map);
    lru(h)->push_free(node(h, idx));
  }

  int update_common(Map& map, const void* key, const void* value, uint64_t flags, bool all_cpus) const override {
    if (flags > BPF_EXIST) return -EINVAL;
    Htab h(map);
    auto& st = h.state();
    const uint32_t hv = h.hash(key);
    Bucket& b = h.bucket(hv);
    // Pop before taking the bucket lock: eviction locks other buckets.
    uint32_t fresh = 0;
    if (!percpu_ || flags != BPF_EXIST) {
      if (int fault = emu::fault_check(FaultSite::kElemAlloc); fault != 0) return fault;
      fresh = pop(map, h, hv, key);
      if (fresh == 0) return -ENOMEM;
      if (!percpu_) emu::value_copy_in(map.attr().record, h.value_of(fresh), value, map.attr().value_size, false);
    }
    uint32_t old = 0;
    int ret;
    {
      BucketWriteGuard g(h, b);
      old = h.find(b, hv, key);
      ret = check_flags(old, flags);
      if (ret == 0 && percpu_) {
        if (old != 0) {
          BpfLru::set_ref(node(h, old));
          h.copy_value_in(old, value, all_cpus);
        } else {
          h.init_percpu_value(fresh, value, all_cpus);
          h.link_head(b, fresh);
          fresh = 0;  // now owned by the table
        }
      } else if (ret == 0) {
        if (old != 0) BpfLru::set_ref(node(h, fresh));
        h.replace(b, fresh, old);
        if (old != 0) st.count.fetch_sub(1, std::memory_order_relaxed);
        fresh = 0;
      }
    }
    if (fresh != 0) {  // not used: give the node back
      st.count.fetch_sub(1, std::memory_order_relaxed);
      lru(h)->push_free(node(h, fresh));
    }
    if (ret == 0 && old != 0 && !percpu_) {
      emu::value_free_fields(map, h.value_of(old));  // the replaced element's timer goes
      lru(h)->push_free(node(h, old));
    }
    return ret;
  }

 private:
  static BpfLru* lru(const Htab& h) { return BpfLru::attach(h.extra()); }
  static LruNode* node(const Htab& h, uint32_t idx) {
    return reinterpret_cast<LruNode*>(h.elem(idx) + h.state().lru_node_off);
  }

  struct EvictCtx {
    Htab* h;
    Map* map;
  };

  // htab_lru_map_delete_node: unlink an eviction victim if it is still linked.
  static bool delete_node(void* arg, LruNode* n) {
    Htab& h = *static_cast<EvictCtx*>(arg)->h;
    uint32_t idx = h.index_of(n);
    Bucket& b = h.bucket(h.hdr(idx).hash);
    BucketWriteGuard g(h, b);
    if (!h.unlink(b, idx)) return false;
    h.state().count.fetch_sub(1, std::memory_order_relaxed);
    if (!h.state().percpu) emu::value_free_fields(*static_cast<EvictCtx*>(arg)->map, h.value_of(idx));  // evicted: its timer goes
    return true;
  }

  // prealloc_lru_pop: a node for `key`, with the key already written.
  uint32_t pop(Map& map, Htab& h, uint32_t hv, const void* key) const {
    EvictCtx ctx{&h, &map};
    LruNode* n = lru(h)->pop_free(hv, map.current_cpu(), &HtabLruOps::delete_node, &ctx);
    if (n == nullptr) return 0;
    uint32_t idx = h.index_of(n);
    h.state().count.fetch_add(1, std::memory_order_relaxed);
    memcpy(h.key_of(idx), key, map.attr().key_size);
    return idx;
  }
};

const HtabLruOps kLru(false);
const HtabLruOps kLruPercpu(true);

}  // namespace

const MapOps& kHtabLruOps = kLru;
const MapOps& kHtabLruPercpuOps = kLruPercpu;

}  // namespace bpfemu::maptypes
