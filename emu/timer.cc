#include "emu/timer.h"

#include <linux/bpf.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/log.h"
#include "core/value_lock.h"
#include "emu/clock.h"
#include "emu/interpreter.h"
#include "emu/objects.h"
#include "emu/program.h"
#include "maptypes/hashtab.h"

namespace bpfemu::emu {
namespace {

// bpf_timer_start's flags (uapi of 6.7 and 6.8; the installed header is 6.1's).
constexpr uint64_t kTimerAbs = 1;     // BPF_F_TIMER_ABS
constexpr uint64_t kTimerCpuPin = 2;  // BPF_F_TIMER_CPU_PIN
// A callback that re-arms its timer for "now" would fire forever in one advance.
constexpr int kMaxFiresPerAdvance = 1 << 20;

struct Callback {
  Store* store = nullptr;  // the program's, by id: its view may come and go
  uint32_t prog_id = 0;
  uint32_t pc = 0;
};

struct Timer {
  uint64_t serial;  // tells a timer from one made later at the same address
  Map* map;
  void* value;
  clockid_t clock;
  std::vector<uint8_t> key;  // the element's key, as the callback gets it
  Callback cb;               // prog_id 0: none
  bool armed = false;
  uint64_t expires = 0;  // on `clock`
};

std::mutex g_mu;
std::unordered_map<const void*, Timer> g_timers;  // by the bpf_timer's address
uint64_t g_serial = 0;
// The timer whose callback this thread runs (cancelling it is EDEADLK).
thread_local const void* t_running = nullptr;

// The key of the element whose value is `value` (the kernel's callback gets
// the element's key; an array's is its index).
bool key_of_value(Map& map, const void* value, std::vector<uint8_t>* key) {
  const auto* v = static_cast<const uint8_t*>(value);
  const uint32_t ks = map.attr().key_size;
  switch (map.attr().map_type) {
    case BPF_MAP_TYPE_ARRAY: {
      const uint32_t stride = round_up8(map.attr().value_size);
      if (v < map.data() || v >= map.data() + uint64_t{stride} * map.attr().max_entries) return false;
      const auto index = static_cast<uint32_t>((v - map.data()) / stride);
      key->resize(sizeof(index));
      memcpy(key->data(), &index, sizeof(index));
      return true;
    }
    case BPF_MAP_TYPE_HASH:
    case BPF_MAP_TYPE_LRU_HASH: {
      const auto& st = map.state<maptypes::HtabState>();
      key->assign(v - (st.value_off - st.key_off), v - (st.value_off - st.key_off) + ks);
      return true;
    }
    default:
      return false;
  }
}

void take_prog_ref(const Program& prog) { prog.obj_header().krefs.fetch_add(1, std::memory_order_relaxed); }
void drop_prog_ref(const Callback& cb) {
  if (cb.prog_id != 0) drop_object_ref(*cb.store, ObjKind::kProg, cb.prog_id);
}

// Program references of timers freed where the object table's lock (closing
// the map's last handle) or a bucket lock (deleting the element) may be held:
// dropping one may free the program, which takes the object table's lock, so
// they are dropped later, by the next timer call that holds no lock.
std::vector<Callback> g_pending_drops;  // under g_mu

void drop_pending() {
  std::vector<Callback> drops;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    drops.swap(g_pending_drops);
  }
  for (const Callback& cb : drops) drop_prog_ref(cb);
}

// Runs the callback of the timer at `addr` if it is still the one of `serial`
// and due: true when it ran.
bool fire(const void* addr, uint64_t serial) {
  Map* map = nullptr;
  void* value = nullptr;
  Callback cb;
  std::vector<uint8_t> key;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    auto it = g_timers.find(addr);
    if (it == g_timers.end() || it->second.serial != serial || !it->second.armed) return false;
    Timer& t = it->second;
    t.armed = false;  // hrtimer: not active while its callback runs, unless re-armed
    map = t.map;
    value = t.value;
    cb = t.cb;
    key = t.key;
  }
  int err = 0;
  Object* obj = cb.store != nullptr ? view_of(*cb.store, ObjKind::kProg, cb.prog_id, &err) : nullptr;
  if (obj == nullptr) return false;
  const auto& prog = *static_cast<const Program*>(obj);
  RunEnv env;
  env.insn_budget = insn_budget();
  if (int e = add_program_maps(prog, &env); e != 0) {
    log_reason(e, "bpf_timer callback of program %u: its maps are gone", cb.prog_id);
    return false;
  }
  allow_map_memory(env, *map);
  if (!key.empty()) env.memory.add(key.data(), key.size(), false);
  const uint64_t args[5] = {reinterpret_cast<uint64_t>(map), reinterpret_cast<uint64_t>(key.data()),
                            reinterpret_cast<uint64_t>(value), 0, 0};
  uint64_t r0 = 0;
  t_running = addr;
  interp::Machine m(prog, env);
  const bool ok = m.call(cb.pc, args, &r0);
  t_running = nullptr;
  trace_append(env.trace);
  if (!ok) log_reason(-EINVAL, "bpf_timer callback of program %u stopped: %s", cb.prog_id, env.error.c_str());
  return true;
}

// The armed timer due soonest: its address and serial, and how long until it
// is due (<= 0: due now). False when none is armed.
bool soonest(const void** addr, uint64_t* serial, int64_t* due_in) {
  std::lock_guard<std::mutex> lock(g_mu);
  bool found = false;
  for (const auto& [a, t] : g_timers) {
    if (!t.armed) continue;
    const int64_t in = static_cast<int64_t>(t.expires - clock_now(t.clock));
    if (!found || in < *due_in) {
      found = true;
      *addr = a;
      *serial = t.serial;
      *due_in = in;
    }
  }
  return found;
}

}  // namespace

long timer_init(Map& map, void* timer, uint64_t flags) {
  const uint64_t clock = flags & 15;
  if (flags >= 16 || (clock != CLOCK_MONOTONIC && clock != CLOCK_REALTIME && clock != CLOCK_BOOTTIME)) return -EINVAL;
  const ValueRecord& rec = map.attr().record;
  if (!rec.has_timer()) return log_reason(-EINVAL, "bpf_timer_init: map %u has no bpf_timer in its values", map.id());
  void* value = static_cast<uint8_t*>(timer) - rec.timer_off;
  drop_pending();
  std::vector<uint8_t> key;
  if (!key_of_value(map, value, &key))
    return log_reason(-EINVAL, "bpf_timer_init: the timer is in no element of map %u", map.id());
  std::lock_guard<std::mutex> lock(g_mu);
  auto [it, added] = g_timers.try_emplace(timer);
  if (!added) return -EBUSY;
  it->second = Timer{++g_serial, &map, value, static_cast<clockid_t>(clock), std::move(key), {}};
  return 0;
}

long wq_init(Map& map, void* wq, uint64_t flags) {
  if (flags != 0) return -EINVAL;
  const ValueRecord& rec = map.attr().record;
  const auto at = static_cast<uint8_t*>(wq);
  const uint8_t* value = nullptr;
  // The value is found from the wq's offset in it: whichever wq field this is.
  for (uint32_t i = 0; i < rec.other_count && value == nullptr; ++i) {
    if (!(rec.other_wqs & (1u << i)) || at < map.data() + rec.other_offs[i]) continue;
    std::vector<uint8_t> probe;
    if (key_of_value(map, at - rec.other_offs[i], &probe)) value = at - rec.other_offs[i];
  }
  if (value == nullptr) return log_reason(-EINVAL, "bpf_wq_init: the bpf_wq is in no element of map %u", map.id());
  drop_pending();
  std::vector<uint8_t> key;
  (void)key_of_value(map, value, &key);
  std::lock_guard<std::mutex> lock(g_mu);
  auto [it, added] = g_timers.try_emplace(wq);
  if (!added) return -EBUSY;
  it->second = Timer{++g_serial, &map, const_cast<uint8_t*>(value), CLOCK_MONOTONIC, std::move(key), {}};
  return 0;
}

long wq_set_callback(void* wq, const Program& prog, uint32_t callback_pc, uint64_t flags) {
  if (flags != 0) return -EINVAL;
  return timer_set_callback(wq, prog, callback_pc);
}

long wq_start(void* wq, uint64_t flags) {
  if (flags != 0) return -EINVAL;
  std::lock_guard<std::mutex> lock(g_mu);
  auto it = g_timers.find(wq);
  if (it == g_timers.end() || it->second.cb.prog_id == 0) return -EINVAL;
  // schedule_work: pending work is not queued twice.
  if (!it->second.armed) {
    it->second.expires = clock_now(CLOCK_MONOTONIC);
    it->second.armed = true;
  }
  return 0;
}

long timer_set_callback(void* timer, const Program& prog, uint32_t callback_pc) {
  Callback old;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    auto it = g_timers.find(timer);
    if (it == g_timers.end()) return -EINVAL;
    Callback& cb = it->second.cb;
    if (cb.prog_id != prog.id() || cb.store != prog.store()) {
      old = cb;
      take_prog_ref(prog);
      cb.store = prog.store();
      cb.prog_id = prog.id();
    }
    cb.pc = callback_pc;
  }
  drop_prog_ref(old);
  return 0;
}

long timer_start(const KernelProfile& profile, void* timer, uint64_t nsecs, uint64_t flags) {
  // 6.1 knows no flags; BPF_F_TIMER_ABS came in 6.7, BPF_F_TIMER_CPU_PIN in 6.8.
  const bool knows_flags = profile.major > 6 || (profile.major == 6 && profile.minor >= 8);
  if (flags & ~(knows_flags ? kTimerAbs | kTimerCpuPin : 0)) return -EINVAL;
  std::lock_guard<std::mutex> lock(g_mu);
  auto it = g_timers.find(timer);
  if (it == g_timers.end() || it->second.cb.prog_id == 0) return -EINVAL;
  Timer& t = it->second;
  t.expires = (flags & kTimerAbs) ? nsecs : clock_now(t.clock) + nsecs;
  t.armed = true;
  return 0;
}

long timer_cancel(void* timer) {
  Callback old;
  bool was_armed = false;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    auto it = g_timers.find(timer);
    if (it == g_timers.end()) return -EINVAL;
    if (t_running == timer) return -EDEADLK;
    Timer& t = it->second;
    was_armed = t.armed;
    t.armed = false;
    old = std::exchange(t.cb, Callback{});  // the kernel drops the callback's program
  }
  drop_prog_ref(old);
  return was_armed ? 1 : 0;
}

void timer_free(const Map& map, void* value) { wq_free(static_cast<uint8_t*>(value) + map.attr().record.timer_off); }

void wq_free(void* timer) {
  std::lock_guard<std::mutex> lock(g_mu);
  auto it = g_timers.find(timer);
  if (it == g_timers.end()) return;
  if (it->second.cb.prog_id != 0) g_pending_drops.push_back(it->second.cb);
  g_timers.erase(it);  // a callback running now finishes; its timer is gone
}

void timers_forget_map(const Map* map) {
  std::lock_guard<std::mutex> lock(g_mu);
  for (auto it = g_timers.begin(); it != g_timers.end();) {
    if (it->second.map != map) {
      ++it;
      continue;
    }
    if (it->second.cb.prog_id != 0) g_pending_drops.push_back(it->second.cb);
    it = g_timers.erase(it);
  }
}

int timers_advance(uint64_t ns) {
  drop_pending();
  uint64_t left = ns;
  int fired = 0;
  const void* addr = nullptr;
  uint64_t serial = 0;
  int64_t due_in = 0;
  while (fired < kMaxFiresPerAdvance && soonest(&addr, &serial, &due_in) && due_in <= static_cast<int64_t>(left)) {
    // Time moves to the timer's expiry, then its callback runs.
    if (due_in > 0) {
      clock_step(static_cast<uint64_t>(due_in));
      left -= static_cast<uint64_t>(due_in);
    }
    if (fire(addr, serial)) ++fired;
    drop_pending();  // the callback may have deleted elements
  }
  clock_step(left);
  return fired;
}

int timers_armed() {
  std::lock_guard<std::mutex> lock(g_mu);
  int n = 0;
  for (const auto& [a, t] : g_timers) n += t.armed ? 1 : 0;
  return n;
}

}  // namespace bpfemu::emu
