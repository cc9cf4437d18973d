// libc calls on paths, interposed so that /sys/fs/bpf behaves as the kernel's
// bpffs for unmodified programs and tools (ls, rm, mkdir, bpftool ...): paths
// that resolve onto the emulated bpffs (emu/bpffs.h) are served from its root
// directory, answering as bpffs does (pins stat as empty files, opening one is
// EIO, nothing but directories, pins and symlinks can be created, statfs says
// BPF_FS_MAGIC), and the store inside the root stays invisible. Every other
// path goes to libc untouched. /proc/self/fd and /proc/self/fdinfo of a BPF
// handle read as the kernel's.
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdarg>
#include <cstring>
#include <mutex>
#include <set>
#include <string>

#include "api/libbpfemu/interpose.h"
#include "emu/bpffs.h"
#include "emu/fd_ops.h"
#include "emu/ksyms.h"
#include "emu/probe_event.h"
#include "emu/tracepoint.h"

namespace {

using namespace bpfemu::dropin::interpose;
namespace emu = bpfemu::emu;

constexpr long kBpfFsMagic = 0xcafe4a11;

// Where a path the program gave lives, when it is on the emulated bpffs.
struct Where {
  bool on = false;      // on the bpffs: use `real`
  bool hidden = false;  // the store inside the root: answer as if absent
  std::string real;
};

Where where(int dirfd, const char* path) {
  Where w;
  if (in_emu() || opaque(path) == nullptr) return w;
  const int saved = errno;
  EmuScope scope;
  w.on = emu::bpffs_path(dirfd, path, &w.real);
  if (w.on) {
    const std::string store = emu::bpffs_root() + "/.bpfemu";
    w.hidden = w.real.compare(0, store.size(), store) == 0 && (w.real.size() == store.size() || w.real[store.size()] == '/');
  }
  errno = saved;
  return w;
}

// The same, for calls that follow a symlink in the last component: a link's
// target is read in the emulated namespace ("/sys/fs/bpf/..." targets too),
// so the whole path is resolved here rather than by the real filesystem.
Where where_follow(int dirfd, const char* path) {
  Where w = where(dirfd, path);
  if (!w.on || w.hidden) return w;
  const int saved = errno;
  EmuScope scope;
  emu::ResolvedPath r;
  if (emu::resolve_path(AT_FDCWD, w.real.c_str(), true, &r) == 0 && r.on_bpffs) w.real = r.real;
  errno = saved;
  return w;
}

bool is_root(const std::string& real) { return real == emu::bpffs_root(); }

// What bpffs shows of an entry: pins are empty single-link files (ours are
// hard links of handle files, one link of which is the store's), symlinks
// have size 0, the root is world-writable and sticky.
void fix_stat(const std::string& real, struct stat* st) {
  if (S_ISDIR(st->st_mode)) {
    st->st_size = 0;  // bpffs directories are simple_dir inodes
    st->st_blocks = 0;
  }
  if (is_root(real)) {
    st->st_mode = S_IFDIR | 01777;
    if (st->st_nlink > 2) st->st_nlink -= 1;  // the store's directory
  } else if (S_ISREG(st->st_mode)) {
    st->st_size = 0;
    st->st_blocks = 0;
    if (st->st_nlink > 1) st->st_nlink -= 1;
  } else if (S_ISLNK(st->st_mode)) {
    st->st_size = 0;
    st->st_blocks = 0;
  }
}

void fix_statx(const std::string& real, struct statx* st) {
  if (S_ISDIR(st->stx_mode)) {
    st->stx_size = 0;
    st->stx_blocks = 0;
  }
  if (is_root(real)) {
    st->stx_mode = S_IFDIR | 01777;
    if (st->stx_nlink > 2) st->stx_nlink -= 1;
  } else if (S_ISREG(st->stx_mode)) {
    st->stx_size = 0;
    st->stx_blocks = 0;
    if (st->stx_nlink > 1) st->stx_nlink -= 1;
  } else if (S_ISLNK(st->stx_mode)) {
    st->stx_size = 0;
    st->stx_blocks = 0;
  }
}

void bpffs_statfs(struct statfs* s) {
  memset(s, 0, sizeof(*s));
  s->f_type = kBpfFsMagic;
  s->f_bsize = 4096;
  s->f_namelen = 255;
  s->f_frsize = 4096;
  s->f_flags = ST_RELATIME | 0x20;  // what bpffs reports (relatime, no-suid style bits)
}

void bpffs_statvfs(struct statvfs* s) {
  memset(s, 0, sizeof(*s));
  s->f_bsize = 4096;
  s->f_frsize = 4096;
  s->f_namemax = 255;
  s->f_flag = ST_RELATIME;
}

// /proc/self/fd/<n> or /proc/<our pid>/fd/<n> (kind "fd"), or .../fdinfo/<n>:
// the fd it names, else -1.
int proc_fd_of(const char* path, const char* kind) {
  if (opaque(path) == nullptr || strncmp(path, "/proc/", 6) != 0) return -1;
  const char* p = path + 6;
  if (strncmp(p, "self/", 5) == 0 || strncmp(p, "thread-self/", 12) == 0) {
    p = strchr(p, '/') + 1;
  } else {
    char* end = nullptr;
    const long pid = strtol(p, &end, 10);
    if (end == p || *end != '/' || pid != getpid()) return -1;
    p = end + 1;
  }
  const size_t n = strlen(kind);
  if (strncmp(p, kind, n) != 0 || p[n] != '/') return -1;
  p += n + 1;
  char* end = nullptr;
  const long fd = strtol(p, &end, 10);
  if (end == p || *end != '\0' || fd < 0 || fd > INT_MAX) return -1;
  return static_cast<int>(fd);
}

// An fd reading the kernel's fdinfo text of a handle, or -1 when fd is none.
int fdinfo_fd(const char* path) {
  const int fd = proc_fd_of(path, "fdinfo");
  if (fd < 0 || !handle(fd)) return -1;
  EmuScope scope;
  std::string text;
  if (!emu::fdinfo_text(fd, &text)) return -1;
  int m = memfd_create("bpfemu-fdinfo", MFD_CLOEXEC);
  if (m < 0) return -1;
  if (write(m, text.data(), text.size()) != static_cast<ssize_t>(text.size()) || lseek(m, 0, SEEK_SET) != 0) {
    close(m);
    return -1;
  }
  return m;
}

// An fd reading what the emulator answers for path: "<id>\n" when it is a
// tracepoint's id file in tracefs (emu/tracepoint.h; -errno when that
// tracepoint does not exist), a kprobe or uprobe PMU's sysfs file the
// kernel lacks (emu/probe_event.h), or /proc/kallsyms when the kernel hides
// its addresses (emu/ksyms.h: the emulator's, which its kprobe.multi links
// take); kNotTracefs for any other path.
constexpr int kNotTracefs = -100000;
int tracepoint_id_fd(const char* path) {
  if (opaque(path) == nullptr) return kNotTracefs;
  std::string category, name, text;
  EmuScope scope;
  if (emu::parse_tracepoint_id_path(path, &category, &name)) {
    const int64_t id = emu::tracepoint_id(category, name);
    if (id < 0) return static_cast<int>(id);
    text = std::to_string(id) + "\n";
  } else if (!emu::probe_pmu_file(path, &text) && !emu::ksyms_file_text(path, &text)) {
    return kNotTracefs;
  }
  int m = memfd_create("bpfemu-tracepoint-id", MFD_CLOEXEC);
  if (m < 0) return -errno;
  if (write(m, text.data(), text.size()) != static_cast<ssize_t>(text.size()) || lseek(m, 0, SEEK_SET) != 0) {
    close(m);
    return -EIO;
  }
  return m;
}

ssize_t readlink_handle(const char* path, char* buf, size_t size) {
  const int fd = proc_fd_of(path, "fd");
  emu::ObjKind kind = emu::ObjKind::kNone;
  if (fd < 0 || !handle(fd, &kind)) return -2;
  const char* name = emu::anon_inode_name(kind);
  const size_t n = std::min(strlen(name), size);
  memcpy(buf, name, n);
  return static_cast<ssize_t>(n);
}

// open() on the bpffs: the real path to open, or -errno as bpffs answers.
int open_target(const Where& w, int flags, std::string* real) {
  if (w.hidden) return -ENOENT;
  emu::ResolvedPath r;
  {
    EmuScope scope;
    const bool nofollow = (flags & O_NOFOLLOW) != 0;
    if (int e = emu::resolve_path(AT_FDCWD, w.real.c_str(), !nofollow, &r); e != 0) return e;
  }
  if (!r.exists) return (flags & O_CREAT) ? -EACCES : -ENOENT;  // bpffs has no create()
  if ((flags & O_CREAT) && (flags & O_EXCL)) return -EEXIST;
  struct stat st {};
  if (lstat(r.real.c_str(), &st) != 0) return -errno;
  // Pinned objects open only with BTF (a text dump); without it bpffs says EIO.
  if (S_ISREG(st.st_mode) && !(flags & O_PATH)) return -EIO;
  *real = r.real;
  return 0;
}

std::mutex g_dirs_mu;
std::set<DIR*>& root_dirs() {
  static auto* s = new std::set<DIR*>();
  return *s;
}

bool filtered(DIR* d) {
  std::lock_guard<std::mutex> lock(g_dirs_mu);
  return root_dirs().count(d) != 0;
}

// Unlinks a pin or removes a directory on the bpffs, freeing the object when
// that was its last name.
int remove_on_bpffs(const Where& w, bool dir) {
  if (w.hidden) return fail(ENOENT);
  EmuScope scope;
  if (dir) return rmdir(w.real.c_str());
  const int r = emu::bpffs_unpin(w.real.c_str());
  return r < 0 ? fail(-r) : 0;
}

}  // namespace

extern "C" {

// ---- removing and making entries ----

BPFEMU_EXPORT int unlinkat(int dirfd, const char* path, int flags) {
  if (Where w = where(dirfd, path); w.on) return remove_on_bpffs(w, (flags & AT_REMOVEDIR) != 0);
  BPFEMU_NEXT(unlinkat, int (*)(int, const char*, int));
  return next_unlinkat(dirfd, path, flags);
}

BPFEMU_EXPORT int unlink(const char* path) {
  if (Where w = where(AT_FDCWD, path); w.on) return remove_on_bpffs(w, false);
  BPFEMU_NEXT(unlink, int (*)(const char*));
  return next_unlink(path);
}

BPFEMU_EXPORT int rmdir(const char* path) {
  if (Where w = where(AT_FDCWD, path); w.on) return remove_on_bpffs(w, true);
  BPFEMU_NEXT(rmdir, int (*)(const char*));
  return next_rmdir(path);
}

// remove(3) is unlink, or rmdir for a directory (glibc's remove() makes those
// calls internally, not through the PLT, so it needs its own wrapper).
BPFEMU_EXPORT int remove(const char* path) {
  if (Where w = where(AT_FDCWD, path); w.on) {
    struct stat st {};
    const bool dir = !w.hidden && lstat(w.real.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
    return remove_on_bpffs(w, dir);
  }
  BPFEMU_NEXT(remove, int (*)(const char*));
  return next_remove(path);
}

BPFEMU_EXPORT int mkdirat(int dirfd, const char* path, mode_t mode) {
  BPFEMU_NEXT(mkdirat, int (*)(int, const char*, mode_t));
  if (Where w = where(dirfd, path); w.on) return w.hidden ? fail(EEXIST) : next_mkdirat(AT_FDCWD, w.real.c_str(), mode);
  return next_mkdirat(dirfd, path, mode);
}

BPFEMU_EXPORT int mkdir(const char* path, mode_t mode) {
  BPFEMU_NEXT(mkdir, int (*)(const char*, mode_t));
  if (Where w = where(AT_FDCWD, path); w.on) return w.hidden ? fail(EEXIST) : next_mkdir(w.real.c_str(), mode);
  return next_mkdir(path, mode);
}

BPFEMU_EXPORT int mknod(const char* path, mode_t mode, dev_t dev) {
  if (Where w = where(AT_FDCWD, path); w.on) return fail(EPERM);
  BPFEMU_NEXT(mknod, int (*)(const char*, mode_t, dev_t));
  return next_mknod(path, mode, dev);
}

BPFEMU_EXPORT int renameat2(int olddirfd, const char* oldpath, int newdirfd, const char* newpath, unsigned flags) {
  Where from = where(olddirfd, oldpath), to = where(newdirfd, newpath);
  if (from.on || to.on) {
    if (from.on != to.on) return fail(EXDEV);
    if (from.hidden || to.hidden) return fail(ENOENT);
    return static_cast<int>(
        libc_syscall(SYS_renameat2, AT_FDCWD, (long)from.real.c_str(), AT_FDCWD, (long)to.real.c_str(), flags));
  }
  return static_cast<int>(libc_syscall(SYS_renameat2, olddirfd, (long)oldpath, newdirfd, (long)newpath, flags));
}

BPFEMU_EXPORT int renameat(int olddirfd, const char* oldpath, int newdirfd, const char* newpath) {
  return renameat2(olddirfd, oldpath, newdirfd, newpath, 0);
}

BPFEMU_EXPORT int rename(const char* oldpath, const char* newpath) {
  return renameat2(AT_FDCWD, oldpath, AT_FDCWD, newpath, 0);
}

BPFEMU_EXPORT int linkat(int olddirfd, const char* oldpath, int newdirfd, const char* newpath, int flags) {
  BPFEMU_NEXT(linkat, int (*)(int, const char*, int, const char*, int));
  Where from = where(olddirfd, oldpath), to = where(newdirfd, newpath);
  if (from.on || to.on) {
    if (from.on != to.on) return fail(EXDEV);
    if (from.hidden || to.hidden) return fail(ENOENT);
    return next_linkat(AT_FDCWD, from.real.c_str(), AT_FDCWD, to.real.c_str(), flags);
  }
  return next_linkat(olddirfd, oldpath, newdirfd, newpath, flags);
}

BPFEMU_EXPORT int link(const char* oldpath, const char* newpath) { return linkat(AT_FDCWD, oldpath, AT_FDCWD, newpath, 0); }

// A symlink on the bpffs keeps its target text: the emulator reads it in the
// emulated namespace, so "/sys/fs/bpf/x" targets work.
BPFEMU_EXPORT int symlinkat(const char* target, int dirfd, const char* linkpath) {
  BPFEMU_NEXT(symlinkat, int (*)(const char*, int, const char*));
  if (Where w = where(dirfd, linkpath); w.on)
    return w.hidden ? fail(EEXIST) : next_symlinkat(target, AT_FDCWD, w.real.c_str());
  return next_symlinkat(target, dirfd, linkpath);
}

BPFEMU_EXPORT int symlink(const char* target, const char* linkpath) { return symlinkat(target, AT_FDCWD, linkpath); }

BPFEMU_EXPORT ssize_t readlinkat(int dirfd, const char* path, char* buf, size_t size) {
  if (!in_emu()) {
    if (ssize_t n = readlink_handle(path, buf, size); n != -2) return n;
  }
  BPFEMU_NEXT(readlinkat, ssize_t (*)(int, const char*, char*, size_t));
  if (Where w = where(dirfd, path); w.on)
    return w.hidden ? fail<ssize_t>(ENOENT) : next_readlinkat(AT_FDCWD, w.real.c_str(), buf, size);
  return next_readlinkat(dirfd, path, buf, size);
}

BPFEMU_EXPORT ssize_t readlink(const char* path, char* buf, size_t size) {
  return readlinkat(AT_FDCWD, path, buf, size);
}

// ---- metadata ----

BPFEMU_EXPORT int faccessat(int dirfd, const char* path, int mode, int flags) {
  BPFEMU_NEXT(faccessat, int (*)(int, const char*, int, int));
  if (Where w = (flags & AT_SYMLINK_NOFOLLOW) ? where(dirfd, path) : where_follow(dirfd, path); w.on)
    return w.hidden ? fail(ENOENT) : next_faccessat(AT_FDCWD, w.real.c_str(), mode, flags);
  return next_faccessat(dirfd, path, mode, flags);
}

BPFEMU_EXPORT int access(const char* path, int mode) { return faccessat(AT_FDCWD, path, mode, 0); }

BPFEMU_EXPORT int euidaccess(const char* path, int mode) { return faccessat(AT_FDCWD, path, mode, AT_EACCESS); }

BPFEMU_EXPORT int eaccess(const char* path, int mode) { return faccessat(AT_FDCWD, path, mode, AT_EACCESS); }

BPFEMU_EXPORT int fstatat(int dirfd, const char* path, struct stat* st, int flags) {
  BPFEMU_NEXT(fstatat, int (*)(int, const char*, struct stat*, int));
  if ((flags & AT_EMPTY_PATH) && opaque(path) != nullptr && path[0] == '\0' && handle(dirfd)) {
    emu::anon_inode_stat(st);
    return 0;
  }
  if (Where w = (flags & AT_SYMLINK_NOFOLLOW) ? where(dirfd, path) : where_follow(dirfd, path); w.on) {
    if (w.hidden) return fail(ENOENT);
    const int r = next_fstatat(AT_FDCWD, w.real.c_str(), st, flags);
    if (r == 0) fix_stat(w.real, st);
    return r;
  }
  return next_fstatat(dirfd, path, st, flags);
}

BPFEMU_EXPORT int fstatat64(int dirfd, const char* path, struct stat64* st, int flags) {
  return fstatat(dirfd, path, reinterpret_cast<struct stat*>(st), flags);
}
BPFEMU_EXPORT int stat(const char* path, struct stat* st) { return fstatat(AT_FDCWD, path, st, 0); }
BPFEMU_EXPORT int stat64(const char* path, struct stat64* st) {
  return fstatat(AT_FDCWD, path, reinterpret_cast<struct stat*>(st), 0);
}
BPFEMU_EXPORT int lstat(const char* path, struct stat* st) { return fstatat(AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW); }
BPFEMU_EXPORT int lstat64(const char* path, struct stat64* st) {
  return fstatat(AT_FDCWD, path, reinterpret_cast<struct stat*>(st), AT_SYMLINK_NOFOLLOW);
}
// glibc before 2.33 compiled stat() into these.
BPFEMU_EXPORT int __xstat(int, const char* path, struct stat* st) { return fstatat(AT_FDCWD, path, st, 0); }
BPFEMU_EXPORT int __xstat64(int, const char* path, struct stat* st) { return fstatat(AT_FDCWD, path, st, 0); }
BPFEMU_EXPORT int __lxstat(int, const char* path, struct stat* st) {
  return fstatat(AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW);
}
BPFEMU_EXPORT int __lxstat64(int, const char* path, struct stat* st) {
  return fstatat(AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW);
}
BPFEMU_EXPORT int __fxstatat(int, int dirfd, const char* path, struct stat* st, int flags) {
  return fstatat(dirfd, path, st, flags);
}
BPFEMU_EXPORT int __fxstatat64(int, int dirfd, const char* path, struct stat* st, int flags) {
  return fstatat(dirfd, path, st, flags);
}

BPFEMU_EXPORT int statx(int dirfd, const char* path, int flags, unsigned mask, struct statx* st) {
  BPFEMU_NEXT(statx, int (*)(int, const char*, int, unsigned, struct statx*));
  if ((flags & AT_EMPTY_PATH) && opaque(path) != nullptr && path[0] == '\0' && handle(dirfd)) {
    struct stat s {};
    emu::anon_inode_stat(&s);
    memset(st, 0, sizeof(*st));
    st->stx_mask = STATX_BASIC_STATS;
    st->stx_blksize = static_cast<uint32_t>(s.st_blksize);
    st->stx_nlink = static_cast<uint32_t>(s.st_nlink);
    st->stx_uid = s.st_uid;
    st->stx_gid = s.st_gid;
    st->stx_mode = static_cast<uint16_t>(s.st_mode);
    st->stx_ino = s.st_ino;
    st->stx_dev_major = major(s.st_dev);
    st->stx_dev_minor = minor(s.st_dev);
    return 0;
  }
  if (Where w = (flags & AT_SYMLINK_NOFOLLOW) ? where(dirfd, path) : where_follow(dirfd, path); w.on) {
    if (w.hidden) return fail(ENOENT);
    const int r = next_statx(AT_FDCWD, w.real.c_str(), flags, mask, st);
    if (r == 0) fix_statx(w.real, st);
    return r;
  }
  return next_statx(dirfd, path, flags, mask, st);
}

BPFEMU_EXPORT int statfs(const char* path, struct statfs* s) {
  if (Where w = where_follow(AT_FDCWD, path); w.on) {
    struct stat st {};
    if (w.hidden || ::lstat(w.real.c_str(), &st) != 0) return fail(ENOENT);
    bpffs_statfs(s);
    return 0;
  }
  BPFEMU_NEXT(statfs, int (*)(const char*, struct statfs*));
  return next_statfs(path, s);
}

BPFEMU_EXPORT int statfs64(const char* path, struct statfs64* s) {
  return statfs(path, reinterpret_cast<struct statfs*>(s));
}

BPFEMU_EXPORT int statvfs(const char* path, struct statvfs* s) {
  if (Where w = where_follow(AT_FDCWD, path); w.on) {
    struct stat st {};
    if (w.hidden || ::lstat(w.real.c_str(), &st) != 0) return fail(ENOENT);
    bpffs_statvfs(s);
    return 0;
  }
  BPFEMU_NEXT(statvfs, int (*)(const char*, struct statvfs*));
  return next_statvfs(path, s);
}

BPFEMU_EXPORT int statvfs64(const char* path, struct statvfs64* s) {
  return statvfs(path, reinterpret_cast<struct statvfs*>(s));
}

BPFEMU_EXPORT int fchmodat(int dirfd, const char* path, mode_t mode, int flags) {
  BPFEMU_NEXT(fchmodat, int (*)(int, const char*, mode_t, int));
  if (Where w = (flags & AT_SYMLINK_NOFOLLOW) ? where(dirfd, path) : where_follow(dirfd, path); w.on)
    return w.hidden ? fail(ENOENT) : next_fchmodat(AT_FDCWD, w.real.c_str(), mode, flags);
  return next_fchmodat(dirfd, path, mode, flags);
}

BPFEMU_EXPORT int chmod(const char* path, mode_t mode) { return fchmodat(AT_FDCWD, path, mode, 0); }

BPFEMU_EXPORT int fchownat(int dirfd, const char* path, uid_t uid, gid_t gid, int flags) {
  BPFEMU_NEXT(fchownat, int (*)(int, const char*, uid_t, gid_t, int));
  if (Where w = (flags & AT_SYMLINK_NOFOLLOW) ? where(dirfd, path) : where_follow(dirfd, path); w.on)
    return w.hidden ? fail(ENOENT) : next_fchownat(AT_FDCWD, w.real.c_str(), uid, gid, flags);
  return next_fchownat(dirfd, path, uid, gid, flags);
}

BPFEMU_EXPORT int chown(const char* path, uid_t uid, gid_t gid) { return fchownat(AT_FDCWD, path, uid, gid, 0); }
BPFEMU_EXPORT int lchown(const char* path, uid_t uid, gid_t gid) {
  return fchownat(AT_FDCWD, path, uid, gid, AT_SYMLINK_NOFOLLOW);
}

BPFEMU_EXPORT int utimensat(int dirfd, const char* path, const struct timespec times[2], int flags) {
  BPFEMU_NEXT(utimensat, int (*)(int, const char*, const struct timespec*, int));
  if (Where w = (flags & AT_SYMLINK_NOFOLLOW) ? where(dirfd, path) : where_follow(dirfd, path); w.on)
    return w.hidden ? fail(ENOENT) : next_utimensat(AT_FDCWD, w.real.c_str(), times, flags);
  return next_utimensat(dirfd, path, times, flags);
}

// bpffs accepts truncate() of a pin and records the size; the handle file
// behind a pin must keep its record, so the emulator accepts it and changes nothing.
BPFEMU_EXPORT int truncate(const char* path, off_t len) {
  if (Where w = where_follow(AT_FDCWD, path); w.on) {
    struct stat st {};
    if (w.hidden || ::stat(w.real.c_str(), &st) != 0) return fail(ENOENT);
    if (S_ISDIR(st.st_mode)) return fail(EISDIR);
    return len < 0 ? fail(EINVAL) : 0;
  }
  BPFEMU_NEXT(truncate, int (*)(const char*, off_t));
  return next_truncate(path, len);
}

BPFEMU_EXPORT int truncate64(const char* path, off_t len) { return truncate(path, len); }

BPFEMU_EXPORT int chdir(const char* path) {
  BPFEMU_NEXT(chdir, int (*)(const char*));
  if (Where w = where_follow(AT_FDCWD, path); w.on) return w.hidden ? fail(ENOENT) : next_chdir(w.real.c_str());
  return next_chdir(path);
}

// ---- opening ----

BPFEMU_EXPORT int openat(int dirfd, const char* path, int flags, ...) {
  mode_t mode = 0;
  if (flags & (O_CREAT | __O_TMPFILE)) {
    va_list ap;
    va_start(ap, flags);
    mode = va_arg(ap, mode_t);
    va_end(ap);
  }
  BPFEMU_NEXT(openat, int (*)(int, const char*, int, ...));
  if (!in_emu() && opaque(path) != nullptr && path[0] == '/') {
    if (int fd = fdinfo_fd(path); fd >= 0) return fd;
    if ((flags & O_ACCMODE) == O_RDONLY) {
      if (int fd = tracepoint_id_fd(path); fd != kNotTracefs) return fd >= 0 ? fd : fail(-fd);
    }
  }
  if (Where w = where(dirfd, path); w.on) {
    std::string real;
    if (int e = open_target(w, flags, &real); e != 0) return fail(-e);
    return next_openat(AT_FDCWD, real.c_str(), flags & ~(O_CREAT | O_EXCL), mode);
  }
  return next_openat(dirfd, path, flags, mode);
}

BPFEMU_EXPORT int openat64(int dirfd, const char* path, int flags, ...) {
  mode_t mode = 0;
  if (flags & (O_CREAT | __O_TMPFILE)) {
    va_list ap;
    va_start(ap, flags);
    mode = va_arg(ap, mode_t);
    va_end(ap);
  }
  return openat(dirfd, path, flags, mode);
}

BPFEMU_EXPORT int open(const char* path, int flags, ...) {
  mode_t mode = 0;
  if (flags & (O_CREAT | __O_TMPFILE)) {
    va_list ap;
    va_start(ap, flags);
    mode = va_arg(ap, mode_t);
    va_end(ap);
  }
  return openat(AT_FDCWD, path, flags, mode);
}

BPFEMU_EXPORT int open64(const char* path, int flags, ...) {
  mode_t mode = 0;
  if (flags & (O_CREAT | __O_TMPFILE)) {
    va_list ap;
    va_start(ap, flags);
    mode = va_arg(ap, mode_t);
    va_end(ap);
  }
  return openat(AT_FDCWD, path, flags, mode);
}

BPFEMU_EXPORT int creat(const char* path, mode_t mode) {
  return openat(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode);
}
BPFEMU_EXPORT int creat64(const char* path, mode_t mode) {
  return openat(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode);
}

static FILE* fopen_common(const char* path, const char* mode, const char* name, void*& cache) {
  auto next = bpfemu::dropin::next_fn<FILE* (*)(const char*, const char*)>(cache, name);
  if (!in_emu()) {
    int fd = fdinfo_fd(path);
    if (fd < 0 && mode[0] == 'r' && strchr(mode, '+') == nullptr) {
      fd = tracepoint_id_fd(path);
      if (fd < 0 && fd != kNotTracefs) {
        errno = -fd;
        return nullptr;
      }
    }
    if (fd >= 0) {
      FILE* f = fdopen(fd, "r");
      if (f == nullptr) close(fd);
      return f;
    }
  }
  if (Where w = where(AT_FDCWD, path); w.on) {
    const bool create = mode[0] == 'w' || mode[0] == 'a';
    std::string real;
    if (int e = open_target(w, create ? O_CREAT : 0, &real); e != 0) {
      errno = -e;
      return nullptr;
    }
    return next(real.c_str(), mode);
  }
  return next(path, mode);
}

BPFEMU_EXPORT FILE* fopen(const char* path, const char* mode) {
  static void* cache = nullptr;
  return fopen_common(path, mode, "fopen", cache);
}

BPFEMU_EXPORT FILE* fopen64(const char* path, const char* mode) {
  static void* cache = nullptr;
  return fopen_common(path, mode, "fopen64", cache);
}

// ---- directories: the root's listing leaves the store out ----

BPFEMU_EXPORT DIR* opendir(const char* path) {
  BPFEMU_NEXT(opendir, DIR* (*)(const char*));
  Where w = where(AT_FDCWD, path);
  if (!w.on) return next_opendir(path);
  if (w.hidden) {
    errno = ENOENT;
    return nullptr;
  }
  emu::ResolvedPath r;
  {
    EmuScope scope;
    if (int e = emu::resolve_path(AT_FDCWD, w.real.c_str(), true, &r); e != 0 || !r.exists) {
      errno = e != 0 ? -e : ENOENT;
      return nullptr;
    }
  }
  DIR* d = next_opendir(r.real.c_str());
  if (d != nullptr && is_root(r.real)) {
    std::lock_guard<std::mutex> lock(g_dirs_mu);
    root_dirs().insert(d);
  }
  return d;
}

BPFEMU_EXPORT struct dirent* readdir(DIR* d) {
  BPFEMU_NEXT(readdir, struct dirent* (*)(DIR*));
  struct dirent* e = next_readdir(d);
  if (e != nullptr && !in_emu() && strcmp(e->d_name, ".bpfemu") == 0 && filtered(d)) e = next_readdir(d);
  return e;
}

BPFEMU_EXPORT struct dirent64* readdir64(DIR* d) {
  BPFEMU_NEXT(readdir64, struct dirent64* (*)(DIR*));
  struct dirent64* e = next_readdir64(d);
  if (e != nullptr && !in_emu() && strcmp(e->d_name, ".bpfemu") == 0 && filtered(d)) e = next_readdir64(d);
  return e;
}

BPFEMU_EXPORT int closedir(DIR* d) {
  {
    std::lock_guard<std::mutex> lock(g_dirs_mu);
    root_dirs().erase(d);
  }
  BPFEMU_NEXT(closedir, int (*)(DIR*));
  return next_closedir(d);
}

}  // extern "C"
