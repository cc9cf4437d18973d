// bpfemu-fuzz-attr: the input decodes into a short sequence of raw bpf(2)
// calls (cmd, attr size, attr bytes) into the emulator's syscall entry. The
// decoder can lay out a valid-looking attr for the command first and then
// patch fields with fds the input created, pointers to buffers, NULL, bad
// pointers (a PROT_NONE page, 16, a buffer running into a guard page), strings
// and raw bytes. Invariants, besides no crash/leak/UB: every answer is >= 0 or
// an errno bpf(2) can return (harness.cc); the canary maps are unchanged; once
// the fds the input got are closed and its pins removed, the process has as
// many fds open as before; nothing is created outside the emulated bpffs.
#include <linux/bpf.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "emu/bpf_syscall.h"
#include "emu/objects.h"
#include "emu/test_run.h"
#include "fuzz/harness.h"
#include "fuzz/input.h"

namespace bpfemu::fuzz {
namespace {

using emu::BpfAttr;

constexpr unsigned kAttrMax = 4096 + 64;
constexpr const char* kOutside = "/tmp/bpfemu-fuzz-outside";
constexpr const char* kStrings[] = {
    "/sys/fs/bpf/p0", "/sys/fs/bpf/p1", "/sys/fs/bpf/", "/sys/fs/bpf/nodir/x", "/sys/fs/bpf/.bpfemu/x",
    "p0",             kOutside,         "GPL",          "Proprietary",         "",
    "sys_enter",      "sched_switch",   "/sys/fs/bpf/p0/x", "/sys/fs/bpf/../p0"};

// Pages that fault: one PROT_NONE page, and one readable page followed by a
// PROT_NONE one (a buffer at its end runs into the guard).
struct BadPages {
  uint8_t* none;
  uint8_t* edge;  // edge + 4096 is PROT_NONE
  BadPages() {
    auto* p = static_cast<uint8_t*>(mmap(nullptr, 3 * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (p == MAP_FAILED) abort();
    none = p;
    edge = p + 4096;
    if (mprotect(edge, 4096, PROT_READ | PROT_WRITE) != 0) abort();
  }
};
const BadPages& bad_pages() {
  static const BadPages pages;
  return pages;
}

// A minimal valid BTF: one 32-bit INT named "int".
std::vector<uint8_t> valid_btf() {
  const uint32_t words[] = {
      0x0001eb9f, 24, 0, 16, 16, 5,  // magic 0xeb9f, version 1, flags 0; hdr_len; type off, len; str off, len
      1, 1u << 24, 4, 32,            // name "int", kind INT, size 4, 32 bits
  };
  std::vector<uint8_t> b(sizeof(words) + 5);
  memcpy(b.data(), words, sizeof(words));
  memcpy(b.data() + sizeof(words), "\0int", 5);
  return b;
}

Arena& arena() {
  static Arena a(4 << 20);
  return a;
}

class Session {
 public:
  explicit Session(Input& in) : in_(in) {}
  ~Session() {
    for (int fd : fds_) emu::sys_close(fd);
    arena().reset();
  }
  void run() {
    for (int calls = 0; !in_.done() && calls < 16; calls++) call();
  }

 private:
  void call();
  void apply_template(int cmd, BpfAttr& a);
  uint64_t value(uint8_t kind);
  uint64_t buffer(size_t size, bool fill);
  uint64_t ptr(const void* p) { return reinterpret_cast<uintptr_t>(p); }
  uint32_t pick_fd() {
    const size_t i = in_.u8() % (fds_.size() + 2);
    if (i < fds_.size()) return static_cast<uint32_t>(fds_[i]);
    return i == fds_.size() ? 0xffffffffu : 0u;
  }
  uint64_t str() { return ptr(kStrings[in_.u8() % std::size(kStrings)]); }
  void note_fd(int cmd, long r);

  Input& in_;
  std::vector<int> fds_;
  alignas(8) uint8_t attr_[kAttrMax];  // emulator writes here stay within the attr's 168 bytes
};

// A buffer of `size` bytes, zeroed or filled from the input.
uint64_t Session::buffer(size_t size, bool fill) {
  uint8_t* b = arena().alloc(size);
  if (fill && b != arena().guard())
    for (size_t i = 0; i < size && i < 64; i++) b[i] = in_.u8();
  return ptr(b);
}

uint64_t Session::value(uint8_t kind) {
  static constexpr size_t kSizes[] = {0, 1, 4, 8, 16, 64, 256, 4096};
  switch (kind % 12) {
    case 0: return in_.u8();
    case 1: return in_.u32();
    case 2: return in_.u64();
    case 3: return pick_fd();
    case 4: {
      const size_t size = kSizes[in_.u8() % 8];
      return buffer(size, in_.u8() & 1);
    }
    case 5: return 0;
    case 6: return 16;
    case 7: return ptr(bad_pages().none);
    case 8: return ptr(bad_pages().edge + 4096 - in_.u8() % 64);
    case 9: return str();
    case 10: return in_.u8() % 16;
    default: return ~uint64_t{0};
  }
}

void Session::apply_template(int cmd, BpfAttr& a) {
  static constexpr uint32_t kMapTypes[] = {
      BPF_MAP_TYPE_HASH,     BPF_MAP_TYPE_ARRAY,        BPF_MAP_TYPE_PERCPU_HASH, BPF_MAP_TYPE_PERCPU_ARRAY,
      BPF_MAP_TYPE_LRU_HASH, BPF_MAP_TYPE_LPM_TRIE,     BPF_MAP_TYPE_QUEUE,       BPF_MAP_TYPE_STACK,
      BPF_MAP_TYPE_BLOOM_FILTER, BPF_MAP_TYPE_RINGBUF,  BPF_MAP_TYPE_PROG_ARRAY,  BPF_MAP_TYPE_PERF_EVENT_ARRAY,
      BPF_MAP_TYPE_HASH_OF_MAPS, BPF_MAP_TYPE_ARRAY_OF_MAPS};
  static constexpr uint32_t kProgTypes[] = {BPF_PROG_TYPE_XDP, BPF_PROG_TYPE_SOCKET_FILTER, BPF_PROG_TYPE_SCHED_CLS,
                                            BPF_PROG_TYPE_RAW_TRACEPOINT, BPF_PROG_TYPE_SYSCALL,
                                            BPF_PROG_TYPE_KPROBE};
  switch (cmd) {
    case BPF_MAP_CREATE: {
      const uint32_t type = kMapTypes[in_.u8() % std::size(kMapTypes)];
      const bool keyless = type == BPF_MAP_TYPE_QUEUE || type == BPF_MAP_TYPE_STACK ||
                           type == BPF_MAP_TYPE_BLOOM_FILTER || type == BPF_MAP_TYPE_RINGBUF;
      a.create.map_type = type;
      a.create.key_size = keyless ? 0 : type == BPF_MAP_TYPE_LPM_TRIE ? 8 : 4;
      a.create.value_size = type == BPF_MAP_TYPE_RINGBUF ? 0 : (type >= BPF_MAP_TYPE_PROG_ARRAY &&
                                                                type <= BPF_MAP_TYPE_PERF_EVENT_ARRAY) ||
                                                                       type == BPF_MAP_TYPE_HASH_OF_MAPS ||
                                                                       type == BPF_MAP_TYPE_ARRAY_OF_MAPS
                                                                   ? 4
                                                                   : 8;
      a.create.max_entries = type == BPF_MAP_TYPE_RINGBUF ? 4096 : 1 + in_.u8() % 8;
      a.create.map_flags = type == BPF_MAP_TYPE_LPM_TRIE ? BPF_F_NO_PREALLOC : 0;
      if (type == BPF_MAP_TYPE_BLOOM_FILTER) a.create.map_extra = 3;
      if (type == BPF_MAP_TYPE_HASH_OF_MAPS || type == BPF_MAP_TYPE_ARRAY_OF_MAPS) a.create.inner_map_fd = pick_fd();
      memcpy(a.create.map_name, "fz", 3);
      return;
    }
    case BPF_MAP_LOOKUP_ELEM:
    case BPF_MAP_UPDATE_ELEM:
    case BPF_MAP_DELETE_ELEM:
    case BPF_MAP_GET_NEXT_KEY:
    case BPF_MAP_LOOKUP_AND_DELETE_ELEM:
    case BPF_MAP_FREEZE:
      a.elem.map_fd = pick_fd();
      if (cmd == BPF_MAP_FREEZE) return;
      a.elem.key = buffer(16, true);
      a.elem.value = buffer(256, in_.u8() & 1);
      a.elem.flags = in_.u8() % 5;
      return;
    case BPF_OBJ_PIN:
    case BPF_OBJ_GET:
      a.obj.pathname = str();
      if (cmd == BPF_OBJ_PIN) a.obj.bpf_fd = pick_fd();
      return;
    case BPF_PROG_GET_NEXT_ID:
    case BPF_MAP_GET_NEXT_ID:
    case BPF_BTF_GET_NEXT_ID:
    case BPF_LINK_GET_NEXT_ID:
    case BPF_PROG_GET_FD_BY_ID:
    case BPF_MAP_GET_FD_BY_ID:
    case BPF_BTF_GET_FD_BY_ID:
    case BPF_LINK_GET_FD_BY_ID:
      a.id.start_id = in_.u8() % 32;
      return;
    case BPF_OBJ_GET_INFO_BY_FD: {
      static constexpr uint32_t kLens[] = {0, 4, 8, 80, 256};
      a.info.bpf_fd = pick_fd();
      a.info.info_len = kLens[in_.u8() % std::size(kLens)];
      a.info.info = buffer(256, false);
      return;
    }
    case BPF_BTF_LOAD: {
      const std::vector<uint8_t> btf = valid_btf();
      uint8_t* b = arena().alloc(btf.size());
      if (b == arena().guard()) return;
      memcpy(b, btf.data(), btf.size());
      for (int n = in_.u8() % 4; n > 0; n--) {  // a few corrupt bytes
        const size_t at = in_.u8() % btf.size();
        b[at] = in_.u8();
      }
      a.btf.btf = ptr(b);
      a.btf.btf_size = static_cast<uint32_t>(btf.size());
      if (in_.u8() & 1) {
        a.btf.btf_log_buf = buffer(256, false);
        a.btf.btf_log_size = 256;
        a.btf.btf_log_level = 1;
      }
      return;
    }
    case BPF_MAP_LOOKUP_BATCH:
    case BPF_MAP_LOOKUP_AND_DELETE_BATCH:
    case BPF_MAP_UPDATE_BATCH:
    case BPF_MAP_DELETE_BATCH:
      a.batch.map_fd = pick_fd();
      a.batch.keys = buffer(256, true);
      a.batch.values = buffer(4096, false);
      a.batch.count = in_.u8() % 9;
      a.batch.out_batch = buffer(8, false);
      if (in_.u8() & 1) a.batch.in_batch = buffer(8, true);
      return;
    case BPF_PROG_LOAD: {
      // r0 = k; exit, or a map lookup through an fd the input has.
      const uint32_t fd = pick_fd();
      const bpf_insn prog[] = {
          {BPF_LD | BPF_DW | BPF_IMM, BPF_REG_1, BPF_PSEUDO_MAP_FD, 0, static_cast<int32_t>(fd)},
          {0, 0, 0, 0, 0},
          {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, in_.u8() % 4},
          {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
      };
      const bool with_map = in_.u8() & 1;
      const size_t skip = with_map ? 0 : 2;
      const size_t bytes = sizeof(prog) - skip * sizeof(bpf_insn);
      uint8_t* b = arena().alloc(bytes);
      if (b == arena().guard()) return;
      memcpy(b, prog + skip, bytes);
      a.prog.prog_type = kProgTypes[in_.u8() % std::size(kProgTypes)];
      a.prog.insns = ptr(b);
      a.prog.insn_cnt = static_cast<uint32_t>(bytes / sizeof(bpf_insn));
      a.prog.license = ptr("GPL");
      if (in_.u8() & 1) {
        a.prog.log_buf = buffer(512, false);
        a.prog.log_size = 512;
        a.prog.log_level = 1 + in_.u8() % 2;
      }
      return;
    }
    case BPF_PROG_TEST_RUN: {
      emu::TestRunAttr t{};
      t.prog_fd = pick_fd();
      t.data_size_in = in_.u8();
      t.data_in = buffer(t.data_size_in, true);
      if (in_.u8() & 1) {
        t.data_size_out = in_.u8();
        t.data_out = buffer(t.data_size_out, false);
      }
      t.repeat = in_.u8() % 3;
      memcpy(a.bytes, &t, sizeof(t));
      return;
    }
    case BPF_RAW_TRACEPOINT_OPEN: {
      const uint64_t name = str();
      const uint32_t fd = pick_fd();
      memcpy(a.bytes, &name, 8);
      memcpy(a.bytes + 8, &fd, 4);
      return;
    }
    case BPF_LINK_CREATE:
    case BPF_LINK_UPDATE:
    case BPF_LINK_DETACH: {
      const uint32_t w[4] = {pick_fd(), pick_fd(), in_.u8() % 64u, 0};
      memcpy(a.bytes, w, sizeof(w));
      return;
    }
    default:
      return;
  }
}

bool returns_fd(int cmd) {
  switch (cmd) {
    case BPF_MAP_CREATE: case BPF_PROG_LOAD: case BPF_OBJ_GET: case BPF_PROG_GET_FD_BY_ID:
    case BPF_MAP_GET_FD_BY_ID: case BPF_RAW_TRACEPOINT_OPEN: case BPF_BTF_LOAD: case BPF_BTF_GET_FD_BY_ID:
    case BPF_LINK_CREATE: case BPF_LINK_GET_FD_BY_ID: case BPF_ITER_CREATE: case 36 /* BPF_TOKEN_CREATE */:
      return true;
    default:
      return false;
  }
}

const std::vector<CanaryMap>& canaries() {
  static const std::vector<CanaryMap> maps = [] {
    std::vector<CanaryMap> m;
    m.emplace_back(BPF_MAP_TYPE_ARRAY, 24, 8, "canary-array");
    m.emplace_back(BPF_MAP_TYPE_HASH, 12, 8, "canary-hash");
    return m;
  }();
  return maps;
}

// Keeps the fd, unless it reaches a canary (by id or pin): that one is closed
// at once, so the input never holds a canary.
void Session::note_fd(int cmd, long r) {
  if (r < 0 || !returns_fd(cmd)) return;
  const int fd = static_cast<int>(r);
  if (cmd == BPF_OBJ_GET || cmd == BPF_MAP_GET_FD_BY_ID) {
    const uint32_t id = object_id(fd);
    for (const CanaryMap& c : canaries())
      if (id == c.id()) {
        emu::sys_close(fd);
        return;
      }
  }
  fds_.push_back(fd);
}

// A map of a few GiB is the kernel's answer too (or ENOMEM), only slow: a
// valid map's memory stays under 64 MiB. Sizes far past that (2^40) still
// go through, for the emulator's overflow checks.
void limit_map_size(BpfAttr& a) {
  const uint64_t per_entry = uint64_t{a.create.key_size} + a.create.value_size + 64;
  const uint64_t total = per_entry * a.create.max_entries * 2;  // per-CPU maps: 2 CPUs here
  if (total > (16u << 20) && total < (uint64_t{1} << 40))
    a.create.max_entries = static_cast<uint32_t>(std::max<uint64_t>(1, (16u << 20) / (per_entry * 2)));
}

// A test run repeated 2^28 times is the kernel's answer too (it only stops
// early for a signal), only slow: the fuzzer keeps repeats small enough that
// an input never runs for seconds.
void limit_repeat(BpfAttr& a) {
  emu::TestRunAttr t;
  memcpy(&t, a.bytes, sizeof(t));
  if (t.repeat <= 1000) return;
  t.repeat = 1000 + t.repeat % 1000;
  memcpy(a.bytes, &t, sizeof(t));
}

void Session::call() {
  const uint8_t sel = in_.u8();
  const int cmd = sel == 255 ? static_cast<int>(in_.u32()) : sel % 38;
  const uint8_t shape = in_.u8();
  memset(attr_, 0, sizeof(attr_));
  auto& a = *reinterpret_cast<BpfAttr*>(attr_);
  if (shape & 1) apply_template(cmd, a);
  // Field patches: any offset of the attr, 4 or 8 bytes.
  for (int n = (shape >> 1) % 8; n > 0; n--) {
    const unsigned off = in_.u8() % sizeof(BpfAttr);
    const uint8_t kind = in_.u8();
    const uint64_t v = value(kind);
    const unsigned width = std::min<unsigned>(kind % 12 == 0 ? 1 : (kind % 12 == 1 || kind % 12 == 3 || kind % 12 == 10) ? 4 : 8,
                                              sizeof(BpfAttr) - off);
    memcpy(attr_ + off, &v, width);
  }
  if (cmd == BPF_MAP_CREATE) limit_map_size(a);
  if (cmd == BPF_PROG_TEST_RUN) limit_repeat(a);
  unsigned size = emu::bpf_attr_size();
  switch ((shape >> 4) % 8) {
    case 4: size = 144; break;                      // the 6.1 kernel's union bpf_attr
    case 5: size = in_.u8(); break;                 // short
    case 6: size = 4096; break;                     // a page, zero tail
    case 7: size = emu::bpf_attr_size() + 1 + in_.u8() % 64;  // a tail, maybe not zero
      attr_[size - 1] = in_.u8() & 1;
      break;
    default: break;
  }
  void* where = attr_;
  switch (shape >> 7 ? in_.u8() % 5 : 4) {
    case 0: where = nullptr; break;
    case 1: where = reinterpret_cast<void*>(16); break;
    case 2: where = bad_pages().none; break;
    case 3: {  // the attr's first bytes, then the guard page
      const unsigned valid = in_.u8() % (size + 1);
      where = bad_pages().edge + 4096 - valid;
      memcpy(where, attr_, valid);
      break;
    }
    default: break;
  }
  const long r = sys_bpf(cmd, where, size);
  static const bool trace = getenv("BPFEMU_FUZZ_TRACE") != nullptr;
  if (trace) {
    fprintf(stderr, "bpf(%d, %p, %u) = %ld; attr", cmd, where, size, r);
    for (unsigned i = 0; i < 64; i += 4) fprintf(stderr, " %08x", *reinterpret_cast<uint32_t*>(attr_ + i));
    fprintf(stderr, "\n");
  }
  check_result("bpf()", r);
  note_fd(cmd, r);
}

}  // namespace
}  // namespace bpfemu::fuzz

using namespace bpfemu::fuzz;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  private_bpffs();
  canaries();
  bad_pages();
  arena();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const int fds_before = open_fd_count();
  {
    Input in(data, size);
    Session session(in);
    session.run();
  }
  std::vector<std::string> keep;
  for (const CanaryMap& c : canaries()) keep.push_back(c.pin_name());
  unpin_all(keep);
  for (const CanaryMap& c : canaries()) c.check();
  std::vector<uint32_t> ids;
  for (const CanaryMap& c : canaries()) ids.push_back(c.id());
  check_no_objects_left(ids);
  if (access(kOutside, F_OK) == 0) fail("%s was created outside the emulated bpffs", kOutside);
  const int fds_after = open_fd_count();
  if (fds_after != fds_before) print_open_fds();
  if (fds_after != fds_before) fail("%d fds open before the input, %d after", fds_before, fds_after);
  return 0;
}
