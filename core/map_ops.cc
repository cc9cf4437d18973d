#include "core/map_ops.h"

#include <atomic>

#include "core/profile.h"

namespace bpfemu::maptypes {
namespace {

// A non-null key with key_size 0 fails the syscall layer's key check (EINVAL)
// before any op runs; otherwise the family's op answers.
int generic_lookup(Map& map, const void* key, void* value) {
  if (map.attr().key_size == 0) return -EINVAL;
  return map.ops().lookup(map, key, value, 0);
}

int generic_update(Map& map, const void* key, const void* value, uint64_t flags) {
  if (map.attr().key_size == 0) return -EINVAL;
  return map.ops().update(map, key, value, flags);
}

void* generic_prog_lookup(void* map, const void* key) {
  Map& m = *static_cast<Map*>(map);
  return m.ops().prog_lookup(m, key);
}

}  // namespace

namespace {
std::atomic<void (*)(Map&)> g_poll_notifier{nullptr};
}  // namespace

void set_poll_notifier(void (*notify)(Map& map)) { g_poll_notifier.store(notify, std::memory_order_release); }

void notify_pollers(Map& map) {
  if (auto notify = g_poll_notifier.load(std::memory_order_acquire); notify != nullptr) notify(map);
}

void MapOps::bind_view(Map& map) const { map.set_fast({generic_lookup, generic_update}); }

void MapOps::gen_lookup(Map& map, prog::InlineLookup* out) const {
  *out = prog::InlineLookup{};
  out->call = generic_prog_lookup;
  out->map = &map;
}

void bind_view(Map& map) {
  map.set_fast_sizes(map.attr().key_size, map.ops().sys_value_size(map));
  map.ops().bind_view(map);
}

uint64_t map_memlock(const Map& map) {
  if (map.profile().memlock_is_footprint) {
    // bpf_map_memory_footprint.
    const uint64_t size = (uint64_t{map.attr().key_size} + map.ops().sys_value_size(map) + 7) & ~uint64_t{7};
    return (uint64_t{map.attr().max_entries} * size + 4095) & ~uint64_t{4095};
  }
  return map.ops().mem_usage(map);
}

namespace {
int no_fd_object(int, ObjRef*) { return -EINVAL; }
void no_put(const ObjRef&) {}
Map* no_map(uint32_t) { return nullptr; }
const FdObjects kNoObjects{no_fd_object, no_put, no_map};
std::atomic<const FdObjects*> g_fd_objects{&kNoObjects};
}  // namespace

void set_fd_objects(const FdObjects& ops) { g_fd_objects.store(&ops, std::memory_order_release); }
const FdObjects& fd_objects() { return *g_fd_objects.load(std::memory_order_acquire); }

}  // namespace bpfemu::maptypes
