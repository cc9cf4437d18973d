// FLOW_DISSECTOR test runs: the keys a dissector starts from (the frame's
// protocol, nhoff = thoff = ETH_HLEN, the caller's flags), what comes back
// (the keys as data out, nhoff and thoff clamped into the frame), the
// attr and ctx rules, and bpf_skb_load_bytes, which has no skb to read in a
// test run.
#include <linux/bpf.h>

#include <cstring>
#include <string>
#include <vector>

#include "conformance/scenario.h"
#include "emu/insn_builder.h"

namespace bpfemu::conformance {
namespace {

using insn::make;

constexpr int16_t kData = 76, kDataEnd = 80, kKeys = 144;

bpf_insn ldx(uint8_t size, uint8_t dst, uint8_t src, int16_t off) { return make(BPF_LDX | size | BPF_MEM, dst, src, off, 0); }
bpf_insn stx(uint8_t size, uint8_t dst, uint8_t src, int16_t off) { return make(BPF_STX | size | BPF_MEM, dst, src, off, 0); }
bpf_insn st(uint8_t size, uint8_t dst, int16_t off, int32_t imm) { return make(BPF_ST | size | BPF_MEM, dst, 0, off, imm); }
bpf_insn add(uint8_t dst, int32_t imm) { return make(BPF_ALU64 | BPF_ADD | BPF_K, dst, 0, 0, imm); }
bpf_insn jgt_reg(uint8_t dst, uint8_t src, int16_t off) { return make(BPF_JMP | BPF_JGT | BPF_X, dst, src, off, 0); }

// r6 = ctx, r2 = data, r3 = data_end, r7 = keys.
std::vector<bpf_insn> prologue() {
  return {insn::movr(BPF_REG_6, BPF_REG_1), ldx(BPF_W, BPF_REG_2, BPF_REG_6, kData),
          ldx(BPF_W, BPF_REG_3, BPF_REG_6, kDataEnd), ldx(BPF_DW, BPF_REG_7, BPF_REG_6, kKeys)};
}

// IPv4 only: addresses, protocol, thoff past a 20-byte header, and the ports
// when the frame has them; BPF_DROP otherwise.
std::vector<bpf_insn> ipv4_dissector() {
  std::vector<bpf_insn> p = prologue();
  const std::vector<bpf_insn> body = {
      insn::movr(BPF_REG_4, BPF_REG_2), add(BPF_REG_4, 34), jgt_reg(BPF_REG_4, BPF_REG_3, 21),  // -> drop
      ldx(BPF_H, BPF_REG_5, BPF_REG_7, 10), make(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_5, 0, 19, 0x0008),
      ldx(BPF_B, BPF_REG_5, BPF_REG_2, 23), stx(BPF_B, BPF_REG_7, BPF_REG_5, 9),
      ldx(BPF_W, BPF_REG_5, BPF_REG_2, 26), stx(BPF_W, BPF_REG_7, BPF_REG_5, 16),
      ldx(BPF_W, BPF_REG_5, BPF_REG_2, 30), stx(BPF_W, BPF_REG_7, BPF_REG_5, 20),
      st(BPF_H, BPF_REG_7, 4, 0x0800),
      ldx(BPF_H, BPF_REG_5, BPF_REG_7, 0), add(BPF_REG_5, 20), stx(BPF_H, BPF_REG_7, BPF_REG_5, 2),
      insn::movr(BPF_REG_4, BPF_REG_2), add(BPF_REG_4, 38), jgt_reg(BPF_REG_4, BPF_REG_3, 4),  // -> ok
      ldx(BPF_H, BPF_REG_5, BPF_REG_2, 34), stx(BPF_H, BPF_REG_7, BPF_REG_5, 12),
      ldx(BPF_H, BPF_REG_5, BPF_REG_2, 36), stx(BPF_H, BPF_REG_7, BPF_REG_5, 14),
      insn::mov(BPF_REG_0, BPF_OK), insn::exit(),                          // ok
      insn::mov(BPF_REG_0, BPF_DROP), insn::exit(),                        // drop
  };
  p.insert(p.end(), body.begin(), body.end());
  return p;
}

// Sets nhoff and thoff to the given values (clamped by the kernel after the run).
std::vector<bpf_insn> set_offsets(int32_t nhoff, int32_t thoff) {
  std::vector<bpf_insn> p = prologue();
  p.push_back(st(BPF_H, BPF_REG_7, 0, nhoff));
  p.push_back(st(BPF_H, BPF_REG_7, 2, thoff));
  p.push_back(insn::mov(BPF_REG_0, BPF_OK));
  p.push_back(insn::exit());
  return p;
}

// Returns the flags the keys start with.
std::vector<bpf_insn> echo_flags() {
  std::vector<bpf_insn> p = prologue();
  p.push_back(ldx(BPF_W, BPF_REG_0, BPF_REG_7, 48));
  p.push_back(insn::exit());
  return p;
}

// bpf_skb_load_bytes(ctx, 0, fp - 8, 8): its result into the keys' flags,
// the bytes it wrote into ipv4_src/dst.
std::vector<bpf_insn> load_bytes() {
  std::vector<bpf_insn> p = prologue();
  const std::vector<bpf_insn> body = {
      st(BPF_DW, BPF_REG_10, -8, 0x11223344), insn::movr(BPF_REG_1, BPF_REG_6), insn::mov(BPF_REG_2, 0),
      insn::movr(BPF_REG_3, BPF_REG_10), add(BPF_REG_3, -8), insn::mov(BPF_REG_4, 8),
      insn::call(BPF_FUNC_skb_load_bytes), stx(BPF_W, BPF_REG_7, BPF_REG_0, 48),
      ldx(BPF_DW, BPF_REG_1, BPF_REG_10, -8), stx(BPF_DW, BPF_REG_7, BPF_REG_1, 16), insn::mov(BPF_REG_0, BPF_OK),
      insn::exit()};
  p.insert(p.end(), body.begin(), body.end());
  return p;
}

std::vector<uint8_t> frame(uint16_t ethertype, size_t size) {
  std::vector<uint8_t> f(size);
  for (size_t i = 0; i < size; ++i) f[i] = static_cast<uint8_t>(i * 13 + 7);
  if (size > 12) f[12] = static_cast<uint8_t>(ethertype >> 8);
  if (size > 13) f[13] = static_cast<uint8_t>(ethertype);
  return f;
}

std::string hex(const uint8_t* p, size_t n) {
  static const char* kHex = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    s += kHex[p[i] >> 4];
    s += kHex[p[i] & 15];
  }
  return s;
}

struct RunOpts {
  uint32_t flags = 0, cpu = 0, batch = 0, repeat = 0;
  uint32_t data_out = 64;  // size of the data_out buffer (0: none)
  std::vector<uint8_t> ctx_in;
  uint32_t ctx_out = 0;  // size of the ctx_out buffer (0: none)
};

void test_run(Recorder& r, int fd, const std::string& label, const std::vector<uint8_t>& data, const RunOpts& o) {
  std::vector<uint8_t> out(o.data_out, 0xee), ctx_in = o.ctx_in, ctx_out(o.ctx_out, 0xee);
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.test.prog_fd = static_cast<uint32_t>(fd);
  a.test.data_in = reinterpret_cast<uintptr_t>(data.data());
  a.test.data_size_in = static_cast<uint32_t>(data.size());
  if (o.data_out != 0) {
    a.test.data_out = reinterpret_cast<uintptr_t>(out.data());
    a.test.data_size_out = o.data_out;
  }
  if (!ctx_in.empty()) {
    a.test.ctx_in = reinterpret_cast<uintptr_t>(ctx_in.data());
    a.test.ctx_size_in = static_cast<uint32_t>(ctx_in.size());
  }
  if (o.ctx_out != 0) {
    a.test.ctx_out = reinterpret_cast<uintptr_t>(ctx_out.data());
    a.test.ctx_size_out = o.ctx_out;
  }
  a.test.flags = o.flags;
  a.test.cpu = o.cpu;
  a.test.batch_size = o.batch;
  a.test.repeat = o.repeat;
  const long rc = r.raw("test_run " + label, BPF_PROG_TEST_RUN, &a, sizeof(a));
  if (rc != 0 && rc != -ENOSPC) return;
  r.note(label + ": retval", static_cast<int32_t>(a.test.retval));
  r.note(label + ": data_size_out " + hex(out.data(), std::min<size_t>(out.size(), a.test.data_size_out)),
         a.test.data_size_out);
  if (o.ctx_out != 0)
    r.note(label + ": ctx_size_out " + hex(ctx_out.data(), std::min<size_t>(ctx_out.size(), a.test.ctx_size_out)),
           a.test.ctx_size_out);
}

std::vector<uint8_t> keys_with_flags(uint32_t flags, size_t size = 56, size_t set_at = 48) {
  std::vector<uint8_t> k(size, 0);
  memcpy(k.data() + set_at, &flags, 4);
  return k;
}

}  // namespace

SCENARIO("COMMON", "prog", "flow_dissector_test_run") {
  const int dis = r.load_program(BPF_PROG_TYPE_FLOW_DISSECTOR, ipv4_dissector(), "load ipv4 dissector");
  if (dis >= 0) {
    test_run(r, dis, "ipv4 with ports", frame(0x0800, 54), {});
    test_run(r, dis, "ipv4 without ports", frame(0x0800, 36), {});
    test_run(r, dis, "ipv4 truncated", frame(0x0800, 30), {});
    test_run(r, dis, "ipv6", frame(0x86dd, 60), {});
    test_run(r, dis, "ethernet header only", frame(0x0800, 14), {});
    test_run(r, dis, "13 bytes", frame(0x0800, 13), {});
    test_run(r, dis, "4096 bytes", frame(0x0800, 4096), {});
    test_run(r, dis, "4097 bytes", frame(0x0800, 4097), {});
    test_run(r, dis, "no data_out", frame(0x0800, 54), {.data_out = 0});
    test_run(r, dis, "16-byte data_out", frame(0x0800, 54), {.data_out = 16});
    test_run(r, dis, "flags", frame(0x0800, 54), {.flags = 1});
    test_run(r, dis, "cpu", frame(0x0800, 54), {.cpu = 1});
    test_run(r, dis, "batch_size", frame(0x0800, 54), {.batch = 1});
    test_run(r, dis, "repeat 3", frame(0x0800, 54), {.repeat = 3});
    test_run(r, dis, "ctx_out only", frame(0x0800, 54), {.ctx_out = 64});
    test_run(r, dis, "ctx with nhoff set", frame(0x0800, 54), {.ctx_in = keys_with_flags(14, 56, 0), .ctx_out = 64});
    test_run(r, dis, "ctx longer, zero tail", frame(0x0800, 54), {.ctx_in = keys_with_flags(2, 64), .ctx_out = 64});
    test_run(r, dis, "ctx longer, non-zero tail", frame(0x0800, 54), {.ctx_in = keys_with_flags(2, 64, 60)});
    test_run(r, dis, "ctx shorter", frame(0x0800, 54), {.ctx_in = std::vector<uint8_t>(8, 0), .ctx_out = 8});
    r.close(dis);
  }
  const int echo = r.load_program(BPF_PROG_TYPE_FLOW_DISSECTOR, echo_flags(), "load flags echo");
  if (echo >= 0) {
    for (uint32_t flags : {0u, 1u, 2u, 4u, 7u, 0x80000000u})
      test_run(r, echo, "flags " + std::to_string(flags), frame(0x0800, 54),
               {.ctx_in = keys_with_flags(flags), .ctx_out = 56});
    r.close(echo);
  }
  for (auto [nh, th] : {std::pair{0, 0}, {2, 1}, {40, 20}, {40, 60}, {0xffff, 5}, {100, 100}}) {
    const std::string what = "offsets " + std::to_string(nh) + "," + std::to_string(th);
    const int fd = r.load_program(BPF_PROG_TYPE_FLOW_DISSECTOR, set_offsets(nh, th), "load " + what);
    if (fd < 0) continue;
    test_run(r, fd, what, frame(0x0800, 54), {});
    r.close(fd);
  }
  const int lb = r.load_program(BPF_PROG_TYPE_FLOW_DISSECTOR, load_bytes(), "load skb_load_bytes");
  if (lb >= 0) {
    test_run(r, lb, "skb_load_bytes", frame(0x0800, 54), {});
    r.close(lb);
  }
}

}  // namespace bpfemu::conformance
