#include "emu/bpffs.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace bpfemu::emu {
namespace {

constexpr const char kSysBpf[] = "/sys/fs/bpf";

std::mutex g_mu;
std::string g_root;

std::string compute_root() {
  const char* env = getenv("BPFEMU_BPFFS");
  std::string root = env != nullptr && *env != '\0' ? env : "/dev/shm/bpfemu-" + std::to_string(getuid());
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  // Create each component; an existing directory is fine.
  for (size_t pos = 1; pos <= root.size(); ++pos) {
    if (pos == root.size() || root[pos] == '/') mkdir(root.substr(0, pos).c_str(), 0700);
  }
  return root;
}

bool has_prefix(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0 && (s.size() == prefix.size() || s[prefix.size()] == '/');
}

}  // namespace

const std::string& bpffs_root() {
  std::lock_guard<std::mutex> lock(g_mu);
  if (g_root.empty()) g_root = compute_root();
  return g_root;
}

void reset_bpffs_root() {
  std::lock_guard<std::mutex> lock(g_mu);
  g_root.clear();
}

bool bpffs_translate(const char* path, std::string* out) {
  if (path == nullptr) return false;
  std::string p(path);
  const std::string& root = bpffs_root();
  if (has_prefix(p, kSysBpf)) {
    *out = root + p.substr(sizeof(kSysBpf) - 1);
    return true;
  }
  if (has_prefix(p, root)) {
    *out = p;
    return true;
  }
  return false;
}

}  // namespace bpfemu::emu

namespace bpfemu::emu {
int bpffs_unlink(const char* path) {
  std::string target;
  if (!bpffs_translate(path, &target)) return -EPERM;
  return ::unlink(target.c_str()) == 0 ? 0 : -errno;
}
}  // namespace bpfemu::emu
