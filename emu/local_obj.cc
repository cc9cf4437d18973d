#include "emu/local_obj.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <tuple>

#include "core/libbpf_btf.h"
#include "core/value_lock.h"
#include "emu/btf.h"
#include "emu/graph.h"
#include "emu/interpreter.h"
#include "emu/objects.h"
#include "emu/timer.h"

namespace bpfemu::emu {
namespace {

struct Entry {
  std::shared_ptr<const ObjType> type;
  uint32_t refs;
};

// Where a map holds an object: the map and the field's offset in its data
// area (not its address, which differs between this process's views).
using StashKey = std::tuple<const Store*, uint32_t, uint64_t>;

std::mutex g_mu;
std::map<const void*, Entry, std::less<>> g_objs;  // ordered: found by interior pointers too
std::map<StashKey, void*> g_stashed;
std::map<std::tuple<const Store*, uint32_t, uint32_t>, std::shared_ptr<const ObjType>> g_types;

// Caller holds g_mu. Drops one reference; the objects to free go to *out
// (freed by the caller once g_mu is released: freeing may drop more).
bool drop_locked(void* p, std::vector<std::pair<void*, std::shared_ptr<const ObjType>>>* out) {
  auto it = g_objs.find(p);
  if (it == g_objs.end()) return false;
  if (--it->second.refs == 0) {
    out->emplace_back(p, std::move(it->second.type));
    g_objs.erase(it);
  }
  return true;
}

// Frees objects whose last reference went, with what their own kptr fields
// hold (bpf_obj_free_fields on the object).
void free_all(std::vector<std::pair<void*, std::shared_ptr<const ObjType>>> todo) {
  while (!todo.empty()) {
    auto [p, type] = std::move(todo.back());
    todo.pop_back();
    {
      std::lock_guard<std::mutex> lock(g_mu);
      for (uint32_t off : type->kptr_offs) {
        void* inner = nullptr;
        memcpy(&inner, static_cast<uint8_t*>(p) + off, sizeof(inner));
        if (inner != nullptr) (void)drop_locked(inner, &todo);
      }
    }
    graph_obj_freed(p);
    free(p);
  }
}

// The value free hook (core/value_lock.h): a value leaves its map, its timer
// and the objects its kptr fields hold go with it.
void free_value_fields(const Map& map, void* value) {
  const ValueRecord& rec = map.attr().record;
  if (rec.has_timer()) timer_free(map, value);
  for (uint32_t i = 0; i < rec.other_count; ++i)
    if (rec.other_wqs & (1u << i)) wq_free(static_cast<uint8_t*>(value) + rec.other_offs[i]);
  for (uint32_t i = 0; i < rec.other_count; ++i)
    if (rec.other_graphs & (1u << i))
      graph_free(map.store(), map.id(), static_cast<uint8_t*>(value) + rec.other_offs[i] - map.data());
  if (rec.other_kptrs == 0) return;
  std::vector<std::pair<void*, std::shared_ptr<const ObjType>>> todo;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    for (uint32_t i = 0; i < rec.other_count; ++i) {
      if (!(rec.other_kptrs & (1u << i))) continue;
      auto* field = static_cast<uint8_t*>(value) + rec.other_offs[i];
      __atomic_store_n(reinterpret_cast<uint64_t*>(field), uint64_t{0}, __ATOMIC_RELAXED);
      auto it = g_stashed.find({map.store(), map.id(), static_cast<uint64_t>(field - map.data())});
      if (it == g_stashed.end()) continue;
      (void)drop_locked(it->second, &todo);
      g_stashed.erase(it);
    }
  }
  free_all(std::move(todo));
}

struct HookInstaller {
  HookInstaller() { set_value_free_hook(&free_value_fields); }
};
HookInstaller g_hook_installer;

}  // namespace

std::shared_ptr<const ObjType> obj_type(Store& store, uint32_t btf_id, uint32_t type_id) {
  const std::tuple<const Store*, uint32_t, uint32_t> key{&store, btf_id, type_id};
  {
    std::lock_guard<std::mutex> lock(g_mu);
    if (auto it = g_types.find(key); it != g_types.end()) return it->second;
  }
  const LibbpfBtf* lib = libbpf_btf();
  int err = 0;
  Object* obj = lib != nullptr ? view_of(store, ObjKind::kBtf, btf_id, &err) : nullptr;
  if (obj == nullptr) return nullptr;
  const auto& btf = *static_cast<const Btf*>(obj);
  BtfHandle parsed(*lib, lib->from_raw(btf.blob(), btf.size()));
  const btf_type* t = parsed.get() != nullptr ? lib->type_by_id(parsed.get(), type_id) : nullptr;
  if (t == nullptr || BTF_INFO_KIND(t->info) != BTF_KIND_STRUCT) return nullptr;
  auto type = std::make_shared<ObjType>();
  type->size = t->size;
  BtfFields fields;
  if (find_value_fields(*lib, parsed.get(), type_id, true, &fields) == 0) {
    type->refcounted = (fields.mask & kFieldRefcount) != 0;
    type->kptr_offs = fields.offs_of(kFieldKptrRef);
  }
  std::lock_guard<std::mutex> lock(g_mu);
  return g_types.try_emplace(key, std::move(type)).first->second;
}

void* obj_new(std::shared_ptr<const ObjType> type) {
  void* p = calloc(1, std::max<uint32_t>(type->size, 1));
  if (p == nullptr) return nullptr;
  std::lock_guard<std::mutex> lock(g_mu);
  g_objs.emplace(p, Entry{std::move(type), 1});
  return p;
}

uint32_t obj_size(const void* p) {
  std::lock_guard<std::mutex> lock(g_mu);
  auto it = g_objs.find(p);
  return it != g_objs.end() ? it->second.type->size : 0;
}

bool obj_acquire(void* p) {
  std::lock_guard<std::mutex> lock(g_mu);
  auto it = g_objs.find(p);
  if (it == g_objs.end() || !it->second.type->refcounted) return false;
  ++it->second.refs;
  return true;
}

bool obj_drop(void* p) {
  std::vector<std::pair<void*, std::shared_ptr<const ObjType>>> todo;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    if (!drop_locked(p, &todo)) return false;
  }
  free_all(std::move(todo));
  return true;
}

uint64_t kptr_field_xchg(const Store* store, uint32_t map_id, uint64_t field_off, void* field, uint64_t obj,
                         bool* bad) {
  *bad = false;
  std::lock_guard<std::mutex> lock(g_mu);
  const StashKey key{store, map_id, field_off};
  auto* word = static_cast<uint64_t*>(field);
  const uint64_t cur = __atomic_load_n(word, __ATOMIC_RELAXED);
  auto it = g_stashed.find(key);
  // What the field holds must be what this process put there.
  if (cur != 0 && (it == g_stashed.end() || reinterpret_cast<uint64_t>(it->second) != cur)) {
    *bad = true;
    return 0;
  }
  __atomic_store_n(word, obj, __ATOMIC_RELAXED);
  if (obj != 0) {
    g_stashed[key] = reinterpret_cast<void*>(obj);
  } else if (it != g_stashed.end()) {
    g_stashed.erase(it);
  }
  return cur;
}

void kptrs_forget_map(const Store* store, uint32_t map_id) {
  graphs_forget_map(store, map_id);
  std::vector<std::pair<void*, std::shared_ptr<const ObjType>>> todo;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    auto it = g_stashed.lower_bound({store, map_id, 0});
    while (it != g_stashed.end() && std::get<0>(it->first) == store && std::get<1>(it->first) == map_id) {
      (void)drop_locked(it->second, &todo);
      it = g_stashed.erase(it);
    }
  }
  free_all(std::move(todo));
}

void run_hold(RunEnv& env, void* obj, uint32_t size) {
  if (std::find(env.held_objects.begin(), env.held_objects.end(), obj) == env.held_objects.end())
    env.memory.add(obj, size, true);
  env.held_objects.push_back(obj);
}

bool run_release(RunEnv& env, void* obj) {
  auto it = std::find(env.held_objects.begin(), env.held_objects.end(), obj);
  if (it == env.held_objects.end()) return false;
  env.held_objects.erase(it);
  // A node the program still reaches in a list or rbtree stays its to touch
  // until it unlocks (emu/graph.h).
  if (std::find(env.held_objects.begin(), env.held_objects.end(), obj) == env.held_objects.end() &&
      std::find(env.non_owning.begin(), env.non_owning.end(), obj) == env.non_owning.end())
    env.memory.remove(obj);
  return true;
}

size_t run_drop_held(RunEnv& env) {
  const size_t n = env.held_objects.size();
  std::vector<void*> held;
  held.swap(env.held_objects);
  for (void* p : held) {
    env.memory.remove(p);
    (void)obj_drop(p);
  }
  return n;
}

void* obj_containing(const void* p, uint32_t* off) {
  std::lock_guard<std::mutex> lock(g_mu);
  auto it = g_objs.upper_bound(p);
  if (it == g_objs.begin()) return nullptr;
  --it;
  const auto* base = static_cast<const uint8_t*>(it->first);
  const auto* at = static_cast<const uint8_t*>(p);
  if (at >= base + it->second.type->size) return nullptr;
  *off = static_cast<uint32_t>(at - base);
  return const_cast<void*>(it->first);
}

size_t live_objects() {
  std::lock_guard<std::mutex> lock(g_mu);
  return g_objs.size();
}

}  // namespace bpfemu::emu
