// What the map helpers a BPF program calls do, once: the C++ bpfemu::prog API
// (bpfemu/prog.h) and the interpreter (emu/helpers.cc) both call these.
// Results are as the program sees them (profile.h: before 6.4 a negative errno
// reads zero-extended).
#pragma once

#include <cstdint>

#include "core/map_ops.h"

namespace bpfemu::emu::helpers {

void* map_lookup(Map& m, const void* key);
long map_update(Map& m, const void* key, const void* value, uint64_t flags);
long map_delete(Map& m, const void* key);
long map_push(Map& m, const void* value, uint64_t flags);
long map_pop(Map& m, void* value);
long map_peek(Map& m, void* value);
void* map_lookup_percpu(Map& m, const void* key, uint32_t cpu);
long map_for_each(Map& m, maptypes::ForEachCallback cb, void* ctx, uint64_t flags);
// Ring buffers (RINGBUF maps; other maps have no room and nothing to query).
// bpf_ringbuf_output: 0, -EINVAL for unknown flags, -EAGAIN when it does not fit.
long ringbuf_output(Map& m, const void* data, uint64_t size, uint64_t flags);
// bpf_ringbuf_reserve: the record's data, or nullptr (flags set, no room).
void* ringbuf_reserve(Map& m, uint64_t size, uint64_t flags);
// bpf_ringbuf_submit (discard false) and bpf_ringbuf_discard of a reserved record.
void ringbuf_commit(Map& m, void* data, uint64_t flags, bool discard);
uint64_t ringbuf_query(Map& m, uint64_t flags);
// bpf_perf_event_output into a PERF_EVENT_ARRAY, once the caller has checked
// its flags: the sample is `size` bytes at data then extra_len bytes at extra
// (the packet bytes XDP and skb programs may append), written to the perf
// event in slot flags & BPF_F_INDEX_MASK (BPF_F_CURRENT_CPU: this CPU's).
// 0, -E2BIG, -ENOENT, -EINVAL, -EOPNOTSUPP, -ENOSPC as the kernel answers.
long perf_event_output(Map& m, uint64_t flags, const void* data, uint64_t size, const void* extra, uint64_t extra_len);
// bpf_spin_lock and bpf_spin_unlock of the lock word at `lock`, which must be
// the bpf_spin_lock of one of m's values (what the verifier proves): 0;
// -EINVAL when it is not; -EDEADLK when this thread holds that lock already
// (lock) or -EPERM when it does not hold it (unlock).
long spin_lock(Map& m, void* lock);
long spin_unlock(Map& m, void* lock);

}  // namespace bpfemu::emu::helpers
