#include "api/libbpfemu/paths.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "api/libbpfemu/dropin.h"
#include "emu/bpffs.h"

namespace bpfemu::dropin {
namespace {

constexpr char kSysFsBpf[] = "/sys/fs/bpf";

int directory_of(int dirfd, std::string* out) {
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

}  // namespace

int absolute_path(int dirfd, const char* path, std::string* out) {
  if (path[0] == '/') {
    *out = path;
    return 0;
  }
  std::string dir;
  if (int err = directory_of(dirfd, &dir); err != 0) return err;
  if (dir.empty() || dir.back() != '/') dir += '/';
  *out = dir + path;
  return 0;
}

bool is_sys_fs_bpf(const std::string& path) {
  const size_t n = sizeof(kSysFsBpf) - 1;
  return path.compare(0, n, kSysFsBpf) == 0 && (path.size() == n || path[n] == '/');
}

bool emulated_path(int dirfd, const char* path, std::string* out) {
  if (path == nullptr) return false;
  // Cheap exits first: most paths a program touches are absolute and elsewhere.
  if (path[0] == '/' && strncmp(path, kSysFsBpf, sizeof(kSysFsBpf) - 1) != 0) return false;
  std::string abs;
  if (absolute_path(dirfd, path, &abs) != 0 || !is_sys_fs_bpf(abs)) return false;
  EmuScope scope;  // the root is created on first use (mkdir must pass through)
  return emu::bpffs_translate(abs.c_str(), out);
}

}  // namespace bpfemu::dropin
