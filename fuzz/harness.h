// What the raw-syscall fuzz targets (bpfemu-fuzz-attr, bpfemu-fuzz-prog)
// share: the private bpffs, the emulated bpf(2) entry, the errno set the
// kernel can answer, fd counting and canary maps the input cannot reach.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace bpfemu::fuzz {

// This process's private bpffs (BPFEMU_BPFFS), made once and removed at exit.
const char* private_bpffs();

// bpf(2) as the emulator answers it: >= 0, or -errno.
long sys_bpf(int cmd, void* attr, unsigned size);

// Whether bpf(2) may fail with e. The set is the kernel's answers that the
// emulator can give (grep -E '\-E[A-Z]+' emu core maptypes), see harness.cc.
bool kernel_errno(int e);
// Aborts with a report unless r >= 0 or -r is in that set.
void check_result(const char* what, long r);

// Open fds of the process (/proc/self/fd), the directory's own fd excluded.
int open_fd_count();
// Lists them on stderr (for a leak report).
void print_open_fds();

[[noreturn]] void fail(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

// Unpins everything under the private bpffs but the emulator's own state and
// the names in `keep`.
void unpin_all(const std::vector<std::string>& keep);

// A map with known contents, pinned and with no fd open while the input runs,
// so that only a bug can change it; check() compares it byte for byte.
class CanaryMap {
 public:
  CanaryMap(uint32_t type, uint32_t value_size, uint32_t max_entries, const char* pin_name);
  void check() const;
  uint32_t id() const { return id_; }
  const std::string& pin_name() const { return pin_name_; }
  // A fresh fd of the map, for a program that should hold it (caller closes).
  int open() const;

 private:
  std::vector<uint8_t> value_of(uint32_t key) const;
  uint32_t type_, value_size_, max_entries_;
  std::string pin_name_;
  uint32_t id_ = 0;
};

// Memory for the buffers an input points the emulator at: one mapping with a
// PROT_NONE page after it. The kernel writes as many bytes as the object says
// (a value_size, a batch count), whatever the buffer's real size, so a write
// past a buffer lands in the arena (or faults into EFAULT at the guard), never
// in the process's heap.
class Arena {
 public:
  explicit Arena(size_t size);
  // n zeroed bytes, 8-aligned; the guard page's address once the arena is full.
  uint8_t* alloc(size_t n);
  // Forgets every buffer and zeroes the arena, so the next input starts alike.
  void reset();
  uint8_t* guard() const { return base_ + size_; }

 private:
  uint8_t* base_;
  size_t size_;
  size_t used_ = 0;
};

// Once an input's fds are closed and its pins removed, nothing it made may
// live on: fails if any map (but the canaries), program, BTF or link is left.
void check_no_objects_left(const std::vector<uint32_t>& canary_map_ids);

// The object id behind fd (bpf_*_info.id of a map, program or link), 0 if none.
uint32_t object_id(int fd);

}  // namespace bpfemu::fuzz
