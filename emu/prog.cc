#include "bpfemu/prog.h"

#include <cerrno>

#include "emu/cpu.h"
#include "emu/kernel.h"
#include "emu/profile.h"
#include "maptypes/map_ops.h"

namespace bpfemu::prog {
namespace {

emu::Map* as_map(void* p) { return static_cast<emu::Map*>(p); }

struct ForEachCtx {
  const MapRef* ref;
  MapRef::Callback cb;
  void* ctx;
};

// What a program sees of a map op's result: before 6.4 the ops returned int and
// the JIT'ed call leaves a negative errno zero-extended (profile.h).
long as_seen(const emu::Map& m, long rc) {
  if (rc >= 0) return rc;
  return m.profile().prog_map_ops_ret_u32 ? static_cast<long>(static_cast<uint32_t>(rc)) : rc;
}

long trampoline(emu::Map&, const void* key, void* value, void* ctx) {
  auto* c = static_cast<ForEachCtx*>(ctx);
  return c->cb(*c->ref, key, value, c->ctx);
}

}  // namespace

namespace detail {
uint32_t cpu_below(uint32_t nr_cpus) { return current_cpu_below(nr_cpus); }
}  // namespace detail

MapRef::MapRef(int map_fd) : map_(emu::map_from_fd(map_fd)) {
  emu::Map* m = as_map(map_);
  maptypes::MapOps::ArrayLayout layout;
  if (m != nullptr && m->ops().array_layout(*m, &layout)) {
    array_.base = layout.base;
    array_.elem_stride = layout.elem_stride;
    array_.cpu_stride = layout.cpu_stride;
    array_.max_entries = layout.max_entries;
    array_.nr_cpus = m->nr_cpus();
  }
  if (m != nullptr && m->ops().flat_hash_layout(*m, &hash_) && hash_.key_size != 4) hash_ = {};
  hash_slot16_ = hash_.base != nullptr && bpfemu::detail::flat_slot16(hash_, false);
  if (m != nullptr) lookup_fn_ = m->ops().prog_lookup_fn(*m);
}

void* MapRef::lookup_call(const void* key) const {
  emu::Map* m = as_map(map_);
  return m != nullptr ? m->ops().prog_lookup(*m, key) : nullptr;
}

long MapRef::update(const void* key, const void* value, uint64_t flags) const {
  emu::Map* m = as_map(map_);
  return m != nullptr ? as_seen(*m, m->ops().prog_update(*m, key, value, flags)) : -EBADF;
}

long MapRef::remove(const void* key) const {
  emu::Map* m = as_map(map_);
  return m != nullptr ? as_seen(*m, m->ops().prog_delete(*m, key)) : -EBADF;
}

long MapRef::for_each(Callback cb, void* ctx, uint64_t flags) const {
  emu::Map* m = as_map(map_);
  if (m == nullptr) return -EBADF;
  ForEachCtx c{this, cb, ctx};
  return as_seen(*m, m->ops().for_each(*m, trampoline, &c, flags));
}

void* map_lookup_elem(int map_fd, const void* key) { return MapRef(map_fd).lookup(key); }
long map_update_elem(int map_fd, const void* key, const void* value, uint64_t flags) {
  return MapRef(map_fd).update(key, value, flags);
}
long map_delete_elem(int map_fd, const void* key) { return MapRef(map_fd).remove(key); }

}  // namespace bpfemu::prog
