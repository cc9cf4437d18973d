// The object commands of bpf(2) that work on every kind: pin and get (after
// kernel/bpf/inode.c), get_fd_by_id and get_next_id, and get_info_by_fd.
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <string>

#include "core/log.h"
#include "core/map_ops.h"
#include "core/profile.h"
#include "core/uaccess.h"
#include "emu/bpffs.h"
#include "emu/btf.h"
#include "emu/link.h"
#include "emu/kernel.h"
#include "emu/program.h"

namespace bpfemu::emu {
namespace {

constexpr uint32_t kAccessMask = BPF_F_RDONLY | BPF_F_WRONLY;

// getname(): the caller's path string, at most PATH_MAX bytes with its NUL.
int copy_path(const char* upath, std::string* out) {
  char buf[PATH_MAX];
  const long n = strncpy_from_user(buf, upath, sizeof(buf));
  if (n == -EFAULT) return log_reason(-EFAULT, "pathname points at bad memory");
  if (n == -ENAMETOOLONG) return log_reason(-ENAMETOOLONG, "pathname is longer than PATH_MAX");
  if (n == 0) return log_reason(-ENOENT, "pathname is empty");
  out->assign(buf, static_cast<size_t>(n));
  return 0;
}

// The directory fd a path is relative to: path_fd with BPF_F_PATH_FD, else the cwd.
int dirfd_for(uint32_t file_flags, int path_fd) {
  if (!(file_flags & kObjPathFd)) return AT_FDCWD;
  return path_fd;
}

// Whether the path the caller gave is relative and its dirfd unusable (EBADF,
// ENOTDIR), checked before the walk as the kernel's path_init does.
int check_dirfd(int dirfd, const std::string& path) {
  if (path[0] == '/' || dirfd == AT_FDCWD) return 0;
  struct stat st {};
  if (fstat(dirfd, &st) != 0) return log_reason(-EBADF, "path_fd %d is not an open fd", dirfd);
  if (!S_ISDIR(st.st_mode)) return log_reason(-ENOTDIR, "path_fd %d is not a directory", dirfd);
  return 0;
}

uint8_t access_from_bpf_flags(uint32_t flags) {
  if (flags & BPF_F_RDONLY) return kCanRead;
  if (flags & BPF_F_WRONLY) return kCanWrite;
  return kCanReadWrite;
}

}  // namespace

int sys_obj_pin(int fd, const char* upath, uint32_t file_flags, int path_fd) {
  if (file_flags & ~kObjPathFd) return log_reason(-EINVAL, "file_flags has unknown bits");
  if (!(file_flags & kObjPathFd) && path_fd != 0) return log_reason(-EINVAL, "path_fd without BPF_F_PATH_FD");
  // bpf_fd_probe_obj: maps, programs and links can be pinned; anything else is EINVAL.
  ObjKind kind = ObjKind::kNone;
  uint8_t access = 0;
  int err = -EINVAL;
  Object* obj = object_from_fd_checked(fd, &kind, &access, &err);
  if (obj == nullptr || (kind != ObjKind::kMap && kind != ObjKind::kProg && kind != ObjKind::kLink))
    return log_reason(-EINVAL, "fd %d is not a BPF map, program or link", fd);
  std::string path;
  if (int e = copy_path(upath, &path); e != 0) return e;
  const int dirfd = dirfd_for(file_flags, path_fd);
  if (int e = check_dirfd(dirfd, path); e != 0) return e;
  ResolvedPath where;
  if (int e = resolve_path(dirfd, path.c_str(), false, &where); e != 0)
    return log_reason(e, "cannot resolve %s", path.c_str());
  // user_path_create: the name must be new ("." and ".." name existing
  // directories); a trailing slash asks for a directory, which a pin is not.
  const size_t last_slash = path.find_last_not_of('/');
  const bool trailing_slash = last_slash != std::string::npos && last_slash + 1 < path.size();
  if (where.exists) return log_reason(-EEXIST, "%s exists", path.c_str());
  if (trailing_slash) return log_reason(-ENOENT, "%s ends with a slash", path.c_str());
  if (!where.on_bpffs)
    return log_reason(-EPERM, "%s is not on the bpf filesystem (pins go under /sys/fs/bpf)", path.c_str());
  Store* store = obj->store();
  if (int e = store->pin(kind, obj->id(), where.real); e != 0)
    return log_reason(e, "cannot pin at %s -> %s", path.c_str(), where.real.c_str());
  return 0;
}

int sys_obj_get(const char* upath, uint32_t file_flags, int path_fd) {
  if (file_flags & ~(kAccessMask | kObjPathFd)) return log_reason(-EINVAL, "file_flags has unknown bits");
  if (!(file_flags & kObjPathFd) && path_fd != 0) return log_reason(-EINVAL, "path_fd without BPF_F_PATH_FD");
  if ((file_flags & kAccessMask) == kAccessMask) return log_reason(-EINVAL, "BPF_F_RDONLY with BPF_F_WRONLY");
  std::string path;
  if (int e = copy_path(upath, &path); e != 0) return e;
  const int dirfd = dirfd_for(file_flags, path_fd);
  if (int e = check_dirfd(dirfd, path); e != 0) return e;
  ResolvedPath where;
  if (int e = resolve_path(dirfd, path.c_str(), true, &where); e != 0)
    return log_reason(e, "cannot resolve %s", path.c_str());
  if (!where.exists) {
    return log_reason(-ENOENT, "%s%s: no such pin", path.c_str(),
                      where.on_bpffs ? (" -> " + where.real).c_str() : " (not on the bpf filesystem)");
  }
  int err = 0;
  Store* store = where.on_bpffs ? Store::current(&err) : nullptr;
  ObjKind kind = ObjKind::kNone;
  uint32_t id = 0;
  if (store == nullptr || store->identify_path(where.real, &kind, &id) != 0)
    return log_reason(-EACCES, "%s is not a pinned BPF object", path.c_str());
  const uint8_t access = access_from_bpf_flags(file_flags);
  if (kind == ObjKind::kLink && access != kCanReadWrite)
    return log_reason(-EINVAL, "links can only be opened read-write");
  const int fd = open_object(*store, kind, id, kind == ObjKind::kMap ? access : kCanReadWrite);
  if (fd == -ENOENT) return log_reason(-ENOENT, "%s: the object is gone", path.c_str());
  return fd;
}

int sys_get_fd_by_id(ObjKind kind, uint32_t id, uint32_t open_flags) {
  uint8_t access = kCanReadWrite;
  if (kind == ObjKind::kMap) {
    if (open_flags & ~kAccessMask) return log_reason(-EINVAL, "open_flags has unknown bits");
    if ((open_flags & kAccessMask) == kAccessMask) return log_reason(-EINVAL, "BPF_F_RDONLY with BPF_F_WRONLY");
    access = access_from_bpf_flags(open_flags);
  } else if (open_flags != 0) {
    return log_reason(-EINVAL, "open_flags must be 0 for a %s", obj_kind_name(kind));
  }
  int err = 0;
  Store* store = Store::current(&err);
  if (store == nullptr) return log_reason(err, "the emulated bpffs root cannot be used");
  if (id == 0 || id >= INT_MAX) return log_reason(-ENOENT, "no %s with id %u", obj_kind_name(kind), id);
  const int fd = open_object(*store, kind, id, access);
  if (fd == -ENOENT) return log_reason(-ENOENT, "no %s with id %u", obj_kind_name(kind), id);
  return fd;
}

int sys_get_next_id(ObjKind kind, uint32_t start_id, uint32_t* next_id) {
  if (start_id >= INT_MAX) return log_reason(-EINVAL, "start_id %u is not below INT_MAX", start_id);
  int err = 0;
  Store* store = Store::current(&err);
  if (store == nullptr) return log_reason(err, "the emulated bpffs root cannot be used");
  uint32_t next = 0;
  if (int r = store->next_id(kind, start_id, &next); r != 0)
    return log_reason(r, "no %s id above %u", obj_kind_name(kind), start_id);
  *next_id = next;
  return 0;
}

namespace {

int map_get_info(Map& m, void* uinfo, uint32_t* info_len) {
  const KernelProfile& profile = m.profile();
  const uint32_t kernel_size = profile.map_info_size;
  uint32_t len = *info_len;
  if (int e = check_uarg_tail_zero(uinfo, kernel_size, &len, "bpf_map_info"); e != 0) return e;
  // The kernel starts from the caller's bytes: fields it does not set for this
  // map (ifindex, netns, BTF ids without BTF, hash) come back as given. Older
  // kernels (6.1) start from zeros (profile map_info_echoes_input).
  MapInfo out{};
  if (profile.map_info_echoes_input && copy_from_user(&out, uinfo, std::min<size_t>(len, sizeof(out))) != 0)
    return log_reason(-EFAULT, "info points at bad memory");
  const MapAttr& a = m.attr();
  out.type = a.map_type;
  out.id = m.id();
  out.key_size = a.key_size;
  out.value_size = a.value_size;
  out.max_entries = a.max_entries;
  out.map_flags = a.map_flags;
  memcpy(out.name, a.map_name, sizeof(out.name));
  out.map_extra = a.map_extra;
  out.btf_vmlinux_value_type_id = a.btf_vmlinux_value_type_id;
  if (a.btf_fd != 0) {  // the header keeps the BTF object's id there
    out.btf_id = a.btf_fd;
    out.btf_key_type_id = a.btf_key_type_id;
    out.btf_value_type_id = a.btf_value_type_id;
  }
  if (kernel_size > offsetof(MapInfo, hash) && (out.hash != 0 || out.hash_size != 0)) {
    // Only frozen ARRAY maps can be hashed (SHA-256 of the values); not emulated.
    return log_reason(-EINVAL, "the map hash (bpf_map_info.hash) is not emulated yet");
  }
  if (copy_to_user(uinfo, &out, std::min<size_t>(len, sizeof(out))) != 0)
    return log_reason(-EFAULT, "info points at bad memory");
  *info_len = len;
  return 0;
}

}  // namespace

int sys_obj_get_info_by_fd(int fd, void* uinfo, uint32_t* info_len) {
  ObjKind kind = ObjKind::kNone;
  uint8_t access = 0;
  int err = -EINVAL;
  Object* obj = object_from_fd_checked(fd, &kind, &access, &err);
  if (obj == nullptr) {
    // fdget() failing is EBADFD here, not EBADF.
    return log_reason(err == -EBADF ? -EBADFD : err, "fd %d is not a BPF object", fd);
  }
  switch (kind) {
    case ObjKind::kMap:
      return map_get_info(*static_cast<Map*>(obj), uinfo, info_len);
    case ObjKind::kBtf:
      return btf_get_info(*static_cast<Btf*>(obj), uinfo, info_len);
    case ObjKind::kLink:
      return link_get_info(*static_cast<Link*>(obj), uinfo, info_len);
    case ObjKind::kProg:
      return prog_get_info(*static_cast<Program*>(obj), uinfo, info_len);
    default:
      return log_reason(-EINVAL, "info of a %s is not emulated yet", obj_kind_name(kind));
  }
}

}  // namespace bpfemu::emu
