#include "emu/kernel.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "emu/bpffs.h"
#include "emu/cpu.h"
#include "emu/faults.h"
#include "emu/profile.h"
#include "maptypes/map_ops.h"

namespace bpfemu::emu {

std::array<fd_table::Slot, fd_table::kChunkSize> fd_table::g_first{};
std::array<std::atomic<fd_table::Slot*>, fd_table::kChunks> fd_table::g_chunks{fd_table::g_first.data()};

namespace {

using maptypes::CreateEnv;
using maptypes::MapOps;

constexpr uint32_t kAccessMask = BPF_F_RDONLY | BPF_F_WRONLY;
constexpr uint32_t kObjPathFd = 1U << 14;  // BPF_F_PATH_FD (6.5+)

// ---- fd table (emu/fd_table.h): this file is its only writer ----

using fd_table::Slot;
using fd_table::kChunkBits;
using fd_table::kChunkSize;
using fd_table::g_chunks;

Slot* slot_for(int fd, bool create) {
  if (fd < 0) return nullptr;
  if (Slot* s = fd_table::find(fd); s != nullptr || !create) return s;
  const size_t chunk = static_cast<size_t>(fd) >> kChunkBits;
  if (chunk >= fd_table::kChunks) return nullptr;  // beyond the table: not a map handle
  Slot* c = nullptr;
  auto* fresh = new Slot[kChunkSize];
  if (!g_chunks[chunk].compare_exchange_strong(c, fresh, std::memory_order_acq_rel)) {
    delete[] fresh;
  } else {
    c = fresh;
  }
  return &c[static_cast<size_t>(fd) & (kChunkSize - 1)];
}

// ---- views: every map this process has mapped, by id and by inode ----

struct InodeKey {
  dev_t dev;
  ino_t ino;
  bool operator==(const InodeKey& o) const { return dev == o.dev && ino == o.ino; }
};
struct InodeHash {
  size_t operator()(const InodeKey& k) const { return std::hash<uint64_t>()(k.ino * 31 + k.dev); }
};

std::mutex g_mu;  // guards the two indexes below and view creation/destruction
std::map<uint32_t, Map*> g_by_id;
std::unordered_map<InodeKey, Map*, InodeHash> g_by_inode;
uint32_t g_next_id = 1;

InodeKey inode_of(int fd) {
  struct stat st {};
  if (fstat(fd, &st) != 0) return {0, 0};
  return {st.st_dev, st.st_ino};
}

bool pinned(const Map& m) {
  struct stat st {};
  return fstat(const_cast<Map&>(m).region().fd(), &st) == 0 && st.st_nlink > 0;
}

// Caller holds g_mu.
void drop_view_locked(Map* m) {
  g_by_id.erase(m->id());
  g_by_inode.erase(inode_of(m->region().fd()));
  delete m;
}

// Caller holds g_mu. Drops the view when nothing in this process or on the
// bpffs keeps the map alive.
void maybe_release_locked(Map* m) {
  if (m->handles.load() == 0 && !pinned(*m)) drop_view_locked(m);
}

uint8_t access_from_open_flags(int oflags) {
  switch (oflags & O_ACCMODE) {
    case O_RDONLY:
      return kCanRead;
    case O_WRONLY:
      return kCanWrite;
    default:
      return kCanRead | kCanWrite;
  }
}

uint8_t access_from_bpf_flags(uint32_t flags) {
  if (flags & BPF_F_RDONLY) return kCanRead;
  if (flags & BPF_F_WRONLY) return kCanWrite;
  return kCanRead | kCanWrite;
}

// False when fd is beyond what the table can hold.
bool install(int fd, Map* m, uint8_t access) {
  Slot* s = slot_for(fd, true);
  if (s == nullptr) return false;
  s->set(m, access);
  m->handles.fetch_add(1);
  return true;
}

// A new handle (fd >= 3, close-on-exec) on m's region with the given access.
int new_handle(Map* m, uint8_t access) {
  int fd;
  if (access == (kCanRead | kCanWrite)) {
    fd = fcntl(m->region().fd(), F_DUPFD_CLOEXEC, 3);
  } else {
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", m->region().fd());
    int raw = open(path, (access == kCanRead ? O_RDONLY : O_WRONLY) | O_CLOEXEC);
    if (raw < 0) return -errno;
    fd = raw;
    if (raw < 3) {
      fd = fcntl(raw, F_DUPFD_CLOEXEC, 3);
      ::close(raw);
    }
  }
  if (fd < 0) return -errno;
  if (!install(fd, m, access)) {
    ::close(fd);
    return -EMFILE;
  }
  return fd;
}

uint32_t alloc_id_locked() {
  // Ids come from a counter shared by all of this user's processes, so a pinned
  // map keeps one id everywhere (the kernel's ids are system-wide). A map made
  // by another user may already hold the id here: take the next one.
  for (uint32_t id = bpffs_alloc_id(); id != 0; id = bpffs_alloc_id()) {
    if (g_by_id.count(id) == 0) return id;
  }
  // No shared counter (unwritable location): ids unique in this process only.
  while (g_by_id.count(g_next_id) != 0 || g_next_id == 0) ++g_next_id;
  return g_next_id++;
}

// Attaches to an existing region file (a pin, or an fd inherited from elsewhere).
// Caller holds g_mu. Returns the view or nullptr with *err.
Map* attach_view_locked(int fd, int* err) {
  InodeKey key = inode_of(fd);
  if (auto it = g_by_inode.find(key); it != g_by_inode.end()) return it->second;
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || static_cast<size_t>(st.st_size) < kHeaderPage) {
    *err = -EINVAL;
    return nullptr;
  }
  MapHeader probe{};
  if (pread(fd, &probe, sizeof(probe.magic), st.st_size - static_cast<off_t>(kHeaderPage)) !=
          static_cast<ssize_t>(sizeof(probe.magic)) ||
      probe.magic != MapHeader::kMagic) {
    *err = -EINVAL;
    return nullptr;
  }
  Region region;
  if (int e = Region::attach(fd, region); e != 0) {
    *err = e;
    return nullptr;
  }
  auto* hdr = region.at<MapHeader>(region.size() - kHeaderPage);
  const MapOps* ops = maptypes::ops_for_type(hdr->attr.map_type);
  if (ops == nullptr) {
    *err = -EINVAL;
    return nullptr;
  }
  auto* m = new Map(ops->variant_for(hdr->attr), std::move(region));
  m->ops().bind_view(*m);
  // Ids are per process: a map made elsewhere keeps its id unless it collides.
  uint32_t id = m->header().id;
  m->set_id(id == 0 || g_by_id.count(id) != 0 ? alloc_id_locked() : id);
  g_by_id[m->id()] = m;
  g_by_inode[key] = m;
  return m;
}


// The kernel's isalnum() uses a Latin-1 ctype table: 0xC0-0xFF are letters,
// except the multiplication (0xD7) and division (0xF7) signs.
bool kernel_isalnum(unsigned char c) {
  if (isalnum(c)) return true;
  return c >= 0xC0 && c != 0xD7 && c != 0xF7;
}

// bpf_obj_name_cpy: alphanumerics, '_' and '.', NUL-terminated within 16 bytes.
int check_name(const char (&name)[16]) {
  for (size_t i = 0; i < sizeof(name); ++i) {
    auto c = static_cast<unsigned char>(name[i]);
    if (c == '\0') return 0;
    if (!kernel_isalnum(c) && c != '_' && c != '.') return -EINVAL;
  }
  return -EINVAL;
}

uint8_t sys_perms(const Map& m, uint8_t access) { return m.frozen() ? access & ~kCanWrite : access; }

// __bpf_copy_key: a key is required exactly when the map has a key size.
int check_key(const Map& m, const void* key) {
  if (m.attr().key_size != 0) return key == nullptr ? -EFAULT : 0;
  return key != nullptr ? -EINVAL : 0;
}

struct Scratch {
  explicit Scratch(size_t n) : buf(n ? n : 1) {}
  void* get() { return buf.data(); }
  std::vector<uint8_t> buf;
};

}  // namespace

bool fits_in_memory(uint64_t bytes) {
  struct sysinfo si {};
  if (sysinfo(&si) != 0) return true;
  return bytes <= static_cast<uint64_t>(si.totalram) * si.mem_unit;
}

// Maps this process has not seen under fd yet (map_from_fd's slow path).
[[gnu::noinline]] static Map* adopt_fd(int fd, uint8_t* access, int* err);

// The map behind fd if this process already knows it (two loads), else nullptr.
[[gnu::always_inline]] static inline Map* known_fd(int fd, uint8_t* access) {
  uint8_t a = 0;
  Map* m = fd_table::known(fd, &a);
  if (access != nullptr) *access = a;
  return m;
}

// map_from_fd, inlined into the syscall entry points: every map operation
// starts here.
[[gnu::always_inline]] static inline Map* resolve_fd(int fd, uint8_t* access, int* err) {
  if (Map* m = known_fd(fd, access); m != nullptr) [[likely]]
    return m;
  return adopt_fd(fd, access, err);
}

Map* map_from_fd(int fd, uint8_t* access, int* err) { return resolve_fd(fd, access, err); }

static Map* adopt_fd(int fd, uint8_t* access, int* err) {
  // Not ours (yet): a closed fd, some other file, or a map handle made outside
  // our API (dup in user code, inherited across fork/exec). Adopt the latter.
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0) {
    if (err != nullptr) *err = -EBADF;
    return nullptr;
  }
  std::lock_guard<std::mutex> lock(g_mu);
  int e = -EINVAL;
  Map* m = attach_view_locked(fd, &e);
  if (m == nullptr) {
    if (err != nullptr) *err = -EINVAL;
    return nullptr;
  }
  uint8_t acc = access_from_open_flags(flags);
  if (!install(fd, m, acc)) {  // an fd beyond what the table holds
    maybe_release_locked(m);
    if (err != nullptr) *err = -EINVAL;
    return nullptr;
  }
  if (access != nullptr) *access = acc;
  return m;
}

bool is_map_fd(int fd) {
  Slot* s = slot_for(fd, false);
  return s != nullptr && s->map() != nullptr;
}

int live_map_count() {
  std::lock_guard<std::mutex> lock(g_mu);
  return static_cast<int>(g_by_id.size());
}

// The map behind fd when this handle grants `need` (kCanRead/kCanWrite bits);
// otherwise nullptr with *err = -EBADF/-EINVAL (not a map) or -EPERM.
static inline Map* map_with_perms(int fd, uint8_t need, int* err) {
  uint8_t access = 0;
  Map* m = resolve_fd(fd, &access, err);
  if (m != nullptr && (sys_perms(*m, access) & need) != need) {
    *err = -EPERM;
    return nullptr;
  }
  return m;
}

int sys_map_create(const MapAttr& in) {
  MapAttr attr = in;
  const KernelProfile& profile = active_profile();
  if (attr.btf_vmlinux_value_type_id != 0) {
    if (attr.map_type != BPF_MAP_TYPE_STRUCT_OPS || attr.btf_key_type_id || attr.btf_value_type_id) return -EINVAL;
  } else if (attr.btf_key_type_id && !attr.btf_value_type_id) {
    return -EINVAL;
  }
  if (attr.map_type != BPF_MAP_TYPE_BLOOM_FILTER && attr.map_type != kMapTypeArena && attr.map_extra != 0)
    return -EINVAL;
  if ((attr.map_flags & kAccessMask) == kAccessMask) return -EINVAL;
  if ((attr.map_flags & BPF_F_NUMA_NODE) && attr.numa_node != 0) return -EINVAL;  // one node here
  if (attr.map_type >= profile.max_map_type) return -EINVAL;
  const MapOps* ops = maptypes::ops_for_type(attr.map_type);
  if (ops == nullptr) return -EINVAL;
  ops = &ops->variant_for(attr);
  const uint32_t ncpus = static_cast<uint32_t>(possible_cpus());
  CreateEnv env{ncpus, &profile};
  if (int err = ops->alloc_check(attr, env); err != 0) return err;
  if (attr.map_ifindex != 0) return -EINVAL;  // offload needs a device we do not have
  int64_t data = ops->data_size(attr, env);
  if (data < 0) return static_cast<int>(data);
  // The kernel allocates eagerly only what the family says it must; we refuse
  // anything the real allocator could not satisfy either.
  uint64_t data_bytes = (static_cast<uint64_t>(data) + kHeaderPage - 1) & ~uint64_t{kHeaderPage - 1};
  if (data_bytes > (uint64_t{1} << 46)) return -ENOMEM;  // beyond any address space we could map
  if (int err = check_name(attr.map_name); err != 0) return err;
  if (attr.btf_value_type_id != 0) return -EINVAL;  // BTF-described values are not emulated yet

  if (int err = fault_check(FaultSite::kMapCreate); err != 0) return err;
  Region region;
  if (int err = Region::create(data_bytes + kHeaderPage, bpffs_root(), region); err != 0) return err;
  auto* hdr = new (region.at<void>(region.size() - kHeaderPage)) MapHeader();
  hdr->magic = MapHeader::kMagic;
  hdr->header_size = sizeof(MapHeader);
  hdr->nr_cpus = ncpus;
  hdr->data_size = data_bytes;
  hdr->attr = attr;
  hdr->attr.map_flags &= ~kAccessMask;  // access flags belong to the fd, not the map
  hdr->attr.inner_map_fd = 0;
  snprintf(hdr->profile, sizeof(hdr->profile), "%s", profile.name);
  auto* m = new Map(*ops, std::move(region));
  if (int err = ops->init(*m); err != 0) {
    delete m;
    return err;
  }
  ops->bind_view(*m);
  std::lock_guard<std::mutex> lock(g_mu);
  hdr->id = alloc_id_locked();
  m->set_id(hdr->id);
  g_by_id[m->id()] = m;
  g_by_inode[inode_of(m->region().fd())] = m;
  int fd = new_handle(m, access_from_bpf_flags(in.map_flags));
  if (fd < 0) drop_view_locked(m);
  return fd;
}

int sys_map_lookup_elem_general(int fd, const void* key, void* value, uint64_t flags) {
  if (flags & ~uint64_t{BPF_F_LOCK}) return -EINVAL;
  int err = 0;
  Map* m = map_with_perms(fd, kCanRead, &err);
  if (m == nullptr) return err;
  if ((flags & BPF_F_LOCK) && !m->ops().has_spin_lock(*m)) return -EINVAL;
  if (int e = check_key(*m, key); e != 0) return e;
  if (value == nullptr) {
    Scratch tmp(m->ops().sys_value_size(*m));
    int r = m->ops().lookup(*m, key, tmp.get(), flags);
    return r != 0 ? r : -EFAULT;
  }
  return m->ops().lookup(*m, key, value, flags);
}

int sys_map_update_elem_general(int fd, const void* key, const void* value, uint64_t flags) {
  int err = 0;
  Map* m = map_with_perms(fd, kCanWrite, &err);
  if (m == nullptr) return err;
  if ((flags & BPF_F_LOCK) && !m->ops().has_spin_lock(*m)) return -EINVAL;
  if (int e = check_key(*m, key); e != 0) return e;
  if (value == nullptr) return -EFAULT;
  return m->ops().update(*m, key, value, flags);
}

int sys_map_delete_elem(int fd, const void* key, uint64_t flags) {
  // BPF_MAP_DELETE_ELEM's attr ends at `key`: any flags fail CHECK_ATTR.
  if (flags != 0) return -EINVAL;
  int err = 0;
  Map* m = map_with_perms(fd, kCanWrite, &err);
  if (m == nullptr) return err;
  if (int e = check_key(*m, key); e != 0) return e;
  return m->ops().delete_elem(*m, key);
}

int sys_map_get_next_key(int fd, const void* key, void* next_key) {
  int err = 0;
  Map* m = map_with_perms(fd, kCanRead, &err);
  if (m == nullptr) return err;
  if (key != nullptr && m->attr().key_size == 0) return -EINVAL;
  if (next_key == nullptr) {
    Scratch tmp(m->attr().key_size);
    int r = m->ops().get_next_key(*m, key, tmp.get());
    return r != 0 ? r : -EFAULT;
  }
  return m->ops().get_next_key(*m, key, next_key);
}

int sys_map_lookup_and_delete_elem(int fd, const void* key, void* value, uint64_t flags) {
  if (flags & ~uint64_t{BPF_F_LOCK}) return -EINVAL;
  int err = 0;
  Map* m = map_with_perms(fd, kCanRead | kCanWrite, &err);
  if (m == nullptr) return err;
  if ((flags & BPF_F_LOCK) && !m->ops().has_spin_lock(*m)) return -EINVAL;
  if (int e = check_key(*m, key); e != 0) return e;
  if (value == nullptr) {
    Scratch tmp(m->ops().sys_value_size(*m));
    int r = m->ops().lookup_and_delete(*m, key, tmp.get(), flags);
    return r != 0 ? r : -EFAULT;
  }
  return m->ops().lookup_and_delete(*m, key, value, flags);
}

int sys_map_freeze(int fd) {
  uint8_t access = 0;
  int err = 0;
  Map* m = map_from_fd(fd, &access, &err);
  if (m == nullptr) return err;
  if (m->ops().has_spin_lock(*m)) return -kENOTSUPP;
  if (m->profile().refreeze_eperm && !(sys_perms(*m, access) & kCanWrite)) return -EPERM;
  SpinGuard guard(m->header().freeze_lock);
  if (m->frozen()) return -EBUSY;
  m->header().frozen.store(1, std::memory_order_release);
  return 0;
}

int sys_map_lookup_batch(int fd, void* in_batch, void* out_batch, void* keys, void* values, uint32_t* count,
                         uint64_t elem_flags, uint64_t flags, bool do_delete) {
  int err = 0;
  Map* m = map_with_perms(fd, static_cast<uint8_t>(do_delete ? kCanRead | kCanWrite : kCanRead), &err);
  if (m == nullptr) return err;
  if (count == nullptr) return -EFAULT;
  return m->ops().lookup_batch(*m, in_batch, out_batch, keys, values, count, elem_flags, flags, do_delete);
}

int sys_map_update_batch(int fd, const void* keys, const void* values, uint32_t* count, uint64_t elem_flags,
                         uint64_t flags) {
  int err = 0;
  Map* m = map_with_perms(fd, kCanWrite, &err);
  if (m == nullptr) return err;
  if (count == nullptr) return -EFAULT;
  return m->ops().update_batch(*m, keys, values, count, elem_flags, flags);
}

int sys_map_delete_batch(int fd, const void* keys, uint32_t* count, uint64_t elem_flags, uint64_t flags) {
  int err = 0;
  Map* m = map_with_perms(fd, kCanWrite, &err);
  if (m == nullptr) return err;
  if (count == nullptr) return -EFAULT;
  return m->ops().delete_batch(*m, keys, count, elem_flags, flags);
}

int sys_obj_pin(int fd, const char* path, uint32_t file_flags) {
  if (file_flags & ~kObjPathFd) return -EINVAL;
  int err = 0;
  Map* m = map_from_fd(fd, nullptr, &err);
  if (m == nullptr) return err;
  if (path == nullptr) return -EFAULT;
  std::string target;
  if (!bpffs_translate(path, &target)) return -EPERM;
  if (!m->region().linkable()) return -EPERM;
  char src[64];
  snprintf(src, sizeof(src), "/proc/self/fd/%d", m->region().fd());
  if (linkat(AT_FDCWD, src, AT_FDCWD, target.c_str(), AT_SYMLINK_FOLLOW) != 0) return -errno;
  return 0;
}

int sys_obj_get(const char* path, uint32_t file_flags) {
  if (file_flags & ~(kAccessMask | kObjPathFd)) return -EINVAL;
  if ((file_flags & kAccessMask) == kAccessMask) return -EINVAL;
  if (path == nullptr) return -EFAULT;
  std::string target;
  if (!bpffs_translate(path, &target)) {
    struct stat st {};
    return stat(path, &st) != 0 ? -errno : -EACCES;
  }
  int raw = open(target.c_str(), O_RDONLY | O_CLOEXEC);
  if (raw < 0) return -errno;
  std::lock_guard<std::mutex> lock(g_mu);
  int e = -EINVAL;
  Map* m = attach_view_locked(raw, &e);
  ::close(raw);
  if (m == nullptr) return e == -EINVAL ? -EACCES : e;
  return new_handle(m, access_from_bpf_flags(file_flags));
}

int sys_map_get_fd_by_id(uint32_t id, uint32_t open_flags) {
  if (open_flags & ~kAccessMask) return -EINVAL;
  if ((open_flags & kAccessMask) == kAccessMask) return -EINVAL;
  std::lock_guard<std::mutex> lock(g_mu);
  auto it = g_by_id.find(id);
  if (it == g_by_id.end()) return -ENOENT;
  Map* m = it->second;
  if (m->handles.load() == 0 && !pinned(*m)) {
    drop_view_locked(m);
    return -ENOENT;
  }
  return new_handle(m, access_from_bpf_flags(open_flags));
}

int sys_map_get_next_id(uint32_t start_id, uint32_t* next_id) {
  if (start_id >= INT32_MAX) return -EINVAL;  // ids live in [1, INT_MAX)
  std::lock_guard<std::mutex> lock(g_mu);
  for (auto it = g_by_id.upper_bound(start_id); it != g_by_id.end();) {
    Map* m = it->second;
    ++it;
    if (m->handles.load() == 0 && !pinned(*m)) {
      drop_view_locked(m);
      continue;
    }
    if (next_id == nullptr) return -EFAULT;
    *next_id = m->id();
    return 0;
  }
  return -ENOENT;
}

int sys_obj_get_info_by_fd(int fd, void* info, uint32_t* info_len) {
  if (info_len == nullptr) return -EFAULT;
  int err = 0;
  Map* m = map_from_fd(fd, nullptr, &err);
  if (m == nullptr) return err == -EBADF ? -EBADFD : err;
  const KernelProfile& profile = m->profile();
  const uint32_t kernel_size = profile.map_info_size;
  uint32_t len = *info_len;
  if (len > 4096) return -E2BIG;
  if (len > kernel_size) {
    if (info == nullptr) return -EFAULT;
    const auto* tail = static_cast<const uint8_t*>(info) + kernel_size;
    if (!std::all_of(tail, tail + (len - kernel_size), [](uint8_t b) { return b == 0; })) return -E2BIG;
    len = kernel_size;
  }
  if (len > 0 && info == nullptr) return -EFAULT;
  // The kernel starts from the caller's bytes: fields it does not set for this
  // map (ifindex, netns, BTF ids without BTF, hash) come back as given. Older
  // kernels (6.1) start from zeros (profile map_info_echoes_input).
  MapInfo out{};
  if (profile.map_info_echoes_input) memcpy(&out, info, std::min<size_t>(len, sizeof(out)));
  const MapAttr& a = m->attr();
  out.type = a.map_type;
  out.id = m->id();
  out.key_size = a.key_size;
  out.value_size = a.value_size;
  out.max_entries = a.max_entries;
  out.map_flags = a.map_flags;
  memcpy(out.name, a.map_name, sizeof(out.name));
  out.map_extra = a.map_extra;
  out.btf_vmlinux_value_type_id = a.btf_vmlinux_value_type_id;
  if (a.btf_value_type_id != 0) {
    out.btf_key_type_id = a.btf_key_type_id;
    out.btf_value_type_id = a.btf_value_type_id;
  }
  if (kernel_size > offsetof(MapInfo, hash) && (out.hash != 0 || out.hash_size != 0)) {
    // Only frozen ARRAY maps can be hashed (SHA-256 of the values); not emulated.
    return -EINVAL;
  }
  memcpy(info, &out, std::min<size_t>(len, sizeof(out)));
  *info_len = len;
  return 0;
}

int sys_close(int fd) {
  Slot* s = slot_for(fd, false);
  Map* m = s != nullptr ? s->take() : nullptr;
  int rc = ::close(fd) == 0 ? 0 : -errno;
  if (m != nullptr) {
    std::lock_guard<std::mutex> lock(g_mu);
    m->handles.fetch_sub(1);
    maybe_release_locked(m);
  }
  return rc;
}

void note_dup(int old_fd, int new_fd) {
  if (old_fd == new_fd) return;
  Slot* s = slot_for(old_fd, false);
  Map* m = s != nullptr ? s->map() : nullptr;
  if (m == nullptr) {
    // dup2/dup3 onto a map handle closed that handle: forget it.
    Slot* d = slot_for(new_fd, false);
    if (d == nullptr || d->map() == nullptr) return;
    std::lock_guard<std::mutex> lock(g_mu);
    if (Map* prev = d->take(); prev != nullptr) {
      prev->handles.fetch_sub(1);
      maybe_release_locked(prev);
    }
    return;
  }
  std::lock_guard<std::mutex> lock(g_mu);
  Slot* d = slot_for(new_fd, true);
  if (Map* prev = d->take(); prev != nullptr) {
    prev->handles.fetch_sub(1);
    maybe_release_locked(prev);
  }
  (void)install(new_fd, m, s->access());  // beyond the table: new_fd stays unknown
}

void collect_unpinned_views() {
  std::lock_guard<std::mutex> lock(g_mu);
  for (auto it = g_by_id.begin(); it != g_by_id.end();) {
    Map* m = it->second;
    ++it;
    maybe_release_locked(m);
  }
}

}  // namespace bpfemu::emu
