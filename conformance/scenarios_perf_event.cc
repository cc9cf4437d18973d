// PERF_EVENT_ARRAY scenarios: create rules, slots holding perf event fds, and
// bpf_perf_event_output from an XDP program into BPF-output perf events whose
// rings are read the way a consumer reads them (user page positions, record
// headers, raw sizes with their padding, PERF_RECORD_LOST after a full ring).
// Perf events are opened with perf_event_open on the kernel and with the
// emulator's own call on the emulator.
#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

#include "conformance/perf_calls.h"
#include "conformance/scenario.h"
#include "emu/fd_ops.h"
#include "emu/insn_builder.h"
#include "emu/objects.h"
#include "emu/perf_event.h"

namespace bpfemu::conformance {
namespace {

constexpr uint32_t P = BPF_MAP_TYPE_PERF_EVENT_ARRAY;
constexpr size_t kPage = 4096;

// A BPF-output event on `cpu`, as libbpf's perf_buffer opens it: fd or -errno
// (noted).
int open_output_event(Recorder& r, int cpu, bool disabled, const std::string& label) {
  perf_event_attr attr{};
  attr.size = sizeof(attr);
  attr.type = PERF_TYPE_SOFTWARE;
  attr.config = PERF_COUNT_SW_BPF_OUTPUT;
  attr.sample_type = PERF_SAMPLE_RAW;
  attr.sample_period = 1;
  attr.wakeup_events = 1;
  attr.disabled = disabled ? 1 : 0;
  return perf_open(r, attr, -1, cpu, label);
}

using insn::make;

// bpf_perf_event_output(ctx, map, flags, 16 bytes on the stack, size) from XDP.
std::vector<bpf_insn> output_prog(int map, uint64_t flags, int32_t size) {
  std::vector<bpf_insn> p;
  p.push_back(make(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_6, BPF_REG_1, 0, 0));
  for (int16_t off = -16; off < 0; off += 4)
    p.push_back(make(BPF_ST | BPF_W | BPF_MEM, BPF_REG_10, 0, off, 0x11223344 + off * 0x01010101));
  insn::ld_map(p, BPF_REG_2, map);
  insn::ld64(p, BPF_REG_3, flags);
  p.push_back(make(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_4, BPF_REG_10, 0, 0));
  p.push_back(make(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_4, 0, 0, -16));
  p.push_back(make(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_5, 0, 0, size));
  p.push_back(make(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_1, BPF_REG_6, 0, 0));
  p.push_back(make(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_perf_event_output));
  p.push_back(make(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
  return p;
}

// A loaded output program, run on a 64-byte packet; its return value noted.
struct Output {
  Recorder& r;
  int prog = -1;
  Output(Recorder& rec, int map, uint64_t flags, int32_t size, const std::string& label) : r(rec) {
    prog = r.load_program(BPF_PROG_TYPE_XDP, output_prog(map, flags, size), "load " + label);
  }
  ~Output() {
    if (prog >= 0) r.close(prog);
  }
  void run(const std::string& label, bool quiet = false) {
    if (prog < 0) return;
    uint8_t pkt[64];
    for (size_t i = 0; i < sizeof(pkt); ++i) pkt[i] = static_cast<uint8_t>(0xa0 + i);
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.test.prog_fd = static_cast<uint32_t>(prog);
    a.test.data_in = reinterpret_cast<uintptr_t>(pkt);
    a.test.data_size_in = sizeof(pkt);
    a.test.repeat = 1;
    if (quiet) {
      errno = 0;
      const long rc = r.backend().bpf(BPF_PROG_TEST_RUN, &a, sizeof(a));
      if (rc != 0) r.note(label + " test_run failed", -errno);
      last = static_cast<int32_t>(a.test.retval);
      return;
    }
    if (r.raw("test_run " + label, BPF_PROG_TEST_RUN, &a, sizeof(a)) == 0)
      r.note(label + " retval", static_cast<int32_t>(a.test.retval));
  }
  int32_t last = 0;
};

// A consumer's mapping of an event's ring: the user page, then 2 data pages.
struct RingReader {
  Recorder& r;
  void* base = MAP_FAILED;
  size_t len = 3 * kPage;
  RingReader(Recorder& rec, int fd, int prot, const std::string& label) : r(rec) {
    errno = 0;
    base = r.backend().map_mmap(fd, len, prot, MAP_SHARED, 0);
    r.note(label, base == MAP_FAILED ? -errno : 0);
  }
  ~RingReader() {
    if (base != MAP_FAILED) r.backend().map_munmap(base, len);
  }
  perf_event_mmap_page* user() const { return static_cast<perf_event_mmap_page*>(base); }
  const uint8_t* data() const { return static_cast<const uint8_t*>(base) + kPage; }
  void copy_out(uint64_t pos, void* dst, size_t n) const {
    const uint64_t size = 2 * kPage;
    for (size_t i = 0; i < n; ++i) static_cast<uint8_t*>(dst)[i] = data()[(pos + i) & (size - 1)];
  }
  // Notes the positions and the records from data_tail on; consumes them when asked.
  void read(const std::string& label, bool consume) {
    if (base == MAP_FAILED) return;
    const uint64_t head = std::atomic_ref<__u64>(user()->data_head).load(std::memory_order_acquire);
    uint64_t pos = user()->data_tail;
    r.note(label + ": data_head", static_cast<long>(head));
    r.note(label + ": data_tail", static_cast<long>(pos));
    r.note(label + ": data_offset", static_cast<long>(user()->data_offset));
    r.note(label + ": data_size", static_cast<long>(user()->data_size));
    for (int n = 0; pos < head && n < 200; ++n) {
      perf_event_header h;
      copy_out(pos, &h, sizeof(h));
      const std::string at = label + ": record at " + std::to_string(pos);
      r.note(at + " type", h.type);
      r.note(at + " misc", h.misc);
      r.note(at + " size", h.size);
      if (h.type == PERF_RECORD_SAMPLE) {
        uint32_t raw = 0, first = 0, last = 0;
        copy_out(pos + 8, &raw, 4);
        r.note(at + " raw size", raw);
        if (raw >= 4) {
          copy_out(pos + 12, &first, 4);
          copy_out(pos + 12 + raw - 4, &last, 4);
          r.note(at + " first word", first);
          r.note(at + " last word", last);
        }
      } else if (h.type == PERF_RECORD_LOST) {
        uint64_t body[2];
        copy_out(pos + 8, body, sizeof(body));
        r.note(at + " id set", body[0] != 0);
        r.note(at + " lost", static_cast<long>(body[1]));
      }
      if (h.size == 0) break;
      pos += h.size;
    }
    if (consume) std::atomic_ref<__u64>(user()->data_tail).store(pos, std::memory_order_release);
  }
};

}  // namespace

SCENARIO("PERF_EVENT_ARRAY", "create", "rules") {
  for (auto [ks, vs, max, flags] :
       {std::tuple{4u, 4u, 4u, 0u}, {4u, 8u, 4u, 0u}, {8u, 4u, 4u, 0u}, {4u, 4u, 0u, 0u},
        {4u, 4u, 4u, uint32_t{BPF_F_PRESERVE_ELEMS}}, {4u, 4u, 4u, uint32_t{BPF_F_RDONLY_PROG}},
        {4u, 4u, 4u, uint32_t{BPF_F_MMAPABLE}}, {4u, 4u, 4u, uint32_t{BPF_F_RDONLY}},
        {4u, 4u, 4u, uint32_t{BPF_F_NUMA_NODE}}, {4u, 4u, 4u, uint32_t{BPF_F_ZERO_SEED}}}) {
    const int fd = r.create(P, ks, vs, max, flags);
    if (fd >= 0) {
      r.info(fd);
      r.memlock(fd);
      r.close(fd);
    }
  }
}

SCENARIO("PERF_EVENT_ARRAY", "syscall", "slots_hold_perf_events") {
  const int map = r.create(P, 4, 4, 4);
  const int other = r.create(BPF_MAP_TYPE_ARRAY, 4, 4, 1);
  if (map < 0 || other < 0) return;
  const int ev = open_output_event(r, 0, false, "open event on CPU 0");
  if (ev < 0) return;
  auto store = [&](uint32_t key, int fd, uint64_t flags, const std::string& what) {
    errno = 0;
    const int rc = r.backend().map_update_elem(map, &key, &fd, flags);
    r.note(what + ": update", rc == 0 ? 0 : -errno);
  };
  store(0, ev, BPF_ANY, "event");
  store(1, ev, BPF_NOEXIST, "NOEXIST");
  store(1, ev, BPF_EXIST, "EXIST");
  store(1, other, BPF_ANY, "a map fd");
  store(1, 4000, BPF_ANY, "a closed fd");
  store(4, ev, BPF_ANY, "past the end");
  store(2, ev, BPF_ANY, "the same event again");
  r.lookup(map, u32(0));
  r.lookup(map, u32(3));
  r.next_key(map, std::nullopt, 4);
  r.next_key(map, u32(3), 4);
  r.remove(map, u32(0));
  r.remove(map, u32(0));
  r.remove(map, u32(7));
  r.lookup_and_delete(map, u32(2));
  uint64_t id = 0;
  perf_ioctl(r, ev, PERF_EVENT_IOC_ID, reinterpret_cast<unsigned long>(&id), "PERF_EVENT_IOC_ID");
  r.note("event id set", id != 0);
  perf_close(r, ev);
  r.close(map);
  r.close(other);
}

SCENARIO("PERF_EVENT_ARRAY", "prog", "perf_event_output") {
  const int map = r.create(P, 4, 4, 4);
  if (map < 0) return;
  const int ev0 = open_output_event(r, 0, true, "open disabled event on CPU 0");
  const int ev1 = r.ncpus() > 1 ? open_output_event(r, 1, false, "open event on CPU 1") : -1;
  if (ev0 < 0) return;
  uint32_t key = 0;
  errno = 0;
  r.note("store CPU 0's event", r.backend().map_update_elem(map, &key, &ev0, BPF_ANY) == 0 ? 0 : -errno);
  key = 1;
  if (ev1 >= 0) r.note("store CPU 1's event", r.backend().map_update_elem(map, &key, &ev1, BPF_ANY) == 0 ? 0 : -errno);
  {
    Output before(r, map, BPF_F_CURRENT_CPU, 16, "output before mmap");
    before.run("disabled, no ring");
    perf_ioctl(r, ev0, PERF_EVENT_IOC_ENABLE, 0, "enable");
    before.run("enabled, no ring");
  }
  RingReader ring(r, ev0, PROT_READ | PROT_WRITE, "mmap 1 + 2 pages");
  {
    errno = 0;
    void* other = r.backend().map_mmap(ev0, 5 * kPage, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
    r.note("mmap of another size", other == MAP_FAILED ? -errno : 0);
    if (other != MAP_FAILED) r.backend().map_munmap(other, 5 * kPage);
  }
  Output o16(r, map, BPF_F_CURRENT_CPU, 16, "output 16");
  o16.run("output 16");
  Output(r, map, BPF_F_CURRENT_CPU, 5, "output 5").run("output 5");
  Output(r, map, BPF_F_CURRENT_CPU, 0, "output 0").run("output 0");
  Output(r, map, BPF_F_CURRENT_CPU | (20ULL << 32), 8, "output 8 + 20 packet bytes").run("output with packet bytes");
  Output(r, map, BPF_F_CURRENT_CPU | (65ULL << 32), 8, "ctx len past the packet").run("ctx len past the packet");
  Output(r, map, BPF_F_CURRENT_CPU | (1ULL << 60), 8, "unknown flag").run("unknown flag");
  Output(r, map, 0, 8, "index 0").run("index 0");
  Output(r, map, 1, 8, "index 1 (CPU 1's event)").run("index 1");
  Output(r, map, 3, 8, "index 3 (empty)").run("index 3");
  Output(r, map, 4, 8, "index 4 (past the end)").run("index 4");
  perf_ioctl(r, ev0, PERF_EVENT_IOC_DISABLE, 0, "disable");
  o16.run("disabled");
  perf_ioctl(r, ev0, PERF_EVENT_IOC_ENABLE, 0, "enable again");
  ring.read("after the outputs", true);
  // Fill the ring: the records that do not fit are counted and reported as
  // one PERF_RECORD_LOST before the next record that fits.
  Output big(r, map, BPF_F_CURRENT_CPU | (64ULL << 32), 16, "output 16 + 64 packet bytes");
  int ok = 0, nospc = 0;
  for (int i = 0; i < 120; ++i) {
    big.run("fill", true);
    if (big.last == 0) ++ok;
    if (big.last == -ENOSPC) ++nospc;
  }
  r.note("fill: written", ok);
  r.note("fill: no space", nospc);
  ring.read("full", true);
  o16.run("after consuming");
  ring.read("lost then the sample", false);
  perf_close(r, ev0);
  perf_close(r, ev1);
  r.close(map);
}

}  // namespace bpfemu::conformance
