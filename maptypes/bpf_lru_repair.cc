// Rebuilding the LRU's lists after a process died holding one of their locks.
//
// A dead holder may have left a list half-linked (a node unlinked from one list
// and not yet linked into the next, or a prev/next pair updated on one side only),
// the counts and the rotation cursor stale. Links cannot be trusted, but node types
// can: every op sets a node's type (and, for local lists, its CPU) before it links
// the node, and a node moves between two locks' lists only while both are held, so
// each list belongs to exactly the nodes whose type (and CPU) say so. The repair
// rebuilds the lists one lock guards from those nodes alone, keeping the order of
// what is still intact at the head of each old chain. Nodes in transit between
// CPUs (a dead thief's) stay on no list: they are lost to the map, never linked
// twice.
#include <cstdint>
#include <vector>

#include "maptypes/bpf_lru_layout.h"

namespace bpfemu::maptypes::lru_detail {
namespace {

// The nodes populate() laid out, addressed by index.
class NodeTable {
 public:
  NodeTable(char* base, uint32_t offset, uint32_t stride, uint32_t count)
      : first_(reinterpret_cast<uintptr_t>(base) + offset), stride_(stride), count_(base ? count : 0) {}

  uint32_t size() const { return count_; }
  LruNode* at(uint32_t i) const { return reinterpret_cast<LruNode*>(first_ + uintptr_t{i} * stride_); }
  // The index of the node at `link`, or -1 if `link` is not a node of this table.
  int64_t index_of(const LruLink* link) const {
    const auto a = reinterpret_cast<uintptr_t>(link);
    if (a < first_ || stride_ == 0) return -1;
    const uintptr_t d = a - first_;
    if (d % stride_ != 0 || d / stride_ >= count_) return -1;
    return static_cast<int64_t>(d / stride_);
  }

 private:
  uintptr_t first_;
  uint32_t stride_;
  uint32_t count_;
};

// Type and owning CPU as published by the op that last moved the node.
uint8_t published_type(const LruNode* n) { return n->type.load(std::memory_order_acquire); }
int owner_of(const LruNode* n) { return n->cpu.load(std::memory_order_relaxed); }

// Rebuilds the list at `head` from the nodes `belongs` accepts: first the intact
// prefix of the old chain (in order, stopping at the first link that is not such a
// node or was seen already), then the others in index order, at the tail.
template <class Belongs>
uint32_t rebuild(const NodeTable& t, LruLink* head, const Belongs& belongs, std::vector<bool>& placed) {
  std::vector<LruLink*> order;
  LruLink* cur = head->next.get();
  for (uint32_t steps = 0; cur != head && steps < t.size(); ++steps) {
    const int64_t i = t.index_of(cur);
    if (i < 0 || placed[i] || !belongs(t.at(static_cast<uint32_t>(i)))) break;
    placed[i] = true;
    order.push_back(cur);
    cur = cur->next.get();
  }
  for (uint32_t i = 0; i < t.size(); ++i) {
    if (placed[i] || !belongs(t.at(i))) continue;
    placed[i] = true;
    order.push_back(&t.at(i)->link);
  }
  Algo::init_header(head);
  for (LruLink* link : order) Algo::link_before(head, link);
  return static_cast<uint32_t>(order.size());
}

}  // namespace

void Repair::list_set(BpfLru* lru, LruListSet& l, int cpu) {
  const NodeTable t(lru->nodes_.get(), lru->node_offset_, lru->node_stride_, lru->nr_nodes_);
  std::vector<bool> placed(t.size(), false);
  auto in_set = [cpu](const LruNode* n) { return cpu < 0 || owner_of(n) == cpu; };
  for (uint8_t type : {kActive, kInactive, kFree}) {
    auto belongs = [&](const LruNode* n) { return published_type(n) == type && in_set(n); };
    const uint32_t n = rebuild(t, &l.lists[type], belongs, placed);
    if (type < kNrCounted) l.counts[type] = n;
  }
  // The cursor stays on its node if that node is still inactive here.
  const int64_t at = t.index_of(l.next_inactive_rotation.get());
  if (at < 0 || published_type(t.at(static_cast<uint32_t>(at))) != kInactive ||
      !in_set(t.at(static_cast<uint32_t>(at))))
    l.next_inactive_rotation = &l.lists[kInactive];
}

void Repair::local_list(BpfLru* lru, LruLocalList& loc, int cpu) {
  const NodeTable t(lru->nodes_.get(), lru->node_offset_, lru->node_stride_, lru->nr_nodes_);
  std::vector<bool> placed(t.size(), false);
  auto of_type = [cpu](uint8_t type) {
    return [cpu, type](const LruNode* n) { return published_type(n) == type && owner_of(n) == cpu; };
  };
  rebuild(t, &loc.free_list, of_type(kLocalFree), placed);
  rebuild(t, &loc.pending_list, of_type(kLocalPending), placed);
}

}  // namespace bpfemu::maptypes::lru_detail
