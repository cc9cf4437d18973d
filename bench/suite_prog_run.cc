// Running programs: the emulator's interpreter (emu_interp) against the
// kernel's JIT (kernel), the same instructions loaded on both through bpf(2)
// and run with BPF_PROG_TEST_RUN.
//
//   prog_run/empty/<backend>/1         one test_run call (repeat 1) of an XDP
//                                      program that returns at once: the cost
//                                      of a call;
//   prog_run/lookup_<TYPE>/<backend>/n a program that looks up 256 keys spread
//                                      over a filled map of n entries and sums
//                                      the values, run with repeat: the cost of
//                                      one lookup inside a program.
// Both report ns per item in items_per_second (CPU time); the kernel's own
// BPF_PROG_TEST_RUN duration per item is in run_ns_per_op for both.
#include <linux/bpf.h>

#include <cstring>
#include <string>
#include <vector>

#include "common.h"
#include "emu/insn_builder.h"

namespace bench {
namespace {

constexpr uint32_t kLookups = 256;  // per program run
constexpr uint32_t kRepeat = 64;    // runs per test_run call

bpf_insn ins(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  return bpfemu::insn::make(code, dst, src, off, imm);
}

std::vector<bpf_insn> empty_program() {
  return {ins(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, XDP_PASS), ins(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)};
}

// for (i = 0; i < kLookups; i++) { key = (i * stride) % n; v = lookup(map, &key); if (v) sum += *v; }
// return sum (truncated to 32 bits, so both sides can be checked).
std::vector<bpf_insn> lookup_program(int map_fd, uint32_t n) {
  const int32_t stride = static_cast<int32_t>(static_cast<uint64_t>(n) * 618 / 1000) | 1;
  std::vector<bpf_insn> p = {
      ins(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_6, 0, 0, 0),  // i
      ins(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_7, 0, 0, 0),  // sum
      // loop:
      ins(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_1, BPF_REG_6, 0, 0),
      ins(BPF_ALU64 | BPF_MUL | BPF_K, BPF_REG_1, 0, 0, stride),
      ins(BPF_ALU64 | BPF_MOD | BPF_K, BPF_REG_1, 0, 0, static_cast<int32_t>(n)),
      ins(BPF_STX | BPF_W | BPF_MEM, BPF_REG_10, BPF_REG_1, -4, 0),
      ins(BPF_LD | BPF_DW | BPF_IMM, BPF_REG_1, BPF_PSEUDO_MAP_FD, 0, map_fd),
      ins(0, 0, 0, 0, 0),
      ins(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, BPF_REG_10, 0, 0),
      ins(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, -4),
      ins(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem),
      ins(BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_0, 0, 2, 0),
      ins(BPF_LDX | BPF_DW | BPF_MEM, BPF_REG_1, BPF_REG_0, 0, 0),
      ins(BPF_ALU64 | BPF_ADD | BPF_X, BPF_REG_7, BPF_REG_1, 0, 0),
      ins(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_6, 0, 0, 1),
      ins(BPF_JMP | BPF_JLT | BPF_K, BPF_REG_6, 0, -14, kLookups),  // back to loop
      ins(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_0, BPF_REG_7, 0, 0),
      ins(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
  };
  return p;
}

int load(bpfemu::Backend& be, const std::vector<bpf_insn>& insns, std::string* why) {
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.prog_type = BPF_PROG_TYPE_XDP;
  a.insns = reinterpret_cast<uint64_t>(insns.data());
  a.insn_cnt = static_cast<uint32_t>(insns.size());
  a.license = reinterpret_cast<uint64_t>("GPL");
  const long fd = be.bpf(BPF_PROG_LOAD, &a, sizeof(a));
  if (fd < 0) *why = std::string("BPF_PROG_LOAD failed: ") + strerror(static_cast<int>(-fd));
  return static_cast<int>(fd);
}

// One BPF_PROG_TEST_RUN call on a 64-byte packet: 0 or -errno; *duration is
// the kernel's (or emulator's) mean ns per run.
long test_run(bpfemu::Backend& be, int fd, uint32_t repeat, uint32_t* retval, uint32_t* duration) {
  static unsigned char pkt[64] = {};
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.test.prog_fd = static_cast<uint32_t>(fd);
  a.test.data_in = reinterpret_cast<uint64_t>(pkt);
  a.test.data_size_in = sizeof(pkt);
  a.test.repeat = repeat;
  const long r = be.bpf(BPF_PROG_TEST_RUN, &a, sizeof(a));
  *retval = a.test.retval;
  *duration = a.test.duration;
  return r;
}

void run_empty(benchmark::State& state, const std::string& backend_name) {
  std::string why;
  bpfemu::Backend* be = backend(backend_name, &why);
  if (be == nullptr) return state.SkipWithError(why.c_str());
  const int fd = load(*be, empty_program(), &why);
  if (fd < 0) return state.SkipWithError(why.c_str());
  uint64_t run_ns = 0;
  int64_t calls = 0;
  for (auto _ : state) {
    uint32_t retval = 0, duration = 0;
    if (test_run(*be, fd, 1, &retval, &duration) != 0 || retval != XDP_PASS) {
      state.SkipWithError("BPF_PROG_TEST_RUN failed");
      break;
    }
    run_ns += duration;
    ++calls;
  }
  state.SetItemsProcessed(calls);
  state.counters["run_ns_per_op"] = calls > 0 ? static_cast<double>(run_ns) / static_cast<double>(calls) : 0;
  be->close(fd);
}

void run_lookups(benchmark::State& state, const std::string& backend_name, const TypeInfo& t, uint32_t n) {
  std::string why;
  bpfemu::Backend* be = backend(backend_name, &why);
  if (be == nullptr) return state.SkipWithError(why.c_str());
  const int map = make_map(*be, t, n, n, &why);
  if (map < 0) return state.SkipWithError(why.c_str());
  const int fd = load(*be, lookup_program(map, n), &why);
  if (fd < 0) {
    be->close(map);
    return state.SkipWithError(why.c_str());
  }
  uint64_t run_ns = 0;
  int64_t runs = 0;
  for (auto _ : state) {
    uint32_t retval = 0, duration = 0;
    if (test_run(*be, fd, kRepeat, &retval, &duration) != 0) {
      state.SkipWithError("BPF_PROG_TEST_RUN failed");
      break;
    }
    benchmark::DoNotOptimize(retval);
    run_ns += uint64_t{duration} * kRepeat;
    runs += kRepeat;
  }
  const int64_t ops = runs * kLookups;
  state.SetItemsProcessed(ops);
  state.counters["run_ns_per_op"] = ops > 0 ? static_cast<double>(run_ns) / static_cast<double>(ops) : 0;
  be->close(fd);
  be->close(map);
}

}  // namespace

void register_prog_run() {
  for (const char* be : {"emu_interp", "kernel"}) {
    const std::string backend_name = std::string(be) == "emu_interp" ? "emu" : "kernel";
    benchmark::RegisterBenchmark(bench_name("prog_run", "empty", be, 1).c_str(),
                                 [backend_name](benchmark::State& s) { run_empty(s, backend_name); })
        ->Unit(benchmark::kNanosecond);
    for (uint32_t n : all_sizes()) {
      for (const TypeInfo& t : all_types()) {
        if (t.type != BPF_MAP_TYPE_HASH && t.type != BPF_MAP_TYPE_ARRAY) continue;
        const std::string program = std::string("lookup_") + t.name;
        benchmark::RegisterBenchmark(bench_name("prog_run", program.c_str(), be, n).c_str(),
                                     [backend_name, &t, n](benchmark::State& s) { run_lookups(s, backend_name, t, n); })
            ->Unit(benchmark::kNanosecond);
      }
    }
  }
}

}  // namespace bench
