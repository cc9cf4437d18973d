// A map's storage: one shared, file-backed memory region.
//
// Invariants: the region is zero-filled at creation, never grows or moves within a
// process, and holds no raw pointers (only offsets), so the same file can be mapped
// by another process (a pinned map opened with bpf_obj_get) or survive fork. The
// backing file is an unnamed O_TMPFILE inside the emulated bpffs (so a pin is just
// a hard link to it), falling back to a memfd when the filesystem lacks O_TMPFILE.
// Pages are allocated lazily by the OS, so a large virtual size costs nothing
// until touched.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace bpfemu::emu {

class Region {
 public:
  Region() = default;
  ~Region();
  Region(Region&& other) noexcept;
  Region& operator=(Region&& other) noexcept;
  Region(const Region&) = delete;
  Region& operator=(const Region&) = delete;

  // Creates a new zero-filled region of `size` bytes in directory `dir` (O_TMPFILE)
  // or as a memfd. Returns 0 or -errno.
  static int create(size_t size, const std::string& dir, Region& out);
  // Maps the whole file behind `fd` (which stays owned by the caller; the region
  // keeps its own duplicate). Returns 0 or -errno.
  static int attach(int fd, Region& out);

  uint8_t* base() const { return base_; }
  size_t size() const { return size_; }
  int fd() const { return fd_; }
  bool linkable() const { return linkable_; }
  template <class T>
  T* at(uint64_t offset) const {
    return reinterpret_cast<T*>(base_ + offset);
  }

 private:
  void reset();
  uint8_t* base_ = nullptr;
  size_t size_ = 0;
  int fd_ = -1;
  bool linkable_ = false;
};

}  // namespace bpfemu::emu
