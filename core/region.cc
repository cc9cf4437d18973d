#include "core/region.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <utility>

namespace bpfemu::emu {

Region::~Region() { reset(); }

Region::Region(Region&& other) noexcept { *this = std::move(other); }

Region& Region::operator=(Region&& other) noexcept {
  if (this != &other) {
    reset();
    base_ = std::exchange(other.base_, nullptr);
    size_ = std::exchange(other.size_, 0);
    fd_ = std::exchange(other.fd_, -1);
    mirror_ = std::exchange(other.mirror_, nullptr);
    mirror_len_ = std::exchange(other.mirror_len_, 0);
    temp_path_ = std::move(other.temp_path_);
    other.temp_path_.clear();
  }
  return *this;
}

void Region::reset() {
  if (base_ != nullptr) munmap(base_, size_);
  if (mirror_ != nullptr) munmap(mirror_, 2 * mirror_len_);
  mirror_ = nullptr;
  mirror_len_ = 0;
  if (fd_ >= 0) ::close(fd_);
  if (!temp_path_.empty()) ::unlink(temp_path_.c_str());
  base_ = nullptr;
  size_ = 0;
  fd_ = -1;
  temp_path_.clear();
}

static int map_file(int fd, size_t size, uint8_t** base) {
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
  if (p == MAP_FAILED) return -errno;
  *base = static_cast<uint8_t*>(p);
  return 0;
}

int Region::create(size_t size, const std::string& dir, Region& out) {
  out.reset();
  std::string temp;
  int fd = open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
    // No O_TMPFILE here: a named temporary file, renamed into place later.
    static std::atomic<unsigned> seq{0};
    temp = dir + "/.tmp-" + std::to_string(getpid()) + "-" + std::to_string(seq.fetch_add(1));
    fd = open(temp.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
  }
  if (fd < 0) return -errno;
  if (ftruncate(fd, static_cast<off_t>(size)) != 0) {
    int err = errno == EFBIG || errno == EINVAL ? ENOMEM : errno;
    ::close(fd);
    if (!temp.empty()) ::unlink(temp.c_str());
    return -err;
  }
  uint8_t* base = nullptr;
  if (int err = map_file(fd, size, &base); err != 0) {
    ::close(fd);
    if (!temp.empty()) ::unlink(temp.c_str());
    return err == -EINVAL ? -ENOMEM : err;
  }
  out.base_ = base;
  out.size_ = size;
  out.fd_ = fd;
  out.temp_path_ = std::move(temp);
  return 0;
}

int Region::attach(const std::string& path, Region& out) {
  out.reset();
  int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return -errno;
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return -EINVAL;
  }
  uint8_t* base = nullptr;
  if (int err = map_file(fd, static_cast<size_t>(st.st_size), &base); err != 0) {
    ::close(fd);
    return err;
  }
  out.base_ = base;
  out.size_ = static_cast<size_t>(st.st_size);
  out.fd_ = fd;
  return 0;
}

uint8_t* Region::mirrored(uint64_t offset, uint64_t len) {
  if (mirror_ != nullptr) return mirror_;
  if (fd_ < 0 || len == 0 || offset + len > size_) return nullptr;
  // Reserve both halves at once, then put the same file pages in each.
  void* area = mmap(nullptr, 2 * len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (area == MAP_FAILED) return nullptr;
  auto* lo = static_cast<uint8_t*>(area);
  for (uint8_t* half : {lo, lo + len}) {
    if (mmap(half, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd_, static_cast<off_t>(offset)) ==
        MAP_FAILED) {
      munmap(area, 2 * len);
      return nullptr;
    }
  }
  mirror_ = lo;
  mirror_len_ = len;
  return mirror_;
}

int Region::link_to(const std::string& path) {
  if (!temp_path_.empty()) {
    if (::link(temp_path_.c_str(), path.c_str()) != 0) return -errno;
    ::unlink(temp_path_.c_str());
    temp_path_.clear();
    return 0;
  }
  char src[64];
  snprintf(src, sizeof(src), "/proc/self/fd/%d", fd_);
  return linkat(AT_FDCWD, src, AT_FDCWD, path.c_str(), AT_SYMLINK_FOLLOW) == 0 ? 0 : -errno;
}

}  // namespace bpfemu::emu
