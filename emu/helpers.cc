// The helpers the interpreter provides, by the kernel's numbers. Map helpers
// go through emu/prog_helpers.h, the same code as the C++ bpfemu::prog API.
// Every pointer argument is checked against the program's memory first, as the
// verifier would have proved it; a helper the kernel has and the emulator does
// not is listed with no function, so a call to it names it.
#include <linux/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <random>
#include <string>

#include "core/cpu.h"
#include "core/profile.h"
#include "core/uaccess.h"
#include "emu/bprintf.h"
#include "emu/clock.h"
#include "emu/graph.h"
#include "emu/helpers_skb.h"
#include "emu/helpers_stack.h"
#include "emu/helpers_task.h"
#include "emu/interpreter.h"
#include "emu/iter.h"
#include "emu/kfuncs.h"
#include "emu/ksyms.h"
#include "emu/prog_helpers.h"
#include "emu/timer.h"

namespace bpfemu::emu::interp {
namespace {

// The names of the kernel's helpers, in id order (the uapi header's list, then
// the ones newer than the installed header).
#define BPFEMU_HELPER_NAME(name, ...) #name
const char* const kUapiNames[] = {__BPF_FUNC_MAPPER(BPFEMU_HELPER_NAME)};
#undef BPFEMU_HELPER_NAME
const char* const kNewerNames[] = {"cgrp_storage_get", "cgrp_storage_delete"};  // 210, 211 (6.2)
constexpr uint32_t kUapiCount = sizeof(kUapiNames) / sizeof(kUapiNames[0]);
static_assert(kUapiCount == __BPF_FUNC_MAX_ID);
constexpr uint32_t kHelperCount = 212;  // __BPF_FUNC_MAX_ID on 6.18

// The emulated clock (bpfemu/clock.h): real time unless a test froze it.
uint64_t clock_ns(clockid_t id) { return clock_now(id); }

bool writable(HelperCall& c, uint64_t p, uint64_t n, const char* what) { return c.m.check(p, n, true, what); }
bool readable(HelperCall& c, uint64_t p, uint64_t n, const char* what) { return c.m.check(p, n, false, what); }
void* ptr(uint64_t v) { return reinterpret_cast<void*>(v); }
uint64_t ret(long v) { return static_cast<uint64_t>(v); }

// --- maps ---

// bpf_redirect_map (XDP): the map's verdict (DEVMAP, DEVMAP_HASH, CPUMAP);
// a test run reports it and sends nothing.
bool redirect_map(HelperCall& c, uint64_t* r0) {
  Map* m = c.m.map_arg(c.a[0], "bpf_redirect_map");
  if (m == nullptr) return false;
  *r0 = static_cast<uint64_t>(m->ops().prog_redirect(*m, c.a[1], c.a[2]));
  return true;
}

bool map_lookup_elem(HelperCall& c, uint64_t* r0) {
  Map* m = c.m.map_arg(c.a[0], "bpf_map_lookup_elem");
  if (m == nullptr || !readable(c, c.a[1], m->attr().key_size, "bpf_map_lookup_elem key")) return false;
  void* v = helpers::map_lookup(*m, ptr(c.a[1]));
  if (v != nullptr) {
    const uint32_t type = m->attr().map_type;
    if (type == BPF_MAP_TYPE_ARRAY_OF_MAPS || type == BPF_MAP_TYPE_HASH_OF_MAPS) {
      // An outer map yields an inner map, which the program may pass to the map helpers.
      auto* inner = static_cast<Map*>(v);
      if (std::find(c.env.maps.begin(), c.env.maps.end(), inner) == c.env.maps.end()) {
        inner->local_refs.fetch_add(1);
        c.env.inner_maps.push_back(inner);
        c.env.maps.push_back(inner);
      }
    } else {
      allow_map_memory(c.env, *m);
    }
  }
  *r0 = reinterpret_cast<uint64_t>(v);
  return true;
}

bool map_update_elem(HelperCall& c, uint64_t* r0) {
  Map* m = c.m.map_arg(c.a[0], "bpf_map_update_elem");
  if (m == nullptr || !readable(c, c.a[1], m->attr().key_size, "bpf_map_update_elem key") ||
      !readable(c, c.a[2], m->attr().value_size, "bpf_map_update_elem value"))
    return false;
  *r0 = ret(helpers::map_update(*m, ptr(c.a[1]), ptr(c.a[2]), c.a[3]));
  return true;
}

bool map_delete_elem(HelperCall& c, uint64_t* r0) {
  Map* m = c.m.map_arg(c.a[0], "bpf_map_delete_elem");
  if (m == nullptr || !readable(c, c.a[1], m->attr().key_size, "bpf_map_delete_elem key")) return false;
  *r0 = ret(helpers::map_delete(*m, ptr(c.a[1])));
  return true;
}

bool map_push_elem(HelperCall& c, uint64_t* r0) {
  Map* m = c.m.map_arg(c.a[0], "bpf_map_push_elem");
  if (m == nullptr || !readable(c, c.a[1], m->attr().value_size, "bpf_map_push_elem value")) return false;
  *r0 = ret(helpers::map_push(*m, ptr(c.a[1]), c.a[2]));
  return true;
}

bool map_pop_elem(HelperCall& c, uint64_t* r0) {
  Map* m = c.m.map_arg(c.a[0], "bpf_map_pop_elem");
  if (m == nullptr || !writable(c, c.a[1], m->attr().value_size, "bpf_map_pop_elem value")) return false;
  *r0 = ret(helpers::map_pop(*m, ptr(c.a[1])));
  return true;
}

bool map_peek_elem(HelperCall& c, uint64_t* r0) {
  Map* m = c.m.map_arg(c.a[0], "bpf_map_peek_elem");
  // A bloom filter reads the value it checks; a queue or stack writes it.
  const bool reads = m != nullptr && m->attr().map_type == BPF_MAP_TYPE_BLOOM_FILTER;
  if (m == nullptr || !c.m.check(c.a[1], m->attr().value_size, !reads, "bpf_map_peek_elem value")) return false;
  *r0 = ret(helpers::map_peek(*m, ptr(c.a[1])));
  return true;
}

bool map_lookup_percpu_elem(HelperCall& c, uint64_t* r0) {
  Map* m = c.m.map_arg(c.a[0], "bpf_map_lookup_percpu_elem");
  if (m == nullptr || !readable(c, c.a[1], m->attr().key_size, "bpf_map_lookup_percpu_elem key")) return false;
  void* v = helpers::map_lookup_percpu(*m, ptr(c.a[1]), static_cast<uint32_t>(c.a[2]));
  if (v != nullptr) allow_map_memory(c.env, *m);
  *r0 = reinterpret_cast<uint64_t>(v);
  return true;
}

// --- ring buffers ---

Map* ringbuf_arg(HelperCall& c, const char* helper) {
  Map* m = c.m.map_arg(c.a[0], helper);
  if (m != nullptr && m->attr().map_type != BPF_MAP_TYPE_RINGBUF) {
    c.m.fault("%s on map %u, which is no ring buffer (the verifier refuses it)", helper, m->id());
    return nullptr;
  }
  return m;
}

bool ringbuf_output(HelperCall& c, uint64_t* r0) {
  Map* m = ringbuf_arg(c, "bpf_ringbuf_output");
  if (m == nullptr || !readable(c, c.a[1], c.a[2], "bpf_ringbuf_output data")) return false;
  *r0 = ret(helpers::ringbuf_output(*m, ptr(c.a[1]), c.a[2], c.a[3]));
  return true;
}

bool ringbuf_reserve(HelperCall& c, uint64_t* r0) {
  Map* m = ringbuf_arg(c, "bpf_ringbuf_reserve");
  if (m == nullptr) return false;
  void* rec = helpers::ringbuf_reserve(*m, c.a[1], c.a[2]);
  if (rec != nullptr) {
    if (c.a[1] != 0) c.env.memory.add(rec, c.a[1], true);
    c.env.ring_records.push_back({rec, c.a[1], m});
  }
  *r0 = reinterpret_cast<uint64_t>(rec);
  return true;
}

// bpf_ringbuf_submit and bpf_ringbuf_discard: the record must be one this run
// reserved and still holds (the verifier tracks it as a reference).
bool ringbuf_commit(HelperCall& c, bool discard) {
  auto& held = c.env.ring_records;
  for (auto it = held.begin(); it != held.end(); ++it) {
    if (reinterpret_cast<uint64_t>(it->data) != c.a[0]) continue;
    helpers::ringbuf_commit(*it->map, it->data, c.a[1], discard);
    c.env.memory.remove(it->data);
    held.erase(it);
    return true;
  }
  return c.m.fault("bpf_ringbuf_%s of 0x%llx, which is no ring buffer record this program holds",
                   discard ? "discard" : "submit", static_cast<unsigned long long>(c.a[0]));
}

bool ringbuf_submit(HelperCall& c, uint64_t* r0) {
  *r0 = 0;
  return ringbuf_commit(c, false);
}

bool ringbuf_discard(HelperCall& c, uint64_t* r0) {
  *r0 = 0;
  return ringbuf_commit(c, true);
}

bool ringbuf_query(HelperCall& c, uint64_t* r0) {
  Map* m = ringbuf_arg(c, "bpf_ringbuf_query");
  if (m == nullptr) return false;
  *r0 = helpers::ringbuf_query(*m, c.a[1]);
  return true;
}

// --- perf events ---

// bpf_perf_event_output, bpf_xdp_event_output and bpf_skb_event_output (one
// helper id; the program type picks the variant): XDP and skb programs may
// append ctx_len packet bytes (flags' BPF_F_CTXLEN_MASK) to the sample.
bool perf_event_output(HelperCall& c, uint64_t* r0) {
  Map* m = c.m.map_arg(c.a[1], "bpf_perf_event_output");
  if (m == nullptr || !readable(c, c.a[3], c.a[4], "bpf_perf_event_output data")) return false;
  const uint64_t flags = c.a[2];
  const uint8_t* pkt = nullptr;
  uint32_t pkt_len = 0;
  std::vector<uint8_t> whole;  // an XDP frame with frags, made contiguous (bpf_xdp_copy)
  if (c.env.xdp != nullptr) {
    const XdpBuff& x = *c.env.xdp;
    pkt = x.data;
    pkt_len = static_cast<uint32_t>(x.data_end - x.data);
    if (!x.frags.empty()) {
      whole.assign(x.data, x.data_end);
      for (const XdpFrag& f : x.frags) whole.insert(whole.end(), f.page.begin(), f.page.begin() + f.len);
      pkt = whole.data();
      pkt_len = static_cast<uint32_t>(whole.size());
    }
  } else if (c.env.ctx_model != nullptr) {
    pkt = c.env.ctx_model->packet(&pkt_len);
  }
  const uint64_t allowed = uint64_t{BPF_F_INDEX_MASK} | (pkt != nullptr ? uint64_t{BPF_F_CTXLEN_MASK} : 0);
  if (flags & ~allowed) return *r0 = ret(-EINVAL), true;
  const uint64_t ctx_len = (flags & BPF_F_CTXLEN_MASK) >> 32;
  if (pkt != nullptr && ctx_len > pkt_len) return *r0 = ret(-EFAULT), true;
  *r0 = ret(helpers::perf_event_output(*m, flags & BPF_F_INDEX_MASK, ptr(c.a[3]), c.a[4], pkt, ctx_len));
  return true;
}

// bpf_get_attach_cookie: the cookie the program was attached with (a perf
// link's bpf_cookie, a tracing or raw tracepoint link's cookie); 0 in test
// runs and for attachments without one.
bool get_attach_cookie(HelperCall& c, uint64_t* r0) {
  *r0 = c.env.attach_cookie;
  return true;
}

// bpf_get_func_ip: the address of the function the program was attached to
// (kprobes, kprobe.multi, fentry/fexit), the probed instruction's for
// uprobes; 0 when the emulator does not know it (a test run, bpfemu_prog_fire).
bool get_func_ip(HelperCall& c, uint64_t* r0) {
  *r0 = c.env.func_ip != 0 || c.env.func_name == nullptr ? c.env.func_ip : ksym_text_addr(c.env.func_name);
  return true;
}

// --- bpf_spin_lock ---

// The map, among those this run reaches, whose storage holds address p.
Map* map_holding(const RunEnv& env, uint64_t p) {
  for (const Map* m : env.mapped) {
    const auto base = reinterpret_cast<uint64_t>(m->data());
    if (p >= base && p - base < m->data_size()) return const_cast<Map*>(m);
  }
  return nullptr;
}

bool spin_lock(HelperCall& c, uint64_t* r0) {
  Map* m = map_holding(c.env, c.a[0]);
  if (m == nullptr) return c.m.fault("bpf_spin_lock: R1 does not point into a map value");
  if (!m->ops().has_spin_lock(*m))
    return c.m.fault("bpf_spin_lock: map %u has no struct bpf_spin_lock in its BTF value type", m->id());
  const long r = helpers::spin_lock(*m, ptr(c.a[0]));
  if (r == -EINVAL)
    return c.m.fault("bpf_spin_lock: R1 does not point to the struct bpf_spin_lock of a value of map %u (at offset %u)",
                     m->id(), m->attr().record.lock_off);
  if (r != 0) return c.m.fault("bpf_spin_lock: this thread holds that lock already");
  c.env.held_lock = ptr(c.a[0]);
  c.env.held_lock_map = m;
  *r0 = 0;
  return true;
}

bool spin_unlock(HelperCall& c, uint64_t* r0) {
  if (c.env.held_lock == nullptr || c.env.held_lock != ptr(c.a[0]))
    return c.m.fault("bpf_spin_unlock of a lock the program does not hold");
  (void)helpers::spin_unlock(*c.env.held_lock_map, c.env.held_lock);
  c.env.held_lock = nullptr;
  c.env.held_lock_map = nullptr;
  graph_unlock(c.env);
  *r0 = 0;
  return true;
}

struct Callback {
  HelperCall* c;
  Map* map;
  uint32_t pc;
  uint64_t ctx;
  bool failed = false;
};

long for_each_step(Map& map, const void* key, void* value, void* arg) {
  auto* cb = static_cast<Callback*>(arg);
  RunMemory& mem = cb->c->env.memory;
  allow_map_memory(cb->c->env, map);
  // A family may hand over a key or value outside its storage (a copy): that is
  // reachable for the callback's duration only.
  const uint32_t ks = map.attr().key_size, vs = map.attr().value_size;
  const bool writable = !(map.attr().map_flags & BPF_F_RDONLY_PROG);
  const bool new_key = ks != 0 && !mem.allows(reinterpret_cast<uint64_t>(key), ks, false) && mem.add(key, ks, false);
  const bool new_value =
      !mem.allows(reinterpret_cast<uint64_t>(value), vs, writable) && mem.add(value, vs, writable);
  uint64_t r0 = 0;
  const uint64_t args[5] = {reinterpret_cast<uint64_t>(&map), reinterpret_cast<uint64_t>(key),
                            reinterpret_cast<uint64_t>(value), cb->ctx, 0};
  const bool ok = cb->c->m.call(cb->pc, args, &r0);
  if (new_key) mem.remove(key);
  if (new_value) mem.remove(value);
  if (!ok) {
    cb->failed = true;
    return 1;
  }
  return static_cast<long>(r0);
}

bool for_each_map_elem(HelperCall& c, uint64_t* r0) {
  Map* m = c.m.map_arg(c.a[0], "bpf_for_each_map_elem");
  if (m == nullptr) return false;
  const int64_t pc = c.m.func_arg(c.a[1]);
  if (pc < 0) return c.m.fault("bpf_for_each_map_elem: R2 is not a callback of this program");
  Callback cb{&c, m, static_cast<uint32_t>(pc), c.a[2]};
  const long r = helpers::map_for_each(*m, for_each_step, &cb, c.a[3]);
  if (cb.failed) return false;
  *r0 = ret(r);
  return true;
}

// bpf_loop: at most 1 << 23 iterations; the callback returns 0 to go on, 1 to stop.
bool loop(HelperCall& c, uint64_t* r0) {
  const int64_t pc = c.m.func_arg(c.a[1]);
  if (pc < 0) return c.m.fault("bpf_loop: R2 is not a callback of this program");
  if (c.a[3] != 0) return *r0 = ret(-EINVAL), true;
  const uint32_t n = static_cast<uint32_t>(c.a[0]);
  if (n > (1U << 23)) return *r0 = ret(-E2BIG), true;
  uint32_t i = 0;
  for (; i < n; ++i) {
    uint64_t rc = 0;
    const uint64_t args[5] = {i, c.a[2], 0, 0, 0};
    if (!c.m.call(static_cast<uint32_t>(pc), args, &rc)) return false;
    if (rc != 0) {
      *r0 = i + 1;
      return true;
    }
  }
  *r0 = i;
  return true;
}

// --- timers (emu/timer.h): the verifier proves R1 is a map value's bpf_timer ---

bool timer_arg(HelperCall& c, const char* helper) { return writable(c, c.a[0], ValueRecord::kTimerSize, helper); }

bool timer_init(HelperCall& c, uint64_t* r0) {
  Map* m = c.m.map_arg(c.a[1], "bpf_timer_init");
  if (m == nullptr || !timer_arg(c, "bpf_timer_init timer")) return false;
  *r0 = ret(emu::timer_init(*m, ptr(c.a[0]), c.a[2]));
  return true;
}

bool timer_set_callback(HelperCall& c, uint64_t* r0) {
  if (!timer_arg(c, "bpf_timer_set_callback timer")) return false;
  const int64_t pc = c.m.func_arg(c.a[1]);
  if (pc < 0) return c.m.fault("bpf_timer_set_callback: R2 is not a callback of this program");
  *r0 = ret(emu::timer_set_callback(ptr(c.a[0]), c.m.program(), static_cast<uint32_t>(pc)));
  return true;
}

bool timer_start(HelperCall& c, uint64_t* r0) {
  if (!timer_arg(c, "bpf_timer_start timer")) return false;
  *r0 = ret(emu::timer_start(active_profile(), ptr(c.a[0]), c.a[1], c.a[2]));
  return true;
}

bool timer_cancel(HelperCall& c, uint64_t* r0) {
  if (!timer_arg(c, "bpf_timer_cancel timer")) return false;
  *r0 = ret(emu::timer_cancel(ptr(c.a[0])));
  return true;
}

// --- time, CPU, identity, randomness ---

bool ktime_get_ns(HelperCall&, uint64_t* r0) { return *r0 = clock_ns(CLOCK_MONOTONIC), true; }
bool ktime_get_boot_ns(HelperCall&, uint64_t* r0) { return *r0 = clock_ns(CLOCK_BOOTTIME), true; }
bool ktime_get_coarse_ns(HelperCall&, uint64_t* r0) { return *r0 = clock_ns(CLOCK_MONOTONIC_COARSE), true; }
bool ktime_get_tai_ns(HelperCall&, uint64_t* r0) { return *r0 = clock_ns(CLOCK_TAI), true; }
bool get_smp_processor_id(HelperCall&, uint64_t* r0) { return *r0 = static_cast<uint32_t>(current_cpu()), true; }

// bpf_get_prandom_u32: random, or a repeatable sequence per thread after
// bpfemu::set_prandom_seed (each thread restarts it when the seed changes).
std::atomic<uint64_t> g_prandom_seed{0};
std::atomic<uint32_t> g_prandom_generation{0};

bool get_prandom_u32(HelperCall&, uint64_t* r0) {
  thread_local std::mt19937 rng{std::random_device{}()};
  thread_local uint32_t generation = 0;
  if (const uint32_t g = g_prandom_generation.load(std::memory_order_acquire); g != generation) {
    generation = g;
    const uint64_t seed = g_prandom_seed.load(std::memory_order_relaxed);
    rng.seed(seed != 0 ? static_cast<std::mt19937::result_type>(seed ^ (seed >> 32)) : std::random_device{}());
  }
  *r0 = static_cast<uint32_t>(rng());
  return true;
}

bool get_current_pid_tgid(HelperCall&, uint64_t* r0) {
  *r0 = (static_cast<uint64_t>(getpid()) << 32) | static_cast<uint32_t>(syscall(SYS_gettid));
  return true;
}

bool get_current_uid_gid(HelperCall&, uint64_t* r0) {
  *r0 = (static_cast<uint64_t>(getgid()) << 32) | getuid();
  return true;
}

// The thread's name, NUL-terminated and zero-padded to size (TASK_COMM_LEN 16).
bool get_current_comm(HelperCall& c, uint64_t* r0) {
  const uint32_t size = static_cast<uint32_t>(c.a[1]);
  if (size == 0 || !writable(c, c.a[0], size, "bpf_get_current_comm buf")) return size == 0 ? (*r0 = ret(-EINVAL), true) : false;
  char comm[16] = {};
  char path[64];
  snprintf(path, sizeof(path), "/proc/self/task/%ld/comm", static_cast<long>(syscall(SYS_gettid)));
  if (FILE* f = fopen(path, "re")) {
    if (fgets(comm, sizeof(comm), f) == nullptr) comm[0] = '\0';
    fclose(f);
  }
  comm[strcspn(comm, "\n")] = '\0';
  auto* out = static_cast<char*>(ptr(c.a[0]));
  memset(out, 0, size);
  memcpy(out, comm, std::min<size_t>(strlen(comm), size - 1));
  *r0 = 0;
  return true;
}

// bpf_jiffies64: jiffies since boot at HZ 250 (Debian's), from the kernel's
// starting value INITIAL_JIFFIES (five minutes before a 32-bit wrap). The
// kernel's own CONFIG_HZ cannot be read unprivileged, so only the rate's
// order and monotonicity hold, not the exact value.
bool jiffies64(HelperCall&, uint64_t* r0) {
  constexpr uint64_t kHz = 250;
  constexpr uint64_t kInitial = static_cast<uint32_t>(-300 * static_cast<int32_t>(kHz));
  return *r0 = kInitial + clock_ns(CLOCK_BOOTTIME) / (1000000000ULL / kHz), true;
}

// One NUMA node, as on the emulated machine.
bool get_numa_node_id(HelperCall&, uint64_t* r0) { return *r0 = 0, true; }

// bpf_strncmp(s1, s1_sz, s2): the kernel's strncmp of at most s1_sz bytes
// (-1, 0 or 1); s2 is a NUL-terminated constant string.
bool strncmp_helper(HelperCall& c, uint64_t* r0) {
  const uint32_t n = static_cast<uint32_t>(c.a[1]);
  if (!readable(c, c.a[0], n, "bpf_strncmp s1")) return false;
  const auto* a = static_cast<const unsigned char*>(ptr(c.a[0]));
  const auto* b = static_cast<const unsigned char*>(ptr(c.a[2]));
  for (uint32_t i = 0; i < n; ++i) {
    if (!readable(c, c.a[2] + i, 1, "bpf_strncmp s2")) return false;
    if (a[i] != b[i]) return *r0 = ret(a[i] < b[i] ? -1 : 1), true;
    if (a[i] == 0) break;
  }
  return *r0 = 0, true;
}

// --- reading the process's memory (the probe_read family) ---

bool probe_read(HelperCall& c, uint64_t* r0) {
  const uint32_t size = static_cast<uint32_t>(c.a[1]);
  if (!writable(c, c.a[0], size, "bpf_probe_read dst")) return false;
  if (copy_from_user(ptr(c.a[0]), ptr(c.a[2]), size) != 0) {
    memset(ptr(c.a[0]), 0, size);
    *r0 = ret(-EFAULT);
    return true;
  }
  *r0 = 0;
  return true;
}

bool probe_read_str(HelperCall& c, uint64_t* r0) {
  const uint32_t size = static_cast<uint32_t>(c.a[1]);
  if (size == 0) return *r0 = 0, true;
  if (!writable(c, c.a[0], size, "bpf_probe_read_str dst")) return false;
  auto* dst = static_cast<char*>(ptr(c.a[0]));
  const long n = strncpy_from_user(dst, static_cast<const char*>(ptr(c.a[2])), size);
  if (n < 0) {
    memset(dst, 0, size);
    *r0 = ret(n);
    return true;
  }
  // strncpy_from_user copies at most size bytes; the string is cut to size - 1.
  const long len = std::min<long>(n, static_cast<long>(size) - 1);
  dst[len] = '\0';
  *r0 = static_cast<uint64_t>(len + 1);
  return true;
}

// --- packets: the xdp_buff helpers and bpf_skb_load_bytes ---

constexpr uint32_t kEthHlen = 14;
constexpr uint32_t kXdpFrameSize = 40;    // sizeof(struct xdp_frame), kept at the frame's start
constexpr uint32_t kSharedInfoSize = 320;  // SKB_DATA_ALIGN(sizeof(struct skb_shared_info)), at its end

XdpBuff* xdp_of(HelperCall& c, const char* helper) {
  if (c.env.xdp == nullptr || c.a[0] != reinterpret_cast<uint64_t>(c.env.ctx)) {
    c.m.fault("%s: R1 is not the XDP context", helper);
    return nullptr;
  }
  return c.env.xdp;
}

// The memory the program may touch follows the metadata and the packet:
// [data_meta, data_end).
void move_packet(HelperCall& c, XdpBuff& x, uint8_t* data_meta, uint8_t* data, uint8_t* data_end) {
  c.env.memory.remove(x.data_meta);
  x.data_meta = data_meta;
  x.data = data;
  x.data_end = data_end;
  c.env.memory.add(x.data_meta, static_cast<uint64_t>(x.data_end - x.data_meta), true);
}

// bpf_xdp_adjust_head: the new start stays past the xdp_frame kept at the
// frame's start, and at least an Ethernet header before the end; the
// metadata moves with the start.
bool xdp_adjust_head(HelperCall& c, uint64_t* r0) {
  XdpBuff* x = xdp_of(c, "bpf_xdp_adjust_head");
  if (x == nullptr) return false;
  const int32_t offset = static_cast<int32_t>(c.a[1]);
  uint8_t* data = x->data + offset;
  const size_t metalen = static_cast<size_t>(x->data - x->data_meta);
  if (data - metalen < x->hard_start + kXdpFrameSize || data > x->data_end - kEthHlen) return *r0 = ret(-EINVAL), true;
  if (metalen != 0) memmove(x->data_meta + offset, x->data_meta, metalen);
  move_packet(c, *x, x->data_meta + offset, data, x->data_end);
  *r0 = 0;
  return true;
}

// bpf_xdp_adjust_meta: metadata grows into the headroom (or shrinks) in u32s,
// up to the profile's bound, never into the xdp_frame or past the packet's start.
bool xdp_adjust_meta(HelperCall& c, uint64_t* r0) {
  XdpBuff* x = xdp_of(c, "bpf_xdp_adjust_meta");
  if (x == nullptr) return false;
  uint8_t* meta = x->data_meta + static_cast<int32_t>(c.a[1]);
  if (meta < x->hard_start + kXdpFrameSize || meta > x->data) return *r0 = ret(-EINVAL), true;
  const uint64_t metalen = static_cast<uint64_t>(x->data - meta);
  if ((metalen & 3) != 0 || metalen > active_profile().xdp_meta_max) return *r0 = ret(-EACCES), true;
  move_packet(c, *x, meta, x->data, x->data_end);
  *r0 = 0;
  return true;
}

// bpf_xdp_frags_increase_tail / _shrink_tail: the last frag grows within its
// page (zeroed); shrinking takes whole frags from the end, then the linear
// part once none is left, keeping an Ethernet header.
uint64_t frags_adjust_tail(HelperCall& c, XdpBuff& x, int32_t offset) {
  constexpr uint32_t kPageSize = 4096;
  if (offset >= 0) {
    XdpFrag& last = x.frags.back();
    if (static_cast<uint32_t>(offset) > kPageSize - last.len) return ret(-EINVAL);
    memset(last.page.data() + last.len, 0, static_cast<size_t>(offset));
    last.len += static_cast<uint32_t>(offset);
    return 0;
  }
  uint32_t cut = 0U - static_cast<uint32_t>(offset);
  const uint64_t total = static_cast<uint64_t>(x.data_end - x.data) + x.frags_size();
  if (cut > total - kEthHlen) return ret(-EINVAL);
  while (cut > 0 && !x.frags.empty()) {
    XdpFrag& last = x.frags.back();
    const uint32_t take = std::min(cut, last.len);
    cut -= take;
    last.len -= take;
    if (last.len == 0) x.frags.pop_back();
  }
  if (x.frags.empty() && cut > 0) move_packet(c, x, x.data_meta, x.data, x.data_end - cut);
  return 0;
}

// bpf_xdp_adjust_tail: the end stays before the frame's tailroom and at least
// an Ethernet header past the start; grown bytes are zeroed.
bool xdp_adjust_tail(HelperCall& c, uint64_t* r0) {
  XdpBuff* x = xdp_of(c, "bpf_xdp_adjust_tail");
  if (x == nullptr) return false;
  const int32_t offset = static_cast<int32_t>(c.a[1]);
  if (!x->frags.empty()) return *r0 = frags_adjust_tail(c, *x, offset), true;
  uint8_t* data_end = x->data_end + offset;
  if (data_end > x->hard_start + x->frame_sz - kSharedInfoSize || data_end < x->data + kEthHlen)
    return *r0 = ret(-EINVAL), true;
  if (offset > 0) memset(x->data_end, 0, static_cast<size_t>(offset));
  move_packet(c, *x, x->data_meta, x->data, data_end);
  *r0 = 0;
  return true;
}

bool xdp_get_buff_len(HelperCall& c, uint64_t* r0) {
  XdpBuff* x = xdp_of(c, "bpf_xdp_get_buff_len");
  if (x == nullptr) return false;
  *r0 = static_cast<uint64_t>(x->data_end - x->data) + x->frags_size();
  return true;
}

// bpf_xdp_load_bytes / bpf_xdp_store_bytes (bpf_xdp_pointer's checks).
bool xdp_copy_bytes(HelperCall& c, uint64_t* r0, bool store) {
  XdpBuff* x = xdp_of(c, store ? "bpf_xdp_store_bytes" : "bpf_xdp_load_bytes");
  if (x == nullptr) return false;
  const uint32_t offset = static_cast<uint32_t>(c.a[1]), len = static_cast<uint32_t>(c.a[3]);
  // The size is ARG_CONST_SIZE: the verifier refuses 0 (and the buffer may then be NULL).
  if (len == 0) return c.m.fault("%s: invalid zero-sized buffer", store ? "bpf_xdp_store_bytes" : "bpf_xdp_load_bytes");
  if (!c.m.check(c.a[2], len, !store, store ? "bpf_xdp_store_bytes buf" : "bpf_xdp_load_bytes buf")) return false;
  if (offset > 0xffff || len > 0xffff) return *r0 = ret(-EFAULT), true;
  const uint32_t linear = static_cast<uint32_t>(x->data_end - x->data);
  if (uint64_t{offset} + len > uint64_t{linear} + x->frags_size()) return *r0 = ret(-EINVAL), true;
  // The linear part, then the frags, piece by piece (bpf_xdp_copy_buf).
  auto* buf = static_cast<uint8_t*>(ptr(c.a[2]));
  uint32_t at = offset, left = len, base = 0;
  auto copy = [&](uint8_t* area, uint32_t area_len) {
    if (left != 0 && at < base + area_len) {
      const uint32_t n = std::min(left, base + area_len - at);
      if (store)
        memmove(area + (at - base), buf, n);
      else
        memmove(buf, area + (at - base), n);
      buf += n;
      at += n;
      left -= n;
    }
    base += area_len;
  };
  copy(x->data, linear);
  for (XdpFrag& f : x->frags) copy(f.page.data(), f.len);
  *r0 = 0;
  return true;
}
bool xdp_load_bytes(HelperCall& c, uint64_t* r0) { return xdp_copy_bytes(c, r0, false); }
bool xdp_store_bytes(HelperCall& c, uint64_t* r0) { return xdp_copy_bytes(c, r0, true); }

// bpf_skb_load_bytes: bytes from skb->data on; out of the packet the buffer
// is zeroed and the answer is EFAULT.
bool skb_load_bytes(HelperCall& c, uint64_t* r0) {
  uint32_t pkt_len = 0;
  const uint8_t* pkt = c.env.ctx_model != nullptr ? c.env.ctx_model->packet(&pkt_len) : nullptr;
  if ((pkt == nullptr && c.env.flow_keys == nullptr) || c.a[0] != reinterpret_cast<uint64_t>(c.env.ctx))
    return c.m.fault("bpf_skb_load_bytes: R1 is not an skb context");
  const uint32_t offset = static_cast<uint32_t>(c.a[1]), len = static_cast<uint32_t>(c.a[3]);
  // The size is ARG_CONST_SIZE: the verifier refuses 0 (and the buffer may then be NULL).
  if (len == 0) return c.m.fault("bpf_skb_load_bytes: invalid zero-sized buffer");
  if (!writable(c, c.a[2], len, "bpf_skb_load_bytes to")) return false;
  // A flow dissector's variant reads through the skb, which a test run has
  // none of: it always fails.
  if (offset > INT32_MAX || uint64_t{offset} + len > pkt_len || c.env.flow_keys != nullptr) {
    memset(ptr(c.a[2]), 0, len);
    return *r0 = ret(-EFAULT), true;
  }
  memcpy(ptr(c.a[2]), pkt + offset, len);
  *r0 = 0;
  return true;
}

// --- bpf_trace_printk: the kernel's format rules (emu/bprintf.h), written to env.trace ---

bool trace_printk(HelperCall& c, uint64_t* r0) {
  const uint32_t fmt_size = static_cast<uint32_t>(c.a[1]);
  if (fmt_size == 0) return *r0 = ret(-EINVAL), true;
  if (!readable(c, c.a[0], fmt_size, "bpf_trace_printk fmt")) return false;
  std::string out;
  const uint64_t args[3] = {c.a[2], c.a[3], c.a[4]};
  if (int e = bprintf_format(static_cast<const char*>(ptr(c.a[0])), fmt_size, args, 3, &out); e != 0)
    return *r0 = ret(e), true;
  c.env.trace += out;
  if (out.empty() || out.back() != '\n') c.env.trace += '\n';  // one trace line per call, as trace_pipe shows it
  *r0 = out.size();
  return true;
}

// --- bpf_snprintf(str, str_size, fmt, data, data_len) ---
// The same format rules with up to 12 arguments: the length of the whole
// text plus its NUL, of which str gets what fits (cut, NUL-terminated).

constexpr uint32_t kMaxSnprintfArgs = 12;  // the kernel's MAX_BPRINTF_VARARGS

bool snprintf_helper(HelperCall& c, uint64_t* r0) {
  const auto str_size = static_cast<uint32_t>(c.a[1]);
  const auto data_len = static_cast<uint32_t>(c.a[4]);
  if (str_size != 0 && !writable(c, c.a[0], str_size, "bpf_snprintf str")) return false;
  // fmt is a read-only map's value to the verifier, NUL-terminated within
  // it: here, the NUL must be within the value or data range fmt points into.
  uint64_t lo = 0, hi = 0;
  bool unused = false;
  if (!readable(c, c.a[2], 1, "bpf_snprintf fmt")) return false;
  c.env.memory.last_hit(&lo, &hi, &unused);
  if (c.a[2] < lo || c.a[2] >= hi) return c.m.fault("bpf_snprintf: fmt is not in a map value");
  const auto fmt_room = static_cast<uint32_t>(std::min<uint64_t>(hi - c.a[2], UINT32_MAX));
  if ((data_len & 7) != 0 || data_len > kMaxSnprintfArgs * 8 || (data_len != 0 && c.a[3] == 0))
    return *r0 = ret(-EINVAL), true;
  if (data_len != 0 && !readable(c, c.a[3], data_len, "bpf_snprintf data")) return false;
  uint64_t args[kMaxSnprintfArgs] = {};
  if (data_len != 0) memcpy(args, ptr(c.a[3]), data_len);
  std::string out;
  if (int e = bprintf_format(static_cast<const char*>(ptr(c.a[2])), fmt_room, args, data_len / 8, &out); e != 0)
    return *r0 = ret(e), true;
  if (str_size != 0) {
    const size_t n = std::min<size_t>(out.size(), str_size - 1);
    memcpy(ptr(c.a[0]), out.data(), n);
    static_cast<char*>(ptr(c.a[0]))[n] = '\0';
  }
  *r0 = out.size() + 1;
  return true;
}

// bpf_tail_call replaces the running program, so the machine does it itself
// (Machine::tail_call); this entry only says that it is emulated.
bool tail_call(HelperCall& c, uint64_t*) { return c.m.fault("bpf_tail_call reached the helper table"); }

struct Impl {
  uint32_t id;
  HelperFn fn;
};

constexpr Impl kImpls[] = {
    {BPF_FUNC_map_lookup_elem, map_lookup_elem},
    {BPF_FUNC_map_update_elem, map_update_elem},
    {BPF_FUNC_map_delete_elem, map_delete_elem},
    {BPF_FUNC_probe_read, probe_read},
    {BPF_FUNC_ktime_get_ns, ktime_get_ns},
    {BPF_FUNC_trace_printk, trace_printk},
    {BPF_FUNC_get_prandom_u32, get_prandom_u32},
    {BPF_FUNC_get_smp_processor_id, get_smp_processor_id},
    {BPF_FUNC_tail_call, tail_call},
    {BPF_FUNC_get_current_pid_tgid, get_current_pid_tgid},
    {BPF_FUNC_get_current_uid_gid, get_current_uid_gid},
    {BPF_FUNC_get_current_comm, get_current_comm},
    {BPF_FUNC_probe_read_str, probe_read_str},
    {BPF_FUNC_map_push_elem, map_push_elem},
    {BPF_FUNC_map_pop_elem, map_pop_elem},
    {BPF_FUNC_map_peek_elem, map_peek_elem},
    {BPF_FUNC_probe_read_user, probe_read},
    {BPF_FUNC_probe_read_kernel, probe_read},
    {BPF_FUNC_probe_read_user_str, probe_read_str},
    {BPF_FUNC_probe_read_kernel_str, probe_read_str},
    {BPF_FUNC_ktime_get_boot_ns, ktime_get_boot_ns},
    {BPF_FUNC_ktime_get_coarse_ns, ktime_get_coarse_ns},
    {BPF_FUNC_for_each_map_elem, for_each_map_elem},
    {BPF_FUNC_loop, loop},
    {BPF_FUNC_timer_init, timer_init},
    {BPF_FUNC_timer_set_callback, timer_set_callback},
    {BPF_FUNC_timer_start, timer_start},
    {BPF_FUNC_timer_cancel, timer_cancel},
    {BPF_FUNC_map_lookup_percpu_elem, map_lookup_percpu_elem},
    {BPF_FUNC_ktime_get_tai_ns, ktime_get_tai_ns},
    {BPF_FUNC_xdp_adjust_head, xdp_adjust_head},
    {BPF_FUNC_xdp_adjust_tail, xdp_adjust_tail},
    {BPF_FUNC_xdp_adjust_meta, xdp_adjust_meta},
    {BPF_FUNC_xdp_get_buff_len, xdp_get_buff_len},
    {BPF_FUNC_xdp_load_bytes, xdp_load_bytes},
    {BPF_FUNC_xdp_store_bytes, xdp_store_bytes},
    {BPF_FUNC_skb_load_bytes, skb_load_bytes},
    {BPF_FUNC_skb_store_bytes, skb_store_bytes},
    {BPF_FUNC_l3_csum_replace, l3_csum_replace},
    {BPF_FUNC_l4_csum_replace, l4_csum_replace},
    {BPF_FUNC_csum_diff, csum_diff},
    {BPF_FUNC_redirect, redirect},
    {BPF_FUNC_redirect_map, redirect_map},
    {BPF_FUNC_skb_pull_data, skb_pull_data},
    {BPF_FUNC_skb_change_tail, skb_change_tail},
    {BPF_FUNC_skb_change_head, skb_change_head},
    {BPF_FUNC_skb_adjust_room, skb_adjust_room},
    {BPF_FUNC_skb_change_proto, skb_change_proto},
    {BPF_FUNC_skb_load_bytes_relative, skb_load_bytes_relative},
    {BPF_FUNC_skb_vlan_push, skb_vlan_push},
    {BPF_FUNC_skb_vlan_pop, skb_vlan_pop},
    {BPF_FUNC_ringbuf_output, ringbuf_output},
    {BPF_FUNC_ringbuf_reserve, ringbuf_reserve},
    {BPF_FUNC_ringbuf_submit, ringbuf_submit},
    {BPF_FUNC_ringbuf_discard, ringbuf_discard},
    {BPF_FUNC_ringbuf_query, ringbuf_query},
    {BPF_FUNC_perf_event_output, perf_event_output},
    {BPF_FUNC_jiffies64, jiffies64},
    {BPF_FUNC_get_numa_node_id, get_numa_node_id},
    {BPF_FUNC_strncmp, strncmp_helper},
    {BPF_FUNC_get_attach_cookie, get_attach_cookie},
    {BPF_FUNC_get_func_ip, get_func_ip},
    {BPF_FUNC_spin_lock, spin_lock},
    {BPF_FUNC_spin_unlock, spin_unlock},
    {BPF_FUNC_get_stackid, get_stackid},
    {BPF_FUNC_seq_printf, seq_printf},
    {BPF_FUNC_seq_write, seq_write},
    {BPF_FUNC_get_stack, get_stack},
    {BPF_FUNC_get_current_cgroup_id, get_current_cgroup_id},
    {BPF_FUNC_get_current_ancestor_cgroup_id, get_current_ancestor_cgroup_id},
    {BPF_FUNC_get_ns_current_pid_tgid, get_ns_current_pid_tgid},
    {BPF_FUNC_get_current_task, get_current_task},
    {BPF_FUNC_get_current_task_btf, get_current_task_btf},
    {BPF_FUNC_kptr_xchg, kptr_xchg},
    {BPF_FUNC_snprintf, snprintf_helper},
};

// The emulated helpers the kernel reserves for GPL-compatible programs (asked
// of the 6.18 kernel: a non-GPL program calling each one).
constexpr uint32_t kGplOnly[] = {BPF_FUNC_probe_read,          BPF_FUNC_trace_printk,       BPF_FUNC_probe_read_str,
                                 BPF_FUNC_probe_read_user,     BPF_FUNC_probe_read_kernel,  BPF_FUNC_probe_read_user_str,
                                 BPF_FUNC_probe_read_kernel_str, BPF_FUNC_get_stackid,      BPF_FUNC_get_stack,
                                 BPF_FUNC_seq_printf,         BPF_FUNC_seq_write,        BPF_FUNC_get_current_task,
                                 BPF_FUNC_get_current_task_btf, BPF_FUNC_snprintf};

struct Table {
  HelperDef defs[kHelperCount];
  Table() {
    for (uint32_t id = 0; id < kHelperCount; ++id) {
      const char* name = id < kUapiCount ? kUapiNames[id] : kNewerNames[id - kUapiCount];
      defs[id] = {id, name, nullptr, false};
    }
    for (const Impl& i : kImpls) defs[i.id].fn = i.fn;
    for (uint32_t id : kGplOnly) defs[id].gpl_only = true;
  }
};
static_assert(kUapiCount + sizeof(kNewerNames) / sizeof(kNewerNames[0]) >= kHelperCount);

}  // namespace

void set_prandom_seed(uint64_t seed) {
  g_prandom_seed.store(seed, std::memory_order_relaxed);
  g_prandom_generation.fetch_add(1, std::memory_order_acq_rel);
}

const HelperDef* helper_by_id(uint32_t id) {
  static const Table table;
  return id > 0 && id < kHelperCount ? &table.defs[id] : nullptr;
}

}  // namespace bpfemu::emu::interp
