// XDP test runs of frames larger than one buffer: the kernel keeps the first
// 3520 bytes (a page less the headroom and the shared info) linear and puts
// the rest in page-sized frags, which programs loaded with
// BPF_F_XDP_HAS_FRAGS reach through bpf_xdp_get_buff_len,
// bpf_xdp_load_bytes / _store_bytes and bpf_xdp_adjust_tail; data_out is the
// whole frame, frags included.
#include <linux/bpf.h>

#include <cstring>
#include <string>
#include <vector>

#include "conformance/scenario.h"
#include "emu/insn_builder.h"

namespace bpfemu::conformance {
namespace {

using insn::make;

constexpr uint32_t kHasFrags = 1U << 5;  // BPF_F_XDP_HAS_FRAGS

// r6 = ctx; r0 = helper(ctx, a2, fp - 8, a4) for the byte helpers, helper(ctx,
// a2) otherwise; a successful load returns the first 4 bytes it read.
std::vector<bpf_insn> call_prog(int32_t helper, int32_t a2, int32_t a4) {
  std::vector<bpf_insn> p = {insn::movr(BPF_REG_6, BPF_REG_1),
                             make(BPF_ST | BPF_DW | BPF_MEM, BPF_REG_10, 0, -8, 0x5a5a5a5a)};
  p.push_back(insn::mov(BPF_REG_2, a2));
  if (helper == BPF_FUNC_xdp_load_bytes || helper == BPF_FUNC_xdp_store_bytes) {
    p.push_back(insn::movr(BPF_REG_3, BPF_REG_10));
    p.push_back(make(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_3, 0, 0, -8));
    p.push_back(insn::mov(BPF_REG_4, a4));
  }
  p.push_back(insn::call(helper));
  if (helper == BPF_FUNC_xdp_load_bytes) {
    p.push_back(make(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_0, 0, 1, 0));
    p.push_back(make(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_0, BPF_REG_10, -8, 0));
  }
  p.push_back(insn::exit());
  return p;
}

// r0 = data_end - data: the linear part the program reaches directly.
std::vector<bpf_insn> linear_len_prog() {
  return {make(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_2, BPF_REG_1, 0, 0),
          make(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_0, BPF_REG_1, 4, 0),
          make(BPF_ALU64 | BPF_SUB | BPF_X, BPF_REG_0, BPF_REG_2, 0, 0), insn::exit()};
}

std::vector<uint8_t> frame(size_t n) {
  std::vector<uint8_t> f(n);
  for (size_t i = 0; i < n; ++i) f[i] = static_cast<uint8_t>(i * 7 + (i >> 8));
  return f;
}

// out_size 0: a data_out buffer with data_size_out 0, which asks for the
// whole frame (the kernel's old behaviour, kept).
void run(Recorder& r, int fd, const std::string& label, size_t size, uint32_t out_size = 80000) {
  const std::vector<uint8_t> in = frame(size);
  std::vector<uint8_t> out(out_size != 0 ? out_size : 80000, 0xee);
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.test.prog_fd = static_cast<uint32_t>(fd);
  a.test.data_in = reinterpret_cast<uintptr_t>(in.data());
  a.test.data_size_in = static_cast<uint32_t>(in.size());
  a.test.data_out = reinterpret_cast<uintptr_t>(out.data());
  a.test.data_size_out = out_size;
  const long rc = r.raw("test_run " + label, BPF_PROG_TEST_RUN, &a, sizeof(a));
  if (rc != 0 && rc != -ENOSPC) return;
  r.note(label + ": retval", static_cast<int32_t>(a.test.retval));
  r.note(label + ": data_size_out", a.test.data_size_out);
  uint64_t sum = a.test.data_size_out;
  for (uint32_t b = 0; b < a.test.data_size_out && b < out.size(); ++b) sum = sum * 31 + out[b];
  r.note(label + ": data_out (hash)", static_cast<long>(sum >> 1));
}

}  // namespace

SCENARIO("COMMON", "prog", "xdp_frags") {
  constexpr size_t kLinear = 3520, kMax = 3520 + 17 * 4096;
  for (uint32_t flags : {0u, kHasFrags}) {
    const std::string tag = flags ? "frags " : "linear ";
    const int len = r.load_program(BPF_PROG_TYPE_XDP, call_prog(BPF_FUNC_xdp_get_buff_len, 0, 0), tag + "load", flags);
    const int lin = r.load_program(BPF_PROG_TYPE_XDP, linear_len_prog(), tag + "load linear", flags);
    if (len < 0 || lin < 0) continue;
    for (size_t size : {size_t{3000}, kLinear, kLinear + 1, size_t{5000}, size_t{8000}, kLinear + 4096,
                        kLinear + 4097, kMax, kMax + 1}) {
      run(r, len, tag + "buff_len of " + std::to_string(size), size);
      run(r, lin, tag + "linear part of " + std::to_string(size), size);
    }
    run(r, len, tag + "5000 into a 4000-byte data_out", 5000, 4000);
    run(r, len, tag + "8000 into a 4000-byte data_out (less than the frags)", 8000, 4000);
    run(r, len, tag + "8000 with data_size_out 0", 8000, 0);
    run(r, len, tag + "3000 with data_size_out 0", 3000, 0);
    r.close(len);
    r.close(lin);
  }
  struct Call {
    int32_t helper, a2, a4;
  };
  for (Call c : {Call{BPF_FUNC_xdp_load_bytes, 100, 8}, {BPF_FUNC_xdp_load_bytes, 3516, 8},
                 {BPF_FUNC_xdp_load_bytes, 3520, 8}, {BPF_FUNC_xdp_load_bytes, 7612, 8},
                 {BPF_FUNC_xdp_load_bytes, 7992, 8}, {BPF_FUNC_xdp_load_bytes, 7993, 8},
                 {BPF_FUNC_xdp_store_bytes, 3518, 8}, {BPF_FUNC_xdp_store_bytes, 7610, 4},
                 {BPF_FUNC_xdp_store_bytes, 7996, 8}, {BPF_FUNC_xdp_adjust_tail, 100, 0},
                 {BPF_FUNC_xdp_adjust_tail, 200, 0}, {BPF_FUNC_xdp_adjust_tail, 3712, 0},
                 {BPF_FUNC_xdp_adjust_tail, 3713, 0}, {BPF_FUNC_xdp_adjust_tail, -100, 0},
                 {BPF_FUNC_xdp_adjust_tail, -400, 0}, {BPF_FUNC_xdp_adjust_tail, -4480, 0},
                 {BPF_FUNC_xdp_adjust_tail, -4481, 0}, {BPF_FUNC_xdp_adjust_tail, -7986, 0},
                 {BPF_FUNC_xdp_adjust_tail, -7987, 0}, {BPF_FUNC_xdp_adjust_tail, 0, 0}}) {
    const std::string what = "helper " + std::to_string(c.helper) + " (" + std::to_string(c.a2) + ", " +
                             std::to_string(c.a4) + ")";
    const int fd = r.load_program(BPF_PROG_TYPE_XDP, call_prog(c.helper, c.a2, c.a4), "load " + what, kHasFrags);
    if (fd < 0) continue;
    run(r, fd, what + " on 8000 bytes", 8000);
    run(r, fd, what + " on 3000 bytes", 3000);
    if (c.helper == BPF_FUNC_xdp_adjust_tail) run(r, fd, what + " on 7616 bytes (a full last frag)", 7616);
    r.close(fd);
  }
}

}  // namespace bpfemu::conformance
