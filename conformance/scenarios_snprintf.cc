// bpf_snprintf from a raw tracepoint's test run: the formats the kernel takes
// (integers with their widths and flags, %c, strings, IP addresses, %%), the
// length it returns (the whole text plus its NUL), what it writes into a
// buffer too small or absent, and its answer to a data length that is not a
// whole number of arguments, which the verifier makes at load when it can.
// The formats sit in a frozen read-only map, as the verifier wants them.
// Not here: %pus of a stack string, which the kernel prints empty (the stack
// is not user memory) and the emulator, with one address space, prints.
#include <linux/bpf.h>

#include <cstring>
#include <string>
#include <vector>

#include "conformance/scenario.h"
#include "emu/insn_builder.h"

namespace bpfemu::conformance {
namespace {

namespace in = insn;

constexpr int kFmtSlot = 64;    // bytes per format in the format map's value
constexpr int kOutBytes = 128;  // the program's output buffer
// The program's stack: the output buffer, the arguments below it, and the
// strings and addresses the pointer arguments point to below those
// (in::store_slot uses fp-80 and fp-72).
constexpr int16_t kOut = -216, kArgs = -312, kHello = -360, kHi = -352, kIpv4 = -344, kIpv6 = -336;

const char* const kFormats[] = {
    "%d %u %x %li %llu %lX",        // 0
    "[%s|%5s|%-6d|%05d|%c|%s]",     // 1
    "%pI4 %pi4 %pI6 %pi6",          // 2
    "100%% literal, no arguments",  // 3
    "%d",                           // 4
    "[%pks]",                       // 5
};

// An argument: a value, or the address of one of the program's stack strings.
struct Arg {
  uint64_t value;
  int16_t stack_off = 0;  // nonzero: fp + stack_off instead of value
};

void store_bytes(std::vector<bpf_insn>& p, int16_t off, const void* bytes, size_t n) {
  for (size_t i = 0; i < n; i += 4) {
    int32_t w = 0;
    memcpy(&w, static_cast<const uint8_t*>(bytes) + i, std::min<size_t>(4, n - i));
    p.push_back(in::make(BPF_ST | BPF_MEM | BPF_W, BPF_REG_10, 0, static_cast<int16_t>(off + i), w));
  }
}

// Fills the output buffer with 'x', lays out the strings, calls
// bpf_snprintf(out or NULL, str_size, fmt, args or NULL, data_len) and stores
// its result in slot 0 and the buffer in slots 1..16 of `out_map`.
std::vector<bpf_insn> snprintf_prog(int out_map, int fmt_map, int fmt, const std::vector<Arg>& args,
                                    uint32_t str_size, bool null_str, uint32_t data_len) {
  std::vector<bpf_insn> p;
  const std::string xs(kOutBytes, 'x');
  store_bytes(p, kOut, xs.data(), xs.size());
  const char hello[8] = "hello", hi[8] = "hi";
  const uint8_t v4[4] = {127, 0, 0, 1}, v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  store_bytes(p, kHello, hello, sizeof(hello));
  store_bytes(p, kHi, hi, sizeof(hi));
  store_bytes(p, kIpv4, v4, sizeof(v4));
  store_bytes(p, kIpv6, v6, sizeof(v6));
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i].stack_off != 0) {
      p.push_back(in::movr(BPF_REG_1, BPF_REG_10));
      p.push_back(in::make(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_1, 0, 0, args[i].stack_off));
    } else {
      in::ld64(p, BPF_REG_1, args[i].value);
    }
    p.push_back(in::make(BPF_STX | BPF_MEM | BPF_DW, BPF_REG_10, BPF_REG_1, static_cast<int16_t>(kArgs + 8 * i), 0));
  }
  if (null_str) {
    p.push_back(in::mov(BPF_REG_1, 0));
  } else {
    p.push_back(in::movr(BPF_REG_1, BPF_REG_10));
    p.push_back(in::make(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_1, 0, 0, kOut));
  }
  p.push_back(in::mov(BPF_REG_2, static_cast<int32_t>(str_size)));
  in::ld64(p, BPF_REG_3, (uint64_t{static_cast<uint32_t>(fmt * kFmtSlot)} << 32) | static_cast<uint32_t>(fmt_map),
           BPF_PSEUDO_MAP_VALUE);
  if (data_len == 0) {
    p.push_back(in::mov(BPF_REG_4, 0));
  } else {
    p.push_back(in::movr(BPF_REG_4, BPF_REG_10));
    p.push_back(in::make(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_4, 0, 0, kArgs));
  }
  p.push_back(in::mov(BPF_REG_5, static_cast<int32_t>(data_len)));
  p.push_back(in::call(BPF_FUNC_snprintf));
  p.push_back(in::movr(BPF_REG_7, BPF_REG_0));
  in::store_slot(p, out_map, 0, BPF_REG_7);
  for (int i = 0; i < kOutBytes / 8; ++i) {
    p.push_back(in::make(BPF_LDX | BPF_MEM | BPF_DW, BPF_REG_7, BPF_REG_10, static_cast<int16_t>(kOut + 8 * i), 0));
    in::store_slot(p, out_map, i + 1, BPF_REG_7);
  }
  p.push_back(in::mov(BPF_REG_0, 0));
  p.push_back(in::exit());
  return p;
}

}  // namespace

SCENARIO("COMMON", "prog", "snprintf") {
  std::vector<uint8_t> formats(sizeof(kFormats) / sizeof(kFormats[0]) * kFmtSlot, 0);
  for (size_t i = 0; i < sizeof(kFormats) / sizeof(kFormats[0]); ++i)
    memcpy(formats.data() + i * kFmtSlot, kFormats[i], strlen(kFormats[i]));
  const int fmt_map = r.create(BPF_MAP_TYPE_ARRAY, 4, static_cast<uint32_t>(formats.size()), 1, BPF_F_RDONLY_PROG);
  const int out = r.create(BPF_MAP_TYPE_ARRAY, 4, 8, 1 + kOutBytes / 8);
  if (fmt_map < 0 || out < 0) return;
  if (r.update(fmt_map, u32(0), Bytes(formats.begin(), formats.end())) != 0 || r.freeze(fmt_map) != 0) return;

  const std::vector<Arg> numbers = {{static_cast<uint64_t>(-8)}, {9}, {150}, {static_cast<uint64_t>(-424242)},
                                    {1337}, {0xDABBAD00}};
  const std::vector<Arg> strings = {{0, kHello}, {0, kHi}, {42}, {7}, {'Z'}, {0}};
  const std::vector<Arg> addresses = {{0, kIpv4}, {0, kIpv4}, {0, kIpv6}, {0, kIpv6}};
  struct Case {
    const char* what;
    int fmt;
    std::vector<Arg> args;
    uint32_t str_size;
    bool null_str;
    uint32_t data_len;
  };
  const Case cases[] = {
      {"integers", 0, numbers, kOutBytes, false, 48},
      {"integers into 6 bytes", 0, numbers, 6, false, 48},
      {"integers into 1 byte", 0, numbers, 1, false, 48},
      {"integers, no buffer", 0, numbers, 0, true, 48},
      {"integers, more data than conversions", 0, numbers, kOutBytes, false, 96},
      {"strings, widths, flags, %c, a NULL string", 1, strings, kOutBytes, false, 48},
      {"IPv4 and IPv6 addresses", 2, addresses, kOutBytes, false, 32},
      {"%% and no arguments", 3, {}, kOutBytes, false, 0},
      {"data_len 12", 4, {{5}, {6}}, kOutBytes, false, 12},
      {"data_len 104 (13 arguments)", 4, {{5}}, kOutBytes, false, 104},
      {"%pks of a stack string", 5, {{0, kHello}}, kOutBytes, false, 8},
      {"%s with too few arguments", 1, {{0, kHello}}, kOutBytes, false, 8},
  };
  for (const Case& c : cases) {
    const int prog = r.load_program(BPF_PROG_TYPE_RAW_TRACEPOINT,
                                    snprintf_prog(out, fmt_map, c.fmt, c.args, c.str_size, c.null_str, c.data_len),
                                    std::string(c.what) + ": load");
    if (prog < 0) continue;
    run_with_args(r, prog, {0}, std::string(c.what) + ": run");
    for (uint32_t slot = 0; slot <= kOutBytes / 8; ++slot) r.lookup(out, u32(slot));
    r.close(prog);
  }
}

}  // namespace bpfemu::conformance
