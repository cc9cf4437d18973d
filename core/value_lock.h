// struct bpf_spin_lock in map values: the lock word itself, and the copies of
// a value that holds lock words (the kernel's copy_map_value,
// copy_map_value_locked and check_and_init_map_value).
//
// The lock is the value's own 4 bytes, in map memory that every process with
// the map shares. 0 means unlocked; a held lock holds its owner's thread id
// (gettid). Why a thread id rather than a flag:
//  - a process that dies holding a lock (a test killing a child, a crash while
//    a program holds it) must not wedge the value for every other process: a
//    waiter that keeps seeing the same owner checks now and then whether that
//    thread still exists, and takes the lock over when it does not;
//  - a thread that takes a lock it already holds would spin forever: with the
//    owner's id the emulator sees it and says so instead (the verifier refuses
//    programs that could do it; the C++ API gets an error);
//  - an unlock by a thread that does not hold the lock is caught the same way.
// A bpf_timer field (16 bytes, emu/timer.h) and the other special fields
// (kptrs, bpf_wq, bpf_refcount, list and rbtree roots) are treated like lock
// words by the copies: read as zero, never overwritten.
// Syscalls never show the word (a lookup reads it as zero, as on the kernel;
// the verifier keeps programs from reading it), so what it holds is the
// emulator's business. It is only ever accessed atomically -- acquire to lock,
// release to unlock -- and value copies go around it, so the bytes copied under
// the lock are ordered for other threads, other processes and TSan.
#pragma once

#include <cstdint>
#include <cstring>

#include "core/map.h"

namespace bpfemu::emu {

// Takes the lock whose word is at `word` (4-byte aligned, in map memory) for
// the calling thread: 0, or -EDEADLK when this thread holds it already.
int value_lock(void* word);
// Releases it: 0, or -EPERM when the calling thread does not hold it.
int value_unlock(void* word);

// The lock word of `value`, a value of a map whose record has a lock.
inline void* value_lock_word(const ValueRecord& rec, void* value) { return static_cast<uint8_t*>(value) + rec.lock_off; }

// The copies below for values with lock words.
void value_copy_out_fields(const ValueRecord& rec, void* dst, const void* src, uint32_t value_size, bool locked);
void value_copy_in_fields(const ValueRecord& rec, void* dst, const void* src, uint32_t value_size, bool locked);

// A value leaving map memory (value_size bytes of `src`; for a per-CPU slot,
// round_up(value_size, 8), padding included) for a syscall's buffer: the lock words and the timer read as zero; with `locked`, copied under the
// value's lock (BPF_F_LOCK).
inline void value_copy_out(const ValueRecord& rec, void* dst, const void* src, uint32_t value_size, bool locked) {
  if (!rec.has_fields()) {
    memcpy(dst, src, value_size);
    return;
  }
  value_copy_out_fields(rec, dst, src, value_size, locked);
}
// A value from a syscall or a program (`src`) into map memory (`dst`): the
// lock words and the timer are left as they are; with `locked`, written under the value's
// lock (BPF_F_LOCK).
inline void value_copy_in(const ValueRecord& rec, void* dst, const void* src, uint32_t value_size, bool locked) {
  if (!rec.has_fields()) {
    memcpy(dst, src, value_size);
    return;
  }
  value_copy_in_fields(rec, dst, src, value_size, locked);
}

// A value leaving its map (deleted, replaced, an array element overwritten by
// an update): its special fields are freed, as the kernel's
// bpf_obj_free_fields (a timer is cancelled, a kptr's object dropped). The
// emulator installs the hook (emu/local_obj.cc); core cannot call it directly.
using ValueFreeHook = void (*)(const Map& map, void* value);
void set_value_free_hook(ValueFreeHook hook);
void value_free_fields_slow(const Map& map, void* value);
inline void value_free_fields(const Map& map, void* value) {
  const ValueRecord& rec = map.attr().record;
  if (rec.has_timer() || rec.other_kptrs != 0 || rec.other_wqs != 0 || rec.other_graphs != 0)
    value_free_fields_slow(map, value);
}

}  // namespace bpfemu::emu
