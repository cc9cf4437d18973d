// Program-side scenarios: map helpers called from a BPF program, the same
// embedded objects (conformance/bpf/) loaded with libbpf and run through
// BPF_PROG_TEST_RUN on the kernel and on the emulator (prog_side.h).
#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "conformance/scenario.h"
#include "conformance/skb_helper_cases.h"
#include "emu/bpf_syscall.h"

namespace bpfemu::conformance {

SCENARIO("HASH", "prog", "lookup_update_delete") {
  int fd = r.create(BPF_MAP_TYPE_HASH, 4, 8, 4, BPF_F_ZERO_SEED);
  r.prog_lookup(fd, 1);
  r.prog_update(fd, 1, u64(11));
  r.prog_update(fd, 1, u64(12), BPF_NOEXIST);
  r.prog_update(fd, 2, u64(22), BPF_EXIST);
  r.prog_update(fd, 2, u64(22), 7);
  r.prog_lookup(fd, 1);
  r.lookup(fd, u32(1));
  for (uint32_t k = 2; k < 6; ++k) r.prog_update(fd, k, u64(k));
  r.prog_delete(fd, 1);
  r.prog_delete(fd, 1);
  r.walk(fd, 4);
}

SCENARIO("HASH", "prog", "for_each_return_codes") {
  int fd = r.create(BPF_MAP_TYPE_HASH, 4, 8, 16, BPF_F_ZERO_SEED);
  r.prog_for_each(fd, 0);
  for (uint32_t k = 0; k < 10; ++k) r.update(fd, u32(k), u64(k));
  r.prog_for_each(fd, 0);
  r.prog_for_each(fd, 1);
  r.prog_for_each(fd, 4);
  r.prog_for_each(fd, 0, 1);
}

SCENARIO("ARRAY", "prog", "lookup_update_for_each") {
  int fd = r.create(BPF_MAP_TYPE_ARRAY, 4, 8, 5);
  r.prog_update(fd, 2, u64(7));
  r.prog_update(fd, 2, u64(7), BPF_NOEXIST);
  r.prog_update(fd, 5, u64(7));
  r.prog_lookup(fd, 2);
  r.prog_lookup(fd, 5);
  r.prog_delete(fd, 2);
  r.prog_for_each(fd, 0);
  r.prog_for_each(fd, 3);
  r.lookup(fd, u32(2));
}

SCENARIO("PERCPU_HASH", "prog", "updates_touch_current_cpu_only") {
  int fd = r.create(BPF_MAP_TYPE_PERCPU_HASH, 4, 4, 4);
  r.prog_update(fd, 1, u32(0x11));
  r.lookup(fd, u32(1));
  r.set_cpu(1);
  r.prog_update(fd, 1, u32(0x22), BPF_EXIST);
  r.prog_lookup(fd, 1);
  r.set_cpu(0);
  r.prog_lookup(fd, 1);
  r.lookup(fd, u32(1));
}

SCENARIO("PERCPU_ARRAY", "prog", "current_cpu_slot") {
  int fd = r.create(BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, 2);
  r.set_cpu(1);
  r.prog_update(fd, 0, u64(5));
  r.prog_lookup(fd, 0);
  r.set_cpu(0);
  r.prog_lookup(fd, 0);
  r.lookup(fd, u32(0));
}

SCENARIO("LRU_HASH", "prog", "program_lookups_set_ref_bit") {
  int fd = r.create(BPF_MAP_TYPE_LRU_HASH, 4, 8, 8, BPF_F_ZERO_SEED);
  for (uint32_t k = 0; k < 8; ++k) r.update(fd, u32(k), u64(k));
  for (uint32_t k = 0; k < 4; ++k) r.prog_lookup(fd, k);  // referenced: survive rotation
  for (uint32_t k = 8; k < 14; ++k) r.update(fd, u32(k), u64(k));
  r.walk(fd, 4);
}

SCENARIO("LRU_HASH", "prog", "program_updates_evict") {
  int fd = r.create(BPF_MAP_TYPE_LRU_HASH, 4, 8, 16, BPF_F_ZERO_SEED);
  for (uint32_t k = 0; k < 40; ++k) {
    r.prog_update(fd, k, u64(k));
    if (k % 3 == 0) r.prog_lookup(fd, k / 2);
  }
  r.walk(fd, 4);
}

SCENARIO("LRU_HASH", "prog", "no_common_lru_program_lookups") {
  int fd = r.create(BPF_MAP_TYPE_LRU_HASH, 4, 8, 8, BPF_F_ZERO_SEED | BPF_F_NO_COMMON_LRU);
  for (uint32_t k = 0; k < 8; ++k) r.update(fd, u32(k), u64(k));
  r.prog_lookup(fd, 0);
  r.prog_lookup(fd, 2);
  for (uint32_t k = 8; k < 12; ++k) r.update(fd, u32(k), u64(k));
  r.walk(fd, 4);
}

SCENARIO("LRU_PERCPU_HASH", "prog", "lookups_and_updates") {
  int fd = r.create(BPF_MAP_TYPE_LRU_PERCPU_HASH, 4, 8, 8, BPF_F_ZERO_SEED);
  for (uint32_t k = 0; k < 8; ++k) r.prog_update(fd, k, u64(k));
  r.prog_lookup(fd, 1);
  r.prog_lookup(fd, 3);
  for (uint32_t k = 8; k < 12; ++k) r.prog_update(fd, k, u64(k));
  r.walk(fd, 4);
  r.lookup(fd, u32(1));
}

}  // namespace bpfemu::conformance

// ---- bpf_map_update_elem from a program with each flag ----

namespace bpfemu::conformance {
namespace {

// A 4-entry map with 4-byte keys and 8-byte values: BPF_EXIST and BPF_NOEXIST on
// missing and present keys, BPF_ANY, flags the helper refuses, a key past the
// end (arrays) or a full map (hashes: E2BIG, LRU: eviction), then what the
// program and a syscall see.
void prog_update_each_flag(Recorder& r, uint32_t type, uint32_t map_flags) {
  int fd = r.create(type, 4, 8, 4, map_flags);
  r.prog_update(fd, 1, u64(0x11), BPF_EXIST);
  r.prog_update(fd, 1, u64(0x12), BPF_NOEXIST);
  r.prog_update(fd, 1, u64(0x13), BPF_NOEXIST);
  r.prog_update(fd, 1, u64(0x14), BPF_EXIST);
  r.prog_update(fd, 1, u64(0x15), BPF_ANY);
  r.prog_update(fd, 2, u64(0x21), BPF_ANY);
  r.prog_update(fd, 3, u64(0x31), BPF_F_LOCK);  // no bpf_spin_lock in the value
  r.prog_update(fd, 3, u64(0x32), BPF_NOEXIST | BPF_EXIST);
  r.prog_update(fd, 3, u64(0x33), 8);
  r.prog_update(fd, 3, u64(0x34), BPF_NOEXIST);
  r.prog_update(fd, 0, u64(0x01), BPF_ANY);
  r.prog_update(fd, 4, u64(0x41), BPF_ANY);      // past the end of an array; the fifth key of a hash
  r.prog_update(fd, 5, u64(0x51), BPF_NOEXIST);
  r.prog_update(fd, 2, u64(0x22), BPF_EXIST);    // present in a full map
  r.prog_update(fd, 2, u64(0x23), BPF_NOEXIST);
  for (uint32_t k = 0; k < 6; ++k) r.prog_lookup(fd, k);
  r.walk(fd, 4);
  r.lookup(fd, u32(2));
}

}  // namespace

SCENARIO("HASH", "prog", "update_each_flag") { prog_update_each_flag(r, BPF_MAP_TYPE_HASH, BPF_F_ZERO_SEED); }
SCENARIO("HASH", "prog", "update_each_flag_no_prealloc") {
  prog_update_each_flag(r, BPF_MAP_TYPE_HASH, BPF_F_ZERO_SEED | BPF_F_NO_PREALLOC);
}
SCENARIO("PERCPU_HASH", "prog", "update_each_flag") {
  prog_update_each_flag(r, BPF_MAP_TYPE_PERCPU_HASH, BPF_F_ZERO_SEED);
}
SCENARIO("LRU_HASH", "prog", "update_each_flag") { prog_update_each_flag(r, BPF_MAP_TYPE_LRU_HASH, BPF_F_ZERO_SEED); }
SCENARIO("LRU_PERCPU_HASH", "prog", "update_each_flag") {
  prog_update_each_flag(r, BPF_MAP_TYPE_LRU_PERCPU_HASH, BPF_F_ZERO_SEED);
}
SCENARIO("ARRAY", "prog", "update_each_flag") { prog_update_each_flag(r, BPF_MAP_TYPE_ARRAY, 0); }
SCENARIO("PERCPU_ARRAY", "prog", "update_each_flag") { prog_update_each_flag(r, BPF_MAP_TYPE_PERCPU_ARRAY, 0); }

// The same on an LPM trie (8-byte keys {prefixlen, 4 data bytes}, 8-byte
// values, run from a raw tracepoint program: sleepable programs may not use
// LPM tries), with prefixes nested in each other and a full trie.
SCENARIO("LPM_TRIE", "prog", "update_each_flag") {
  auto ip4 = [](uint32_t plen, uint8_t a, uint8_t b, uint8_t c, uint8_t d) { return lpm_key(plen, Bytes{a, b, c, d}); };
  int fd = r.create(BPF_MAP_TYPE_LPM_TRIE, 8, 8, 3, BPF_F_NO_PREALLOC);
  r.prog_update(fd, ip4(16, 10, 1, 0, 0), u64(0x11), BPF_EXIST);
  r.prog_update(fd, ip4(16, 10, 1, 0, 0), u64(0x12), BPF_NOEXIST);
  r.prog_update(fd, ip4(16, 10, 1, 0, 0), u64(0x13), BPF_NOEXIST);
  r.prog_update(fd, ip4(16, 10, 1, 0, 0), u64(0x14), BPF_EXIST);
  r.prog_update(fd, ip4(16, 10, 1, 9, 9), u64(0x15), BPF_ANY);  // the same prefix: bits past it do not count
  r.prog_update(fd, ip4(8, 10, 0, 0, 0), u64(0x08), BPF_ANY);
  r.prog_update(fd, ip4(24, 10, 1, 2, 0), u64(0x24), BPF_NOEXIST);
  r.prog_update(fd, ip4(32, 10, 1, 2, 3), u64(0x32), BPF_ANY);       // full
  r.prog_update(fd, ip4(32, 10, 1, 2, 3), u64(0x32), BPF_NOEXIST);   // full
  r.prog_update(fd, ip4(24, 10, 1, 2, 0), u64(0x25), BPF_EXIST);     // full, replacing
  r.prog_update(fd, ip4(24, 10, 1, 2, 0), u64(0x26), BPF_ANY);       // full, replacing
  r.prog_update(fd, ip4(33, 10, 1, 2, 3), u64(0x33), BPF_ANY);       // prefix too long
  r.prog_update(fd, ip4(8, 10, 0, 0, 0), u64(0x09), BPF_F_LOCK);
  r.prog_update(fd, ip4(8, 10, 0, 0, 0), u64(0x09), BPF_NOEXIST | BPF_EXIST);
  r.prog_lookup(fd, ip4(32, 10, 1, 2, 3));
  r.prog_lookup(fd, ip4(32, 10, 1, 7, 7));
  r.prog_lookup(fd, ip4(32, 10, 7, 7, 7));
  r.prog_lookup(fd, ip4(32, 11, 0, 0, 0));
  r.prog_delete(fd, ip4(8, 10, 0, 0, 0));
  r.prog_delete(fd, ip4(8, 10, 0, 0, 0));
  r.prog_delete(fd, ip4(20, 10, 1, 0, 0));  // not an element
  r.prog_update(fd, ip4(32, 10, 1, 2, 3), u64(0x34), BPF_NOEXIST);
  r.prog_lookup(fd, ip4(32, 10, 1, 2, 3));
  r.walk(fd, 8);
  r.lookup(fd, ip4(32, 10, 1, 2, 3));
}

// ---- bpf_for_each_map_elem whose callback deletes the element it is given ----

namespace {

void prog_for_each_delete_hash(Recorder& r, uint32_t type, uint32_t map_flags) {
  int fd = r.create(type, 4, 8, 16, map_flags);
  r.prog_for_each_delete(fd, 0);
  for (uint32_t k = 0; k < 10; ++k) r.update(fd, u32(k), u64(k));
  r.prog_for_each_delete(fd, 3);  // deletes three, stops at the third
  r.walk(fd, 4);
  r.prog_for_each(fd, 0);
  r.prog_for_each_delete(fd, 0);  // deletes the rest
  r.walk(fd, 4);
  for (uint32_t k = 0; k < 4; ++k) r.prog_update(fd, k, u64(k + 100));
  r.prog_for_each_delete(fd, 0, 1);  // flags must be 0
  r.walk(fd, 4);
}

}  // namespace

SCENARIO("HASH", "prog", "for_each_delete_current") {
  prog_for_each_delete_hash(r, BPF_MAP_TYPE_HASH, BPF_F_ZERO_SEED);
}
SCENARIO("HASH", "prog", "for_each_delete_current_no_prealloc") {
  prog_for_each_delete_hash(r, BPF_MAP_TYPE_HASH, BPF_F_ZERO_SEED | BPF_F_NO_PREALLOC);
}
SCENARIO("PERCPU_HASH", "prog", "for_each_delete_current") {
  prog_for_each_delete_hash(r, BPF_MAP_TYPE_PERCPU_HASH, BPF_F_ZERO_SEED);
}
SCENARIO("LRU_HASH", "prog", "for_each_delete_current") {
  prog_for_each_delete_hash(r, BPF_MAP_TYPE_LRU_HASH, BPF_F_ZERO_SEED);
}

// Array elements cannot be deleted: every delete in the callback is EINVAL and
// the walk goes on.
SCENARIO("ARRAY", "prog", "for_each_delete_current") {
  int fd = r.create(BPF_MAP_TYPE_ARRAY, 4, 8, 4);
  r.update(fd, u32(1), u64(7));
  r.prog_for_each_delete(fd, 0);
  r.prog_for_each_delete(fd, 2);
  r.lookup(fd, u32(1));
}
SCENARIO("PERCPU_ARRAY", "prog", "for_each_delete_current") {
  int fd = r.create(BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, 4);
  r.prog_for_each_delete(fd, 0);
  r.prog_for_each_delete(fd, 3);
}

// ---- global data ----

namespace {

// A section map's first 16 bytes through mmap(2) of its fd, as a skeleton maps
// it (two u64 noted; a failed mmap noted with its -errno), and optionally a
// new first u64 written through that mapping.
void global_mapping(Recorder& r, int fd, const std::string& label, int prot, std::optional<uint64_t> write = {}) {
  void* p = r.backend().map_mmap(fd, 4096, prot, MAP_SHARED, 0);
  if (p == MAP_FAILED) return r.note("mmap(" + label + ")", -errno);
  auto* words = static_cast<uint64_t*>(p);
  r.note("mmap(" + label + ")[0]", static_cast<long>(words[0]));
  r.note("mmap(" + label + ")[1]", static_cast<long>(words[1]));
  if (write) words[0] = *write;
  r.note("munmap(" + label + ")", r.backend().map_munmap(p, 4096));
}

}  // namespace

// .bss, .data and .rodata variables (bpf/prog_global.bpf.c), each section an
// array map libbpf makes: .rodata set before load and frozen, the program
// writing .bss and .data, user space reading all three back through the maps'
// fds and mappings of them, and writing through both.
SCENARIO("ARRAY", "prog", "global_data") {
  r.prog_global_load(3);
  const int bss = r.prog_global_fd(".bss");
  const int data = r.prog_global_fd(".data");
  const int rodata = r.prog_global_fd(".rodata");
  r.info(bss);
  r.info(data);
  r.info(rodata);
  r.lookup(bss, u32(0));
  r.lookup(data, u32(0));
  r.lookup(rodata, u32(0));
  r.prog_global_run(5);
  r.prog_global_run(7);
  r.lookup(bss, u32(0));
  r.lookup(data, u32(0));
  // Written through the fd: seen by the program and by a mapping.
  r.update(data, u32(0), concat(u64(1000), u64(0x55)));
  r.prog_global_run(1);
  global_mapping(r, data, ".data", PROT_READ);
  // Written through a mapping: seen by the program and through the fd.
  global_mapping(r, bss, ".bss", PROT_READ | PROT_WRITE, 40);
  r.prog_global_run(2);
  r.lookup(bss, u32(0));
  // .rodata is frozen: mapped read-only only, no syscall writes.
  global_mapping(r, rodata, ".rodata", PROT_READ);
  global_mapping(r, rodata, ".rodata", PROT_READ | PROT_WRITE);
  r.update(rodata, u32(0), u64(9));
  // One element per section, none deleted.
  r.update(bss, u32(1), concat(u64(1), u64(1)));
  r.lookup(bss, u32(1));
  r.remove(data, u32(0));
  // Frozen for syscalls, but the program still writes it.
  r.freeze(bss);
  r.update(bss, u32(0), concat(u64(1), u64(1)));
  global_mapping(r, bss, ".bss", PROT_READ | PROT_WRITE);
  r.prog_global_run(0);
  r.lookup(bss, u32(0));
  r.lookup(rodata, u32(0));
}

}  // namespace bpfemu::conformance

// ---- which maps a sleepable program may use ----

namespace bpfemu::conformance {
namespace {

// BPF_PROG_LOAD of "r1 = map; r0 = 0; exit" for `type` with prog_flags:
// recorded as an fd or -errno.
void load_with_map(Recorder& r, uint32_t type, uint32_t prog_flags, int map_fd, const std::string& label) {
  std::vector<bpf_insn> insns = {
      {BPF_LD | BPF_IMM | BPF_DW, BPF_REG_1, BPF_PSEUDO_MAP_FD, 0, map_fd},
      {0, 0, 0, 0, 0},
      {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0},
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
  };
  if (map_fd < 0) insns.erase(insns.begin(), insns.begin() + 2);
  emu::BpfAttr a{};
  a.prog.prog_type = type;
  a.prog.insn_cnt = static_cast<uint32_t>(insns.size());
  a.prog.insns = reinterpret_cast<uintptr_t>(insns.data());
  a.prog.license = reinterpret_cast<uintptr_t>("GPL");
  a.prog.prog_flags = prog_flags;
  r.raw(label, BPF_PROG_LOAD, &a, sizeof(a), true);
}

}  // namespace

// A sleepable program may use hash, array, queue/stack (6.18), ring buffer
// (and a few other) maps, not an LPM trie, a bloom filter, a prog array or a
// perf event array; a syscall program
// must be sleepable, a raw tracepoint program cannot be. (Each map in a
// program of its own: a prog array takes the type of the first program that
// uses it.)
SCENARIO("COMMON", "prog", "sleepable_program_maps") {
  load_with_map(r, BPF_PROG_TYPE_SYSCALL, BPF_F_SLEEPABLE, -1, "syscall,sleepable");
  load_with_map(r, BPF_PROG_TYPE_SYSCALL, 0, -1, "syscall");
  load_with_map(r, BPF_PROG_TYPE_RAW_TRACEPOINT, BPF_F_SLEEPABLE, -1, "raw_tp,sleepable");
  const struct {
    uint32_t type, key_size, value_size, max_entries, flags;
    const char* name;
  } maps[] = {
      {BPF_MAP_TYPE_HASH, 4, 8, 4, 0, "hash"},
      {BPF_MAP_TYPE_ARRAY, 4, 8, 4, 0, "array"},
      {BPF_MAP_TYPE_PERCPU_HASH, 4, 8, 4, 0, "percpu_hash"},
      {BPF_MAP_TYPE_LRU_PERCPU_HASH, 4, 8, 4, 0, "lru_percpu_hash"},
      {BPF_MAP_TYPE_QUEUE, 0, 8, 4, 0, "queue"},
      {BPF_MAP_TYPE_RINGBUF, 0, 0, 4096, 0, "ringbuf"},
      {BPF_MAP_TYPE_LPM_TRIE, 8, 8, 4, BPF_F_NO_PREALLOC, "lpm_trie"},
      {BPF_MAP_TYPE_BLOOM_FILTER, 0, 8, 4, 0, "bloom_filter"},
      {BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 4, 0, "prog_array"},
      {BPF_MAP_TYPE_PERF_EVENT_ARRAY, 4, 4, 4, 0, "perf_event_array"},
  };
  for (const auto& m : maps) {
    const int fd = r.create(m.type, m.key_size, m.value_size, m.max_entries, m.flags);
    if (fd < 0) continue;
    load_with_map(r, BPF_PROG_TYPE_SYSCALL, BPF_F_SLEEPABLE, fd, std::string("syscall,sleepable,") + m.name);
    load_with_map(r, BPF_PROG_TYPE_RAW_TRACEPOINT, 0, fd, std::string("raw_tp,") + m.name);
  }
}

// The packet-rewriting helpers of tc programs, one program per case
// (conformance/skb_helper_cases.h): what each returns and the packet after it.
// bpf_csum_diff differs between kernels (6.18 folds its sum to 16 bits).
namespace {

// A BPF_PROG_TEST_RUN attr: the program, its packet in and the buffer out.
union bpf_attr packet_run(int fd, const std::vector<uint8_t>& pkt, std::vector<uint8_t>& out) {
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.test.prog_fd = static_cast<uint32_t>(fd);
  a.test.data_in = reinterpret_cast<uintptr_t>(pkt.data());
  a.test.data_size_in = static_cast<uint32_t>(pkt.size());
  a.test.data_out = reinterpret_cast<uintptr_t>(out.data());
  a.test.data_size_out = static_cast<uint32_t>(out.size());
  return a;
}

}  // namespace

SCENARIO("COMMON", "prog", "skb_rewrite_helpers") {
  std::vector<uint8_t> pkt = skb_helper_packet();
  const auto& calls = skb_helper_calls();
  for (size_t i = 0; i < calls.size(); ++i) {
    const std::string label = "case " + std::to_string(i) + " (helper " + std::to_string(calls[i].helper) + ")";
    const int fd = r.load_program(BPF_PROG_TYPE_SCHED_CLS, skb_call_prog(calls[i]), label);
    if (fd < 0) continue;
    std::vector<uint8_t> out(128, 0);
    union bpf_attr a = packet_run(fd, pkt, out);
    if (r.raw("test_run " + label, BPF_PROG_TEST_RUN, &a, sizeof(a)) == 0) {
      r.note(label + ": retval", a.test.retval);
      uint64_t sum = a.test.data_size_out;
      for (uint32_t b = 0; b < a.test.data_size_out && b < out.size(); ++b) sum = sum * 31 + out[b];
      r.note(label + ": data_out (hash)", static_cast<long>(sum >> 1));
    }
    r.close(fd);
  }
}

// The helpers that resize an skb or move its headers, case by case
// (conformance/skb_helper_cases.h): the result of each call, the length,
// protocol and data_end - data the program sees after them, and the packet
// the test run hands back.
SCENARIO("COMMON", "prog", "skb_resize_helpers") {
  for (const SkbResizeCase& c : skb_resize_cases()) {
    const std::string label = c.name;
    const int fd = r.load_program(BPF_PROG_TYPE_SCHED_CLS, skb_resize_prog(c), label);
    if (fd < 0) continue;
    std::vector<uint8_t> pkt = skb_resize_packet(c.ethertype);
    std::vector<uint8_t> out(20000, 0), ctx(192, 0);
    union bpf_attr a = packet_run(fd, pkt, out);
    a.test.ctx_out = reinterpret_cast<uintptr_t>(ctx.data());
    a.test.ctx_size_out = static_cast<uint32_t>(ctx.size());
    if (r.raw("test_run " + label, BPF_PROG_TEST_RUN, &a, sizeof(a)) == 0) {
      r.note(label + ": retval", static_cast<int32_t>(a.test.retval));
      for (int i = 0; i < 5; ++i) {
        int32_t w;
        memcpy(&w, ctx.data() + 48 + 4 * i, 4);
        r.note(label + ": cb[" + std::to_string(i) + "]", w);
      }
      r.note(label + ": data_size_out", a.test.data_size_out);
      std::string head;
      for (uint32_t b = 0; b < a.test.data_size_out && b < 96; ++b) {
        static const char* kHex = "0123456789abcdef";
        head += kHex[out[b] >> 4];
        head += kHex[out[b] & 15];
      }
      r.note(label + ": data_out " + head, 0);
      uint64_t sum = a.test.data_size_out;
      for (uint32_t b = 0; b < a.test.data_size_out && b < out.size(); ++b) sum = sum * 31 + out[b];
      r.note(label + ": data_out (hash)", static_cast<long>(sum >> 1));
    }
    r.close(fd);
  }
}

}  // namespace bpfemu::conformance
