#include "emu/graph.h"

#include <algorithm>
#include <cstdint>
#include <cerrno>
#include <map>
#include <mutex>
#include <set>
#include <tuple>
#include <vector>

#include "emu/local_obj.h"

namespace bpfemu::emu {
namespace {

struct Item {
  void* obj;
  uint32_t node_off;  // the bpf_list_node / bpf_rb_node in it
  uint8_t* node() const { return static_cast<uint8_t*>(obj) + node_off; }
};

using RootKey = std::tuple<const Store*, uint32_t, uint64_t>;

std::mutex g_mu;
std::map<RootKey, std::vector<Item>> g_roots;  // in list order, or the tree's in-order
// Nodes marked as in a root (the kernel's node->owner). A root that goes
// drops its objects but leaves their nodes marked, as the kernel does: an
// object that lives on (refcounted) cannot be pushed by that node again. The
// mark goes with the object's memory (graph_obj_freed).
std::set<std::pair<void*, uint32_t>> g_owned;

void drop_items(std::vector<Item> items) {
  for (const Item& i : items) (void)obj_drop(i.obj);
}

}  // namespace

void graph_free(const Store* store, uint32_t map_id, uint64_t field_off) {
  std::vector<Item> items;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    auto it = g_roots.find({store, map_id, field_off});
    if (it == g_roots.end()) return;
    items.swap(it->second);
    g_roots.erase(it);
  }
  drop_items(std::move(items));
}

void graphs_forget_map(const Store* store, uint32_t map_id) {
  std::vector<Item> items;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    auto it = g_roots.lower_bound({store, map_id, 0});
    while (it != g_roots.end() && std::get<0>(it->first) == store && std::get<1>(it->first) == map_id) {
      items.insert(items.end(), it->second.begin(), it->second.end());
      it = g_roots.erase(it);
    }
  }
  drop_items(std::move(items));
}

void graph_obj_freed(const void* obj) {
  std::lock_guard<std::mutex> lock(g_mu);
  auto it = g_owned.lower_bound({const_cast<void*>(obj), 0});
  while (it != g_owned.end() && it->first == obj) it = g_owned.erase(it);
}

void graph_unlock(RunEnv& env) {
  for (void* p : env.non_owning)
    if (std::find(env.held_objects.begin(), env.held_objects.end(), p) == env.held_objects.end()) env.memory.remove(p);
  env.non_owning.clear();
}

namespace interp {
namespace {

// The root a list or rbtree kfunc's R1 names: a list head or rbtree root of a
// value of the map whose bpf_spin_lock the program holds (the verifier's
// rules). False (a fault) otherwise.
bool root_arg(HelperCall& c, const char* fn, RootKey* key) {
  Map* m = c.env.held_lock_map;
  if (c.env.held_lock == nullptr || m == nullptr)
    return c.m.fault("%s: the root's bpf_spin_lock is not held (the verifier requires it)", fn);
  // The root must be a graph field of the very value whose lock is held.
  const ValueRecord& rec = m->attr().record;
  const auto root = c.a[0], lo = reinterpret_cast<uint64_t>(m->data());
  const auto value = reinterpret_cast<uint64_t>(c.env.held_lock) - rec.lock_off;
  bool is_root = false;
  for (uint32_t i = 0; i < rec.other_count; ++i)
    if ((rec.other_graphs & (1u << i)) && root == value + rec.other_offs[i]) is_root = true;
  if (!is_root || root < lo || root + 16 > lo + m->data_size())
    return c.m.fault("%s: R1 is not a list head or rbtree root of the value whose bpf_spin_lock is held", fn);
  *key = {m->store(), m->id(), root - lo};
  return true;
}

// A node (R2) of an object the run owns: the object and the node's offset in it.
bool owned_node(HelperCall& c, const char* fn, uint64_t node, Item* out) {
  uint32_t off = 0;
  void* obj = obj_containing(reinterpret_cast<void*>(node), &off);
  if (obj == nullptr || std::find(c.env.held_objects.begin(), c.env.held_objects.end(), obj) == c.env.held_objects.end())
    return c.m.fault("%s: the node is not in an object the program owns", fn);
  *out = {obj, off};
  return true;
}

// The program may touch a node it reached without owning it until it unlocks.
void reach(RunEnv& env, void* obj) {
  env.memory.add(obj, obj_size(obj), true);
  if (std::find(env.non_owning.begin(), env.non_owning.end(), obj) == env.non_owning.end())
    env.non_owning.push_back(obj);
}

// Hands the run's reference on the node's object to the root, at `pos` (past
// the end: last). A node in a root already: the reference is dropped and the
// push fails, as the kernel's.
void place(HelperCall& c, const Item& n, const RootKey& key, size_t pos, uint64_t* r0) {
  (void)run_release(c.env, n.obj);
  bool placed = false;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    if (g_owned.insert({n.obj, n.node_off}).second) {
      std::vector<Item>& root = g_roots[key];
      root.insert(root.begin() + static_cast<std::ptrdiff_t>(std::min(pos, root.size())), n);
      placed = true;
    }
  }
  if (!placed) {
    (void)obj_drop(n.obj);
    *r0 = static_cast<uint64_t>(-EINVAL);
    return;
  }
  reach(c.env, n.obj);
  *r0 = 0;
}

bool push(HelperCall& c, uint64_t* r0, bool back, const char* fn) {
  RootKey key;
  Item n;
  if (!root_arg(c, fn, &key) || !owned_node(c, fn, c.a[1], &n)) return false;
  place(c, n, key, back ? SIZE_MAX : 0, r0);
  return true;
}

// The first or last item's node, or 0: taken out of the root and owned by the
// run (take), or left there and only reached, not owned.
bool end_item(HelperCall& c, uint64_t* r0, bool back, bool take, const char* fn) {
  RootKey key;
  if (!root_arg(c, fn, &key)) return false;
  Item n{};
  {
    std::lock_guard<std::mutex> lock(g_mu);
    auto it = g_roots.find(key);
    if (it == g_roots.end() || it->second.empty()) {
      *r0 = 0;
      return true;
    }
    n = back ? it->second.back() : it->second.front();
    if (take) {
      it->second.erase(back ? it->second.end() - 1 : it->second.begin());
      g_owned.erase({n.obj, n.node_off});
    }
  }
  if (take)
    run_hold(c.env, n.obj, obj_size(n.obj));
  else
    reach(c.env, n.obj);
  *r0 = reinterpret_cast<uint64_t>(n.node());
  return true;
}

}  // namespace

bool list_push_front_impl(HelperCall& c, uint64_t* r0) { return push(c, r0, false, "bpf_list_push_front_impl"); }
bool list_push_back_impl(HelperCall& c, uint64_t* r0) { return push(c, r0, true, "bpf_list_push_back_impl"); }
bool list_pop_front(HelperCall& c, uint64_t* r0) { return end_item(c, r0, false, true, "bpf_list_pop_front"); }
bool list_pop_back(HelperCall& c, uint64_t* r0) { return end_item(c, r0, true, true, "bpf_list_pop_back"); }
bool list_front(HelperCall& c, uint64_t* r0) { return end_item(c, r0, false, false, "bpf_list_front"); }
bool list_back(HelperCall& c, uint64_t* r0) { return end_item(c, r0, true, false, "bpf_list_back"); }
bool rbtree_first(HelperCall& c, uint64_t* r0) { return end_item(c, r0, false, false, "bpf_rbtree_first"); }

// bpf_rbtree_add_impl(root, node, less, meta, off): the node goes after every
// node it is not less than (the kernel's descent: left when less(node, parent),
// else right), found by binary search with the program's less().
bool rbtree_add_impl(HelperCall& c, uint64_t* r0) {
  const char* fn = "bpf_rbtree_add_impl";
  RootKey key;
  Item n;
  if (!root_arg(c, fn, &key) || !owned_node(c, fn, c.a[1], &n)) return false;
  const int64_t less = c.m.func_arg(c.a[2]);
  if (less < 0) return c.m.fault("%s: R3 is not a callback of this program", fn);
  std::vector<Item> items;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    if (auto it = g_roots.find(key); it != g_roots.end()) items = it->second;
  }
  // The root's lock is held: no other run changes it meanwhile.
  size_t lo = 0, hi = items.size();
  while (lo < hi) {
    const size_t mid = (lo + hi) / 2;
    void* other = items[mid].obj;
    const bool added = c.env.memory.add(other, obj_size(other), true);
    uint64_t is_less = 0;
    const uint64_t args[5] = {reinterpret_cast<uint64_t>(n.node()), reinterpret_cast<uint64_t>(items[mid].node()), 0,
                              0, 0};
    const bool ok = c.m.call(static_cast<uint32_t>(less), args, &is_less);
    if (added) c.env.memory.remove(other);
    if (!ok) return false;
    if (is_less != 0) {  // the kernel tests the callback's whole r0
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  place(c, n, key, lo, r0);
  return true;
}

// bpf_rbtree_remove(root, node): the node's object, owned by the run, or 0
// when the node is not in this root.
bool rbtree_remove(HelperCall& c, uint64_t* r0) {
  RootKey key;
  if (!root_arg(c, "bpf_rbtree_remove", &key)) return false;
  uint32_t off = 0;
  void* obj = obj_containing(reinterpret_cast<void*>(c.a[1]), &off);
  {
    std::lock_guard<std::mutex> lock(g_mu);
    auto it = g_roots.find(key);
    auto item = it == g_roots.end() || obj == nullptr
                    ? std::vector<Item>::iterator{}
                    : std::find_if(it->second.begin(), it->second.end(),
                                   [&](const Item& i) { return i.obj == obj && i.node_off == off; });
    if (obj == nullptr || it == g_roots.end() || item == it->second.end()) {
      *r0 = 0;
      return true;
    }
    it->second.erase(item);
    g_owned.erase({obj, off});
  }
  run_hold(c.env, obj, obj_size(obj));
  *r0 = c.a[1];
  return true;
}

}  // namespace interp
}  // namespace bpfemu::emu
