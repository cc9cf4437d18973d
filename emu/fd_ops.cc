#include "emu/fd_ops.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <vector>

#include "core/log.h"
#include "core/scope.h"
#include "core/map_ops.h"
#include "core/map_types.h"
#include "emu/btf.h"
#include "emu/objects.h"
#include "emu/link.h"
#include "emu/perf_event.h"
#include "emu/program.h"

namespace bpfemu::emu {
namespace {

constexpr size_t kPage = 4096;

// The kernel's anonymous inode as this machine has it, read off an eventfd
// (one of its files): stat, and the mnt_id/ino lines of its fdinfo.
struct AnonInode {
  struct stat st {};
  unsigned long mnt_id = 0;
  unsigned long ino = 0;
};

const AnonInode& anon_inode() {
  static const AnonInode a = [] {
    AnonInode r;
    const int saved = errno;
    int fd = eventfd(0, EFD_CLOEXEC);
    if (fd >= 0) {
      fstat(fd, &r.st);
      char path[64];
      snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
      if (FILE* f = fopen(path, "re"); f != nullptr) {
        char line[128];
        while (fgets(line, sizeof(line), f) != nullptr) {
          sscanf(line, "mnt_id: %lu", &r.mnt_id);
          sscanf(line, "ino: %lu", &r.ino);
        }
        fclose(f);
      }
      close(fd);
    }
    r.st.st_mode = 0600;  // no file type bits
    r.st.st_size = 0;
    r.st.st_nlink = 1;
    r.st.st_uid = getuid();
    r.st.st_gid = getgid();
    errno = saved;
    return r;
  }();
  return a;
}

struct Mapping {
  size_t len;
  Store* store;
  uint32_t id;
  int handle;  // an fd keeping the map alive while it is mapped
  bool writable;
};

std::mutex g_mu;
std::map<uintptr_t, Mapping>& mappings() {
  static auto* m = new std::map<uintptr_t, Mapping>();
  return *m;
}

void add_writable(Store* store, uint32_t id, int delta) {
  int err = 0;
  Object* obj = view_of(*store, ObjKind::kMap, id, &err);
  if (obj != nullptr) obj->obj_header().writable_mmaps.fetch_add(static_cast<uint32_t>(delta));
}

// Maps [offset, offset + span) of a map's data file at addr (with the
// caller's flags), showing the mirror's offsets as the pages they repeat.
void* map_data(int data, void* addr, uint64_t span, int prot, int flags, uint64_t offset,
               const maptypes::MapOps::MmapMirror& mirror) {
  const int share = (flags & ~MAP_TYPE) | MAP_SHARED;
  if (mirror.len == 0 || offset + span <= mirror.from) return mmap(addr, span, prot, share, data, static_cast<off_t>(offset));
  // Reserve the whole span where the caller asked, then fill it in two parts.
  const int fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE);
  void* area = mmap(addr, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | fixed, -1, 0);
  if (area == MAP_FAILED) return MAP_FAILED;
  auto* base = static_cast<uint8_t*>(area);
  const uint64_t direct = offset < mirror.from ? mirror.from - offset : 0;
  const int place = (share & ~MAP_FIXED_NOREPLACE) | MAP_FIXED;
  if ((direct != 0 && mmap(base, direct, prot, place, data, static_cast<off_t>(offset)) == MAP_FAILED) ||
      mmap(base + direct, span - direct, prot, place, data,
           static_cast<off_t>(offset + direct - mirror.len)) == MAP_FAILED) {
    const int err = errno;
    munmap(area, span);
    errno = err;
    return MAP_FAILED;
  }
  return area;
}

}  // namespace

const char* anon_inode_name(ObjKind kind) {
  switch (kind) {
    case ObjKind::kMap:
      return "anon_inode:bpf-map";
    case ObjKind::kProg:
      return "anon_inode:bpf-prog";
    case ObjKind::kBtf:
      return "anon_inode:btf";
    case ObjKind::kLink:
      return "anon_inode:bpf_link";
    case ObjKind::kPerfEvent:
      return "anon_inode:[perf_event]";
    default:
      return "anon_inode:[bpf]";
  }
}

void anon_inode_stat(struct stat* st) { *st = anon_inode().st; }

int handle_status_flags(ObjKind kind, uint8_t access) {
  // BTF and link files are always opened O_RDONLY by the kernel (its
  // anon_inode_getfd with only O_CLOEXEC), whatever the pin was opened with.
  if (kind == ObjKind::kBtf || kind == ObjKind::kLink) return O_RDONLY;
  switch (access) {
    case kCanRead:
      return O_RDONLY;
    case kCanWrite:
      return O_WRONLY;
    default:
      return O_RDWR;
  }
}

bool fdinfo_text(int fd, std::string* out) {
  ObjKind kind = ObjKind::kNone;
  Object* obj = nullptr;
  uint8_t access = 0;
  if (!fd_object(fd, &kind, &obj, &access)) return false;
  const AnonInode& a = anon_inode();
  char buf[1024];
  int n = snprintf(buf, sizeof(buf), "pos:\t0\nflags:\t0%o\nmnt_id:\t%lu\nino:\t%lu\n",
                   static_cast<unsigned>(O_CLOEXEC | handle_status_flags(kind, access)), a.mnt_id, a.ino);
  if (kind == ObjKind::kMap) {
    auto* m = static_cast<Map*>(obj);
    const MapAttr& attr = m->attr();
    n += snprintf(buf + n, sizeof(buf) - n,
                  "map_type:\t%u\nkey_size:\t%u\nvalue_size:\t%u\nmax_entries:\t%u\nmap_flags:\t0x%x\n"
                  "map_extra:\t0x%" PRIx64 "\nmemlock:\t%" PRIu64 "\nmap_id:\t%u\nfrozen:\t%u\n",
                  attr.map_type, attr.key_size, attr.value_size, attr.max_entries, attr.map_flags, attr.map_extra,
                  maptypes::map_memlock(*m), m->id(), m->frozen() ? 1U : 0U);
  } else if (kind == ObjKind::kLink) {
    // A multi link's lines (one per function) may not fit buf.
    const auto& link = *static_cast<Link*>(obj);
    const int len = link_fdinfo(link, nullptr, 0);
    std::string text(static_cast<size_t>(std::max(len, 0)) + 1, '\0');
    link_fdinfo(link, text.data(), static_cast<int>(text.size()));
    text.resize(static_cast<size_t>(std::max(len, 0)));
    out->assign(buf, static_cast<size_t>(n));
    *out += text;
    return true;
  } else if (kind == ObjKind::kProg) {
    const auto& h = static_cast<Program*>(obj)->header();
    const uint64_t memlock = (uint64_t{h.insn_cnt} * 8 + kPage - 1) & ~uint64_t{kPage - 1};
    char tag[17];
    for (int i = 0; i < 8; ++i) snprintf(tag + 2 * i, 3, "%02x", h.tag[i]);
    n += snprintf(buf + n, sizeof(buf) - n,
                  "prog_type:\t%u\nprog_jited:\t0\nprog_tag:\t%s\nmemlock:\t%" PRIu64
                  "\nprog_id:\t%u\nrun_time_ns:\t0\nrun_cnt:\t0\nrecursion_misses:\t0\nverified_insns:\t%u\n",
                  h.prog_type, tag, memlock, obj->id(), h.insn_cnt);
  } else if (kind == ObjKind::kBtf) {
    n += snprintf(buf + n, sizeof(buf) - n, "btf_id:\t%u\n", obj->id());
  }
  out->assign(buf, static_cast<size_t>(n));
  return true;
}

int sys_mmap(int fd, void* addr, size_t len, int prot, int flags, off_t offset, void** out) {
  ObjKind kind = ObjKind::kNone;
  uint8_t access = 0;
  int err = -EBADF;
  Object* obj = object_from_fd_checked(fd, &kind, &access, &err);
  if (obj == nullptr) return err;
  // The VFS's do_mmap first.
  if (len == 0) return log_reason(-EINVAL, "mmap of length 0");
  if ((offset & (kPage - 1)) != 0) return log_reason(-EINVAL, "mmap offset is not page-aligned");
  if (kind == ObjKind::kPerfEvent) {
    void* p = nullptr;
    if (int e = perf_event_mmap(*static_cast<PerfEvent*>(obj), addr, len, prot, flags, offset, &p); e != 0) return e;
    // The mapping keeps the event alive, as the kernel's vma holds its file.
    const int handle = open_fd(*obj, kCanRead);
    if (handle < 0) {
      munmap(p, len);
      return handle;
    }
    const size_t span = (len + kPage - 1) & ~(kPage - 1);
    std::lock_guard<std::mutex> lock(g_mu);
    mappings()[reinterpret_cast<uintptr_t>(p)] = Mapping{span, obj->store(), 0, handle, false};
    *out = p;
    return 0;
  }
  if (kind != ObjKind::kMap) return log_reason(-ENODEV, "a %s fd cannot be mapped", obj_kind_name(kind));
  if ((prot & PROT_EXEC) && static_cast<Map*>(obj)->profile().mmap_exec_eperm)
    return log_reason(-EPERM, "BPF map fds live on a noexec filesystem");
  const bool shared = (flags & MAP_TYPE) == MAP_SHARED || (flags & MAP_TYPE) == MAP_SHARED_VALIDATE;
  if (!(access & kCanRead)) return log_reason(-EACCES, "mmap needs a readable fd");
  if (shared && (prot & PROT_WRITE) && !(access & kCanWrite)) return log_reason(-EACCES, "PROT_WRITE on a read-only fd");
  auto* m = static_cast<Map*>(obj);
  // bpf_map_mmap, then the family's map_mmap.
  const MapTypeInfo* type = map_type_info(m->attr().map_type);
  if (type == nullptr || !type->has(kMmap) || m->ops().has_spin_lock(*m))
    return log_reason(-kENOTSUPP, "%s maps cannot be mapped", type != nullptr ? type->name : "these");
  // A read-only fd's shared mapping loses VM_SHARED in the VFS.
  if (!shared || !(access & kCanWrite)) return log_reason(-EINVAL, "BPF maps are mapped MAP_SHARED from a writable fd");
  const bool writable = (prot & PROT_WRITE) != 0;
  const uint64_t span = (uint64_t{len} + kPage - 1) & ~uint64_t{kPage - 1};
  SpinGuard freeze(m->header().freeze_lock);
  if (writable && m->frozen()) return log_reason(-EPERM, "map %u is frozen", m->id());
  if (writable && (m->attr().map_flags & BPF_F_RDONLY_PROG))
    return log_reason(-EACCES, "map %u is read-only for programs: no writable mappings", m->id());
  if (!m->ops().mmapable(*m)) return log_reason(-EINVAL, "map %u was not created with BPF_F_MMAPABLE", m->id());
  if (int r = m->ops().mmap_check(*m, static_cast<uint64_t>(offset), span, writable); r != 0)
    return log_reason(r, "this part of map %u cannot be mapped %s", m->id(), writable ? "writable" : "so");
  if (static_cast<uint64_t>(offset) + span > m->ops().mmap_size(*m))
    return log_reason(-EINVAL, "the mapping reaches past the map's values");
  Store* store = m->store();
  int data = open(store->data_path(ObjKind::kMap, m->id()).c_str(), (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
  if (data < 0) return -errno;
  void* p = map_data(data, addr, span, prot, flags, static_cast<uint64_t>(offset), m->ops().mmap_mirror(*m));
  const int map_errno = errno;
  close(data);
  if (p == MAP_FAILED) return -map_errno;
  const int handle = open_fd(*m, kCanRead);
  if (handle < 0) {
    munmap(p, len);
    return handle;
  }
  if (writable) m->obj_header().writable_mmaps.fetch_add(1);
  {
    std::lock_guard<std::mutex> lock(g_mu);
    mappings()[reinterpret_cast<uintptr_t>(p)] = Mapping{static_cast<size_t>(span), store, m->id(), handle, writable};
  }
  *out = p;
  return 0;
}

void note_munmap(void* addr, size_t len) {
  const uintptr_t lo = reinterpret_cast<uintptr_t>(addr);
  const uintptr_t hi = lo + ((len + kPage - 1) & ~(kPage - 1));
  std::vector<Mapping> released;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    auto& all = mappings();
    auto it = all.upper_bound(lo);
    if (it != all.begin()) --it;
    while (it != all.end() && it->first < hi) {
      const uintptr_t start = it->first;
      const uintptr_t end = start + it->second.len;
      Mapping mp = it->second;
      if (end <= lo) {
        ++it;
        continue;
      }
      it = all.erase(it);
      // What remains of the mapping on either side stays (the kernel splits the vma).
      if (start < lo) all[start] = Mapping{lo - start, mp.store, mp.id, mp.handle, mp.writable};
      if (end > hi) {
        const bool kept_left = start < lo;
        Mapping right{end - hi, mp.store, mp.id, kept_left ? dup(mp.handle) : mp.handle, mp.writable};
        if (kept_left && mp.writable) add_writable(mp.store, mp.id, 1);
        all[hi] = right;
      }
      if (start >= lo && end <= hi) released.push_back(mp);
    }
  }
  for (const Mapping& mp : released) {
    if (mp.writable) add_writable(mp.store, mp.id, -1);
    sys_close(mp.handle);
  }
}

bool is_map_mapping(void* addr, size_t len) {
  const uintptr_t lo = reinterpret_cast<uintptr_t>(addr);
  std::lock_guard<std::mutex> lock(g_mu);
  auto& all = mappings();
  auto it = all.upper_bound(lo);
  if (it == all.begin()) return false;
  --it;
  return lo < it->first + it->second.len && lo + len > it->first;
}

}  // namespace bpfemu::emu

namespace bpfemu::emu {
namespace {

// This process's end of an object's wake channel: a FIFO in the store, opened
// read-write so that writing never blocks on or signals a missing reader.
int wake_fd_of(Object& o) {
  if (const int fd = o.wake_fd(); fd >= 0) return fd;
  const std::string path = o.store()->data_path(o.kind(), o.id()) + ".wake";
  if (mkfifo(path.c_str(), 0600) != 0 && errno != EEXIST) return -errno;
  const int fd = open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return -errno;
  return o.adopt_wake_fd(fd);
}

void wake_map_pollers(Map& m) { notify_object_pollers(m); }

// A map or perf event behind fd (the kinds poll and epoll answer for).
Object* pollable_of(int fd) {
  ObjKind kind = ObjKind::kNone;
  uint8_t access = 0;
  int err = -EBADF;
  Object* obj = object_from_fd(fd, &kind, &access, &err);
  return obj != nullptr && (kind == ObjKind::kMap || kind == ObjKind::kPerfEvent) ? obj : nullptr;
}

// The events ready on a pollable object now.
uint32_t ready_events(Object& o) {
  if (o.kind() == ObjKind::kPerfEvent) return perf_event_poll(static_cast<PerfEvent&>(o));
  auto& m = static_cast<Map&>(o);
  return m.ops().poll(m);
}

// Whether the object can be woken (maps without map_poll answer EPOLLERR, perf
// events without a ring EPOLLHUP).
bool wakes_pollers(Object& o) {
  if (o.kind() == ObjKind::kPerfEvent) return static_cast<PerfEvent&>(o).ring() != nullptr;
  auto& m = static_cast<Map&>(o);
  return (m.ops().poll(m) & EPOLLERR) == 0;
}

}  // namespace

// One byte to whoever waits in any process; a full FIFO already holds a wake-up.
void notify_object_pollers(Object& o) {
  EmulatorScope scope;  // the store's files, from the C++ API too, bypass the libc interposers
  const int saved = errno;
  if (const int fd = wake_fd_of(o); fd >= 0) {
    const char byte = 1;
    (void)!::write(fd, &byte, 1);
  }
  errno = saved;
}

int sys_handle_ioctl(int fd, unsigned long request, unsigned long arg) {
  ObjKind kind = ObjKind::kNone;
  uint8_t access = 0;
  int err = -EBADF;
  Object* obj = object_from_fd_checked(fd, &kind, &access, &err);
  if (obj == nullptr) return err;
  if (kind != ObjKind::kPerfEvent) return -ENOTTY;
  return perf_event_ioctl(*static_cast<PerfEvent*>(obj), request, arg);
}

ssize_t sys_handle_read(int fd, void* buf, size_t n) {
  ObjKind kind = ObjKind::kNone;
  uint8_t access = 0;
  int err = -EBADF;
  Object* obj = object_from_fd_checked(fd, &kind, &access, &err);
  if (obj == nullptr) return err;
  if (kind != ObjKind::kPerfEvent) return (access & kCanRead) ? -EINVAL : -EBADF;
  return perf_event_read(*static_cast<PerfEvent*>(obj), buf, n);
}

void install_poll_notifier() { maptypes::set_poll_notifier(wake_map_pollers); }

int sys_poll_events(int fd) {
  Object* o = pollable_of(fd);
  if (o == nullptr) return -EBADF;
  return static_cast<int>(ready_events(*o));
}

int sys_poll_wait_fd(int fd) {
  Object* o = pollable_of(fd);
  if (o == nullptr) return -EBADF;
  if (!wakes_pollers(*o)) return -EINVAL;
  return wake_fd_of(*o);
}

void drain_wait_fd(int wait_fd) {
  const int saved = errno;
  char buf[256];
  while (::read(wait_fd, buf, sizeof(buf)) > 0) {
  }
  errno = saved;
}

}  // namespace bpfemu::emu
