// libbpf's object calls (<bpf/bpf.h>): pin/get, ids, info, BTF load, CPUs.
//
// Each builds the bpf_attr libbpf 1.x builds and hands it to the emulated
// bpf(2), so these answer exactly as libbpf's own wrappers do over the
// emulated syscall (and a program linked with -lbpfemu alone needs no libbpf).
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstring>

#include "api/libbpfemu/dropin.h"
#include "core/cpu.h"
#include "core/uaccess.h"
#include "emu/bpf_syscall.h"
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

// libbpf's ensure_good_fd(): an fd the caller gets is never 0, 1 or 2.
int good_fd(int fd) {
  if (fd < 0 || fd >= 3) return fd;
  int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  int err = errno;
  close(fd);
  return moved < 0 ? -err : moved;
}

int sys(int cmd, emu::BpfAttr& attr, size_t size = sizeof(emu::BpfAttr)) {
  return static_cast<int>(emu::bpf_syscall(cmd, &attr, static_cast<unsigned>(size)));
}

int obj_pin(int fd, const char* path, uint32_t file_flags, int path_fd) {
  EmuCall call("bpf_obj_pin");
  emu::BpfAttr a{};
  a.obj.pathname = reinterpret_cast<uintptr_t>(path);
  a.obj.bpf_fd = static_cast<uint32_t>(fd);
  a.obj.file_flags = file_flags;
  a.obj.path_fd = path_fd;
  return call.done(sys(BPF_OBJ_PIN, a));
}

int obj_get(const char* path, uint32_t file_flags, int path_fd) {
  EmuCall call("bpf_obj_get");
  emu::BpfAttr a{};
  a.obj.pathname = reinterpret_cast<uintptr_t>(path);
  a.obj.file_flags = file_flags;
  a.obj.path_fd = path_fd;
  return call.done(good_fd(sys(BPF_OBJ_GET, a)));
}

int get_fd_by_id(int cmd, const char* what, __u32 id, __u32 open_flags) {
  EmuCall call(what);
  emu::BpfAttr a{};
  a.id.start_id = id;
  a.id.open_flags = open_flags;
  return call.done(good_fd(sys(cmd, a)));
}

int get_next_id(int cmd, const char* what, __u32 start_id, __u32* next_id) {
  EmuCall call(what);
  emu::BpfAttr a{};
  a.id.start_id = start_id;
  int r = sys(cmd, a);
  // libbpf copies next_id out on success only.
  if (r == 0) {
    if (next_id == nullptr) return call.done(-EFAULT);
    *next_id = a.id.next_id;
  }
  return call.done(r);
}

}  // namespace

extern "C" {

BPFEMU_EXPORT int bpf_obj_pin(int fd, const char* pathname) { return obj_pin(fd, pathname, 0, 0); }

// libbpf 1.3+. Declared here because the libbpf 1.1 header predates it.
BPFEMU_EXPORT int bpf_obj_pin_opts(int fd, const char* pathname, const struct bpf_obj_pin_opts* raw_opts) {
  const auto* opts = reinterpret_cast<const PathOpts*>(raw_opts);
  if (!opts_valid(opts)) {
    EmuCall call("bpf_obj_pin_opts");
    return call.done(-EINVAL);
  }
  return obj_pin(fd, pathname, BPFEMU_OPT(opts, PathOpts, file_flags), BPFEMU_OPT(opts, PathOpts, path_fd));
}

BPFEMU_EXPORT int bpf_obj_get(const char* pathname) { return obj_get(pathname, 0, 0); }

BPFEMU_EXPORT int bpf_obj_get_opts(const char* pathname, const struct bpf_obj_get_opts* raw_opts) {
  const auto* opts = reinterpret_cast<const PathOpts*>(raw_opts);
  if (!opts_valid(opts)) {
    EmuCall call("bpf_obj_get_opts");
    return call.done(-EINVAL);
  }
  return obj_get(pathname, BPFEMU_OPT(opts, PathOpts, file_flags), BPFEMU_OPT(opts, PathOpts, path_fd));
}

BPFEMU_EXPORT int bpf_map_get_fd_by_id(__u32 id) {
  return get_fd_by_id(BPF_MAP_GET_FD_BY_ID, "bpf_map_get_fd_by_id", id, 0);
}

BPFEMU_EXPORT int bpf_map_get_fd_by_id_opts(__u32 id, const struct bpf_get_fd_by_id_opts* opts) {
  if (!opts_valid(opts)) {
    EmuCall call("bpf_map_get_fd_by_id_opts");
    return call.done(-EINVAL);
  }
  return get_fd_by_id(BPF_MAP_GET_FD_BY_ID, "bpf_map_get_fd_by_id_opts", id,
                      BPFEMU_OPT(opts, bpf_get_fd_by_id_opts, open_flags));
}

BPFEMU_EXPORT int bpf_prog_get_fd_by_id(__u32 id) {
  return get_fd_by_id(BPF_PROG_GET_FD_BY_ID, "bpf_prog_get_fd_by_id", id, 0);
}
BPFEMU_EXPORT int bpf_btf_get_fd_by_id(__u32 id) {
  return get_fd_by_id(BPF_BTF_GET_FD_BY_ID, "bpf_btf_get_fd_by_id", id, 0);
}
BPFEMU_EXPORT int bpf_link_get_fd_by_id(__u32 id) {
  return get_fd_by_id(BPF_LINK_GET_FD_BY_ID, "bpf_link_get_fd_by_id", id, 0);
}

BPFEMU_EXPORT int bpf_map_get_next_id(__u32 start_id, __u32* next_id) {
  return get_next_id(BPF_MAP_GET_NEXT_ID, "bpf_map_get_next_id", start_id, next_id);
}
BPFEMU_EXPORT int bpf_prog_get_next_id(__u32 start_id, __u32* next_id) {
  return get_next_id(BPF_PROG_GET_NEXT_ID, "bpf_prog_get_next_id", start_id, next_id);
}
BPFEMU_EXPORT int bpf_btf_get_next_id(__u32 start_id, __u32* next_id) {
  return get_next_id(BPF_BTF_GET_NEXT_ID, "bpf_btf_get_next_id", start_id, next_id);
}
BPFEMU_EXPORT int bpf_link_get_next_id(__u32 start_id, __u32* next_id) {
  return get_next_id(BPF_LINK_GET_NEXT_ID, "bpf_link_get_next_id", start_id, next_id);
}

// *info_len is written back only on success (libbpf copies attr.info.info_len
// out only then).
BPFEMU_EXPORT int bpf_obj_get_info_by_fd(int bpf_fd, void* info, __u32* info_len) {
  EmuCall call("bpf_obj_get_info_by_fd");
  uint32_t len = 0;
  if (emu::copy_from_user(&len, info_len, sizeof(len)) != 0) return call.done(-EFAULT);
  emu::BpfAttr a{};
  a.info.bpf_fd = static_cast<uint32_t>(bpf_fd);
  a.info.info_len = len;
  a.info.info = reinterpret_cast<uintptr_t>(info);
  int r = sys(BPF_OBJ_GET_INFO_BY_FD, a);
  if (r == 0 && emu::copy_to_user(info_len, &a.info.info_len, sizeof(len)) != 0) r = -EFAULT;
  return call.done(r);
}

// libbpf 1.2+: the typed forms of the above.
BPFEMU_EXPORT int bpf_map_get_info_by_fd(int map_fd, struct bpf_map_info* info, __u32* info_len) {
  return bpf_obj_get_info_by_fd(map_fd, info, info_len);
}
BPFEMU_EXPORT int bpf_btf_get_info_by_fd(int btf_fd, struct bpf_btf_info* info, __u32* info_len) {
  return bpf_obj_get_info_by_fd(btf_fd, info, info_len);
}

BPFEMU_EXPORT int bpf_btf_load(const void* btf_data, size_t btf_size, const struct bpf_btf_load_opts* opts) {
  EmuCall call("bpf_btf_load");
  if (!opts_valid(opts)) return call.done(-EINVAL);
  emu::BpfAttr a{};
  a.btf.btf = reinterpret_cast<uintptr_t>(btf_data);
  a.btf.btf_size = static_cast<uint32_t>(btf_size);
  a.btf.btf_log_buf = reinterpret_cast<uintptr_t>(BPFEMU_OPT(opts, bpf_btf_load_opts, log_buf));
  a.btf.btf_log_size = BPFEMU_OPT(opts, bpf_btf_load_opts, log_size);
  a.btf.btf_log_level = BPFEMU_OPT(opts, bpf_btf_load_opts, log_level);
  // libbpf 1.1 sends the attr up to btf_log_level.
  const size_t size = offsetof(emu::BpfAttr, btf.btf_log_level) + sizeof(uint32_t);
  return call.done(good_fd(sys(BPF_BTF_LOAD, a, size)));
}

// Nothing to raise: emulated maps are ordinary shared memory, not memlock.
BPFEMU_EXPORT int libbpf_set_memlock_rlim(size_t) { return 0; }

BPFEMU_EXPORT int libbpf_num_possible_cpus(void) { return bpfemu::possible_cpus(); }

}  // extern "C"
