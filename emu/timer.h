// struct bpf_timer (and struct bpf_wq) in map values: the helpers' answers as
// kernel/bpf/helpers.c gives them, and firing callbacks on the emulated clock
// (emu/clock.h).
//
// A timer's state lives in this process (a table keyed by the address of its
// 16 bytes in map memory), not in the value: the 16 bytes stay zero, which is
// what syscalls read anyway. So timers are per process, like the clock: a
// timer fires in the process whose program set it up, when that process
// advances its clock (bpfemu/clock.h). A timer holds a reference on its
// callback's program (as the kernel's does) and goes when its value leaves the
// map (delete, replace, an array element overwritten: bpf_obj_free_timer) or
// when this process's last handle on the map goes (map_release_uref); the
// program reference of a freed timer is dropped by the next timer call.
#pragma once

#include <cstdint>

#include "core/map.h"

namespace bpfemu::emu {

class Program;

// bpf_timer_init(timer, map, flags): 0, -EINVAL (clock id other than
// MONOTONIC, REALTIME, BOOTTIME, or flags above the clock id), -EBUSY (done already).
long timer_init(Map& map, void* timer, uint64_t flags);
// bpf_timer_set_callback(timer, callback): callback_pc is the callback's first
// instruction in prog. 0 or -EINVAL (timer not initialised).
long timer_set_callback(void* timer, const Program& prog, uint32_t callback_pc);
// bpf_timer_start(timer, nsecs, flags): 0 or -EINVAL (not initialised, no
// callback, unknown flags). `profile` says which flags the kernel knows.
long timer_start(const KernelProfile& profile, void* timer, uint64_t nsecs, uint64_t flags);
// bpf_timer_cancel(timer): 1 when it was armed, 0 when not, -EINVAL (not
// initialised), -EDEADLK (from its own callback). Drops the callback.
long timer_cancel(void* timer);

// struct bpf_wq (kfuncs bpf_wq_init, bpf_wq_set_callback_impl, bpf_wq_start):
// kept as timers are, a started one due at once, its callback run by the next
// Clock::advance or Clock::run_due_timers. The kernel's answers: 0, -EINVAL
// (flags, not initialised, no callback), -EBUSY (initialised already).
long wq_init(Map& map, void* wq, uint64_t flags);
long wq_set_callback(void* wq, const Program& prog, uint32_t callback_pc, uint64_t flags);
long wq_start(void* wq, uint64_t flags);

// A value of `map` leaves the map: its timer is cancelled and freed (called
// by the value free hook, emu/local_obj.cc).
void timer_free(const Map& map, void* value);
// The same for the bpf_wq at `wq`.
void wq_free(void* wq);
// This process's view of `map` goes: its timers are freed.
void timers_forget_map(const Map* map);

// Clock::advance and Clock::run_due_timers: moves the clock by ns, firing
// what falls due on the way; the number of callbacks run.
int timers_advance(uint64_t ns);
// Timers armed now.
int timers_armed();

}  // namespace bpfemu::emu
