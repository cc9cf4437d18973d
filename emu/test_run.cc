// BPF_PROG_TEST_RUN: the kernel's net/bpf/test_run.c for the program types the
// emulator runs, each with the context the kernel builds for it.
//
// SYSCALL: the caller's ctx, written back into ctx_in. TRACING: the kernel's
// test functions (emu/tracing_run.cc). RAW_TRACEPOINT: up to
// 12 u64 arguments, on a chosen CPU. XDP: the packet in a 4 KiB frame after
// 256 bytes of headroom (less the metadata an xdp_md in ctx_in asks for),
// xdp_md.data/data_end/data_meta rewritten into pointers; what does not fit
// the page goes to frags. SCHED_CLS, SCHED_ACT, SOCKET_FILTER,
// CGROUP_SKB, LWT_*: an __sk_buff over the packet (from the Ethernet header
// for tc programs, the network header for the others), with the fields a
// caller may set through ctx_in.
#include "emu/test_run.h"

#include <net/if.h>

#include <linux/bpf.h>
#include <linux/if_ether.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <vector>

#include "bpfemu/uapi.h"
#include "core/profile.h"
#include "core/cpu.h"
#include "core/log.h"
#include "core/uaccess.h"
#include "emu/interpreter.h"
#include "emu/objects.h"
#include "emu/program.h"

namespace bpfemu::emu {
namespace {

constexpr uint32_t kXdpHeadroom = 256;  // XDP_PACKET_HEADROOM
constexpr uint32_t kTailroom = 320;     // SKB_DATA_ALIGN(sizeof(struct skb_shared_info))
constexpr uint32_t kFrame = 4096;
constexpr uint32_t kMaxRawTpArgs = 12;  // MAX_BPF_FUNC_ARGS

void* uptr(uint64_t v) { return reinterpret_cast<void*>(static_cast<uintptr_t>(v)); }

int put_u32(void* uattr, size_t off, uint32_t v) {
  return copy_to_user(user_ptr_add(uattr, off), &v, sizeof(v)) != 0 ? -EFAULT : 0;
}

}  // namespace

namespace {

// Runs the program `repeat` times (at least once): the last r0, and the mean
// time per run in ns, as bpf_test_run reports them. `before` and `after`, when
// given, run around each run (a context the kernel sets up each time).
int run_repeat(const Program& prog, RunEnv& env, uint64_t ctx, uint32_t repeat, uint32_t* retval,
               uint32_t* duration, const std::function<void()>& before = {},
               const std::function<void()>& after = {}) {
  if (repeat == 0) repeat = 1;
  const auto start = std::chrono::steady_clock::now();
  uint64_t r0 = 0;
  for (uint32_t i = 0; i < repeat; ++i) {
    env.insn_budget = 0;
    if (before) before();
    if (int e = run_program(prog, env, ctx, &r0); e != 0) return e;
    if (after) after();
  }
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count();
  *retval = static_cast<uint32_t>(r0);
  *duration = static_cast<uint32_t>(std::min<int64_t>(ns / repeat, UINT32_MAX));
  return 0;
}

// bpf_test_finish: the data out (ENOSPC when it does not fit, after copying
// what does), its full size, retval and duration. An XDP frame's frags follow
// its linear part; when the buffer is short the kernel cuts the linear part,
// not the frags, and writes nothing at all when even the frags do not fit.
int finish(void* uattr, const TestRunAttr& a, const uint8_t* data, uint32_t size, uint32_t retval, uint32_t duration,
           const std::vector<XdpFrag>* frags = nullptr) {
  int err = 0;
  uint32_t frags_size = 0;
  if (frags != nullptr)
    for (const XdpFrag& f : *frags) frags_size += f.len;
  size += frags_size;
  if (a.data_out != 0) {
    uint32_t copy = size;
    if (a.data_size_out != 0 && copy > a.data_size_out) {
      copy = a.data_size_out;
      err = -ENOSPC;
    }
    if (copy < frags_size) return log_reason(-ENOSPC, "data_size_out %u cannot hold the %u bytes of frags", copy, frags_size);
    uint32_t at = copy - frags_size;
    if (copy_to_user(uptr(a.data_out), data, at) != 0) return -EFAULT;
    if (frags != nullptr)
      for (const XdpFrag& f : *frags) {
        if (copy_to_user(user_ptr_add(uptr(a.data_out), at), f.page.data(), f.len) != 0) return -EFAULT;
        at += f.len;
      }
  }
  if (put_u32(uattr, offsetof(TestRunAttr, data_size_out), size) != 0 ||
      put_u32(uattr, offsetof(TestRunAttr, retval), retval) != 0 ||
      put_u32(uattr, offsetof(TestRunAttr, duration), duration) != 0)
    return -EFAULT;
  return err == -ENOSPC ? log_reason(err, "data_size_out %u is smaller than the %u bytes out", a.data_size_out, size)
                        : 0;
}

// bpf_ctx_init: the caller's ctx, at most max bytes (the rest must be zero).
int ctx_in(const TestRunAttr& a, uint32_t max, std::vector<uint8_t>* ctx) {
  ctx->assign(max, 0);
  if (a.ctx_in == 0) return a.ctx_size_in != 0 ? log_reason(-EINVAL, "ctx_size_in without ctx_in") : 0;
  if (a.ctx_size_in > max) {
    const int zero = user_is_zero(user_ptr_add(uptr(a.ctx_in), max), a.ctx_size_in - max);
    if (zero < 0) return -EFAULT;
    if (zero == 0) return log_reason(-E2BIG, "ctx_in has non-zero bytes past the %u-byte context", max);
  }
  if (copy_from_user(ctx->data(), uptr(a.ctx_in), std::min(max, a.ctx_size_in)) != 0) return -EFAULT;
  return 0;
}

// bpf_ctx_finish.
int ctx_out(void* uattr, const TestRunAttr& a, const std::vector<uint8_t>& ctx) {
  if (a.ctx_out == 0) return 0;
  uint32_t copy = static_cast<uint32_t>(ctx.size());
  int err = 0;
  if (copy > a.ctx_size_out) {
    copy = a.ctx_size_out;
    err = -ENOSPC;
  }
  if (copy_to_user(uptr(a.ctx_out), ctx.data(), copy) != 0) return -EFAULT;
  if (put_u32(uattr, offsetof(TestRunAttr, ctx_size_out), static_cast<uint32_t>(ctx.size())) != 0) return -EFAULT;
  return err;
}

// --- BPF_PROG_TYPE_SYSCALL ---

int run_syscall(const Program& prog, void* uattr, const TestRunAttr& a, RunEnv& env) {
  if (a.data_in || a.data_out || a.ctx_out || a.duration || a.repeat || a.batch_size)
    return log_reason(-EINVAL, "a syscall program takes only ctx_in");
  if (a.ctx_size_in > 0xffff) return log_reason(-EINVAL, "ctx_size_in %u is above U16_MAX", a.ctx_size_in);
  std::vector<uint8_t> ctx(a.ctx_size_in);
  if (!ctx.empty() && copy_from_user(ctx.data(), uptr(a.ctx_in), ctx.size()) != 0) return -EFAULT;
  env.set_ctx(ctx.data(), static_cast<uint32_t>(ctx.size()), true);
  uint32_t retval = 0, duration = 0;
  if (int e = run_repeat(prog, env, reinterpret_cast<uint64_t>(ctx.empty() ? nullptr : ctx.data()), 1, &retval,
                         &duration);
      e != 0)
    return e;
  if (put_u32(uattr, offsetof(TestRunAttr, retval), retval) != 0) return -EFAULT;
  if (!ctx.empty() && copy_to_user(uptr(a.ctx_in), ctx.data(), ctx.size()) != 0) return -EFAULT;
  return 0;
}

// --- BPF_PROG_TYPE_RAW_TRACEPOINT ---

int run_raw_tp(const Program& prog, void* uattr, const TestRunAttr& a, RunEnv& env) {
  if (a.data_in || a.data_out || a.ctx_out || a.duration || a.repeat || a.batch_size)
    return log_reason(-EINVAL, "a raw tracepoint program takes only ctx_in, flags and cpu");
  if (a.ctx_size_in > kMaxRawTpArgs * 8) return log_reason(-EINVAL, "more than 12 arguments");
  if (a.flags & ~uint32_t{BPF_F_TEST_RUN_ON_CPU}) return log_reason(-EINVAL, "unknown flags");
  if (!(a.flags & BPF_F_TEST_RUN_ON_CPU) && a.cpu != 0) return log_reason(-EINVAL, "cpu without BPF_F_TEST_RUN_ON_CPU");
  if ((a.flags & BPF_F_TEST_RUN_ON_CPU) && a.cpu >= static_cast<uint32_t>(possible_cpus()))
    return log_reason(-ENXIO, "cpu %u is not online", a.cpu);
  std::vector<uint8_t> args(a.ctx_size_in);
  if (!args.empty() && copy_from_user(args.data(), uptr(a.ctx_in), args.size()) != 0) return -EFAULT;
  env.set_ctx(args.data(), static_cast<uint32_t>(args.size()), false);
  ScopedCpu cpu(a.flags & BPF_F_TEST_RUN_ON_CPU ? static_cast<int>(a.cpu) : current_cpu());
  uint32_t retval = 0, duration = 0;
  if (int e = run_repeat(prog, env, reinterpret_cast<uint64_t>(args.data()), 1, &retval, &duration); e != 0) return e;
  return put_u32(uattr, offsetof(TestRunAttr, retval), retval);
}

// --- XDP ---

class XdpCtx final : public CtxModel {
 public:
  explicit XdpCtx(const XdpBuff& b) : buf_(b) {}
  bool load(uint32_t off, uint32_t size, uint64_t* out) const override {
    if (size != 4) return false;
    switch (off) {
      case 0: *out = reinterpret_cast<uint64_t>(buf_.data); return true;
      case 4: *out = reinterpret_cast<uint64_t>(buf_.data_end); return true;
      case 8: *out = reinterpret_cast<uint64_t>(buf_.data_meta); return true;
      default: return false;
    }
  }
  bool store_allowed(uint32_t, uint32_t) const override { return false; }

 private:
  const XdpBuff& buf_;  // moved by the xdp helpers
};

// struct xdp_md's fields, as a test passes them in ctx_in: offsets from the
// metadata's start and the receive queue.
struct XdpMd {
  uint32_t data, data_end, data_meta, ingress_ifindex, rx_queue_index, egress_ifindex;
};
static_assert(sizeof(XdpMd) == 24);

// Metadata comes in u32s, up to the profile's limit.
bool metalen_invalid(uint32_t len) { return (len & 3) != 0 || len > active_profile().xdp_test_meta_max; }

// xdp_convert_md_to_buff's checks of the device fields: the run is on a
// device of this host (the loopback, ifindex 1, when none is given), queue 0.
int check_md_device(const XdpMd& md) {
  if (md.egress_ifindex != 0) return log_reason(-EINVAL, "xdp_md.egress_ifindex must be 0");
  if (md.ingress_ifindex == 0 && md.rx_queue_index != 0)
    return log_reason(-EINVAL, "xdp_md.rx_queue_index without ingress_ifindex");
  if (md.ingress_ifindex != 0) {
    char name[IF_NAMESIZE];
    if (if_indextoname(md.ingress_ifindex, name) == nullptr)
      return log_reason(-ENODEV, "no network device with ifindex %u here", md.ingress_ifindex);
    if (md.rx_queue_index != 0) return log_reason(-EINVAL, "%s: the emulated device has one receive queue", name);
  }
  return 0;
}

int run_xdp(const Program& prog, void* uattr, const TestRunAttr& a, RunEnv& env) {
  const uint32_t eat = prog.header().expected_attach_type;
  if (eat == BPF_XDP_DEVMAP || eat == BPF_XDP_CPUMAP)
    return log_reason(-EINVAL, "a devmap or cpumap XDP program cannot be test-run");
  if (a.flags != 0) return log_reason(-EOPNOTSUPP, "XDP live frames are not emulated");
  if (a.batch_size != 0) return log_reason(-EINVAL, "batch_size needs BPF_F_TEST_XDP_LIVE_FRAMES");
  if (a.data_size_in < ETH_HLEN) return log_reason(-EINVAL, "data_size_in %u is below an Ethernet header", a.data_size_in);
  std::vector<uint8_t> ctx;
  if (int e = ctx_in(a, sizeof(XdpMd), &ctx); e != 0) return e;
  XdpMd md{};
  memcpy(&md, ctx.data(), sizeof(md));
  const bool have_md = a.ctx_in != 0;
  // The test's xdp_md: no bytes before the metadata, the whole input is the
  // frame, the metadata (the first md.data bytes of the input) valid.
  if (have_md && (md.data_meta != 0 || md.data > md.data_end || md.data_end > a.data_size_in ||
                  metalen_invalid(md.data)))
    return log_reason(-EINVAL, "xdp_md: data_meta must be 0, data the metadata's length, data_end within the input");
  // What does not fit the linear part goes to page-sized frags, at most
  // MAX_SKB_FRAGS of them.
  const uint32_t max_size = kFrame - (kXdpHeadroom - md.data) - kTailroom;
  const uint32_t linear = std::min(a.data_size_in, max_size);
  constexpr uint32_t kMaxFrags = 17;
  std::vector<XdpFrag> frags;
  for (uint32_t at = linear; at < a.data_size_in;) {
    if (frags.size() == kMaxFrags) return log_reason(-ENOMEM, "data_size_in %u needs more than %u frags", a.data_size_in, kMaxFrags);
    const uint32_t n = std::min<uint32_t>(a.data_size_in - at, kFrame);
    frags.push_back(XdpFrag{std::vector<uint8_t>(kFrame), n});
    if (copy_from_user(frags.back().page.data(), static_cast<const uint8_t*>(uptr(a.data_in)) + at, n) != 0)
      return -EFAULT;
    at += n;
  }
  // One frame per thread, reused: a program reaches only [data, data_end). The
  // metadata comes out of the headroom.
  alignas(64) thread_local uint8_t frame[kFrame];
  uint8_t* start = frame + kXdpHeadroom - md.data;
  memset(frame, 0, static_cast<size_t>(start - frame));  // the kernel's buffer starts zeroed: metadata grown into it shows zeros
  if (copy_from_user(start, uptr(a.data_in), linear) != 0) return -EFAULT;
  // The program sees the packet end where xdp_md.data_end says (the kernel
  // takes it as given, within the input).
  const uint32_t end = have_md ? std::min(md.data_end, linear) : linear;
  XdpBuff buf{frame, start + md.data, start + end, kFrame, start, std::move(frags)};
  if (int e = check_md_device(md); e != 0) return e;
  XdpCtx x(buf);
  // The fields that are not pointers: the device (the loopback, ifindex 1,
  // unless the test named one) and queue.
  uint8_t md_bytes[24] = {};
  const uint32_t ifindex = md.ingress_ifindex != 0 ? md.ingress_ifindex : 1;
  memcpy(md_bytes + 12, &ifindex, sizeof(ifindex));
  memcpy(md_bytes + 16, &md.rx_queue_index, sizeof(md.rx_queue_index));
  env.set_ctx(md_bytes, sizeof(md_bytes), false);
  env.ctx_model = &x;
  env.xdp = &buf;
  env.memory.add(buf.data_meta, static_cast<uint64_t>(buf.data_end - buf.data_meta), true);
  uint32_t retval = 0, duration = 0;
  if (int e = run_repeat(prog, env, reinterpret_cast<uint64_t>(md_bytes), a.repeat, &retval, &duration); e != 0)
    return e;
  // The frame comes out from its metadata on; a program that moved nothing
  // gives back the whole input (the 6.18 kernel does so even when xdp_md
  // ended the packet early).
  const bool moved = buf.data_meta != start || buf.data != start + md.data || buf.data_end != start + end;
  const uint32_t out_size = moved ? static_cast<uint32_t>(buf.data_end - buf.data_meta) : linear;
  if (int e = finish(uattr, a, buf.data_meta, out_size, retval, duration, &buf.frags); e != 0) return e;
  if (!have_md) return 0;
  // xdp_convert_buff_to_md: offsets from the metadata's start.
  md.data = static_cast<uint32_t>(buf.data - buf.data_meta);
  md.data_end = static_cast<uint32_t>(buf.data_end - buf.data_meta);
  memcpy(ctx.data(), &md, sizeof(md));
  return ctx_out(uattr, a, ctx);
}

// --- skb programs ---

// struct __sk_buff offsets the emulator reads or rewrites.
enum SkbOff : uint32_t {
  kLen = 0, kPktType = 4, kMark = 8, kQueueMapping = 12, kProtocol = 16, kVlanPresent = 20, kPriority = 32,
  kIngressIfindex = 36,
  kIfindex = 40, kCb = 48, kCbEnd = 68, kData = 76, kDataEnd = 80, kDataMeta = 140, kTstamp = 152, kWireLen = 160,
  kGsoSegs = 164, kGsoSize = 176, kHwtstamp = 184, kSkbSize = 192,
};

}  // namespace

void SkbBuff::sync_ctx() {
  const uint32_t words[] = {protocol, vlan_present ? 1u : 0u, vlan_tci, vlan_proto};
  memcpy(ctx + kLen, &len, 4);
  memcpy(ctx + kProtocol, &words[0], 4);
  memcpy(ctx + kVlanPresent, &words[1], 12);  // vlan_present, vlan_tci, vlan_proto
}

namespace {

class SkbCtx final : public CtxModel {
 public:
  explicit SkbCtx(SkbBuff& skb) : skb_(skb) {}
  bool load(uint32_t off, uint32_t size, uint64_t* out) const override {
    if (size != 4) return false;
    switch (off) {
      case kData: *out = reinterpret_cast<uint64_t>(skb_.begin()); return true;
      case kDataEnd: *out = reinterpret_cast<uint64_t>(skb_.end()); return true;
      case kDataMeta: *out = reinterpret_cast<uint64_t>(skb_.begin()); return true;
      default: return false;
    }
  }
  // The fields a tc program may write (the verifier's tc_cls_act_is_valid_access).
  bool store_allowed(uint32_t off, uint32_t size) const override {
    const uint32_t end = off + size;
    return (off >= kMark && end <= kMark + 4) || (off >= kPriority && end <= kPriority + 4) ||
           (off >= kCb && end <= kCbEnd) || (off >= 44 && end <= 48) /* tc_index */ ||
           (off >= 72 && end <= 76) /* tc_classid */ || (off >= kTstamp && end <= kTstamp + 8) ||
           (off >= kQueueMapping && end <= kQueueMapping + 4);
  }
  const uint8_t* packet(uint32_t* len) const override {
    *len = skb_.len;
    return skb_.begin();
  }

 private:
  SkbBuff& skb_;
};

bool range_zero(const std::vector<uint8_t>& b, uint32_t from, uint32_t to) {
  return std::all_of(b.begin() + from, b.begin() + to, [](uint8_t c) { return c == 0; });
}

// convert___skb_to_skb: only these fields of a caller's __sk_buff may be set.
int check_skb_ctx(const std::vector<uint8_t>& c) {
  const bool ok = range_zero(c, 0, kMark) && range_zero(c, kMark + 4, kPriority) &&
                  range_zero(c, kPriority + 4, kIngressIfindex) && range_zero(c, kIfindex + 4, kCb) &&
                  range_zero(c, kCbEnd, kTstamp) && range_zero(c, kTstamp + 8, kWireLen) &&
                  range_zero(c, kGsoSegs + 4, kGsoSize) && range_zero(c, kGsoSize + 4, kHwtstamp);
  return ok ? 0 : log_reason(-EINVAL, "__sk_buff ctx_in sets a field the kernel does not take");
}

uint32_t u32_at(const std::vector<uint8_t>& b, uint32_t off) {
  uint32_t v;
  memcpy(&v, b.data() + off, 4);
  return v;
}
void set_u32(std::vector<uint8_t>& b, uint32_t off, uint32_t v) { memcpy(b.data() + off, &v, 4); }

int run_skb(const Program& prog, void* uattr, const TestRunAttr& a, RunEnv& env, bool l2) {
  constexpr uint32_t kChecksumComplete = 1U << 2;  // BPF_F_TEST_SKB_CHECKSUM_COMPLETE: no checksums here
  if ((a.flags & ~kChecksumComplete) || a.cpu != 0)
    return log_reason(-EINVAL, "skb programs take only BPF_F_TEST_SKB_CHECKSUM_COMPLETE, and cpu 0");
  if (a.batch_size != 0) return log_reason(-EINVAL, "batch_size is for XDP");
  if (a.data_size_in < ETH_HLEN || a.data_size_in > kFrame - 64 - kTailroom)
    return log_reason(-EINVAL, "data_size_in %u is not in %u..%u", a.data_size_in, ETH_HLEN, kFrame - 64 - kTailroom);
  std::vector<uint8_t> ctx;
  if (int e = ctx_in(a, kSkbSize, &ctx); e != 0) return e;
  if (int e = check_skb_ctx(ctx); e != 0) return e;
  const uint32_t ifindex = u32_at(ctx, kIfindex);
  if (ifindex > 1) return log_reason(-ENODEV, "ifindex %u: test runs use the loopback device (1)", ifindex);
  // The kernel's layout: 64 bytes of headroom (NET_SKB_PAD), the frame, room
  // after it. The helpers that resize the packet make more room as needed.
  constexpr uint32_t kHeadroom = 64;
  SkbBuff skb;
  skb.buf.assign(kFrame, 0);
  uint8_t* eth = skb.buf.data() + kHeadroom;
  if (copy_from_user(eth, uptr(a.data_in), a.data_size_in) != 0) return -EFAULT;
  // eth_type_trans on the loopback device, whose address and broadcast
  // address are both 00:00:00:00:00:00: so ff:ff:ff:ff:ff:ff is only multicast.
  uint32_t pkt_type = 0;  // PACKET_HOST
  if (eth[0] & 1) {
    pkt_type = 2;  // PACKET_MULTICAST
  } else if (!std::all_of(eth, eth + 6, [](uint8_t b) { return b == 0; })) {
    pkt_type = 3;  // PACKET_OTHERHOST
  }
  uint16_t proto_be;
  memcpy(&proto_be, eth + 12, 2);
  // eth_type_trans leaves the mac header at the frame and the network header
  // after it (no transport header); tc programs see the frame from the mac
  // header, the others from the network header.
  skb.mac_header = kHeadroom;
  skb.network_header = kHeadroom + ETH_HLEN;
  skb.data = l2 ? skb.mac_header : skb.network_header;
  skb.len = a.data_size_in - (l2 ? 0 : ETH_HLEN);
  skb.protocol = proto_be;
  skb.ctx = ctx.data();
  SkbCtx s(skb);
  skb.sync_ctx();
  set_u32(ctx, kPktType, pkt_type);
  set_u32(ctx, kIfindex, 1);
  if (u32_at(ctx, kWireLen) == 0) set_u32(ctx, kWireLen, skb.len);
  env.set_ctx(ctx.data(), kSkbSize, true);
  env.ctx_model = &s;
  env.skb = &skb;
  env.memory.add(skb.begin(), skb.len, true);
  uint32_t retval = 0, duration = 0;
  if (int e = run_repeat(prog, env, reinterpret_cast<uint64_t>(ctx.data()), a.repeat, &retval, &duration); e != 0)
    return e;
  // What the kernel copies out: the whole frame (it pushes the Ethernet header
  // back for the programs that saw the network header); convert_skb_to___skb's fields.
  std::vector<uint8_t> out(kSkbSize, 0);
  for (uint32_t off : {uint32_t{kMark}, uint32_t{kPriority}, uint32_t{kIngressIfindex}, uint32_t{kIfindex},
                       uint32_t{kWireLen}, uint32_t{kGsoSegs}, uint32_t{kGsoSize}})
    set_u32(out, off, u32_at(ctx, off));
  memcpy(out.data() + kCb, ctx.data() + kCb, kCbEnd - kCb);
  memcpy(out.data() + kTstamp, ctx.data() + kTstamp, 8);
  memcpy(out.data() + kHwtstamp, ctx.data() + kHwtstamp, 8);
  const uint32_t pushed = l2 ? 0 : ETH_HLEN;  // the kernel pushes the Ethernet header back
  int err = finish(uattr, a, skb.begin() - pushed, skb.len + pushed, retval, duration);
  if (err == 0 || err == -ENOSPC) {
    const int e = ctx_out(uattr, a, out);
    if (e != 0 && err == 0) err = e;
  }
  return err;
}

// --- BPF_PROG_TYPE_FLOW_DISSECTOR ---

// struct bpf_flow_keys: what the program fills in, and the test run's output.
constexpr uint32_t kFlowKeysSize = 56;
constexpr uint32_t kFlowKeysFlags = 48;  // the only field a caller may set
constexpr uint32_t kSkbFlowKeys = 144;   // __sk_buff.flow_keys

// The __sk_buff a flow dissector sees: data, data_end and the flow keys
// pointer, read-only (flow_dissector_is_valid_access).
class FlowCtx final : public CtxModel {
 public:
  FlowCtx(const uint8_t* data, const uint8_t* end, uint8_t* keys) : data_(data), end_(end), keys_(keys) {}
  bool load(uint32_t off, uint32_t size, uint64_t* out) const override {
    if (off == kData && size == 4) *out = reinterpret_cast<uint64_t>(data_);
    else if (off == kDataEnd && size == 4) *out = reinterpret_cast<uint64_t>(end_);
    else if (off == kSkbFlowKeys && size == 8) *out = reinterpret_cast<uint64_t>(keys_);
    else return false;
    return true;
  }
  bool store_allowed(uint32_t, uint32_t) const override { return false; }

 private:
  const uint8_t* data_;
  const uint8_t* end_;
  uint8_t* keys_;
};

uint16_t u16_at(const uint8_t* p) {
  uint16_t v;
  memcpy(&v, p, 2);
  return v;
}

// bpf_prog_test_run_flow_dissector: the frame from its Ethernet header; the
// keys start with the frame's protocol and nhoff = thoff = ETH_HLEN, and
// come back (nhoff and thoff clamped into the frame) as the output data.
int run_flow_dissector(const Program& prog, void* uattr, const TestRunAttr& a, RunEnv& env) {
  if (a.flags || a.cpu || a.batch_size) return log_reason(-EINVAL, "flow dissector test runs take no flags, cpu or batch_size");
  const uint32_t size = a.data_size_in;
  if (size < ETH_HLEN || size > kFrame)
    return log_reason(-EINVAL, "data_size_in %u is not in %u..%u", size, ETH_HLEN, kFrame);
  std::vector<uint8_t> frame(size);
  if (copy_from_user(frame.data(), uptr(a.data_in), size) != 0) return -EFAULT;
  // bpf_ctx_init makes a context when either ctx buffer is given, and only the
  // flags of the one passed in may be set.
  std::vector<uint8_t> user;
  const bool has_user = a.ctx_in != 0 || a.ctx_out != 0;
  if (has_user) {
    if (int e = ctx_in(a, kFlowKeysSize, &user); e != 0) return e;
    if (!range_zero(user, 0, kFlowKeysFlags) || !range_zero(user, kFlowKeysFlags + 4, kFlowKeysSize))
      return log_reason(-EINVAL, "bpf_flow_keys ctx_in sets a field other than flags");
  }
  const uint32_t flags = has_user ? u32_at(user, kFlowKeysFlags) : 0;
  std::vector<uint8_t> keys(kFlowKeysSize), ctx(kSkbSize, 0);
  FlowCtx model(frame.data(), frame.data() + size, keys.data());
  env.set_ctx(ctx.data(), kSkbSize, false);
  env.ctx_model = &model;
  env.flow_keys = keys.data();
  env.memory.add(frame.data(), size, false);  // packet writes are refused to flow dissectors
  env.memory.add(keys.data(), kFlowKeysSize, true);
  // bpf_flow_dissect, around each run.
  constexpr uint16_t kNhoff = ETH_HLEN;
  const auto before = [&] {
    std::fill(keys.begin(), keys.end(), 0);
    memcpy(keys.data() + 10, frame.data() + 12, 2);  // n_proto
    memcpy(keys.data() + 0, &kNhoff, 2);
    memcpy(keys.data() + 2, &kNhoff, 2);
    memcpy(keys.data() + kFlowKeysFlags, &flags, 4);
  };
  const auto after = [&] {
    const uint16_t hlen = static_cast<uint16_t>(size);
    const uint16_t nh = std::clamp<uint16_t>(u16_at(keys.data()), kNhoff, hlen);
    const uint16_t th = std::clamp<uint16_t>(u16_at(keys.data() + 2), nh, hlen);
    memcpy(keys.data(), &nh, 2);
    memcpy(keys.data() + 2, &th, 2);
  };
  uint32_t retval = 0, duration = 0;
  if (int e = run_repeat(prog, env, reinterpret_cast<uint64_t>(ctx.data()), a.repeat, &retval, &duration, before, after);
      e != 0)
    return e;
  int err = finish(uattr, a, keys.data(), kFlowKeysSize, retval, duration);
  if (err == 0 && has_user) err = ctx_out(uattr, a, user);
  return err;
}

}  // namespace

int sys_prog_test_run(void* uattr, const TestRunAttr& a) {
  ObjKind kind = ObjKind::kNone;
  uint8_t access = 0;
  int err = -EBADF;
  Object* obj = object_from_fd(static_cast<int>(a.prog_fd), &kind, &access, &err);
  if (obj == nullptr) return log_reason(err, "prog_fd %u is not a BPF object", a.prog_fd);
  if (kind != ObjKind::kProg) return log_reason(-EINVAL, "prog_fd %u is not a program", a.prog_fd);
  const auto& prog = *static_cast<const Program*>(obj);
  // bpf_prog_test_run: a context buffer and its size go together, both ways.
  if ((a.ctx_size_in != 0) != (a.ctx_in != 0) || (a.ctx_size_out != 0) != (a.ctx_out != 0))
    return log_reason(-EINVAL, "a context buffer without its size, or a size without its buffer");
  RunEnv env;
  if (int e = add_program_maps(prog, &env); e != 0) return e;
  switch (prog.header().prog_type) {
    case BPF_PROG_TYPE_SYSCALL:
      return run_syscall(prog, uattr, a, env);
    case BPF_PROG_TYPE_RAW_TRACEPOINT:
      return run_raw_tp(prog, uattr, a, env);
    case BPF_PROG_TYPE_XDP:
      return run_xdp(prog, uattr, a, env);
    case BPF_PROG_TYPE_SCHED_CLS:
    case BPF_PROG_TYPE_SCHED_ACT:
      return run_skb(prog, uattr, a, env, true);
    case BPF_PROG_TYPE_SOCKET_FILTER:
    case BPF_PROG_TYPE_CGROUP_SKB:
    case BPF_PROG_TYPE_LWT_IN:
    case BPF_PROG_TYPE_LWT_OUT:
    case BPF_PROG_TYPE_LWT_XMIT:
    case BPF_PROG_TYPE_LWT_SEG6LOCAL:
      return run_skb(prog, uattr, a, env, false);
    case BPF_PROG_TYPE_FLOW_DISSECTOR:
      return run_flow_dissector(prog, uattr, a, env);
    case BPF_PROG_TYPE_TRACING:
      return run_tracing_test(prog, uattr, a);
    case BPF_PROG_TYPE_STRUCT_OPS:
    case BPF_PROG_TYPE_SK_LOOKUP:
    case 32:  // NETFILTER
      return log_reason(-EOPNOTSUPP, "BPF_PROG_TEST_RUN of program type %u is not emulated yet",
                        prog.header().prog_type);
    default:
      // bpf_prog_test_run: types without a test_run callback.
      return log_reason(-kENOTSUPP, "program type %u has no BPF_PROG_TEST_RUN", prog.header().prog_type);
  }
}

}  // namespace bpfemu::emu
