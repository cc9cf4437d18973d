// What a program learns of the task it runs in: its cgroup v2 ids
// (bpf_get_current_cgroup_id, bpf_get_current_ancestor_cgroup_id) and its
// pid and tgid in a pid namespace it names (bpf_get_ns_current_pid_tgid).
// The emulator's current task is the calling thread, so the answers are that
// thread's, read from /proc and the cgroup2 mount as the kernel knows them: a
// cgroup's id is its kernfs inode, the root's is 1.
#include "emu/helpers_task.h"

#include <linux/bpf.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace bpfemu::emu::interp {
namespace {

constexpr uint64_t kRootCgroupId = 1;  // the default hierarchy's root: kernfs inode 1

uint64_t ret(long v) { return static_cast<uint64_t>(v); }

// Where cgroup2 is mounted, or "" when it is not.
std::string cgroup2_mount() {
  FILE* f = fopen("/proc/self/mounts", "re");
  if (f == nullptr) return "";
  char line[4096];
  std::string dir;
  while (dir.empty() && fgets(line, sizeof(line), f) != nullptr) {
    char src[1024], mnt[2048], type[64];
    if (sscanf(line, "%1023s %2047s %63s", src, mnt, type) == 3 && strcmp(type, "cgroup2") == 0) dir = mnt;
  }
  fclose(f);
  return dir;
}

// The calling thread's cgroup in the default hierarchy, as path components
// below the root ("0::/a/b" in /proc/thread-self/cgroup).
std::vector<std::string> cgroup_path() {
  std::vector<std::string> parts;
  FILE* f = fopen("/proc/thread-self/cgroup", "re");
  if (f == nullptr) return parts;
  char line[4096];
  while (fgets(line, sizeof(line), f) != nullptr) {
    if (strncmp(line, "0::/", 4) != 0) continue;
    std::string path(line + 4);
    if (!path.empty() && path.back() == '\n') path.pop_back();
    for (size_t pos = 0; pos < path.size();) {
      const size_t end = path.find('/', pos);
      const std::string part = path.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
      if (!part.empty()) parts.push_back(part);
      pos = end == std::string::npos ? path.size() : end + 1;
    }
    break;
  }
  fclose(f);
  return parts;
}

// The id of the cgroup `level` components down the thread's path (0: the
// root), or 0 when the path is not that deep or the cgroup cannot be found.
uint64_t cgroup_id_at(const std::vector<std::string>& parts, size_t level) {
  if (level > parts.size()) return 0;
  if (level == 0) return kRootCgroupId;
  const std::string mnt = cgroup2_mount();
  if (mnt.empty()) return 0;
  std::string dir = mnt;
  for (size_t i = 0; i < level; ++i) dir += "/" + parts[i];
  struct stat st;
  return stat(dir.c_str(), &st) == 0 ? st.st_ino : 0;
}

}  // namespace

bool get_current_cgroup_id(HelperCall&, uint64_t* r0) {
  const std::vector<std::string> parts = cgroup_path();
  *r0 = cgroup_id_at(parts, parts.size());
  return true;
}

// bpf_get_current_ancestor_cgroup_id(int level): the ancestor at that level
// counted from the root; 0 past the thread's own level or below 0.
bool get_current_ancestor_cgroup_id(HelperCall& c, uint64_t* r0) {
  const auto level = static_cast<int32_t>(c.a[0]);
  *r0 = level < 0 ? 0 : cgroup_id_at(cgroup_path(), static_cast<size_t>(level));
  return true;
}

// bpf_get_ns_current_pid_tgid(dev, ino, nsdata, size): the ids as the pid
// namespace with that nsfs device and inode sees them, when it is the
// thread's own; -EINVAL (nsdata zeroed) for a wrong size, a dev wider than the
// kernel's dev_t or another namespace.
bool get_ns_current_pid_tgid(HelperCall& c, uint64_t* r0) {
  const auto size = static_cast<uint32_t>(c.a[3]);
  if (size != 0 && !c.m.check(c.a[2], size, true, "bpf_get_ns_current_pid_tgid nsdata")) return false;
  auto* out = reinterpret_cast<uint8_t*>(c.a[2]);
  const uint64_t dev = c.a[0], ino = c.a[1];
  struct stat st;
  const bool same_ns = size == sizeof(bpf_pidns_info) && dev <= UINT32_MAX &&
                       stat("/proc/thread-self/ns/pid", &st) == 0 && st.st_dev == dev && st.st_ino == ino;
  if (!same_ns) {
    if (size != 0) memset(out, 0, size);
    *r0 = ret(-EINVAL);
    return true;
  }
  const bpf_pidns_info info{static_cast<uint32_t>(syscall(SYS_gettid)), static_cast<uint32_t>(getpid())};
  memcpy(out, &info, sizeof(info));
  *r0 = 0;
  return true;
}

}  // namespace bpfemu::emu::interp
