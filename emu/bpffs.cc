#include "emu/bpffs.h"

#include "core/scope.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

#include "core/host.h"
#include "core/log.h"
#include "emu/objects.h"
#include "emu/store.h"

namespace bpfemu::emu {
namespace {

constexpr char kSysFsBpf[] = "/sys/fs/bpf";
constexpr size_t kSysFsBpfLen = sizeof(kSysFsBpf) - 1;
constexpr int kMaxSymlinks = 40;  // the kernel's MAXSYMLINKS

std::mutex g_mu;
// Built on first use: the libc interposers call in here before static
// constructors have run (another library's constructor may stat a path).
std::string& root_cache() {
  static auto* s = new std::string();
  return *s;
}

// The root's path, with no side effect on the filesystem (it is made when
// the store is first used, see ensure_bpffs_root).
std::string& root_override() {
  static auto* s = new std::string();
  return *s;
}

std::string compute_root() {
  const char* env = root_override().empty() ? getenv("BPFEMU_BPFFS") : root_override().c_str();
  std::string root =
      env != nullptr && *env != '\0' ? env : host().shm_root() + "/bpfemu-" + std::to_string(getuid());
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  // Symlinks in the root's own path would make inside_root() miss it.
  char real[PATH_MAX];
  if (realpath(root.c_str(), real) != nullptr) root = real;
  return root;
}

bool has_prefix(const std::string& s, const char* prefix, size_t n) {
  return s.compare(0, n, prefix, n) == 0 && (s.size() == n || s[n] == '/');
}

// The directory a relative path starts from.
int start_dir(int dirfd, std::string* out) {
  char buf[PATH_MAX];
  if (dirfd == AT_FDCWD) {
    if (getcwd(buf, sizeof(buf)) == nullptr) return -errno;
    *out = buf;
    return 0;
  }
  struct stat st {};
  if (fstat(dirfd, &st) != 0) return -EBADF;
  if (!S_ISDIR(st.st_mode)) return -ENOTDIR;
  char link[64];
  snprintf(link, sizeof(link), "/proc/self/fd/%d", dirfd);
  ssize_t n = readlink(link, buf, sizeof(buf) - 1);
  if (n < 0) return -errno;
  buf[n] = '\0';
  *out = buf;
  return 0;
}

std::vector<std::string> split(const std::string& p) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i < p.size()) {
    while (i < p.size() && p[i] == '/') ++i;
    size_t j = i;
    while (j < p.size() && p[j] != '/') ++j;
    if (j > i) parts.push_back(p.substr(i, j - i));
    i = j;
  }
  return parts;
}

std::string join(const std::vector<std::string>& parts) {
  if (parts.empty()) return "/";
  std::string s;
  for (const auto& c : parts) s += "/" + c;
  return s;
}

// Where an emulated absolute path (already normalised) is on the real
// filesystem, and whether that is on the bpffs.
std::string to_real(const std::string& emulated, bool* on_bpffs) {
  if (has_prefix(emulated, kSysFsBpf, kSysFsBpfLen)) {
    *on_bpffs = true;
    return bpffs_root() + emulated.substr(kSysFsBpfLen);
  }
  *on_bpffs = inside_root(emulated);
  return emulated;
}

}  // namespace

const std::string& bpffs_root() {
  std::lock_guard<std::mutex> lock(g_mu);
  std::string& root = root_cache();
  if (root.empty()) root = compute_root();
  return root;
}

int ensure_bpffs_root() {
  EmulatorScope scope;  // mkdir and stat below must not come back here through the interposers
  std::lock_guard<std::mutex> lock(g_mu);
  std::string& root = root_cache();
  if (root.empty()) root = compute_root();
  // Create each component; an existing directory is fine.
  for (size_t pos = 1; pos <= root.size(); ++pos) {
    if (pos == root.size() || root[pos] == '/') mkdir(root.substr(0, pos).c_str(), 0700);
  }
  struct stat st {};
  if (stat(root.c_str(), &st) != 0) return -errno;
  if (!S_ISDIR(st.st_mode)) return -ENOTDIR;
  root = compute_root();  // now that it exists, its real path
  return 0;
}

void reset_bpffs_root() {
  std::lock_guard<std::mutex> lock(g_mu);
  root_cache().clear();
}

}  // namespace bpfemu::emu

namespace bpfemu {

void set_bpffs_root(const std::string& dir) {
  {
    std::lock_guard<std::mutex> lock(emu::g_mu);
    emu::root_override() = dir;
  }
  emu::reset_bpffs_root();
}

std::string bpffs_root_dir() { return emu::bpffs_root(); }

void set_log(bool on) { emu::set_log_enabled(on); }

}  // namespace bpfemu

namespace bpfemu::emu {

bool inside_root(const std::string& real) {
  const std::string& root = bpffs_root();
  return has_prefix(real, root.c_str(), root.size());
}

std::string emulated_name(const std::string& real) {
  const std::string& root = bpffs_root();
  if (!has_prefix(real, root.c_str(), root.size())) return real;
  return std::string(kSysFsBpf) + real.substr(root.size());
}

int resolve_path(int dirfd, const char* path, bool follow_last, ResolvedPath* out) {
  if (path[0] == '\0') return -ENOENT;
  std::vector<std::string> todo;  // components still to walk, in reverse order
  std::vector<std::string> done;  // the emulated directory walked so far
  auto push_path = [&todo](const std::string& p) {
    std::vector<std::string> parts = split(p);
    for (auto it = parts.rbegin(); it != parts.rend(); ++it) todo.push_back(*it);
  };
  std::string p(path);
  const bool trailing_slash = p.size() > 1 && p.back() == '/';
  if (p[0] != '/') {
    std::string base;
    if (int e = start_dir(dirfd, &base); e != 0) return e;
    // A start directory inside the root is seen as the bpffs it emulates.
    done = split(inside_root(base) ? emulated_name(base) : base);
  }
  push_path(p);
  int links = 0;
  out->exists = true;
  while (!todo.empty()) {
    std::string c = std::move(todo.back());
    todo.pop_back();
    if (c.size() > NAME_MAX) return -ENAMETOOLONG;
    if (c == ".") continue;
    if (c == "..") {
      if (!done.empty()) done.pop_back();
      continue;
    }
    done.push_back(c);
    const bool last = todo.empty();
    bool on = false;
    const std::string real = to_real(join(done), &on);
    // The store (root/.bpfemu) is not part of the bpffs it emulates: absent, as
    // on the kernel's bpffs (a pin named .bpfemu then answers EEXIST).
    if (on && real == bpffs_root() + "/.bpfemu") {
      if (!last) return -ENOENT;
      out->exists = false;
      break;
    }
    struct stat st {};
    if (lstat(real.c_str(), &st) != 0) {
      if (errno == ENOENT && last) {
        out->exists = false;
        break;
      }
      return -errno;
    }
    if (S_ISLNK(st.st_mode) && (!last || follow_last || trailing_slash)) {
      if (++links > kMaxSymlinks) return -ELOOP;
      char target[PATH_MAX];
      ssize_t n = readlink(real.c_str(), target, sizeof(target) - 1);
      if (n < 0) return -errno;
      target[n] = '\0';
      done.pop_back();
      if (target[0] == '/') done.clear();
      push_path(target);
      continue;
    }
    if (!last && !S_ISDIR(st.st_mode)) return -ENOTDIR;
    if (last && trailing_slash && !S_ISDIR(st.st_mode)) return -ENOTDIR;
  }
  out->real = to_real(join(done), &out->on_bpffs);
  return 0;
}

bool bpffs_path(int dirfd, const char* path, std::string* real) {
  if (path == nullptr || path[0] == '\0') return false;
  // Cheap exits first: most paths a program touches are absolute and elsewhere.
  if (path[0] == '/') {
    if (strncmp(path, kSysFsBpf, kSysFsBpfLen) != 0) {
      const std::string& root = bpffs_root();
      if (strncmp(path, root.c_str(), root.size()) != 0) return false;
    }
  }
  std::string base;
  if (path[0] != '/' && start_dir(dirfd, &base) != 0) return false;
  std::vector<std::string> done = split(inside_root(base) ? emulated_name(base) : base);
  for (auto& c : split(path)) {
    if (c == ".") continue;
    if (c == "..") {
      if (!done.empty()) done.pop_back();
      continue;
    }
    done.push_back(std::move(c));
  }
  bool on = false;
  std::string r = to_real(join(done), &on);
  if (!on) return false;
  *real = std::move(r);
  return true;
}

int bpffs_unpin(const char* path) {
  ResolvedPath where;
  if (int e = resolve_path(AT_FDCWD, path, false, &where); e != 0) return e;
  if (!where.on_bpffs) return ::unlink(where.real.c_str()) == 0 ? 0 : -errno;
  int err = 0;
  Store* store = Store::current(&err);
  ObjKind kind = ObjKind::kNone;
  uint32_t id = 0;
  const bool is_pin = store != nullptr && store->identify_path(where.real, &kind, &id) == 0;
  if (::unlink(where.real.c_str()) != 0) return -errno;
  if (is_pin) collect_object(*store, kind, id);
  return 0;
}

}  // namespace bpfemu::emu
