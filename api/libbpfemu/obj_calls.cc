// libbpf's object calls (<bpf/bpf.h>): pin/get, ids, info, BTF load, CPUs.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "api/libbpfemu/dropin.h"
#include "api/libbpfemu/paths.h"
#include "emu/cpu.h"
#include "emu/kernel.h"

using bpfemu::dropin::EmuCall;
using bpfemu::dropin::opts_valid;
namespace emu = bpfemu::emu;

namespace {

// BPF_F_PATH_FD (6.5+): pathname is relative to path_fd instead of the cwd.
constexpr uint32_t kPathFd = 1U << 14;

// bpf_obj_pin_opts and bpf_obj_get_opts as libbpf 1.3+ lays them out (newer than
// the 1.1 headers we build against): path_fd was added to both, and get_opts
// kept its size because path_fd filled what was padding.
struct PathOpts {
  size_t sz;
  __u32 file_flags;
  int path_fd;
};
static_assert(sizeof(PathOpts) == sizeof(struct bpf_obj_get_opts));

// Resolves the path the caller gave (relative to the cwd, or to path_fd with
// BPF_F_PATH_FD) into an absolute one the emulated bpffs can translate.
int resolve(const char* path, uint32_t file_flags, int path_fd, std::string* out) {
  if (!(file_flags & kPathFd) && path_fd != 0) return -EINVAL;
  if (path == nullptr) return -EFAULT;
  if (*path == '\0') return -ENOENT;  // the kernel's getname() refuses empty names
  return bpfemu::dropin::absolute_path((file_flags & kPathFd) ? path_fd : AT_FDCWD, path, out);
}

int obj_pin(int fd, const char* path, uint32_t file_flags, int path_fd) {
  EmuCall call;
  if (file_flags & ~kPathFd) return call.done(-EINVAL);
  std::string abs;
  if (int err = resolve(path, file_flags, path_fd, &abs); err != 0) return call.done(err);
  return call.done(emu::sys_obj_pin(fd, abs.c_str(), 0));
}

int obj_get(const char* path, uint32_t file_flags, int path_fd) {
  EmuCall call;
  std::string abs;
  if (int err = resolve(path, file_flags, path_fd, &abs); err != 0) return call.done(err);
  return call.done(emu::sys_obj_get(abs.c_str(), file_flags & ~kPathFd));
}

// libbpf's ensure_good_fd(): an fd the caller gets is never 0, 1 or 2.
int good_fd(int fd) {
  if (fd < 0 || fd >= 3) return fd;
  int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  int err = errno;
  close(fd);
  return moved < 0 ? -err : moved;
}

// The BTF header fields the kernel checks before anything else.
constexpr uint16_t kBtfMagic = 0xeB9F;
constexpr size_t kBtfHeaderSize = 24;
constexpr size_t kBtfMaxSize = 16 * 1024 * 1024;

}  // namespace

extern "C" {

BPFEMU_EXPORT int bpf_obj_pin(int fd, const char* pathname) { return obj_pin(fd, pathname, 0, 0); }

// libbpf 1.3+. Declared here because the libbpf 1.1 header predates it.
BPFEMU_EXPORT int bpf_obj_pin_opts(int fd, const char* pathname, const struct bpf_obj_pin_opts* raw_opts) {
  const auto* opts = reinterpret_cast<const PathOpts*>(raw_opts);
  if (!opts_valid(opts)) {
    EmuCall call;
    return call.done(-EINVAL);
  }
  return obj_pin(fd, pathname, BPFEMU_OPT(opts, PathOpts, file_flags), BPFEMU_OPT(opts, PathOpts, path_fd));
}

BPFEMU_EXPORT int bpf_obj_get(const char* pathname) { return obj_get(pathname, 0, 0); }

BPFEMU_EXPORT int bpf_obj_get_opts(const char* pathname, const struct bpf_obj_get_opts* raw_opts) {
  const auto* opts = reinterpret_cast<const PathOpts*>(raw_opts);
  if (!opts_valid(opts)) {
    EmuCall call;
    return call.done(-EINVAL);
  }
  return obj_get(pathname, BPFEMU_OPT(opts, PathOpts, file_flags), BPFEMU_OPT(opts, PathOpts, path_fd));
}

BPFEMU_EXPORT int bpf_map_get_fd_by_id(__u32 id) {
  EmuCall call;
  return call.done(emu::sys_map_get_fd_by_id(id, 0));
}

BPFEMU_EXPORT int bpf_map_get_fd_by_id_opts(__u32 id, const struct bpf_get_fd_by_id_opts* opts) {
  EmuCall call;
  if (!opts_valid(opts)) return call.done(-EINVAL);
  return call.done(emu::sys_map_get_fd_by_id(id, BPFEMU_OPT(opts, bpf_get_fd_by_id_opts, open_flags)));
}

BPFEMU_EXPORT int bpf_map_get_next_id(__u32 start_id, __u32* next_id) {
  EmuCall call;
  return call.done(emu::sys_map_get_next_id(start_id, next_id));
}

// *info_len is written back only on success (libbpf copies attr.info.info_len
// out only then).
BPFEMU_EXPORT int bpf_obj_get_info_by_fd(int bpf_fd, void* info, __u32* info_len) {
  EmuCall call;
  if (info_len == nullptr) return call.done(-EFAULT);
  uint32_t len = *info_len;
  int r = emu::sys_obj_get_info_by_fd(bpf_fd, info, &len);
  if (r == 0) *info_len = len;
  return call.done(r);
}

// libbpf 1.2+: the typed form of the above.
BPFEMU_EXPORT int bpf_map_get_info_by_fd(int map_fd, struct bpf_map_info* info, __u32* info_len) {
  return bpf_obj_get_info_by_fd(map_fd, info, info_len);
}

// The emulator has no BTF yet. Programs often load BTF before creating maps, so
// this accepts anything with a BTF header and returns a real fd (a memfd holding
// the bytes) that can be passed around and closed. Maps that name BTF type ids
// are still refused by the emulator (EINVAL).
BPFEMU_EXPORT int bpf_btf_load(const void* btf_data, size_t btf_size, const struct bpf_btf_load_opts* opts) {
  EmuCall call;
  if (!opts_valid(opts)) return call.done(-EINVAL);
  char* log_buf = BPFEMU_OPT(opts, bpf_btf_load_opts, log_buf);
  const uint32_t log_size = BPFEMU_OPT(opts, bpf_btf_load_opts, log_size);
  const uint32_t log_level = BPFEMU_OPT(opts, bpf_btf_load_opts, log_level);
  if ((log_buf == nullptr) != (log_size == 0) || (log_level != 0 && log_buf == nullptr)) return call.done(-EINVAL);
  if (btf_size > kBtfMaxSize) return call.done(-E2BIG);
  if (btf_data == nullptr) return call.done(-EFAULT);
  uint16_t magic = 0;
  if (btf_size < kBtfHeaderSize || (memcpy(&magic, btf_data, sizeof(magic)), magic != kBtfMagic))
    return call.done(-EINVAL);
  int fd = memfd_create("bpfemu-btf", MFD_CLOEXEC);
  if (fd < 0) return call.done(-errno);
  const auto* p = static_cast<const char*>(btf_data);
  for (size_t done = 0; done < btf_size;) {
    ssize_t n = write(fd, p + done, btf_size - done);
    if (n < 0) {
      int err = errno;
      close(fd);
      return call.done(-err);
    }
    done += static_cast<size_t>(n);
  }
  if (log_level != 0 && log_size > 0) log_buf[0] = '\0';  // a clean load logs nothing
  return call.done(good_fd(fd));
}

// Nothing to raise: emulated maps are ordinary shared memory, not memlock.
BPFEMU_EXPORT int libbpf_set_memlock_rlim(size_t) { return 0; }

BPFEMU_EXPORT int libbpf_num_possible_cpus(void) { return bpfemu::possible_cpus(); }

}  // extern "C"
