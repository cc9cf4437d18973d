// bpfemu-fuzz-prog: the input decodes into a program (instructions biased
// toward valid opcodes and registers, ld_imm64 references to the maps the
// target creates, helper calls with plausible ids, bpf-to-bpf calls, short
// jumps), a program type BPF_PROG_TEST_RUN can run and a license; it is loaded
// through the emulated bpf(2) and, if it loads, test-run with fuzzed data and
// context sizes. Invariants, besides no crash/hang/UB: every answer is >= 0 or
// a bpf(2) errno; the canary map, a canary buffer in the process and the bytes
// around the buffers the run was given are unchanged (the interpreter must keep
// the program inside its stack, context, packet and maps); no fd is leaked.
#include <linux/bpf.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "emu/bpf_syscall.h"
#include "emu/insn_builder.h"
#include "emu/interpreter.h"
#include "emu/objects.h"
#include "emu/test_run.h"
#include "fuzz/harness.h"
#include "fuzz/input.h"

namespace bpfemu::fuzz {
namespace {

using emu::BpfAttr;

constexpr size_t kSlack = 256;  // canary bytes after every buffer the run gets
constexpr uint8_t kCanaryByte = 0xa5;
uint8_t g_canary[4096];  // process memory no program may write

struct ProgType {
  uint32_t type, flags;
};
constexpr ProgType kProgTypes[] = {
    {BPF_PROG_TYPE_XDP, 0},          {BPF_PROG_TYPE_SCHED_CLS, 0},     {BPF_PROG_TYPE_SOCKET_FILTER, 0},
    {BPF_PROG_TYPE_CGROUP_SKB, 0},   {BPF_PROG_TYPE_SCHED_ACT, 0},     {BPF_PROG_TYPE_LWT_IN, 0},
    {BPF_PROG_TYPE_RAW_TRACEPOINT, 0}, {BPF_PROG_TYPE_SYSCALL, BPF_F_SLEEPABLE}, {BPF_PROG_TYPE_FLOW_DISSECTOR, 0}};
constexpr const char* kLicenses[] = {"GPL", "Dual BSD/GPL", "Proprietary"};
// Helpers the emulator has, a few it lacks, and ids past the last.
constexpr int32_t kHelpers[] = {
    BPF_FUNC_map_lookup_elem, BPF_FUNC_map_update_elem, BPF_FUNC_map_delete_elem, BPF_FUNC_probe_read,
    BPF_FUNC_ktime_get_ns, BPF_FUNC_trace_printk, BPF_FUNC_get_prandom_u32, BPF_FUNC_get_smp_processor_id,
    BPF_FUNC_tail_call, BPF_FUNC_get_current_pid_tgid, BPF_FUNC_get_current_comm, BPF_FUNC_probe_read_str,
    BPF_FUNC_map_push_elem, BPF_FUNC_map_pop_elem, BPF_FUNC_map_peek_elem, BPF_FUNC_probe_read_kernel,
    BPF_FUNC_probe_read_user_str, BPF_FUNC_for_each_map_elem, BPF_FUNC_loop, BPF_FUNC_timer_init,
    BPF_FUNC_map_lookup_percpu_elem, BPF_FUNC_xdp_adjust_head, BPF_FUNC_xdp_adjust_tail, BPF_FUNC_xdp_adjust_meta,
    BPF_FUNC_xdp_get_buff_len, BPF_FUNC_xdp_load_bytes, BPF_FUNC_xdp_store_bytes, BPF_FUNC_skb_load_bytes,
    BPF_FUNC_ringbuf_output, BPF_FUNC_ringbuf_reserve, BPF_FUNC_ringbuf_submit, BPF_FUNC_ringbuf_discard,
    BPF_FUNC_ringbuf_query, BPF_FUNC_perf_event_output, BPF_FUNC_strncmp, BPF_FUNC_spin_lock, BPF_FUNC_spin_unlock,
    BPF_FUNC_skb_store_bytes, BPF_FUNC_redirect, BPF_FUNC_skb_pull_data, BPF_FUNC_skb_change_tail,
    BPF_FUNC_skb_change_head, BPF_FUNC_skb_adjust_room, BPF_FUNC_skb_change_proto, BPF_FUNC_skb_load_bytes_relative,
    BPF_FUNC_l3_csum_replace, BPF_FUNC_skb_vlan_push, BPF_FUNC_skb_vlan_pop, 0, 300};
constexpr uint8_t kAluOps[] = {BPF_ADD, BPF_SUB, BPF_MUL, BPF_DIV, BPF_OR,  BPF_AND, BPF_LSH,
                               BPF_RSH, BPF_NEG, BPF_MOD, BPF_XOR, BPF_MOV, BPF_ARSH, BPF_END};
constexpr uint8_t kJmpOps[] = {BPF_JEQ, BPF_JGT, BPF_JGE, BPF_JSET, BPF_JNE, BPF_JSGT,
                               BPF_JSGE, BPF_JLT, BPF_JLE, BPF_JSLT, BPF_JSLE};
constexpr int32_t kAtomicOps[] = {BPF_ADD, BPF_OR, BPF_AND, BPF_XOR, BPF_ADD | BPF_FETCH, BPF_XCHG,
                                  BPF_CMPXCHG, 0x100 /* load-acquire */, 0x110 /* store-release */};
constexpr uint8_t kSizes[] = {BPF_B, BPF_H, BPF_W, BPF_DW};

Arena& arena() {
  static Arena a(1 << 20);
  return a;
}

const CanaryMap& canary_map() {
  static const CanaryMap m(BPF_MAP_TYPE_ARRAY, 32, 4, "canary-array");
  return m;
}

int create_map(uint32_t type, uint32_t key, uint32_t value, uint32_t max) {
  BpfAttr a{};
  a.create.map_type = type;
  a.create.key_size = key;
  a.create.value_size = value;
  a.create.max_entries = max;
  const int fd = static_cast<int>(sys_bpf(BPF_MAP_CREATE, &a, sizeof(a)));
  if (fd < 0) fail("map create type %u: %d", type, fd);
  return fd;
}

// A buffer of n bytes from the arena, with kSlack canary bytes after it.
uint8_t* guarded(size_t n) {
  uint8_t* p = arena().alloc(n + kSlack);
  if (p == arena().guard()) fail("arena full");
  memset(p + n, kCanaryByte, kSlack);
  return p;
}

void check_slack(const uint8_t* p, size_t n, const char* what) {
  for (size_t i = 0; i < kSlack; i++)
    if (p[n + i] != kCanaryByte) fail("%s: byte %zu past its %zu bytes was written", what, i, n);
}

class Session {
 public:
  explicit Session(Input& in) : in_(in) {
    maps_[0] = create_map(BPF_MAP_TYPE_ARRAY, 4, 16, 4);
    maps_[1] = create_map(BPF_MAP_TYPE_HASH, 4, 8, 8);
    maps_[2] = create_map(BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 2);
    maps_[3] = create_map(BPF_MAP_TYPE_RINGBUF, 0, 0, 4096);
    maps_[4] = create_map(BPF_MAP_TYPE_QUEUE, 0, 8, 4);
  }
  ~Session() {
    if (prog_ >= 0) emu::sys_close(prog_);
    for (int fd : maps_) emu::sys_close(fd);
    arena().reset();
  }
  void run();

 private:
  bpf_insn insn();
  void ld_imm64(std::vector<bpf_insn>& p);
  int32_t small() { return static_cast<int8_t>(in_.u8()); }
  uint8_t reg() { return in_.u8() % 11; }
  void test_run(uint32_t type);

  Input& in_;
  int maps_[5];
  int prog_ = -1;
};

using insn::make;

// Fields are read into locals first: the order in which function arguments
// are evaluated is unspecified, and the decoding must not depend on it.
bpf_insn Session::insn() {
  const uint8_t kind = in_.u8();
  const uint8_t cls64 = kind & 0x80 ? BPF_ALU : BPF_ALU64;
  switch (kind % 16) {
    case 0: case 1: case 2: {  // ALU, register or immediate
      const uint8_t op = kAluOps[in_.u8() % std::size(kAluOps)];
      const uint8_t src = in_.u8() & 1 ? BPF_X : BPF_K;
      const uint8_t d = reg(), s = reg();
      const int16_t off = in_.u8() % 4 == 0 ? 1 : 0;  // signed div/mod, movsx
      return make(cls64 | op | src, d, s, off, small());
    }
    case 3: {
      const uint8_t d = reg();
      return make(BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, small());
    }
    case 4: case 5: {  // load: mostly from the stack, the context or a helper's pointer
      const uint8_t mode = in_.u8() % 8 == 0 ? 0x80 /* MEMSX */ : BPF_MEM;
      const uint8_t s = in_.u8() % 3 == 0 ? BPF_REG_10 : reg();
      const uint8_t size = kSizes[in_.u8() % 4];
      const uint8_t d = reg();
      const int16_t off = static_cast<int16_t>(small() * 8 % 520);
      return make(BPF_LDX | mode | size, d, s, off, 0);
    }
    case 6: case 7: {  // store of a register or an immediate, mostly to the stack
      const uint8_t cls = in_.u8() & 1 ? BPF_STX : BPF_ST;
      const uint8_t d = in_.u8() % 3 == 0 ? reg() : BPF_REG_10;
      const uint8_t size = kSizes[in_.u8() % 4];
      const uint8_t s = reg();
      const int16_t off = static_cast<int16_t>(-8 * (1 + in_.u8() % 64));
      return make(cls | BPF_MEM | size, d, s, off, small());
    }
    case 8: {  // atomic on the stack or a map value
      const uint8_t size = in_.u8() & 1 ? BPF_DW : BPF_W;
      const uint8_t d = in_.u8() & 1 ? BPF_REG_10 : reg();
      const uint8_t s = reg();
      const int16_t off = static_cast<int16_t>(-8 * (1 + in_.u8() % 8));
      return make(BPF_STX | BPF_ATOMIC | size, d, s, off, kAtomicOps[in_.u8() % std::size(kAtomicOps)]);
    }
    case 9: case 10: {  // conditional jump, short
      const uint8_t cls = in_.u8() & 1 ? BPF_JMP32 : BPF_JMP;
      const uint8_t src = in_.u8() & 1 ? BPF_X : BPF_K;
      const uint8_t op = kJmpOps[in_.u8() % std::size(kJmpOps)];
      const uint8_t d = reg(), s = reg();
      const int16_t off = static_cast<int16_t>(small() % 8);
      return make(cls | op | src, d, s, off, small());
    }
    case 11:
      return make(BPF_JMP | BPF_JA, 0, 0, static_cast<int16_t>(small() % 8), 0);
    case 12:
      return make(BPF_JMP | BPF_CALL, 0, 0, 0, kHelpers[in_.u8() % std::size(kHelpers)]);
    case 13:  // bpf-to-bpf call
      return make(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, small() % 16);
    case 14:
      return make(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
    default: {  // anything
      bpf_insn i;
      const uint64_t raw = in_.u64();
      memcpy(&i, &raw, sizeof(i));
      return i;
    }
  }
}

// ld_imm64: one of the maps (by fd or a value in it), a callback, a constant
// or the canary buffer's address.
void Session::ld_imm64(std::vector<bpf_insn>& p) {
  const uint8_t dst = in_.u8() % 2 == 0 ? BPF_REG_1 : reg();
  const uint8_t how = in_.u8() % 6;
  int32_t lo = maps_[in_.u8() % std::size(maps_)], hi = 0;
  uint8_t src = BPF_PSEUDO_MAP_FD;
  if (how == 1) {
    src = BPF_PSEUDO_MAP_VALUE;
    hi = in_.u8() % 20;
  } else if (how == 2) {
    src = BPF_PSEUDO_FUNC;
    lo = small() % 16;
  } else if (how == 3) {
    src = 0;
    lo = static_cast<int32_t>(in_.u32());
    hi = static_cast<int32_t>(in_.u32());
  } else if (how == 4) {  // the canary buffer's address: the program may not write there
    src = 0;
    const uint64_t at = reinterpret_cast<uintptr_t>(g_canary) + in_.u8() * 16;
    lo = static_cast<int32_t>(at);
    hi = static_cast<int32_t>(at >> 32);
  }
  p.push_back(make(BPF_LD | BPF_DW | BPF_IMM, dst, src, 0, lo));
  p.push_back(make(0, 0, 0, 0, hi));
}

void Session::run() {
  const ProgType t = kProgTypes[in_.u8() % std::size(kProgTypes)];
  const char* license = kLicenses[in_.u8() % std::size(kLicenses)];
  const size_t n = 1 + in_.u8() % 48;
  std::vector<bpf_insn> p;
  while (p.size() < n) {  // past the input's end: zeros, r0 = r0 + 0
    if (in_.u8() % 8 == 0)
      ld_imm64(p);
    else
      p.push_back(insn());
  }
  if (in_.u8() % 4 != 0) p.push_back(make(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));  // the load wants an exit last

  auto* insns = reinterpret_cast<bpf_insn*>(arena().alloc(p.size() * sizeof(bpf_insn)));
  memcpy(insns, p.data(), p.size() * sizeof(bpf_insn));
  BpfAttr a{};
  a.prog.prog_type = t.type;
  a.prog.prog_flags = t.flags;
  a.prog.insns = reinterpret_cast<uintptr_t>(insns);
  a.prog.insn_cnt = static_cast<uint32_t>(p.size());
  a.prog.license = reinterpret_cast<uintptr_t>(license);
  const long r = sys_bpf(BPF_PROG_LOAD, &a, sizeof(a));
  static const bool trace = getenv("BPFEMU_FUZZ_TRACE") != nullptr;
  if (trace) fprintf(stderr, "load type %u, %zu insns: %ld\n", t.type, p.size(), r);
  check_result("BPF_PROG_LOAD", r);
  if (r < 0) return;
  prog_ = static_cast<int>(r);
  // The program in slot 0 of the prog array, for tail calls into itself.
  const uint32_t slot = 0, fd = static_cast<uint32_t>(prog_);
  BpfAttr u{};
  u.elem.map_fd = static_cast<uint32_t>(maps_[2]);
  u.elem.key = reinterpret_cast<uintptr_t>(&slot);
  u.elem.value = reinterpret_cast<uintptr_t>(&fd);
  check_result("prog array update", sys_bpf(BPF_MAP_UPDATE_ELEM, &u, sizeof(u)));
  for (int runs = 1 + in_.u8() % 2; runs > 0; runs--) test_run(t.type);
}

void Session::test_run(uint32_t type) {
  static constexpr uint32_t kCtxSizes[] = {0, 8, 24, 32, 96, 100, 192, 200, 4096};
  emu::TestRunAttr t{};
  t.prog_fd = static_cast<uint32_t>(prog_);
  t.data_size_in = in_.u8() % 4 == 0 ? in_.u8() : 14 + in_.u8() % 128;
  if (type == BPF_PROG_TYPE_RAW_TRACEPOINT || type == BPF_PROG_TYPE_SYSCALL) t.data_size_in = 0;
  uint8_t* data_in = guarded(t.data_size_in);
  for (uint32_t i = 0; i < t.data_size_in; i++) data_in[i] = static_cast<uint8_t>(in_.u8() ^ i);
  t.data_in = t.data_size_in != 0 || in_.u8() & 1 ? reinterpret_cast<uintptr_t>(data_in) : 0;
  uint8_t* data_out = nullptr;
  uint32_t data_out_room = 0;
  if (in_.u8() & 1) {
    t.data_size_out = in_.u8() % 2 ? t.data_size_in + 256 : in_.u8();
    // data_size_out 0 asks for the whole frame, however large the program
    // made it (bpf_test_finish): room for the largest skb it can grow to.
    data_out_room = t.data_size_out != 0 ? t.data_size_out : 20000;
    data_out = guarded(data_out_room);
    t.data_out = reinterpret_cast<uintptr_t>(data_out);
  }
  uint8_t* ctx_in = nullptr;
  uint8_t* ctx_out = nullptr;
  const uint8_t ctx = in_.u8();
  if (ctx & 1) {
    t.ctx_size_in = kCtxSizes[in_.u8() % std::size(kCtxSizes)];
    ctx_in = guarded(t.ctx_size_in);
    for (uint32_t i = 0; i < t.ctx_size_in && i < 64; i++) ctx_in[i] = in_.u8();
    t.ctx_in = reinterpret_cast<uintptr_t>(ctx_in);
  }
  if (ctx & 2) {
    t.ctx_size_out = kCtxSizes[in_.u8() % std::size(kCtxSizes)];
    ctx_out = guarded(t.ctx_size_out);
    t.ctx_out = reinterpret_cast<uintptr_t>(ctx_out);
  }
  t.repeat = in_.u8() % 3;
  if (in_.u8() % 8 == 0) t.flags = in_.u8() % 4;
  BpfAttr a{};
  memcpy(a.bytes, &t, sizeof(t));
  const long r = sys_bpf(BPF_PROG_TEST_RUN, &a, sizeof(a));
  static const bool trace = getenv("BPFEMU_FUZZ_TRACE") != nullptr;
  if (trace) fprintf(stderr, "test run data %u/%u ctx %u/%u: %ld\n", t.data_size_in, t.data_size_out, t.ctx_size_in,
                     t.ctx_size_out, r);
  check_result("BPF_PROG_TEST_RUN", r);
  check_slack(data_in, t.data_size_in, "data_in");
  if (data_out) check_slack(data_out, data_out_room, "data_out");
  if (ctx_in) check_slack(ctx_in, t.ctx_size_in, "ctx_in");
  if (ctx_out) check_slack(ctx_out, t.ctx_size_out, "ctx_out");
}

}  // namespace
}  // namespace bpfemu::fuzz

using namespace bpfemu::fuzz;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  private_bpffs();
  canary_map();
  arena();
  memset(g_canary, kCanaryByte, sizeof(g_canary));
  // Runaway programs stop after this many instructions (the kernel's verifier
  // would have refused them; the default budget takes seconds under ASan).
  static bpfemu::emu::ScopedInsnBudget budget(1 << 16);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const int fds_before = open_fd_count();
  {
    Input in(data, size);
    Session session(in);
    session.run();
  }
  unpin_all({canary_map().pin_name()});
  canary_map().check();
  check_no_objects_left({canary_map().id()});
  for (uint8_t b : g_canary)
    if (b != kCanaryByte) fail("the canary buffer in the process was written");
  const int fds_after = open_fd_count();
  if (fds_after != fds_before) print_open_fds();
  if (fds_after != fds_before) fail("%d fds open before the input, %d after", fds_before, fds_after);
  return 0;
}
