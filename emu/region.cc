#include "emu/region.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
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
    linkable_ = std::exchange(other.linkable_, false);
  }
  return *this;
}

void Region::reset() {
  if (base_ != nullptr) munmap(base_, size_);
  if (fd_ >= 0) ::close(fd_);
  base_ = nullptr;
  size_ = 0;
  fd_ = -1;
}

static int map_file(int fd, size_t size, uint8_t** base) {
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
  if (p == MAP_FAILED) return -errno;
  *base = static_cast<uint8_t*>(p);
  return 0;
}

int Region::create(size_t size, const std::string& dir, Region& out) {
  out.reset();
  int fd = -1;
  bool linkable = false;
  if (!dir.empty()) {
    fd = open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    linkable = fd >= 0;
  }
  if (fd < 0) fd = memfd_create("bpfemu-map", MFD_CLOEXEC);
  if (fd < 0) return -errno;
  if (ftruncate(fd, static_cast<off_t>(size)) != 0) {
    int err = errno == EFBIG || errno == EINVAL ? ENOMEM : errno;
    ::close(fd);
    return -err;
  }
  uint8_t* base = nullptr;
  if (int err = map_file(fd, size, &base); err != 0) {
    ::close(fd);
    return err == -EINVAL ? -ENOMEM : err;
  }
  out.base_ = base;
  out.size_ = size;
  out.fd_ = fd;
  out.linkable_ = linkable;
  return 0;
}

int Region::attach(int fd, Region& out) {
  out.reset();
  struct stat st {};
  if (fstat(fd, &st) != 0) return -errno;
  // Reopen read-write: the caller's handle may be a read-only one.
  char path[64];
  snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
  int own = open(path, O_RDWR | O_CLOEXEC);
  if (own < 0) return -errno;
  uint8_t* base = nullptr;
  if (int err = map_file(own, static_cast<size_t>(st.st_size), &base); err != 0) {
    ::close(own);
    return err;
  }
  out.base_ = base;
  out.size_ = static_cast<size_t>(st.st_size);
  out.fd_ = own;
  out.linkable_ = true;
  return 0;
}

}  // namespace bpfemu::emu
