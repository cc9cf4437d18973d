#include "emu/bpffs.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
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

namespace bpfemu::emu {
namespace {

std::once_flag g_id_once;
std::atomic<uint32_t>* g_id_counter = nullptr;  // one shared word, see bpffs_alloc_id()

std::atomic<uint32_t>* map_id_counter() {
  std::string path = "/dev/shm/bpfemu-" + std::to_string(getuid()) + ".ids";
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return nullptr;
  // Creators may race; each only ever grows the file to the same size, so a
  // counter already in use is never reset.
  struct stat st {};
  void* p = MAP_FAILED;
  if (fstat(fd, &st) == 0 && (st.st_size >= 4096 || ftruncate(fd, 4096) == 0))
    p = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ::close(fd);
  return p == MAP_FAILED ? nullptr : static_cast<std::atomic<uint32_t>*>(p);
}

}  // namespace

// One counter per user, whatever the root: ids only need to be unique, and a
// per-root file would outlive the temporary roots tests make and remove.
uint32_t bpffs_alloc_id() {
  int saved = errno;
  std::call_once(g_id_once, [] { g_id_counter = map_id_counter(); });
  errno = saved;
  if (g_id_counter == nullptr) return 0;
  // Like the kernel's idr_alloc_cyclic(1, INT_MAX): ids stay positive ints.
  for (;;) {
    uint32_t id = (g_id_counter->fetch_add(1, std::memory_order_relaxed) + 1) & 0x7fffffffU;
    if (id != 0) return id;
  }
}

}  // namespace bpfemu::emu
