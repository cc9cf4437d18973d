#include "fuzz/harness.h"

#include <dirent.h>
#include <sys/mman.h>
#include <linux/bpf.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "emu/bpf_syscall.h"
#include "emu/bpffs.h"
#include "emu/objects.h"

namespace bpfemu::fuzz {

const char* private_bpffs() {
  // One root for the whole run, each input leaving it empty: the emulator keeps
  // one mapping per root it has used, so a root per input would run out of
  // mappings (vm.max_map_count).
  static char root[] = "/dev/shm/bpfemu-fuzz-XXXXXX";  // outlives the atexit handler
  static const bool made = [] {
    if (!mkdtemp(root)) abort();
    setenv("BPFEMU_BPFFS", root, 1);
    emu::reset_bpffs_root();
    atexit([] { std::filesystem::remove_all(root); });
    return true;
  }();
  (void)made;
  return root;
}

long sys_bpf(int cmd, void* attr, unsigned size) { return emu::bpf_syscall(cmd, attr, size); }

// The answers bpf(2) may give, and where the emulator gives them today:
//   EINVAL EFAULT E2BIG EPERM EACCES ENOENT EBADF  any command's checks
//   EBADFD       BPF_OBJ_GET_INFO_BY_FD of a fd that is no BPF object
//   EEXIST       BPF_NOEXIST updates, pins on an existing path
//   ENOSPC       full LPM tries and hash batches, logs that do not fit
//   ENOMEM       allocations; EMFILE: no fd left
//   EBUSY        freeze of a mapped or frozen map (6.1), links already attached
//   EDEADLK      timers and spin locks taken twice; EAGAIN: ring buffers
//   ENXIO ENODEV test runs on a CPU or device that does not exist
//   524 (ENOTSUPP, kernel-internal but returned) and EOPNOTSUPP: what a map
//                type or program type does not do, or is not emulated
//   EPROTO       ld_imm64 map index without fd_array; ENOLINK: a detached link
//   ENOTTY       ioctls; EINTR: interrupted waits
//   ENOTDIR EISDIR ENAMETOOLONG ELOOP EROFS EXDEV  pin and get paths
// ERANGE and ENFILE the kernel can give and the emulator does not (yet).
bool kernel_errno(int e) {
  switch (e) {
    case EINVAL: case EFAULT: case E2BIG: case EPERM: case EACCES: case ENOENT: case EBADF: case EBADFD:
    case EEXIST: case ENOSPC: case ENOMEM: case EMFILE: case ENFILE: case EBUSY: case EDEADLK: case EAGAIN:
    case ENXIO: case ENODEV: case 524: case EOPNOTSUPP: case EPROTO: case ENOLINK: case ENOTTY: case EINTR:
    case ERANGE: case ENOTDIR: case EISDIR: case ENAMETOOLONG: case ELOOP: case EROFS: case EXDEV:
      return true;
    default:
      return false;
  }
}

void fail(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "bpfemu-fuzz: INVARIANT FAILED: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  abort();
}

void check_result(const char* what, long r) {
  if (r < 0 && !kernel_errno(static_cast<int>(-r))) fail("%s answered %ld (%s), not an errno of bpf(2)", what, r, strerror(static_cast<int>(-r)));
}

int open_fd_count() {
  DIR* d = opendir("/proc/self/fd");
  if (!d) abort();
  int n = 0;
  while (dirent* e = readdir(d))
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n - 1;
}

void print_open_fds() {
  for (auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    fprintf(stderr, "  fd %s -> %s\n", entry.path().filename().c_str(),
            std::filesystem::read_symlink(entry.path(), ec).c_str());
  }
}

void unpin_all(const std::vector<std::string>& keep) {
  for (auto& entry : std::filesystem::directory_iterator(private_bpffs())) {
    const std::string name = entry.path().filename();
    if (name == ".bpfemu") continue;
    bool kept = false;
    for (const std::string& k : keep) kept |= k == name;
    if (kept) continue;
    const std::string path = "/sys/fs/bpf/" + name;
    if (emu::bpffs_unpin(path.c_str()) != 0) fail("cannot unpin %s", path.c_str());
  }
}

Arena::Arena(size_t size) : size_(size) {
  void* p = mmap(nullptr, size + 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) abort();
  base_ = static_cast<uint8_t*>(p);
  if (mprotect(base_ + size_, 4096, PROT_NONE) != 0) abort();
}

uint8_t* Arena::alloc(size_t n) {
  const size_t at = (used_ + 7) & ~size_t{7};
  if (n > size_ || at > size_ - n) return guard();
  used_ = at + n;
  return base_ + at;
}

void Arena::reset() {
  used_ = 0;
  if (madvise(base_, size_, MADV_DONTNEED) != 0) abort();  // private anonymous: reads as zero again
}

namespace {

int obj_get(const std::string& name) {
  const std::string path = "/sys/fs/bpf/" + name;
  emu::BpfAttr a{};
  a.obj.pathname = reinterpret_cast<uintptr_t>(path.c_str());
  return static_cast<int>(sys_bpf(BPF_OBJ_GET, &a, sizeof(a)));
}

long elem(int cmd, int fd, const void* key, void* value) {
  emu::BpfAttr a{};
  a.elem.map_fd = static_cast<uint32_t>(fd);
  a.elem.key = reinterpret_cast<uintptr_t>(key);
  a.elem.value = reinterpret_cast<uintptr_t>(value);
  return sys_bpf(cmd, &a, sizeof(a));
}

}  // namespace

void check_no_objects_left(const std::vector<uint32_t>& canary_map_ids) {
  static constexpr struct {
    int cmd;
    const char* kind;
  } kKinds[] = {{BPF_MAP_GET_NEXT_ID, "map"}, {BPF_PROG_GET_NEXT_ID, "program"}, {BPF_BTF_GET_NEXT_ID, "BTF"},
                {BPF_LINK_GET_NEXT_ID, "link"}};
  for (const auto& k : kKinds) {
    emu::BpfAttr a{};
    while (sys_bpf(k.cmd, &a, sizeof(a)) == 0) {
      bool canary = false;
      for (uint32_t id : canary_map_ids) canary |= k.cmd == BPF_MAP_GET_NEXT_ID && id == a.id.next_id;
      if (!canary) fail("%s %u outlived the input that made it", k.kind, a.id.next_id);
      a.id.start_id = a.id.next_id;
    }
  }
}

uint32_t object_id(int fd) {
  uint8_t info[256] = {};
  emu::BpfAttr a{};
  a.info.bpf_fd = static_cast<uint32_t>(fd);
  a.info.info_len = sizeof(info);
  a.info.info = reinterpret_cast<uintptr_t>(info);
  if (sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a, sizeof(a)) != 0) return 0;
  uint32_t id;
  memcpy(&id, info + 4, sizeof(id));  // bpf_map_info, bpf_prog_info, bpf_link_info: type, then id
  return id;
}

// Each key's value is a pattern derived from the key and the map's name.
std::vector<uint8_t> CanaryMap::value_of(uint32_t key) const {
  std::vector<uint8_t> v(value_size_);
  for (size_t i = 0; i < v.size(); i++) v[i] = static_cast<uint8_t>(key * 31 + i * 7 + pin_name_.size());
  return v;
}

CanaryMap::CanaryMap(uint32_t type, uint32_t value_size, uint32_t max_entries, const char* pin_name)
    : type_(type), value_size_(value_size), max_entries_(max_entries), pin_name_(pin_name) {
  private_bpffs();
  emu::BpfAttr a{};
  a.create.map_type = type;
  a.create.key_size = 4;
  a.create.value_size = value_size;
  a.create.max_entries = max_entries;
  const int fd = static_cast<int>(sys_bpf(BPF_MAP_CREATE, &a, sizeof(a)));
  if (fd < 0) fail("canary map create: %d", fd);
  for (uint32_t k = 0; k < max_entries; k++) {
    std::vector<uint8_t> v = value_of(k);
    if (elem(BPF_MAP_UPDATE_ELEM, fd, &k, v.data()) != 0) fail("canary map fill");
  }
  const std::string path = "/sys/fs/bpf/" + pin_name_;
  emu::BpfAttr p{};
  p.obj.pathname = reinterpret_cast<uintptr_t>(path.c_str());
  p.obj.bpf_fd = static_cast<uint32_t>(fd);
  if (sys_bpf(BPF_OBJ_PIN, &p, sizeof(p)) != 0) fail("canary map pin");
  id_ = object_id(fd);
  emu::sys_close(fd);
}

int CanaryMap::open() const {
  const int fd = obj_get(pin_name_);
  if (fd < 0) fail("canary map %s is gone: %d", pin_name_.c_str(), fd);
  return fd;
}

void CanaryMap::check() const {
  const int fd = open();
  std::vector<uint8_t> got(value_size_);
  for (uint32_t k = 0; k < max_entries_; k++) {
    if (elem(BPF_MAP_LOOKUP_ELEM, fd, &k, got.data()) != 0) fail("canary %s lost key %u", pin_name_.c_str(), k);
    if (got != value_of(k)) fail("canary %s changed at key %u", pin_name_.c_str(), k);
  }
  // No key was added to a hash canary.
  uint32_t next = 0, last = max_entries_ - 1;
  if (type_ == BPF_MAP_TYPE_HASH) {
    uint32_t count = 0;
    const void* cur = nullptr;
    while (elem(BPF_MAP_GET_NEXT_KEY, fd, cur, &next) == 0 && count <= max_entries_) {
      count++;
      last = next;
      cur = &last;
    }
    if (count != max_entries_) fail("canary %s has %u keys, not %u", pin_name_.c_str(), count, max_entries_);
  }
  emu::sys_close(fd);
}

}  // namespace bpfemu::fuzz
