// The kernel's BPF LRU algorithm; see bpf_lru_list.h for the model and invariants.
//
// The code follows kernel/bpf/bpf_lru_list.c of Linux 6.18 step for step, because
// which node gets evicted depends on every detail: where a node is inserted (always
// at a list's head), the direction of each scan (from the tail), scan limits, when
// the ref bit is cleared, and where the inactive-rotation cursor is left. Lists use
// boost::intrusive's circular_list_algorithms, which work on bare list_head-like
// links (a head is just a link), matching the kernel's list.h one to one.
#include "maptypes/bpf_lru_list.h"
#include "maptypes/bpf_lru_layout.h"

#include <atomic>
#include <cstring>
#include <new>

namespace bpfemu::maptypes {
namespace {

using namespace lru_detail;

// The list-manipulating half of the algorithm, for one op: the kernel's static
// helpers that take `struct bpf_lru *` for nr_scans and del_from_htab.
struct Walker {
  uint32_t nr_scans;
  BpfLru::DelFromHtab del;
  void* arg;
  std::atomic<uint64_t>* warnings;

  bool warn() const {
    warnings->fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  static void count_inc(LruListSet& l, uint8_t t) {
    if (t < kNrCounted) l.counts[t]++;
  }
  static void count_dec(LruListSet& l, uint8_t t) {
    if (t < kNrCounted) l.counts[t]--;
  }
  // Keeps the cursor on the inactive list when the node under it leaves: it steps
  // one node toward the head.
  static void step_cursor_off(LruListSet& l, LruNode* node) {
    if (l.next_inactive_rotation.get() == &node->link)
      l.next_inactive_rotation = l.next_inactive_rotation->prev.get();
  }

  // __bpf_lru_node_move_to_free: evicted or free node -> a free list. Keeps ref.
  // A node going to a CPU's local free list records that CPU (the kernel does not
  // need to), so that a repair knows which local list it belongs on; the type is
  // published after the CPU.
  void move_to_free(LruListSet& l, LruNode* node, LruLink* free_list, uint8_t free_type, int owner) const {
    if (is_local_type(type_of(node)) && warn()) return;
    step_cursor_off(l, node);
    count_dec(l, type_of(node));
    if (owner >= 0) node->cpu.store(static_cast<uint16_t>(owner), std::memory_order_relaxed);
    node->type.store(free_type, std::memory_order_release);
    emu::crash_point("lru.free.typed");
    list_move(&node->link, free_list);
  }

  // __bpf_lru_node_move_in: local pending node -> head of an LRU list, ref cleared.
  void move_in(LruListSet& l, LruNode* node, uint8_t tgt) const {
    if ((!is_local_type(type_of(node)) || is_local_type(tgt)) && warn()) return;
    count_inc(l, tgt);
    set_type(node, tgt);
    clear_ref(node);
    list_move(&node->link, &l.lists[tgt]);
  }

  // __bpf_lru_node_move: within/between active, inactive, free; to the head, ref cleared.
  void move(LruListSet& l, LruNode* node, uint8_t tgt) const {
    if ((is_local_type(type_of(node)) || is_local_type(tgt)) && warn()) return;
    if (type_of(node) != tgt) {
      count_dec(l, type_of(node));
      count_inc(l, tgt);
      set_type(node, tgt);
    }
    clear_ref(node);
    step_cursor_off(l, node);
    list_move(&node->link, &l.lists[tgt]);
  }

  // Active rotation, from the tail: referenced nodes go back to the active head,
  // the others to the inactive head. Stops after nr_scans nodes or after the node
  // that was first when the scan began (so rotated nodes are not seen twice).
  void rotate_active(LruListSet& l) const {
    LruLink* head = &l.lists[kActive];
    LruLink* first = head->next.get();
    uint32_t i = 0;
    for (LruLink *cur = head->prev.get(), *prev; cur != head; cur = prev) {
      prev = cur->prev.get();
      LruNode* node = node_of(cur);
      move(l, node, node->is_ref() ? kActive : kInactive);
      if (++i == nr_scans || cur == first) break;
    }
  }

  // Inactive rotation: walks toward the head from the cursor, wrapping past the list
  // head (which does not count as a scan), and promotes referenced nodes to active.
  // It stops after nr_scans nodes or at the node just after the cursor, and leaves
  // the cursor where the walk would continue.
  void rotate_inactive(LruListSet& l) const {
    LruLink* head = &l.lists[kInactive];
    if (list_empty(head)) return;
    LruLink* last = l.next_inactive_rotation->next.get();
    if (last == head) last = last->next.get();
    LruLink* cur = l.next_inactive_rotation.get();
    LruLink* next = head;
    uint32_t i = 0;
    while (i < nr_scans) {
      if (cur == head) {
        cur = cur->prev.get();
        continue;
      }
      LruNode* node = node_of(cur);
      next = cur->prev.get();
      if (node->is_ref()) move(l, node, kActive);
      if (cur == last) break;
      cur = next;
      i++;
    }
    l.next_inactive_rotation = next;
  }

  // __bpf_lru_list_rotate: active rotation only while inactive is the shorter list.
  void rotate(LruListSet& l) const {
    if (l.counts[kInactive] < l.counts[kActive]) rotate_active(l);
    rotate_inactive(l);
  }

  // From the inactive tail: referenced nodes are promoted (not freed); the others are
  // evicted from the table and moved to free_list, until tgt nodes are freed or
  // nr_scans nodes are looked at.
  uint32_t shrink_inactive(LruListSet& l, uint32_t tgt, LruLink* free_list, uint8_t free_type, int owner) const {
    LruLink* head = &l.lists[kInactive];
    uint32_t freed = 0, i = 0;
    for (LruLink *cur = head->prev.get(), *prev; cur != head; cur = prev) {
      prev = cur->prev.get();
      LruNode* node = node_of(cur);
      if (node->is_ref()) {
        move(l, node, kActive);
      } else if (del(arg, node)) {
        move_to_free(l, node, free_list, free_type, owner);
        if (++freed == tgt) break;
      }
      if (++i == nr_scans) break;
    }
    return freed;
  }

  // __bpf_lru_list_shrink: if the polite shrink frees nothing, evict the first
  // node (from the tail, ignoring ref) that the table lets go of, taking it from
  // inactive if that list is non-empty, else from active. Frees at most one then.
  // `owner`: the CPU whose local free list free_list is, or -1.
  uint32_t shrink(LruListSet& l, uint32_t tgt, LruLink* free_list, uint8_t free_type, int owner) const {
    uint32_t n = shrink_inactive(l, tgt, free_list, free_type, owner);
    if (n) return n;
    LruLink* force = !list_empty(&l.lists[kInactive]) ? &l.lists[kInactive] : &l.lists[kActive];
    for (LruLink *cur = force->prev.get(), *prev; cur != force; cur = prev) {
      prev = cur->prev.get();
      LruNode* node = node_of(cur);
      if (del(arg, node)) {
        move_to_free(l, node, free_list, free_type, owner);
        return 1;
      }
    }
    return 0;
  }

  // __local_list_flush: pending nodes, oldest first, to the head of active (if
  // referenced since pop) or inactive.
  void flush(LruListSet& l, LruLocalList& loc) const {
    LruLink* head = &loc.pending_list;
    for (LruLink *cur = head->prev.get(), *prev; cur != head; cur = prev) {
      prev = cur->prev.get();
      LruNode* node = node_of(cur);
      move_in(l, node, node->is_ref() ? kActive : kInactive);
      emu::crash_point("lru.flush.moving");
    }
  }

  // __local_list_pop_pending: steal the oldest pending node the table lets go of,
  // first among unreferenced nodes, then among all (asking again for nodes that
  // already refused in the first pass, as the kernel does).
  LruNode* pop_pending(LruLocalList& loc) const {
    LruLink* head = &loc.pending_list;
    for (bool force : {false, true}) {
      for (LruLink* cur = head->prev.get(); cur != head; cur = cur->prev.get()) {
        LruNode* node = node_of(cur);
        if ((!node->is_ref() || force) && del(arg, node)) {
          list_del(cur);
          set_type(node, kInTransit);
          return node;
        }
      }
    }
    return nullptr;
  }
};

// __local_list_pop_free: the head of the local free list, unlinked; its type stays
// kLocalFree until add_pending.
LruNode* local_pop_free(LruLocalList& loc) {
  if (list_empty(&loc.free_list)) return nullptr;
  LruLink* first = loc.free_list.next.get();
  list_del(first);
  return node_of(first);
}

void init_list_set(LruListSet* l) {
  new (l) LruListSet();
  for (LruLink& head : l->lists) Algo::init_header(&head);
  l->counts[0] = l->counts[1] = 0;
  l->next_inactive_rotation = &l->lists[kInactive];
}

}  // namespace

uint32_t BpfLru::target_free_for(uint32_t nr_elems, uint32_t nr_cpus) {
  if (nr_cpus == 0) nr_cpus = 1;
  uint32_t t = (nr_elems / nr_cpus) / 2;
  if (t < 1) t = 1;
  if (t > kLocalFreeTarget) t = kLocalFreeTarget;
  return t;
}

size_t BpfLru::footprint(uint32_t nr_cpus, bool percpu) {
  if (percpu) return header_bytes() + size_t{nr_cpus} * sizeof(LruListSet);
  return header_bytes() + sizeof(LruListSet) + size_t{nr_cpus} * sizeof(LruLocalList);
}

BpfLru* BpfLru::init(void* block, const Params& p) {
  if (!block || reinterpret_cast<uintptr_t>(block) % kAlign != 0) return nullptr;
  if (p.nr_cpus == 0 || p.nr_cpus > 65536) return nullptr;
  if (!p.percpu && p.target_free == 0) return nullptr;
  if (p.hash_offset != kNoHashSlot && p.hash_offset % 4 != 0) return nullptr;

  BpfLru* lru = new (block) BpfLru();
  lru->nr_cpus_ = p.nr_cpus;
  lru->percpu_ = p.percpu ? 1 : 0;
  lru->hash_offset_ = p.hash_offset;
  lru->target_free_ = p.percpu ? kPercpuFreeTarget : p.target_free;
  lru->nr_scans_ = p.percpu ? kPercpuNrScans : kLocalNrScans;
  if (p.percpu) {
    for (uint32_t cpu = 0; cpu < p.nr_cpus; cpu++) init_list_set(list_sets(lru) + cpu);
  } else {
    init_list_set(list_sets(lru));
    for (uint32_t cpu = 0; cpu < p.nr_cpus; cpu++) {
      LruLocalList* loc = new (local_lists(lru) + cpu) LruLocalList();
      Algo::init_header(&loc->free_list);
      Algo::init_header(&loc->pending_list);
      loc->next_steal.store(static_cast<uint16_t>(cpu), std::memory_order_relaxed);
    }
  }
  lru->magic_.store(kMagic, std::memory_order_release);
  return lru;
}

BpfLru* BpfLru::attach(void* block) {
  if (!block || reinterpret_cast<uintptr_t>(block) % kAlign != 0) return nullptr;
  BpfLru* lru = std::launder(reinterpret_cast<BpfLru*>(block));
  return lru->magic_.load(std::memory_order_acquire) == kMagic ? lru : nullptr;
}

void BpfLru::populate(void* buf, uint32_t node_offset, uint32_t elem_size, uint32_t nr_elems) {
  nodes_ = static_cast<char*>(buf);
  node_offset_ = node_offset;
  node_stride_ = elem_size;
  nr_nodes_ = nr_elems;
  auto node_at = [&](uint32_t i) {
    char* p = static_cast<char*>(buf) + size_t{i} * elem_size + node_offset;
    LruNode* node = new (p) LruNode();
    clear_ref(node);
    return node;
  };
  if (!percpu()) {
    LruListSet& l = *list_sets(this);
    SetGuard g(this, l, -1);
    for (uint32_t i = 0; i < nr_elems; i++) {
      LruNode* node = node_at(i);
      set_type(node, kFree);
      list_add(&node->link, &l.lists[kFree]);
    }
    return;
  }
  // Per-CPU: each CPU in turn gets nr_elems / nr_cpus nodes (the hash table rounds
  // max_entries to a multiple of nr_cpus, so none are left over).
  const uint32_t per_cpu = nr_elems / nr_cpus_;
  if (per_cpu == 0) {  // the kernel would divide by zero; its hash table prevents this
    warn();
    return;
  }
  uint32_t i = 0;
  for (uint32_t cpu = 0; cpu < nr_cpus_ && i < nr_elems; cpu++) {
    LruListSet& l = list_sets(this)[cpu];
    SetGuard g(this, l, static_cast<int>(cpu));
    do {
      LruNode* node = node_at(i);
      node->cpu.store(static_cast<uint16_t>(cpu), std::memory_order_relaxed);
      set_type(node, kFree);
      list_add(&node->link, &l.lists[kFree]);
      i++;
    } while (i < nr_elems && i % per_cpu != 0);
  }
}

void BpfLru::store_hash(LruNode* node, uint32_t hash) const {
  if (hash_offset_ == kNoHashSlot) return;
  auto* slot = reinterpret_cast<uint32_t*>(reinterpret_cast<char*>(node) + hash_offset_);
  std::atomic_ref<uint32_t>(*slot).store(hash, std::memory_order_relaxed);
}

LruNode* BpfLru::pop_free(uint32_t hash, int cpu, DelFromHtab del, void* arg) {
  if (cpu < 0 || static_cast<uint32_t>(cpu) >= nr_cpus_) {
    warn();
    return nullptr;
  }
  return percpu() ? percpu_pop_free(hash, cpu, del, arg) : common_pop_free(hash, cpu, del, arg);
}

// bpf_percpu_lru_pop_free: rotate on every call; shrink (batch 4) only when the free
// list is empty; the new node goes straight to the inactive head.
LruNode* BpfLru::percpu_pop_free(uint32_t hash, int cpu, DelFromHtab del, void* arg) {
  const Walker w{nr_scans_, del, arg, &warnings_};
  LruListSet& l = list_sets(this)[cpu];
  SetGuard g(this, l, cpu);
  w.rotate(l);
  LruLink* free_list = &l.lists[kFree];
  if (list_empty(free_list)) w.shrink(l, kPercpuFreeTarget, free_list, kFree, -1);
  if (list_empty(free_list)) return nullptr;
  LruNode* node = node_of(free_list->next.get());
  store_hash(node, hash);
  clear_ref(node);
  w.move(l, node, kInactive);
  return node;
}

// bpf_common_lru_pop_free.
LruNode* BpfLru::common_pop_free(uint32_t hash, int cpu, DelFromHtab del, void* arg) {
  const Walker w{nr_scans_, del, arg, &warnings_};
  LruLocalList* locals = local_lists(this);
  LruLocalList& loc = locals[cpu];

  // __local_list_add_pending: the node belongs to `cpu` from now on.
  auto add_pending = [&](LruNode* node) {
    store_hash(node, hash);
    node->cpu.store(static_cast<uint16_t>(cpu), std::memory_order_relaxed);
    node->type.store(kLocalPending, std::memory_order_release);  // after its CPU, for repairs
    clear_ref(node);
    list_add(&node->link, &loc.pending_list);
  };

  LruNode* node;
  {
    SetGuard g(this, loc, cpu);
    node = local_pop_free(loc);
    if (!node) {
      // bpf_lru_list_pop_free_to_local, under the local lock: flush this CPU's
      // pending nodes into the LRU, rotate, then refill target_free nodes from the
      // global free list, evicting for whatever is missing.
      LruListSet& l = *list_sets(this);
      SetGuard gl(this, l, -1);
      w.flush(l, loc);
      w.rotate(l);
      uint32_t nfree = 0;
      LruLink* gfree = &l.lists[kFree];
      for (LruLink *cur = gfree->next.get(), *next; cur != gfree; cur = next) {
        next = cur->next.get();
        w.move_to_free(l, node_of(cur), &loc.free_list, kLocalFree, cpu);
        if (++nfree == target_free_) break;
      }
      if (nfree < target_free_) w.shrink(l, target_free_ - nfree, &loc.free_list, kLocalFree, cpu);
    }
    if (!node) node = local_pop_free(loc);
    if (node) add_pending(node);
  }
  if (node) return node;

  // Nothing free and nothing evictable globally: steal one node from the local
  // free, else pending, list of the CPUs in turn, starting at this CPU's next_steal
  // (initially itself) and leaving next_steal just past where the search stopped.
  const uint32_t first_steal = loc.next_steal.load(std::memory_order_relaxed);
  uint32_t steal = first_steal;
  do {
    LruLocalList& victim = locals[steal];
    {
      SetGuard g(this, victim, static_cast<int>(steal));
      node = local_pop_free(victim);
      if (node) set_type(node, kInTransit);
      else
        node = w.pop_pending(victim);
    }
    if (node) emu::crash_point("lru.steal.taken");
    steal = (steal + 1) % nr_cpus_;  // get_next_cpu over a contiguous possible mask
  } while (!node && steal != first_steal);
  loc.next_steal.store(static_cast<uint16_t>(steal), std::memory_order_relaxed);

  if (node) {
    SetGuard g(this, loc, cpu);
    add_pending(node);
  }
  return node;
}

void BpfLru::push_free(LruNode* node) {
  const Walker w{nr_scans_, nullptr, nullptr, &warnings_};
  if (percpu()) {
    // bpf_percpu_lru_push_free: back to the owner's free list, whatever its state.
    const int owner = node->cpu.load(std::memory_order_relaxed);
    LruListSet& l = list_sets(this)[owner];
    SetGuard g(this, l, owner);
    w.move(l, node, kFree);
    return;
  }
  // bpf_common_lru_push_free. The type is read before any lock, like the kernel.
  const uint8_t t = type_of(node);
  if (t == kFree || t == kLocalFree) {
    warn();
    return;
  }
  if (t == kLocalPending) {
    const int owner = node->cpu.load(std::memory_order_relaxed);
    LruLocalList& loc = local_lists(this)[owner];
    SetGuard g(this, loc, owner);
    // A flush by that CPU may have moved the node into the LRU meanwhile; then it
    // is freed to the global list below.
    if (type_of(node) == kLocalPending) {
      set_type(node, kLocalFree);
      clear_ref(node);
      list_move(&node->link, &loc.free_list);
      return;
    }
  }
  // bpf_lru_list_push_free.
  if (is_local_type(type_of(node))) {
    warn();
    return;
  }
  LruListSet& l = *list_sets(this);
  SetGuard g(this, l, -1);
  w.move(l, node, kFree);
}

// --- introspection ---

std::vector<LruNode*> BpfLru::list_nodes(LruListType list, int cpu) {
  std::vector<LruNode*> out;
  const uint8_t t = static_cast<uint8_t>(list);
  auto collect = [&](LruLink* head) {
    for (LruLink* cur = head->next.get(); cur != head; cur = cur->next.get()) out.push_back(node_of(cur));
  };
  if (is_local_type(t)) {
    if (percpu() || cpu < 0 || static_cast<uint32_t>(cpu) >= nr_cpus_) return out;
    LruLocalList& loc = local_lists(this)[cpu];
    SetGuard g(this, loc, cpu);
    collect(t == kLocalFree ? &loc.free_list : &loc.pending_list);
    return out;
  }
  if (percpu() && (cpu < 0 || static_cast<uint32_t>(cpu) >= nr_cpus_)) return out;
  LruListSet& l = percpu() ? list_sets(this)[cpu] : *list_sets(this);
  SetGuard g(this, l, percpu() ? cpu : -1);
  collect(&l.lists[t]);
  return out;
}

uint32_t BpfLru::list_count(LruListType list, int cpu) {
  const uint8_t t = static_cast<uint8_t>(list);
  if (t >= kNrCounted) return 0;
  if (percpu() && (cpu < 0 || static_cast<uint32_t>(cpu) >= nr_cpus_)) return 0;
  LruListSet& l = percpu() ? list_sets(this)[cpu] : *list_sets(this);
  SetGuard g(this, l, percpu() ? cpu : -1);
  return l.counts[t];
}

LruNode* BpfLru::next_inactive_rotation(int cpu) {
  if (percpu() && (cpu < 0 || static_cast<uint32_t>(cpu) >= nr_cpus_)) return nullptr;
  LruListSet& l = percpu() ? list_sets(this)[cpu] : *list_sets(this);
  SetGuard g(this, l, percpu() ? cpu : -1);
  LruLink* at = l.next_inactive_rotation.get();
  return at == &l.lists[kInactive] ? nullptr : node_of(at);
}

int BpfLru::next_steal(int cpu) {
  if (percpu() || cpu < 0 || static_cast<uint32_t>(cpu) >= nr_cpus_) return -1;
  return local_lists(this)[cpu].next_steal.load(std::memory_order_relaxed);
}

}  // namespace bpfemu::maptypes
