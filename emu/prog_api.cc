#include "bpfemu/prog.h"

#include <linux/bpf.h>
#include <linux/perf_event.h>

#include <cerrno>
#include <cstring>

#include "core/cpu.h"
#include "core/map_ops.h"
#include "core/profile.h"
#include "core/value_lock.h"
#include "emu/objects.h"
#include "emu/perf_event.h"
#include "emu/prog_helpers.h"

namespace bpfemu::prog {
namespace {

emu::Map* as_map(void* p) { return static_cast<emu::Map*>(p); }

struct ForEachCtx {
  const MapRef* ref;
  MapRef::Callback cb;
  void* ctx;
};

long trampoline(emu::Map&, const void* key, void* value, void* ctx) {
  auto* c = static_cast<ForEachCtx*>(ctx);
  return c->cb(*c->ref, key, value, c->ctx);
}

}  // namespace

}  // namespace bpfemu::prog

namespace bpfemu::emu::helpers {
namespace {

// What a program sees of a map op's result: before 6.4 the ops returned int and
// the JIT'ed call leaves a negative errno zero-extended (profile.h).
long as_seen(const Map& m, long rc) {
  if (rc >= 0) return rc;
  return m.profile().prog_map_ops_ret_u32 ? static_cast<long>(static_cast<uint32_t>(rc)) : rc;
}

}  // namespace

void* map_lookup(Map& m, const void* key) { return m.ops().prog_lookup(m, key); }
long map_update(Map& m, const void* key, const void* value, uint64_t flags) {
  return as_seen(m, m.ops().prog_update(m, key, value, flags));
}
long map_delete(Map& m, const void* key) { return as_seen(m, m.ops().prog_delete(m, key)); }
long map_push(Map& m, const void* value, uint64_t flags) { return as_seen(m, m.ops().prog_push(m, value, flags)); }
long map_pop(Map& m, void* value) { return as_seen(m, m.ops().prog_pop(m, value)); }
long map_peek(Map& m, void* value) { return as_seen(m, m.ops().prog_peek(m, value)); }
void* map_lookup_percpu(Map& m, const void* key, uint32_t cpu) { return m.ops().prog_lookup_percpu(m, key, cpu); }
long map_for_each(Map& m, maptypes::ForEachCallback cb, void* ctx, uint64_t flags) {
  return as_seen(m, m.ops().for_each(m, cb, ctx, flags));
}

long ringbuf_output(Map& m, const void* data, uint64_t size, uint64_t flags) {
  if (flags & ~uint64_t{BPF_RB_NO_WAKEUP | BPF_RB_FORCE_WAKEUP}) return -EINVAL;
  void* rec = m.ops().prog_ringbuf_reserve(m, size);
  if (rec == nullptr) return -EAGAIN;
  memcpy(rec, data, size);
  m.ops().prog_ringbuf_commit(m, rec, flags, false);
  return 0;
}

void* ringbuf_reserve(Map& m, uint64_t size, uint64_t flags) {
  return flags != 0 ? nullptr : m.ops().prog_ringbuf_reserve(m, size);
}

void ringbuf_commit(Map& m, void* data, uint64_t flags, bool discard) {
  m.ops().prog_ringbuf_commit(m, data, flags, discard);
}

uint64_t ringbuf_query(Map& m, uint64_t flags) { return m.ops().prog_ringbuf_query(m, flags); }

long perf_event_output(Map& m, uint64_t flags, const void* data, uint64_t size, const void* extra, uint64_t extra_len) {
  if (m.attr().map_type != BPF_MAP_TYPE_PERF_EVENT_ARRAY) return -EINVAL;
  const uint32_t cpu = m.current_cpu();
  uint64_t index = flags & BPF_F_INDEX_MASK;
  if (index == BPF_F_CURRENT_CPU) index = cpu;
  if (index >= m.attr().max_entries) return -E2BIG;
  const uint32_t id = m.ops().fd_slot(m, static_cast<uint32_t>(index));
  if (id == 0) return -ENOENT;
  int err = 0;
  Object* obj = view_of(*m.store(), ObjKind::kPerfEvent, id, &err);
  if (obj == nullptr) return -ENOENT;
  auto& ev = static_cast<PerfEvent&>(*obj);
  if (ev.header().type != PERF_TYPE_SOFTWARE || ev.header().config != PERF_COUNT_SW_BPF_OUTPUT) return -EINVAL;
  return perf_event_output(ev, cpu, data, size, extra, extra_len);
}

namespace {
// Whether `lock` is the lock word of one of m's values.
bool is_value_lock(const Map& m, const void* lock) {
  if (!m.ops().has_spin_lock(m)) return false;
  const uint8_t* value = m.ops().value_containing(m, lock);
  return value != nullptr && static_cast<const uint8_t*>(lock) - value == m.attr().record.lock_off;
}
}  // namespace

long spin_lock(Map& m, void* lock) { return is_value_lock(m, lock) ? value_lock(lock) : -EINVAL; }
long spin_unlock(Map& m, void* lock) { return is_value_lock(m, lock) ? value_unlock(lock) : -EINVAL; }

}  // namespace bpfemu::emu::helpers

namespace bpfemu::prog {

namespace detail {
uint32_t cpu_below(uint32_t nr_cpus) { return current_cpu_below(nr_cpus); }
}  // namespace detail

MapRef::MapRef(int map_fd) : map_(emu::map_from_fd(map_fd)) {
  if (emu::Map* m = as_map(map_); m != nullptr) m->ops().gen_lookup(*m, &gen_);
}

long MapRef::update(const void* key, const void* value, uint64_t flags) const {
  emu::Map* m = as_map(map_);
  return m != nullptr ? emu::helpers::map_update(*m, key, value, flags) : -EBADF;
}

long MapRef::remove(const void* key) const {
  emu::Map* m = as_map(map_);
  return m != nullptr ? emu::helpers::map_delete(*m, key) : -EBADF;
}

long MapRef::push(const void* value, uint64_t flags) const {
  emu::Map* m = as_map(map_);
  return m != nullptr ? emu::helpers::map_push(*m, value, flags) : -EBADF;
}

long MapRef::pop(void* value) const {
  emu::Map* m = as_map(map_);
  return m != nullptr ? emu::helpers::map_pop(*m, value) : -EBADF;
}

long MapRef::peek(void* value) const {
  emu::Map* m = as_map(map_);
  return m != nullptr ? emu::helpers::map_peek(*m, value) : -EBADF;
}

void* MapRef::lookup_percpu(const void* key, uint32_t cpu) const {
  emu::Map* m = as_map(map_);
  return m != nullptr ? emu::helpers::map_lookup_percpu(*m, key, cpu) : nullptr;
}

long MapRef::ringbuf_output(const void* data, uint64_t size, uint64_t flags) const {
  emu::Map* m = as_map(map_);
  return m != nullptr ? emu::helpers::ringbuf_output(*m, data, size, flags) : -EBADF;
}

void* MapRef::ringbuf_reserve(uint64_t size, uint64_t flags) const {
  emu::Map* m = as_map(map_);
  return m != nullptr ? emu::helpers::ringbuf_reserve(*m, size, flags) : nullptr;
}

void MapRef::ringbuf_submit(void* data, uint64_t flags) const {
  if (emu::Map* m = as_map(map_); m != nullptr && data != nullptr) emu::helpers::ringbuf_commit(*m, data, flags, false);
}

void MapRef::ringbuf_discard(void* data, uint64_t flags) const {
  if (emu::Map* m = as_map(map_); m != nullptr && data != nullptr) emu::helpers::ringbuf_commit(*m, data, flags, true);
}

long MapRef::perf_event_output(const void* data, uint64_t size, uint64_t flags) const {
  emu::Map* m = as_map(map_);
  if (m == nullptr) return -EBADF;
  if (flags & ~uint64_t{BPF_F_INDEX_MASK}) return -EINVAL;  // the tracing helper's rule
  return emu::helpers::perf_event_output(*m, flags, data, size, nullptr, 0);
}

uint64_t MapRef::ringbuf_query(uint64_t flags) const {
  emu::Map* m = as_map(map_);
  return m != nullptr ? emu::helpers::ringbuf_query(*m, flags) : 0;
}

long MapRef::spin_lock(void* lock) const {
  emu::Map* m = as_map(map_);
  return m != nullptr ? emu::helpers::spin_lock(*m, lock) : -EBADF;
}

long MapRef::spin_unlock(void* lock) const {
  emu::Map* m = as_map(map_);
  return m != nullptr ? emu::helpers::spin_unlock(*m, lock) : -EBADF;
}

long MapRef::for_each(Callback cb, void* ctx, uint64_t flags) const {
  emu::Map* m = as_map(map_);
  if (m == nullptr) return -EBADF;
  ForEachCtx c{this, cb, ctx};
  return emu::helpers::map_for_each(*m, trampoline, &c, flags);
}

void* map_lookup_elem(int map_fd, const void* key) { return MapRef(map_fd).lookup(key); }
long map_update_elem(int map_fd, const void* key, const void* value, uint64_t flags) {
  return MapRef(map_fd).update(key, value, flags);
}
long map_delete_elem(int map_fd, const void* key) { return MapRef(map_fd).remove(key); }

}  // namespace bpfemu::prog
