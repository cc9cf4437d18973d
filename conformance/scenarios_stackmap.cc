// STACK_TRACE scenarios: creation rules (value sizes against the frame count
// kernel.perf_event_max_stack allows, build-id maps, flags), what syscalls do on
// a map no program filled (lookup, delete's E2BIG past the buckets, update
// refused), and the answers of bpf_get_stackid and bpf_get_stack that do not
// depend on the stack itself: flags, sizes, and skips deeper than any stack
// may be. Stacks the emulator is given (bpfemu_set_stack) are compared with
// the kernel's in nothing but tests/stackmap_test.cc, since a kernel's real
// callchain cannot be given to the emulator.
#include <linux/bpf.h>

#include <cstring>
#include <string>
#include <vector>

#include "conformance/btf_builder.h"
#include "conformance/scenario.h"
#include "emu/insn_builder.h"

namespace bpfemu::conformance {
namespace {

namespace in = insn;

constexpr uint32_t S = BPF_MAP_TYPE_STACK_TRACE;
constexpr uint32_t kBuildId = sizeof(bpf_stack_build_id);

// r0 = bpf_get_stackid(ctx, map, ctx[0]), or with flags 0 (constant_flags:
// for program types whose context has no u64 at offset 0 a program may read).
std::vector<bpf_insn> stackid_prog(int map, bool constant_flags = false) {
  std::vector<bpf_insn> p;
  p.push_back(in::movr(BPF_REG_6, BPF_REG_1));
  p.push_back(constant_flags ? in::mov(BPF_REG_3, 0) : in::make(BPF_LDX | BPF_MEM | BPF_DW, BPF_REG_3, BPF_REG_6, 0, 0));
  in::ld_map(p, BPF_REG_2, map);
  p.push_back(in::movr(BPF_REG_1, BPF_REG_6));
  p.push_back(in::call(BPF_FUNC_get_stackid));
  p.push_back(in::exit());
  return p;
}

// bpf_get_stack(ctx, buf, ctx[1] (at most 64), ctx[0]) into a 64-byte stack
// buffer of 0xff bytes; out[0] = the result, out[1] and out[2] = the buffer's
// first and last u64 (zeroed or not).
std::vector<bpf_insn> get_stack_prog(int out) {
  std::vector<bpf_insn> p;
  p.push_back(in::movr(BPF_REG_6, BPF_REG_1));
  p.push_back(in::make(BPF_LDX | BPF_MEM | BPF_DW, BPF_REG_7, BPF_REG_6, 0, 0));
  p.push_back(in::make(BPF_LDX | BPF_MEM | BPF_DW, BPF_REG_8, BPF_REG_6, 8, 0));
  p.push_back(in::make(BPF_JMP | BPF_JGT | BPF_K, BPF_REG_8, 0, 1, 64));
  p.push_back(in::make(BPF_JMP | BPF_JA, 0, 0, 2, 0));
  p.push_back(in::mov(BPF_REG_0, 1));
  p.push_back(in::exit());
  for (int16_t off = -64; off < 0; off += 8) p.push_back(in::make(BPF_ST | BPF_MEM | BPF_DW, BPF_REG_10, 0, off, -1));
  p.push_back(in::movr(BPF_REG_1, BPF_REG_6));
  p.push_back(in::movr(BPF_REG_2, BPF_REG_10));
  p.push_back(in::make(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, -64));
  p.push_back(in::movr(BPF_REG_3, BPF_REG_8));
  p.push_back(in::movr(BPF_REG_4, BPF_REG_7));
  p.push_back(in::call(BPF_FUNC_get_stack));
  p.push_back(in::movr(BPF_REG_9, BPF_REG_0));
  in::store_slot(p, out, 0, BPF_REG_9);
  p.push_back(in::make(BPF_LDX | BPF_MEM | BPF_DW, BPF_REG_9, BPF_REG_10, -64, 0));
  in::store_slot(p, out, 1, BPF_REG_9);
  p.push_back(in::make(BPF_LDX | BPF_MEM | BPF_DW, BPF_REG_9, BPF_REG_10, -8, 0));
  in::store_slot(p, out, 2, BPF_REG_9);
  p.push_back(in::mov(BPF_REG_0, 0));
  p.push_back(in::exit());
  return p;
}

}  // namespace

SCENARIO("STACK_TRACE", "create", "sizes") {
  r.create(S, 4, 8, 4);
  r.create(S, 4, 8 * 127, 4);
  r.create(S, 4, 8 * 128, 4);  // deeper than kernel.perf_event_max_stack (127)
  r.create(S, 8, 8, 4);
  r.create(S, 2, 8, 4);
  r.create(S, 4, 0, 4);
  r.create(S, 4, 4, 4);
  r.create(S, 4, 12, 4);
  r.create(S, 4, 8, 0);
  r.create(S, 4, 8, 1);
  r.create(S, 4, 8, 5);
  r.create(S, 4, 8, 0x80000001u);
  r.create(S, 4, 8, 0xFFFFFFFFu);
}

SCENARIO("STACK_TRACE", "create", "flags") {
  r.create(S, 4, 8, 4, BPF_F_NUMA_NODE);
  r.create(S, 4, 8, 4, BPF_F_RDONLY);
  r.create(S, 4, 8, 4, BPF_F_WRONLY);
  r.create(S, 4, 8, 4, BPF_F_RDONLY_PROG);
  r.create(S, 4, 8, 4, BPF_F_WRONLY_PROG);
  r.create(S, 4, 8, 4, BPF_F_NO_PREALLOC);
  r.create(S, 4, 8, 4, BPF_F_ZERO_SEED);
  r.create(S, 4, 8, 4, BPF_F_MMAPABLE);
  r.create(S, 4, 8, 4, BPF_F_INNER_MAP);
  r.create(S, 4, 8, 4, 1U << 20);
}

// Build-id maps: values hold whole 32-byte bpf_stack_build_id records.
SCENARIO("STACK_TRACE", "create", "build_id") {
  for (uint32_t vs : {8u, 16u, kBuildId, kBuildId + 8, 2 * kBuildId, kBuildId * 127, kBuildId * 128}) {
    const int fd = r.create(S, 4, vs, 4, BPF_F_STACK_BUILD_ID);
    if (fd >= 0) {
      r.info(fd);
      r.lookup(fd, u32(0));
      r.close(fd);
    }
  }
}

SCENARIO("STACK_TRACE", "create", "info_memlock") {
  for (uint32_t max : {1u, 3u, 4u, 100u, 1000u}) {
    const int fd = r.create(S, 4, 8 * 16, max);
    r.info(fd);
    r.memlock(fd);
    r.close(fd);
  }
  const int fd = r.create(S, 4, kBuildId * 4, 10, BPF_F_STACK_BUILD_ID);
  r.info(fd);
  r.memlock(fd);
}

// The kernel refuses BTF for stack maps (map_check_no_btf).
SCENARIO("STACK_TRACE", "create", "btf") {
  BtfBuilder b;
  const int value = b.add_struct("stack", 64, {{b.array(b.u64, 8), 0}});
  const int btf = load_btf(r, b.blob(), "btf_load");
  if (btf < 0) return;
  MapCreateOpts o;
  o.btf_fd = static_cast<uint32_t>(btf);
  o.btf_key_type_id = static_cast<uint32_t>(b.u32);
  o.btf_value_type_id = static_cast<uint32_t>(value);
  r.create_opts(S, "stacks", 4, 64, 4, o);
  r.close(btf);
}

// A map no program filled: every bucket empty. n_buckets is max_entries
// rounded up to a power of two; delete tells keys past it (E2BIG) from empty
// buckets (ENOENT).
SCENARIO("STACK_TRACE", "lookup", "empty_map") {
  const int fd = r.create(S, 4, 8 * 4, 5);
  for (uint32_t k : {0u, 4u, 5u, 7u, 8u, 100u}) {
    r.lookup(fd, u32(k));
    r.remove(fd, u32(k));
    r.lookup_and_delete(fd, u32(k));
    r.next_key(fd, u32(k), 4);
  }
  r.next_key(fd, std::nullopt, 4);
  r.walk(fd, 4);
  r.update(fd, u32(0), fill(32, 1));
  r.update(fd, u32(0), fill(32, 1), BPF_NOEXIST);
  r.lookup(fd, u32(0), BPF_F_LOCK);
  r.lookup(fd, std::nullopt);
}

// Programs may reach a stack map through bpf_get_stackid only, and that helper
// takes no other map; both stack helpers are GPL-only except a perf_event
// program's bpf_get_stackid.
SCENARIO("STACK_TRACE", "prog", "load_rules") {
  const int stacks = r.create(S, 4, 64, 8);
  const int array = r.create(BPF_MAP_TYPE_ARRAY, 4, 8, 4);
  if (stacks < 0 || array < 0) return;
  load_prog(r, BPF_PROG_TYPE_RAW_TRACEPOINT, 0, 0, stackid_prog(stacks), "raw_tp get_stackid");
  load_prog(r, BPF_PROG_TYPE_RAW_TRACEPOINT, 0, 0, stackid_prog(array), "raw_tp get_stackid on an array");
  load_prog(r, BPF_PROG_TYPE_KPROBE, 0, 0, stackid_prog(stacks, true), "kprobe get_stackid");
  load_prog(r, BPF_PROG_TYPE_TRACEPOINT, 0, 0, stackid_prog(stacks, true), "tracepoint get_stackid");
  load_prog(r, BPF_PROG_TYPE_TRACEPOINT, 0, 0, stackid_prog(stacks, true), "tracepoint get_stackid, not GPL", 0, "MIT");
  load_prog(r, BPF_PROG_TYPE_PERF_EVENT, 0, 0, stackid_prog(stacks, true), "perf_event get_stackid");
  load_prog(r, BPF_PROG_TYPE_PERF_EVENT, 0, 0, stackid_prog(stacks, true), "perf_event get_stackid, not GPL", 0, "MIT");
  load_prog(r, BPF_PROG_TYPE_SOCKET_FILTER, 0, 0, stackid_prog(stacks, true), "socket_filter get_stackid");
  load_prog(r, BPF_PROG_TYPE_XDP, 0, 0, stackid_prog(stacks, true), "xdp get_stackid");
  std::vector<bpf_insn> lookup;
  lookup.push_back(in::make(BPF_ST | BPF_MEM | BPF_W, BPF_REG_10, 0, -4, 0));
  in::ld_map(lookup, BPF_REG_1, stacks);
  lookup.push_back(in::movr(BPF_REG_2, BPF_REG_10));
  lookup.push_back(in::make(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, -4));
  lookup.push_back(in::call(BPF_FUNC_map_lookup_elem));
  lookup.push_back(in::mov(BPF_REG_0, 0));
  lookup.push_back(in::exit());
  load_prog(r, BPF_PROG_TYPE_RAW_TRACEPOINT, 0, 0, lookup, "raw_tp lookup in a stack map");
  load_prog(r, BPF_PROG_TYPE_RAW_TRACEPOINT, 0, 0, get_stack_prog(array), "raw_tp get_stack");
  load_prog(r, BPF_PROG_TYPE_RAW_TRACEPOINT, 0, 0, get_stack_prog(array), "raw_tp get_stack, not GPL", 0, "MIT");
}

// bpf_get_stackid's answers that no stack decides: unknown flags, and skips
// of more frames than the walk may take (it stops at
// kernel.perf_event_max_stack, 127).
SCENARIO("STACK_TRACE", "prog", "get_stackid_codes") {
  const int stacks = r.create(S, 4, 64, 8);
  if (stacks < 0) return;
  const int prog = load_prog(r, BPF_PROG_TYPE_RAW_TRACEPOINT, 0, 0, stackid_prog(stacks), "load");
  if (prog < 0) return;
  for (uint64_t flags : {uint64_t{BPF_F_USER_BUILD_ID}, uint64_t{1} << 12, uint64_t{1} << 32,
                         uint64_t{BPF_F_USER_STACK | BPF_F_USER_BUILD_ID}, uint64_t{255}, uint64_t{127},
                         uint64_t{BPF_F_USER_STACK | 255}, uint64_t{BPF_F_FAST_STACK_CMP | 200},
                         uint64_t{BPF_F_REUSE_STACKID | 130}})
    run_with_args(r, prog, {flags}, "flags " + std::to_string(flags));
  r.walk(stacks, 4);
}

// bpf_get_stack's answers that no stack decides, and what it leaves in the
// buffer: zeroed through `size` on every error.
SCENARIO("STACK_TRACE", "prog", "get_stack_codes") {
  const int out = r.create(BPF_MAP_TYPE_ARRAY, 4, 8, 3);
  if (out < 0) return;
  const int prog = load_prog(r, BPF_PROG_TYPE_RAW_TRACEPOINT, 0, 0, get_stack_prog(out), "load");
  if (prog < 0) return;
  struct Case {
    uint64_t flags, size;
  };
  for (Case c : {Case{0, 0}, Case{0, 12}, Case{0, 60}, Case{uint64_t{1} << 12, 64}, Case{uint64_t{1} << 32, 64},
                 Case{BPF_F_USER_BUILD_ID, 64}, Case{BPF_F_USER_STACK | BPF_F_USER_BUILD_ID, 48},
                 Case{BPF_F_USER_STACK | BPF_F_USER_BUILD_ID, 8}, Case{255, 64}, Case{255, 0}, Case{127, 8},
                 Case{BPF_F_USER_STACK | 255, 64}}) {
    const std::string label = "flags " + std::to_string(c.flags) + " size " + std::to_string(c.size);
    run_with_args(r, prog, {c.flags, c.size}, label);
    for (uint32_t slot = 0; slot < 3; ++slot) r.lookup(out, u32(slot));
  }
}

}  // namespace bpfemu::conformance
