// An object's storage: one shared, file-backed memory region.
//
// Invariants: the region is zero-filled at creation, never grows or moves within a
// process, and holds no raw pointers (only offsets), so the same file can be mapped
// by another process (an object opened by id or through a pin) or survive fork.
// The backing file is made unnamed (O_TMPFILE) in the store's directory and gets
// its name when the object is published (emu/store.h). Pages are allocated lazily
// by the OS, so a large virtual size costs nothing until touched.
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

  // Creates a new zero-filled region of `size` bytes, a file in directory `dir`
  // that has no name yet (link_to gives it one). Returns 0 or -errno.
  static int create(size_t size, const std::string& dir, Region& out);
  // Maps the whole file at `path` read-write. Returns 0 or -errno.
  static int attach(const std::string& path, Region& out);

  // Gives a region made by create() the name `path`: 0, or -errno (-EEXIST when taken).
  int link_to(const std::string& path);

  // Maps the file's bytes [offset, offset + len) twice, back to back, so that
  // a ring in them reads and writes contiguously across its end (the kernel
  // maps a ring buffer's data pages twice for the same reason). offset and len
  // must be page multiples. The mapping lives as long as the region; a second
  // call returns the first one's. nullptr when the address space is short.
  uint8_t* mirrored(uint64_t offset, uint64_t len);

  uint8_t* base() const { return base_; }
  size_t size() const { return size_; }
  int fd() const { return fd_; }
  template <class T>
  T* at(uint64_t offset) const {
    return reinterpret_cast<T*>(base_ + offset);
  }

 private:
  void reset();
  uint8_t* base_ = nullptr;
  size_t size_ = 0;
  int fd_ = -1;
  uint8_t* mirror_ = nullptr;  // mirrored(): 2 * mirror_len_ bytes
  uint64_t mirror_len_ = 0;
  std::string temp_path_;  // when the directory had no O_TMPFILE: the file's temporary name
};

}  // namespace bpfemu::emu
