// The BPF interpreter: runs a loaded program's instructions (the whole
// instruction set the host kernel accepts) against emulated maps.
//
// The kernel trusts a program because its verifier proved it safe; the emulator
// has no verifier, so it checks every load and store at run time instead: an
// address must fall inside memory the program was given (its stack, its
// context, the packet, map values handed to it by helpers or by ld_imm64,
// callback arguments). Anything else stops the run with an error naming the
// instruction, instead of corrupting the process that runs the test.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <boost/container/small_vector.hpp>

#include "core/map.h"
#include "emu/interp_code.h"

struct bpf_insn;

namespace bpfemu::emu {

class Program;

// Memory a program may touch during one run: a few disjoint ranges (stack,
// context, packet, the storage of maps it was given), kept sorted by start and
// found by binary search; the last range hit is tried first.
class RunMemory {
 public:
  // Adds [p, p + size) unless a range starting at p is there already (a value
  // helpers return again and again): true when it was added.
  bool add(const void* p, uint64_t size, bool writable);
  // Removes the range starting at p (callback arguments, after the callback).
  void remove(const void* p);
  bool allows(uint64_t addr, uint64_t size, bool write) const {
    const uint64_t end = addr + size;
    if (addr >= last_lo_ && end <= last_hi_ && end >= addr) return last_writable_ || !write;
    return allows_slow(addr, size, write);
  }
  // The range the last allows() found: [*lo, *hi), and whether it is writable.
  void last_hit(uint64_t* lo, uint64_t* hi, bool* writable) const {
    *lo = last_lo_;
    *hi = last_hi_;
    *writable = last_writable_;
  }

 private:
  bool allows_slow(uint64_t addr, uint64_t size, bool write) const;

  struct Range {
    uint64_t lo, hi;
    bool writable;
  };
  boost::container::small_vector<Range, 8> ranges_;  // by lo
  mutable uint64_t last_lo_ = 1, last_hi_ = 0;
  mutable bool last_writable_ = false;
};

// How a program type's context reads: the kernel rewrites loads of some ctx
// fields (xdp_md.data, __sk_buff.data_end, ...) into loads of the real
// pointers; load() does the same for those offsets.
class CtxModel {
 public:
  virtual ~CtxModel() = default;
  // True when the load of `size` bytes at ctx offset `off` is a rewritten
  // field; *out is its value.
  virtual bool load(uint32_t off, uint32_t size, uint64_t* out) const = 0;
  // Whether the program may store to ctx[off, off + size).
  virtual bool store_allowed(uint32_t off, uint32_t size) const = 0;
  // The packet (LD_ABS/LD_IND read it); empty when the type has none.
  virtual const uint8_t* packet(uint32_t* len) const {
    *len = 0;
    return nullptr;
  }
};

// One page of a multi-buffer XDP frame past its linear part: bytes [0, len).
struct XdpFrag {
  std::vector<uint8_t> page;
  uint32_t len;
};

// The packet of an XDP run, as the kernel's xdp_buff: what the xdp helpers
// (bpf_xdp_adjust_head/tail, load/store bytes) see and move.
struct XdpBuff {
  uint8_t* hard_start;  // the frame's start; the frame is frame_sz bytes
  uint8_t* data;
  uint8_t* data_end;
  uint32_t frame_sz;
  uint8_t* data_meta = nullptr;  // metadata [data_meta, data) before the packet
  // The frags of a frame larger than the linear part (the skb_shared_info's),
  // which only the helpers reach.
  std::vector<XdpFrag> frags;
  uint32_t frags_size() const {
    uint32_t n = 0;
    for (const XdpFrag& f : frags) n += f.len;
    return n;
  }
};

// The packet of an skb program's run, as the kernel's sk_buff: what the skb
// helpers read, move and resize. Positions are offsets into buf, which leaves
// room before and after the packet; a helper that runs out of it re-centres
// the packet (the kernel reallocates the head). The run's __sk_buff keeps its
// len and protocol words in step (sync_ctx).
struct SkbBuff {
  static constexpr uint32_t kUnset = 0xffff;  // a header offset never set
  std::vector<uint8_t> buf;
  uint32_t data = 0, len = 0;  // the packet: buf[data, data + len)
  uint32_t mac_header = 0, network_header = 0, transport_header = kUnset;
  uint16_t protocol = 0;  // big-endian, as skb->protocol
  bool encapsulation = false;
  // The hardware-accelerated VLAN tag (skb->vlan_all): none until
  // bpf_skb_vlan_push puts one there.
  uint16_t vlan_proto = 0;  // big-endian
  uint16_t vlan_tci = 0;
  bool vlan_present = false;
  uint8_t* ctx = nullptr;  // the __sk_buff the program sees

  uint8_t* begin() { return buf.data() + data; }
  uint8_t* end() { return begin() + len; }
  // skb_network_offset and friends: may be negative.
  int32_t network_offset() const { return static_cast<int32_t>(network_header) - static_cast<int32_t>(data); }
  int32_t mac_offset() const { return static_cast<int32_t>(mac_header) - static_cast<int32_t>(data); }
  void sync_ctx();
};

// Everything one run of a program sees besides its instructions.
struct RunEnv {
  RunMemory memory;
  uint8_t* ctx = nullptr;
  uint32_t ctx_size = 0;
  const CtxModel* ctx_model = nullptr;  // nullptr: the ctx is plain memory
  XdpBuff* xdp = nullptr;               // XDP runs: the packet
  SkbBuff* skb = nullptr;               // skb runs: the packet
  uint8_t* flow_keys = nullptr;         // flow dissector test runs: no skb behind the packet
  uint64_t attach_cookie = 0;           // bpf_get_attach_cookie: the link's or perf event's cookie
  uint64_t func_ip = 0;                 // bpf_get_func_ip: the traced function's address (0 in test runs)
  const char* func_name = nullptr;      // ... or the kernel function whose kallsyms address it is
  std::vector<Map*> maps;               // the program's maps (used_maps), by index
  std::vector<const Map*> mapped;       // maps whose storage is in `memory` already
  std::string trace;                    // bpf_trace_printk output of this run (trace_append'ed at its end)
  std::string error;                    // why the run stopped, when it failed
  uint64_t insn_budget = 0;             // instructions left (0: insn_budget() at the start)
  // Ring buffer records reserved and not yet submitted or discarded.
  struct RingRecord {
    void* data;
    uint64_t size;
    Map* map;
  };
  std::vector<RingRecord> ring_records;
  // The bpf_spin_lock the program holds (one at most, as the verifier allows)
  // and the map whose value it is in.
  void* held_lock = nullptr;
  Map* held_lock_map = nullptr;
  // Inner maps a lookup in a map of maps handed the program: this process's
  // views of them stay while the run lasts, even if another thread empties
  // the slot meanwhile (the kernel's RCU read section).
  std::vector<Map*> inner_maps;
  // Objects (bpf_obj_new's) the program holds a reference on, once per
  // reference (emu/local_obj.h); what is left at the end is dropped.
  std::vector<void*> held_objects;
  // Objects in a list or rbtree the program reached under the root's lock
  // without owning them (emu/graph.h): its to touch until it unlocks.
  std::vector<void*> non_owning;

  RunEnv() = default;
  RunEnv(const RunEnv&) = delete;
  RunEnv& operator=(const RunEnv&) = delete;
  ~RunEnv();

  // Makes [p, p + size) the context r1 points to, reachable by the program.
  void set_ctx(void* p, uint32_t size, bool writable) {
    ctx = static_cast<uint8_t*>(p);
    ctx_size = size;
    if (p != nullptr && size != 0) memory.add(p, size, writable);
  }
};

// Adds the maps `prog` uses (as this process sees them) to env.maps: 0 or
// -errno when one is gone.
int add_program_maps(const Program& prog, RunEnv* env);

// Lets the program reach the storage of `map`, whose value pointers a helper or
// ld_imm64 hands it: once per map and run, the map's whole data area (read-only
// for BPF_F_RDONLY_PROG maps). Checks are per map storage, not per value: a
// program cannot touch memory outside its maps, but can write anywhere in a
// map it was given a value of.
void allow_map_memory(RunEnv& env, const Map& map);

// How much one run may execute before it is stopped as runaway (the kernel's
// verifier bounds every loop; the emulator counts instead): each jump back
// costs the instructions it may repeat, each function call or callback one.
uint64_t insn_budget();
// Sets the budget for the scope's lifetime (tests of runaway programs).
class ScopedInsnBudget {
 public:
  explicit ScopedInsnBudget(uint64_t n);
  ~ScopedInsnBudget();
  ScopedInsnBudget(const ScopedInsnBudget&) = delete;
  ScopedInsnBudget& operator=(const ScopedInsnBudget&) = delete;

 private:
  uint64_t saved_;
};

// Adds bpf_trace_printk output to what bpfemu_trace_read returns (and to
// $BPFEMU_TRACE).
void trace_append(const std::string& text);
// bpfemu_trace_read: moves what fits (size - 1 bytes at most, NUL-terminated)
// out of the output not read yet; the rest stays for the next reader.
size_t trace_read(char* buf, size_t size);
// bpfemu_prog_fire (bpfemu/programs.h).
int fire_program(int prog_fd, void* ctx, uint32_t ctx_size, int cpu, uint64_t* retval);

// Runs `prog` from its first instruction with r1 = ctx: 0 with *r0 set, or
// -errno with env.error saying why (a fault, a helper the emulator lacks, a
// runaway program).
int run_program(const Program& prog, RunEnv& env, uint64_t ctx, uint64_t* r0);

namespace interp {

class Machine;

// A helper call: the machine it runs in and its five arguments.
struct HelperCall {
  Machine& m;
  RunEnv& env;
  uint64_t a[5];
};
// Result of a helper: r0, or a fault (false with env.error set).
using HelperFn = bool (*)(HelperCall& c, uint64_t* r0);

struct HelperDef {
  uint32_t id;
  const char* name;
  HelperFn fn;    // nullptr: the kernel has it, the emulator does not yet
  bool gpl_only;  // callable only from GPL-compatible programs
};
// bpfemu::set_prandom_seed (bpfemu/programs.h).
void set_prandom_seed(uint64_t seed);
// The helper of id `id`, or nullptr when the kernel has none by that number.
const HelperDef* helper_by_id(uint32_t id);

// For helpers: checked access to the program's memory and maps, and calls back
// into the program (callbacks of bpf_loop and bpf_for_each_map_elem).
class Machine {
 public:
  Machine(const Program& prog, RunEnv& env);
  int run(uint64_t ctx, uint64_t* r0);
  // Calls the program's function at instruction `pc` with r1..r5 = args.
  bool call(uint32_t pc, const uint64_t (&args)[5], uint64_t* r0);
  bool check(uint64_t addr, uint64_t size, bool write, const char* what);
  // The map a register holds (ld_imm64 of a map), or nullptr (and a fault).
  Map* map_arg(uint64_t reg, const char* helper);
  // The program running now (a tail call's target after the call).
  const Program& program() const { return *prog_; }
  // The instruction index a BPF_PSEUDO_FUNC register points to, or -1.
  int64_t func_arg(uint64_t reg) const;
  // Faults the run: false, with env.error = "insn N: <why>".
  bool fault(const char* fmt, ...) __attribute__((format(printf, 2, 3)));

 private:
  // What the General handler did with an instruction.
  enum class Step { kNext, kGoto, kExit, kFault };
  bool exec(uint32_t pc, uint64_t* regs, uint64_t* r0);
  // Runs instruction *pc as decoded from the original: the instructions the
  // specialised handlers leave (see interp_code.h), and every fault.
  Step general(uint32_t* pc, uint64_t* regs, uint64_t* r0);
  // An ld_imm64 of a map or a map value: resolved once per run and slot.
  bool load_map(uint32_t pc, const Op& op, uint64_t* out);
  // After a load or store at addr that passed check(): the range of program
  // memory it fell in, for exec() to check the next accesses against inline.
  // Empty when that range holds the context, whose loads may be rewritten.
  struct Window {
    uint64_t lo = 1, hi = 0;
    bool contains(uint64_t addr, uint64_t size) const { return addr >= lo && addr + size <= hi && addr + size > addr; }
  };
  Window window_at(uint64_t addr, bool write) const;
  // bpf_map_lookup_elem through the helper; then r1's map goes in the
  // lookup cache, so that the next lookups in it skip the helper's checks.
  bool lookup_slow(uint64_t* regs);
  void set_program(const Program& prog);
  bool helper(int32_t id, uint64_t* regs);
  bool kfunc(const bpf_insn& in, uint64_t* regs);
  bool load(uint64_t addr, uint32_t size, uint64_t* out);
  // Whether [addr, addr + size) is the program's: its frames of the stack,
  // or the memory of this run.
  bool in_bounds(uint64_t addr, uint64_t size, bool write) const;
  bool store(uint64_t addr, uint32_t size, uint64_t v);
  bool atomic(const bpf_insn& in, uint64_t* regs);
  bool ld_imm64(uint32_t pc, const bpf_insn* in, uint64_t* out);
  // bpf_tail_call: true with *pc set to the next instruction to run (the
  // target's first, or the one after the call when there is no target).
  bool tail_call(uint32_t* pc, uint64_t* regs);

  // The map the last program-side lookup used, checked as the helper checks
  // it, and how to look up in it directly (the kernel's map_gen_lookup):
  // an index into `base` for arrays, else `call` (or the map's prog_lookup).
  struct LookupCache {
    const Map* map = nullptr;
    uint32_t key_size = 0;
    uint32_t max_entries = 0;
    uint8_t* base = nullptr;
    uint64_t stride = 0;
    void* (*call)(void* map, const void* key) = nullptr;
  };

  const Program* prog_;
  RunEnv& env_;
  const bpf_insn* insns_;
  uint32_t n_;
  const Code* code_;
  boost::container::small_vector<uint64_t, 8> map_loads_;  // by slot; 0: not resolved yet
  LookupCache lookup_;
  uint32_t pc_ = 0;  // the instruction being executed, for fault messages
  uint32_t tail_calls_ = 0;
  int depth_ = 0;    // call frames in use
  // Loads outside the program's memory read kernel memory, as the
  // kernel's loads through BTF pointers do (BPF_PROBE_MEM): fault-safe,
  // 0 when unreadable. Tracing and LSM programs, and programs that take a
  // BTF pointer from a helper; stores and the stack stay checked.
  bool probe_loads_ = false;
  alignas(16) uint8_t stack_[8 * 512];  // MAX_CALL_FRAMES frames of MAX_BPF_STACK bytes
};

}  // namespace interp
}  // namespace bpfemu::emu
