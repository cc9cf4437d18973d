#include "emu/store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "emu/bpffs.h"

namespace bpfemu::emu {
namespace {

// The contents of a handle file.
struct HandleRecord {
  static constexpr uint32_t kMagic = 0x68756662;  // "bfuh"
  uint32_t magic;
  uint8_t kind;
  uint8_t access;
  uint16_t pad;
  uint32_t id;
  uint32_t pad2;
};
static_assert(sizeof(HandleRecord) == 16);

// <store>/state, one page mapped by every process using the store.
struct StoreState {
  static constexpr uint64_t kMagic = 0x6574617473656662ULL;  // "bfestate"
  std::atomic<uint64_t> magic;
  std::atomic<uint32_t> last_id[kObjKindCount];
};

std::atomic<Store::ReleaseRefsFn> g_release_refs{nullptr};
std::atomic<Store::ReleaseUrefFn> g_release_uref{nullptr};

// Closes an fd, keeping errno.
void close_quietly(int fd) {
  if (fd < 0) return;
  const int saved = errno;
  ::close(fd);
  errno = saved;
}

int flock_retry(int fd, int op) {
  for (;;) {
    if (flock(fd, op) == 0) return 0;
    if (errno != EINTR) return -errno;
  }
}

const char* suffix_for(uint8_t access) {
  switch (access) {
    case kCanRead:
      return ".r";
    case kCanWrite:
      return ".w";
    default:
      return "";
  }
}

// A positive decimal id below INT_MAX, the whole name; 0 otherwise.
uint32_t parse_id(const char* name) {
  uint64_t v = 0;
  if (*name == '\0' || *name == '0') return 0;
  for (const char* p = name; *p != '\0'; ++p) {
    if (*p < '0' || *p > '9') return 0;
    v = v * 10 + static_cast<uint64_t>(*p - '0');
    if (v >= INT_MAX) return 0;
  }
  return static_cast<uint32_t>(v);
}

int read_obj_header(int fd, ObjHeader* out) {
  struct stat st {};
  if (fstat(fd, &st) != 0) return -errno;
  if (static_cast<size_t>(st.st_size) < kHeaderPage) return -EINVAL;
  const off_t at = st.st_size - static_cast<off_t>(kHeaderPage);
  if (pread(fd, out, sizeof(*out), at) != static_cast<ssize_t>(sizeof(*out))) return -EINVAL;
  return out->magic == ObjHeader::kMagic ? 0 : -EINVAL;
}

off_t dead_offset(int fd) {
  struct stat st {};
  if (fstat(fd, &st) != 0) return -1;
  return st.st_size - static_cast<off_t>(kHeaderPage) + static_cast<off_t>(offsetof(ObjHeader, dead));
}

std::mutex g_stores_mu;
std::map<std::string, Store*>& stores() {
  static auto* m = new std::map<std::string, Store*>();  // never freed: views keep pointers
  return *m;
}

}  // namespace

const char* obj_kind_name(ObjKind kind) {
  switch (kind) {
    case ObjKind::kMap:
      return "map";
    case ObjKind::kProg:
      return "prog";
    case ObjKind::kBtf:
      return "btf";
    case ObjKind::kLink:
      return "link";
    case ObjKind::kPerfEvent:
      return "perf_event";
    default:
      return "?";
  }
}

Object::Object(ObjKind kind, Region&& region)
    : kind_(kind), region_(std::move(region)), ohdr_(region_.at<ObjHeader>(region_.size() - kHeaderPage)) {}

void Store::set_release_refs(ReleaseRefsFn fn) { g_release_refs.store(fn); }
void Store::set_release_uref(ReleaseUrefFn fn) { g_release_uref.store(fn); }

Store::Store(std::string root, std::string dir) : root_(std::move(root)), dir_(std::move(dir)) {}

Store* Store::current(int* err) {
  const std::string& root = bpffs_root();
  if (root.empty()) {
    *err = -ENOENT;
    return nullptr;
  }
  {
    std::lock_guard<std::mutex> lock(g_stores_mu);
    if (auto it = stores().find(root + "/.bpfemu"); it != stores().end()) {
      // A test may have removed the whole root since: make it again.
      struct stat st {};
      if (stat((it->first + "/state").c_str(), &st) == 0) return it->second;
      if (ensure_bpffs_root() != 0 || it->second->init() != 0) {
        *err = -ENOENT;
        return nullptr;
      }
      return it->second;
    }
  }
  if (int e = ensure_bpffs_root(); e != 0) {
    *err = e;
    return nullptr;
  }
  std::lock_guard<std::mutex> lock(g_stores_mu);
  const std::string dir = bpffs_root() + "/.bpfemu";
  auto& all = stores();
  if (auto it = all.find(dir); it != all.end()) return it->second;
  auto s = std::unique_ptr<Store>(new Store(bpffs_root(), dir));
  if (int e = s->init(); e != 0) {
    *err = e;
    return nullptr;
  }
  return all[dir] = s.release();
}

Store* Store::for_dir(const std::string& dir) {
  std::lock_guard<std::mutex> lock(g_stores_mu);
  auto& all = stores();
  if (auto it = all.find(dir); it != all.end()) return it->second;
  const size_t slash = dir.rfind('/');
  if (slash == std::string::npos || dir.compare(slash, std::string::npos, "/.bpfemu") != 0) return nullptr;
  struct stat st {};
  if (stat((dir + "/state").c_str(), &st) != 0) return nullptr;
  auto s = std::unique_ptr<Store>(new Store(dir.substr(0, slash), dir));
  if (s->init() != 0) return nullptr;
  return all[dir] = s.release();
}

int Store::init() {
  if (mkdir(dir_.c_str(), 0700) != 0 && errno != EEXIST) return -errno;
  for (unsigned k = 1; k < kObjKindCount; ++k) {
    const std::string sub = dir_ + "/" + obj_kind_name(static_cast<ObjKind>(k));
    if (mkdir(sub.c_str(), 0700) != 0 && errno != EEXIST) return -errno;
  }
  struct stat st {};
  if (stat(dir_.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return -ENOTDIR;
  dev_ = st.st_dev;
  ino_ = st.st_ino;
  const std::string state = dir_ + "/state";
  int fd = open(state.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return -errno;
  // Racing creators only ever grow the file to the same size: a counter in
  // use is never reset.
  if (fstat(fd, &st) != 0 || (st.st_size < static_cast<off_t>(kHeaderPage) && ftruncate(fd, kHeaderPage) != 0)) {
    int e = -errno;
    close_quietly(fd);
    return e;
  }
  close_quietly(fd);
  return 0;
}

namespace {

// The <store>/state page, mapped only while one object is published: a process
// that goes through many roots (a test suite with a private bpffs per test) must
// not keep a mapping per root for its whole life.
class StatePage {
 public:
  explicit StatePage(const std::string& path) {
    const int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) {
      err_ = -errno;
      return;
    }
    void* p = mmap(nullptr, kHeaderPage, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    err_ = p == MAP_FAILED ? -errno : 0;
    close_quietly(fd);
    if (err_ != 0) return;
    state_ = static_cast<StoreState*>(p);
    uint64_t zero = 0;
    state_->magic.compare_exchange_strong(zero, StoreState::kMagic);
  }
  ~StatePage() {
    if (state_ != nullptr) munmap(state_, kHeaderPage);
  }
  StatePage(const StatePage&) = delete;
  StatePage& operator=(const StatePage&) = delete;

  int error() const { return err_; }

  // Like the kernel's idr_alloc_cyclic(1, INT_MAX): the next id after the last
  // one given, wrapping to 1; publish() skips ids still taken.
  uint32_t alloc_id(ObjKind kind) {
    auto& last = state_->last_id[static_cast<unsigned>(kind)];
    uint32_t cur = last.load(std::memory_order_relaxed);
    for (;;) {
      uint32_t next = cur + 1 >= INT_MAX ? 1 : cur + 1;
      if (last.compare_exchange_weak(cur, next, std::memory_order_relaxed)) return next;
    }
  }

 private:
  StoreState* state_ = nullptr;
  int err_ = 0;
};

}  // namespace

std::string Store::data_path(ObjKind kind, uint32_t id) const {
  return dir_ + "/" + obj_kind_name(kind) + "/" + std::to_string(id) + ".d";
}

std::string Store::handle_path(ObjKind kind, uint32_t id, uint8_t access) const {
  return dir_ + "/" + obj_kind_name(kind) + "/" + std::to_string(id) + suffix_for(access);
}

int Store::new_region(ObjKind kind, size_t size, Region* out) {
  return Region::create(size, dir_ + "/" + obj_kind_name(kind), *out);
}

int Store::make_handle_file(ObjKind kind, uint32_t id, uint8_t access, int* fd_out) {
  const std::string subdir = dir_ + "/" + obj_kind_name(kind);
  int fd = open(subdir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  std::string temp;
  if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
    temp = subdir + "/.tmp-h-" + std::to_string(getpid()) + "-" + std::to_string(id) + suffix_for(access);
    fd = open(temp.c_str(), O_CREAT | O_TRUNC | O_RDWR | O_CLOEXEC, 0600);
  }
  if (fd < 0) return -errno;
  HandleRecord rec{HandleRecord::kMagic, static_cast<uint8_t>(kind), access, 0, id, 0};
  if (pwrite(fd, &rec, sizeof(rec), 0) != static_cast<ssize_t>(sizeof(rec))) {
    int e = errno != 0 ? -errno : -EIO;
    close_quietly(fd);
    if (!temp.empty()) ::unlink(temp.c_str());
    return e;
  }
  const std::string target = handle_path(kind, id, access);
  int r;
  if (temp.empty()) {
    char src[64];
    snprintf(src, sizeof(src), "/proc/self/fd/%d", fd);
    r = linkat(AT_FDCWD, src, AT_FDCWD, target.c_str(), AT_SYMLINK_FOLLOW) == 0 ? 0 : -errno;
  } else {
    r = ::link(temp.c_str(), target.c_str()) == 0 ? 0 : -errno;
    ::unlink(temp.c_str());
  }
  if (fd_out != nullptr && r == 0) {
    *fd_out = fd;
  } else {
    close_quietly(fd);
  }
  return r;
}

int Store::publish(Object& obj, uint8_t access) {
  ObjHeader& hdr = obj.obj_header();
  Region& region = obj.region();
  // A shared lock on the data file says "being made": collect() leaves a data
  // file without handles alone while someone holds it.
  StatePage state(dir_ + "/state");
  if (state.error() != 0) return state.error();
  if (int e = flock_retry(region.fd(), LOCK_SH); e != 0) return e;
  int r = -ENOSPC;
  uint32_t id = 0;
  for (int attempt = 0; attempt < 1 << 20; ++attempt) {
    id = state.alloc_id(obj.kind());
    hdr.id = id;
    r = region.link_to(data_path(obj.kind(), id));
    if (r != -EEXIST) break;
  }
  if (r == 0) {
    r = make_handle_file(obj.kind(), id, kCanReadWrite, nullptr);
    if (r == -EEXIST) {  // a leftover of a process that died while freeing
      ::unlink(handle_path(obj.kind(), id, kCanReadWrite).c_str());
      r = make_handle_file(obj.kind(), id, kCanReadWrite, nullptr);
    }
    if (r != 0) ::unlink(data_path(obj.kind(), id).c_str());
  }
  int fd = r;
  if (r == 0) {
    obj.set_store(this);
    fd = open_handle(obj.kind(), id, access);
    if (fd < 0) {
      ::unlink(handle_path(obj.kind(), id, kCanReadWrite).c_str());
      ::unlink(data_path(obj.kind(), id).c_str());
    }
  }
  flock(region.fd(), LOCK_UN);
  return fd;
}

int Store::open_handle(ObjKind kind, uint32_t id, uint8_t access) {
  if (access != kCanRead && access != kCanWrite) access = kCanReadWrite;
  const std::string path = handle_path(kind, id, access);
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT && access != kCanReadWrite) {
    // First read-only or write-only handle of the object: make its file.
    struct stat st {};
    if (stat(handle_path(kind, id, kCanReadWrite).c_str(), &st) != 0) return -ENOENT;
    int r = make_handle_file(kind, id, access, nullptr);
    if (r != 0 && r != -EEXIST) return r;
    fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  }
  if (fd < 0) return errno == ENOENT ? -ENOENT : -errno;
  if (int e = flock_retry(fd, LOCK_SH); e != 0) {
    close_quietly(fd);
    return e;
  }
  // Freed meanwhile? The freer marks the object dead before it lets go of its
  // exclusive lock, so a handle locked after that sees it.
  int dfd = open(data_path(kind, id).c_str(), O_RDONLY | O_CLOEXEC);
  uint32_t dead = 1;
  const off_t at = dfd >= 0 ? dead_offset(dfd) : -1;
  if (at < 0 || pread(dfd, &dead, sizeof(dead), at) != static_cast<ssize_t>(sizeof(dead))) dead = 1;
  close_quietly(dfd);
  if (dead != 0) {
    close_quietly(fd);
    return -ENOENT;
  }
  return fd;
}

int Store::attach(ObjKind kind, uint32_t id, Region* out) {
  int r = Region::attach(data_path(kind, id), *out);
  if (r != 0) return r == -ENOENT ? -ENOENT : r;
  const auto* hdr = out->at<ObjHeader>(out->size() - kHeaderPage);
  if (out->size() < kHeaderPage || hdr->magic != ObjHeader::kMagic || hdr->kind != kind || hdr->id != id) {
    *out = Region();
    return -EINVAL;
  }
  if (hdr->dead.load(std::memory_order_acquire) != 0) {
    *out = Region();
    return -ENOENT;
  }
  return 0;
}

int Store::identify_fd(int fd, ObjKind* kind, uint32_t* id, uint8_t* access) {
  struct stat st {};
  if (fstat(fd, &st) != 0) return -EBADF;
  if (!S_ISREG(st.st_mode) || st.st_size != static_cast<off_t>(sizeof(HandleRecord))) return -EINVAL;
  HandleRecord rec{};
  if (pread(fd, &rec, sizeof(rec), 0) != static_cast<ssize_t>(sizeof(rec)) || rec.magic != HandleRecord::kMagic ||
      rec.kind == 0 || rec.kind >= kObjKindCount)
    return -EINVAL;
  // The record must be the one of the file the store names (not a copy).
  struct stat named {};
  if (stat(handle_path(static_cast<ObjKind>(rec.kind), rec.id, rec.access).c_str(), &named) != 0 ||
      named.st_dev != st.st_dev || named.st_ino != st.st_ino)
    return -EINVAL;
  *kind = static_cast<ObjKind>(rec.kind);
  *id = rec.id;
  if (access != nullptr) *access = rec.access;
  return 0;
}

int Store::identify_path(const std::string& path, ObjKind* kind, uint32_t* id) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return -errno;
  uint8_t access = 0;
  int r = identify_fd(fd, kind, id, &access);
  close_quietly(fd);
  return r;
}

int Store::pin(ObjKind kind, uint32_t id, const std::string& path) {
  const std::string src = handle_path(kind, id, kCanReadWrite);
  return linkat(AT_FDCWD, src.c_str(), AT_FDCWD, path.c_str(), 0) == 0 ? 0 : -errno;
}

bool Store::collect(ObjKind kind, uint32_t id) {
  const int saved_errno = errno;
  std::vector<int> fds;
  auto finish = [&](bool freed) {
    for (int fd : fds) close_quietly(fd);
    errno = saved_errno;
    return freed;
  };
  const std::string data = data_path(kind, id);
  int rw = open(handle_path(kind, id, kCanReadWrite).c_str(), O_RDONLY | O_CLOEXEC);
  if (rw < 0) {
    // No handle file: being made (its maker holds the data file), or left by a
    // process that died making or freeing it.
    int dfd = open(data.c_str(), O_RDONLY | O_CLOEXEC);
    if (dfd < 0) return finish(true);
    fds.push_back(dfd);
    if (flock(dfd, LOCK_EX | LOCK_NB) != 0) return finish(false);
    ::unlink(data.c_str());
    return finish(true);
  }
  fds.push_back(rw);
  if (flock(rw, LOCK_EX | LOCK_NB) != 0) return finish(false);
  struct stat st {};
  if (fstat(rw, &st) != 0 || st.st_nlink > 1) return finish(false);  // pinned
  for (uint8_t access : {kCanRead, kCanWrite}) {
    int v = open(handle_path(kind, id, access).c_str(), O_RDONLY | O_CLOEXEC);
    if (v < 0) continue;
    fds.push_back(v);
    if (flock(v, LOCK_EX | LOCK_NB) != 0) return finish(false);
  }
  int dfd = open(data.c_str(), O_RDWR | O_CLOEXEC);
  if (dfd >= 0) {
    fds.push_back(dfd);
    ObjHeader hdr{};
    if (read_obj_header(dfd, &hdr) == 0 && hdr.dead.load() == 0) {
      if (hdr.krefs.load() != 0) {
        // No user handle or pin is left (all locked above), only kernel
        // references: the uref hook runs once the files are let go, as what it
        // drops may come back here for this very object.
        finish(false);
        if (ReleaseUrefFn uref = g_release_uref.load(); uref != nullptr) uref(*this, kind, id);
        return false;
      }
      if (flock(dfd, LOCK_EX | LOCK_NB) != 0) return finish(false);  // being published
      const uint32_t dead = 1;
      if (pwrite(dfd, &dead, sizeof(dead), dead_offset(dfd)) != static_cast<ssize_t>(sizeof(dead)))
        return finish(false);
      if (ReleaseRefsFn release = g_release_refs.load(); release != nullptr) release(*this, kind, id, dfd);
    }
  }
  for (uint8_t access : {kCanRead, kCanWrite, kCanReadWrite}) ::unlink(handle_path(kind, id, access).c_str());
  ::unlink((data + ".wake").c_str());  // the wake channel of a map or perf event (emu/fd_ops.cc)
  ::unlink((data + ".ring").c_str());  // a perf event's ring (emu/perf_event.cc)
  ::unlink(data.c_str());
  return finish(true);
}

int Store::next_id(ObjKind kind, uint32_t start_id, uint32_t* next) {
  const std::string subdir = dir_ + "/" + obj_kind_name(kind);
  DIR* d = opendir(subdir.c_str());
  if (d == nullptr) return -ENOENT;
  std::vector<uint32_t> ids;
  while (dirent* e = readdir(d)) {
    const uint32_t id = parse_id(e->d_name);
    if (id > start_id) ids.push_back(id);
  }
  closedir(d);
  std::sort(ids.begin(), ids.end());
  for (uint32_t id : ids) {
    // An object whose last holder died is freed by whoever comes across it.
    if (collect(kind, id)) continue;
    *next = id;
    return 0;
  }
  return -ENOENT;
}

}  // namespace bpfemu::emu
