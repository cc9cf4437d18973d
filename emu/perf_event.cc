#include "emu/perf_event.h"

#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include "core/cpu.h"
#include "core/log.h"
#include "core/map_ops.h"
#include "core/scope.h"
#include "core/uaccess.h"
#include "emu/fd_ops.h"
#include "emu/fire.h"
#include "emu/interpreter.h"
#include "emu/objects.h"
#include "emu/probe_event.h"
#include "emu/program.h"
#include "emu/store.h"
#include "emu/tracepoint.h"

namespace bpfemu::emu {
namespace {

constexpr uint64_t kPage = 4096;
constexpr uint32_t kAttrSizeVer0 = 64;  // PERF_ATTR_SIZE_VER0
constexpr unsigned long kKnownFlags =
    PERF_FLAG_FD_NO_GROUP | PERF_FLAG_FD_OUTPUT | PERF_FLAG_PID_CGROUP | PERF_FLAG_FD_CLOEXEC;
constexpr uint16_t kMiscKernel = PERF_RECORD_MISC_KERNEL;  // samples come from BPF programs, in the kernel

std::string ring_path(const PerfEvent& ev) { return ev.store()->data_path(ObjKind::kPerfEvent, ev.id()) + ".ring"; }

// The event's attributes as the kernel copies them (perf_copy_attr): size 0
// means the first version's 64 bytes; bytes past what this build knows must be
// zero. 0 or -errno.
int copy_attr(const perf_event_attr* uattr, perf_event_attr* out) {
  memset(out, 0, sizeof(*out));
  uint32_t size = 0;
  if (copy_from_user(&size, user_ptr_add(uattr, offsetof(perf_event_attr, size)), 4) != 0)
    return -EFAULT;
  if (size == 0) size = kAttrSizeVer0;
  if (size < kAttrSizeVer0 || size > kPage) return -E2BIG;
  if (size > sizeof(*out)) {
    const int zero = user_is_zero(user_ptr_add(uattr, sizeof(*out)), size - sizeof(*out));
    if (zero < 0) return -EFAULT;
    if (zero == 0) return -E2BIG;
    size = sizeof(*out);
  }
  if (copy_from_user(out, uattr, size) != 0) return -EFAULT;
  out->size = size;
  return 0;
}

// Where the record bytes of a ring of `pages` data pages start, and its size.
struct Ring {
  perf_event_mmap_page* user;
  uint8_t* data;
  uint64_t size;
};

Ring ring_of(uint8_t* base, uint64_t pages) {
  return Ring{reinterpret_cast<perf_event_mmap_page*>(base), base + kPage, pages * kPage};
}

std::atomic_ref<__u64> data_head(const Ring& r) { return std::atomic_ref<__u64>(r.user->data_head); }
std::atomic_ref<__u64> data_tail(const Ring& r) { return std::atomic_ref<__u64>(r.user->data_tail); }

// Copies n bytes to ring offset pos, wrapping around its end (perf rings are
// mapped once: consumers copy wrapped records out themselves).
void put(const Ring& r, uint64_t pos, const void* src, size_t n) {
  const uint64_t at = pos & (r.size - 1);
  const size_t first = static_cast<size_t>(std::min<uint64_t>(n, r.size - at));
  memcpy(r.data + at, src, first);
  if (first < n) memcpy(r.data, static_cast<const uint8_t*>(src) + first, n - first);
}

}  // namespace

PerfEvent::PerfEvent(Region&& region)
    : Object(ObjKind::kPerfEvent, std::move(region)),
      hdr_(this->region().at<PerfEventHeader>(this->region().size() - kHeaderPage)) {}

PerfEvent::~PerfEvent() {
  if (uint8_t* r = ring_.load(); r != nullptr) munmap(r, ring_len_);
}

uint8_t* PerfEvent::ring() {
  const uint64_t pages = hdr_->ring_pages.load(std::memory_order_acquire);
  uint8_t* mapped = ring_.load(std::memory_order_acquire);
  if (pages == 0 || mapped != nullptr) return mapped;
  EmulatorScope scope;  // the ring file is the store's: past the libc interposers
  const int fd = open(ring_path(*this).c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return nullptr;
  const size_t len = (pages + 1) * kPage;
  void* p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (p == MAP_FAILED) return nullptr;
  uint8_t* expected = nullptr;
  if (!ring_.compare_exchange_strong(expected, static_cast<uint8_t*>(p), std::memory_order_acq_rel)) {
    munmap(p, len);  // another thread mapped it first
    return expected;
  }
  ring_len_ = len;  // only the view's destructor reads it
  return static_cast<uint8_t*>(p);
}

bool perf_event_is_emulated(const perf_event_attr* uattr) {
  perf_event_attr a;
  if (copy_attr(uattr, &a) != 0) return false;
  if (a.type == PERF_TYPE_TRACEPOINT) return !tracepoint_name(a.config).empty();
  if (a.type == kprobe_pmu_type() || a.type == uprobe_pmu_type()) return true;
  return a.type == PERF_TYPE_SOFTWARE && a.config == PERF_COUNT_SW_BPF_OUTPUT;
}

int sys_perf_event_open(const perf_event_attr* uattr, pid_t pid, int cpu, int group_fd, unsigned long flags) {
  if (flags & ~kKnownFlags) return log_reason(-EINVAL, "perf_event_open flags 0x%lx", flags);
  perf_event_attr a;
  if (int e = copy_attr(uattr, &a); e != 0) return log_reason(e, "perf_event_attr cannot be read or is too big");
  if (pid == -1 && cpu == -1) return log_reason(-EINVAL, "perf_event_open needs a pid or a CPU");
  if (cpu < -1 || cpu >= static_cast<int>(possible_cpus())) return log_reason(-EINVAL, "CPU %d does not exist", cpu);
  if (group_fd != -1) return log_reason(-EINVAL, "event groups are not emulated");
  if (a.freq || a.inherit) return log_reason(-EINVAL, "frequency sampling and inherited events are not emulated");
  if (a.type == PERF_TYPE_SOFTWARE && (a.sample_type & ~uint64_t{PERF_SAMPLE_RAW}))
    log_reason(0, "sample_type 0x%llx: the emulator writes PERF_SAMPLE_RAW only",
               static_cast<unsigned long long>(a.sample_type));
  int err = 0;
  Store* store = Store::current(&err);
  if (store == nullptr) return log_reason(err, "the emulated bpffs root cannot be used");
  Region region;
  if (int e = store->new_region(ObjKind::kPerfEvent, kHeaderPage, &region); e != 0) return e;
  auto* hdr = new (region.at<void>(region.size() - kHeaderPage)) PerfEventHeader();
  init_obj_header(hdr->obj, ObjKind::kPerfEvent, sizeof(PerfEventHeader), 0);
  hdr->type = a.type;
  hdr->config = a.config;
  hdr->cpu = cpu;
  hdr->sample_type = a.sample_type;
  hdr->wakeup_events = a.wakeup_events;  // a union with wakeup_watermark
  hdr->watermark = a.watermark;
  hdr->wakeup_watermark = a.watermark ? a.wakeup_watermark : 0;
  hdr->enabled.store(a.disabled ? 0 : 1);
  if (a.type == PERF_TYPE_TRACEPOINT) {
    const std::string name = tracepoint_name(a.config);
    if (name.empty()) return log_reason(-ENOENT, "tracepoint id %llu was not given by the emulator", (unsigned long long)a.config);
    strncpy(hdr->tp_name, name.c_str(), sizeof(hdr->tp_name) - 1);
  } else if (a.type == kprobe_pmu_type() || a.type == uprobe_pmu_type()) {
    if (int e = probe_event_init(*store, a, pid, hdr); e != 0) return e;
  }
  static std::atomic<uint64_t> next_id{1};
  hdr->event_id = (static_cast<uint64_t>(getpid()) << 24) + next_id.fetch_add(1);
  return publish_object(*store, std::make_unique<PerfEvent>(std::move(region)), kCanReadWrite);
}

int perf_event_ioctl(PerfEvent& ev, unsigned long request, unsigned long arg) {
  PerfEventHeader& h = ev.header();
  switch (request) {
    case PERF_EVENT_IOC_ENABLE:
      h.enabled.store(1);
      return 0;
    case PERF_EVENT_IOC_DISABLE:
      h.enabled.store(0);
      return 0;
    case PERF_EVENT_IOC_RESET:
      return 0;  // the count of a BPF output event stays 0
    case PERF_EVENT_IOC_REFRESH:
      return -EINVAL;  // only for events with an overflow limit (inherit off, sampling): not these
    case PERF_EVENT_IOC_PAUSE_OUTPUT:
      h.paused.store(arg != 0 ? 1 : 0);
      return 0;
    case PERF_EVENT_IOC_ID: {
      const uint64_t id = h.event_id;
      return copy_to_user(reinterpret_cast<void*>(arg), &id, sizeof(id)) != 0 ? -EFAULT : 0;
    }
    case PERF_EVENT_IOC_SET_BPF: {
      ObjKind kind = ObjKind::kNone;
      uint8_t access = 0;
      int err = -EBADF;
      Object* obj = object_from_fd_checked(static_cast<int>(arg), &kind, &access, &err);
      if (obj == nullptr) return log_reason(err, "fd %d is no BPF object", static_cast<int>(arg));
      if (kind != ObjKind::kProg) return log_reason(-EINVAL, "fd %d is not a program", static_cast<int>(arg));
      return perf_event_attach_prog(ev, *static_cast<Program*>(obj));
    }
    default:
      return log_reason(-ENOTTY, "perf ioctl 0x%lx is not emulated", request);
  }
}

ssize_t perf_event_read(PerfEvent&, void* buf, size_t n) {
  // read_format 0: the event's count, which BPF output never raises.
  if (n < sizeof(uint64_t)) return -ENOSPC;
  const uint64_t count = 0;
  return copy_to_user(buf, &count, sizeof(count)) != 0 ? -EFAULT : static_cast<ssize_t>(sizeof(count));
}

int perf_event_mmap(PerfEvent& ev, void* addr, size_t len, int prot, int flags, off_t offset, void** out) {
  PerfEventHeader& h = ev.header();
  const int type = flags & MAP_TYPE;
  if (type != MAP_SHARED && type != MAP_SHARED_VALIDATE) return log_reason(-EINVAL, "perf rings are mapped MAP_SHARED");
  if (offset != 0) return log_reason(-EINVAL, "AUX areas are not emulated: map the ring from offset 0");
  if (len == 0 || (len % kPage) != 0) return log_reason(-EINVAL, "a perf ring is 1 + 2^n pages");
  const uint64_t pages = len / kPage - 1;
  if (pages != 0 && (pages & (pages - 1)) != 0) return log_reason(-EINVAL, "a perf ring is 1 + 2^n pages");
  const bool writable = (prot & PROT_WRITE) != 0;
  uint64_t have = 0;
  if (!h.ring_pages.compare_exchange_strong(have, pages == 0 ? 0 : pages)) {
    if (have != pages) return log_reason(-EINVAL, "the event's ring has %llu data pages", (unsigned long long)have);
  } else if (pages != 0) {
    // The first mapping makes the ring: its user page says where data lives.
    const int fd = open(ring_path(ev).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 || ftruncate(fd, static_cast<off_t>(len)) != 0) {
      const int e = -errno;
      if (fd >= 0) close(fd);
      h.ring_pages.store(0);
      return e;
    }
    close(fd);
    h.overwrite.store(writable ? 0 : 1);
    Ring r = ring_of(ev.ring(), pages);
    if (r.user == nullptr) return -ENOMEM;
    r.user->data_offset = kPage;
    r.user->data_size = pages * kPage;
    r.user->compat_version = 0;
  }
  if (pages == 0) return log_reason(-EINVAL, "a perf ring without data pages is not emulated");
  const int fd = open(ring_path(ev).c_str(), (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) return -errno;
  void* p = mmap(addr, len, prot, flags, fd, 0);
  const int e = errno;
  close(fd);
  if (p == MAP_FAILED) return -e;
  *out = p;
  return 0;
}

int perf_event_attach_prog(PerfEvent& ev, Program& prog, uint64_t cookie) {
  PerfEventHeader& h = ev.header();
  const uint32_t type = prog.header().prog_type;
  const bool probe = h.type == kprobe_pmu_type() || h.type == uprobe_pmu_type();
  if (h.type != PERF_TYPE_TRACEPOINT && !probe)
    return log_reason(-EINVAL, "only tracepoint, kprobe and uprobe events run programs (BPF output events run none)");
  if (probe && type != BPF_PROG_TYPE_KPROBE)
    return log_reason(-EINVAL, "a kprobe or uprobe event takes a BPF_PROG_TYPE_KPROBE program");
  if (!probe && type != BPF_PROG_TYPE_TRACEPOINT)
    return log_reason(-EINVAL, "a tracepoint event takes a BPF_PROG_TYPE_TRACEPOINT program");
  if (probe && (prog.header().prog_flags & BPF_F_SLEEPABLE) && h.type != uprobe_pmu_type())
    return log_reason(-EINVAL, "only uprobe programs may be sleepable");
  prog.obj_header().krefs.fetch_add(1);
  uint32_t none = 0;
  if (!h.prog_id.compare_exchange_strong(none, prog.id())) {
    prog.obj_header().krefs.fetch_sub(1);
    return log_reason(-EEXIST, "the event has a program attached");
  }
  h.cookie = cookie;
  return 0;
}

void perf_event_detach_prog(PerfEvent& ev, uint32_t prog_id) {
  uint32_t expected = prog_id;
  if (prog_id != 0 && ev.header().prog_id.compare_exchange_strong(expected, 0))
    drop_object_ref(*ev.store(), ObjKind::kProg, prog_id);
}

int fire_tracepoint(const char* name, void* ctx, uint32_t ctx_size, int cpu) {
  if (name == nullptr || (ctx == nullptr && ctx_size != 0)) return log_reason(-EINVAL, "a tracepoint name and its context");
  Firing fire(cpu);
  if (fire.error() != 0) return fire.error();
  int err = 0;
  fire.each(ObjKind::kPerfEvent, [&](Object& obj) {
    const PerfEventHeader& h = static_cast<PerfEvent&>(obj).header();
    const uint32_t prog_id = h.prog_id.load();
    if (err == 0 && h.type == PERF_TYPE_TRACEPOINT && prog_id != 0 && strncmp(h.tp_name, name, sizeof(h.tp_name)) == 0)
      err = fire.run(prog_id, ctx, ctx_size, h.cookie);
  });
  return err != 0 ? err : fire.ran();
}

uint32_t perf_event_poll(PerfEvent& ev) {
  uint8_t* base = ev.ring();
  if (base == nullptr) return EPOLLHUP;  // perf_poll without a ring buffer
  Ring r = ring_of(base, ev.header().ring_pages.load());
  return data_head(r).load(std::memory_order_acquire) != data_tail(r).load(std::memory_order_acquire)
             ? EPOLLIN | EPOLLRDNORM
             : 0;
}

long perf_event_output(PerfEvent& ev, uint32_t cpu, const void* a, size_t alen, const void* b, size_t blen) {
  PerfEventHeader& h = ev.header();
  // The event must be scheduled on this CPU: enabled, and bound to it (or to
  // no CPU, following its task).
  if (!h.enabled.load() || (h.cpu >= 0 && static_cast<uint32_t>(h.cpu) != cpu)) return -EOPNOTSUPP;
  uint8_t* base = ev.ring();
  if (base == nullptr || h.paused.load()) return -ENOSPC;
  const Ring r = ring_of(base, h.ring_pages.load());
  // PERF_RECORD_SAMPLE: header, u32 size, raw bytes padded so the record ends
  // on 8 bytes (the size field counts the padding).
  const uint64_t raw_size = ((alen + blen + 4 + 7) & ~uint64_t{7}) - 4;
  const uint64_t sample_size = sizeof(perf_event_header) + 4 + raw_size;
  if (sample_size > 0xffff) return -E2BIG;
  SpinGuard guard(h.out_lock);
  const uint64_t lost_size = h.lost != 0 ? sizeof(perf_event_header) + 16 : 0;
  const uint64_t need = sample_size + lost_size;
  if (!h.overwrite.load()) {
    const uint64_t tail = data_tail(r).load(std::memory_order_acquire);
    if (((tail - h.head - 1) & (r.size - 1)) < need) {  // CIRC_SPACE
      ++h.lost;
      return -ENOSPC;
    }
  }
  uint64_t pos = h.head;
  if (lost_size != 0) {  // PERF_RECORD_LOST: id, count
    const perf_event_header lh{PERF_RECORD_LOST, 0, static_cast<uint16_t>(lost_size)};
    const uint64_t body[2] = {h.event_id, h.lost};
    put(r, pos, &lh, sizeof(lh));
    put(r, pos + sizeof(lh), body, sizeof(body));
    pos += lost_size;
    h.lost = 0;
  }
  const perf_event_header sh{PERF_RECORD_SAMPLE, kMiscKernel, static_cast<uint16_t>(sample_size)};
  const uint32_t raw = static_cast<uint32_t>(raw_size);
  put(r, pos, &sh, sizeof(sh));
  put(r, pos + sizeof(sh), &raw, sizeof(raw));
  pos += sizeof(sh) + sizeof(raw);
  if (alen != 0) put(r, pos, a, alen);
  if (blen != 0) put(r, pos + alen, b, blen);
  h.head = pos + raw_size;  // the padding is skipped, not written: it keeps what the ring held
  data_head(r).store(h.head, std::memory_order_release);
  // Wake-ups: every wakeup_events samples, or each time the data crosses the
  // watermark (half the ring when none was given).
  bool wake = false;
  if (!h.watermark && h.wakeup_events != 0) {
    wake = ++h.samples % h.wakeup_events == 0;
  } else {
    const uint64_t mark = h.watermark && h.wakeup_watermark != 0 ? h.wakeup_watermark : r.size / 2;
    if (h.head - h.wakeup_mark > mark) {
      h.wakeup_mark = h.head;
      wake = true;
    }
  }
  if (wake) notify_object_pollers(ev);
  return 0;
}

}  // namespace bpfemu::emu
