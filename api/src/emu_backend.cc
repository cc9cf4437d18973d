#include "bpfemu/emu_backend.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>

#include "core/cpu.h"
#include "core/log.h"
#include "emu/bpf_syscall.h"
#include "emu/bpffs.h"
#include "emu/fd_ops.h"
#include "emu/kernel.h"
#include "core/profile.h"

namespace bpfemu {
namespace {

// Out of line, so that the common (successful) path of a call keeps no
// register across it and can return at once.
[[gnu::noinline, gnu::cold]] int fail(int r, const char* what) {
  emu::log_failure(what, r);
  errno = -r;
  return r;
}

// libbpf 1.x convention: negative errno returned and stored in errno.
inline int ret_named(int r, const char* what) {
  if (r < 0) [[unlikely]]
    return fail(r, what);
  return r;
}

}  // namespace

// Names the Backend call in BPFEMU_LOG lines.
#define ret(r) ret_named((r), __func__)

std::string EmuBackend::describe() const { return std::string("emulator (profile ") + active_profile().name + ")"; }

int EmuBackend::map_create(uint32_t map_type, const char* map_name, uint32_t key_size, uint32_t value_size,
                           uint32_t max_entries, const MapCreateOpts* opts) {
  emu::MapAttr a;
  a.map_type = map_type;
  a.key_size = key_size;
  a.value_size = value_size;
  a.max_entries = max_entries;
  if (map_name != nullptr) {
    // libbpf copies at most 15 characters and always terminates.
    strncpy(a.map_name, map_name, sizeof(a.map_name) - 1);
  }
  if (opts != nullptr) {
    a.btf_fd = opts->btf_fd;
    a.btf_key_type_id = opts->btf_key_type_id;
    a.btf_value_type_id = opts->btf_value_type_id;
    a.btf_vmlinux_value_type_id = opts->btf_vmlinux_value_type_id;
    a.inner_map_fd = opts->inner_map_fd;
    a.map_flags = opts->map_flags;
    a.map_extra = opts->map_extra;
    a.numa_node = opts->numa_node;
    a.map_ifindex = opts->map_ifindex;
  }
  return ret(emu::sys_map_create(a));
}

int EmuBackend::map_update_elem(int fd, const void* key, const void* value, uint64_t flags) {
  return ret(emu::sys_map_update_elem(fd, key, value, flags));
}
int EmuBackend::map_lookup_elem(int fd, const void* key, void* value) {
  return ret(emu::sys_map_lookup_elem(fd, key, value, 0));
}
int EmuBackend::map_lookup_elem_flags(int fd, const void* key, void* value, uint64_t flags) {
  return ret(emu::sys_map_lookup_elem(fd, key, value, flags));
}
int EmuBackend::map_lookup_and_delete_elem(int fd, const void* key, void* value) {
  return ret(emu::sys_map_lookup_and_delete_elem(fd, key, value, 0));
}
int EmuBackend::map_lookup_and_delete_elem_flags(int fd, const void* key, void* value, uint64_t flags) {
  return ret(emu::sys_map_lookup_and_delete_elem(fd, key, value, flags));
}
int EmuBackend::map_delete_elem(int fd, const void* key) { return ret(emu::sys_map_delete_elem(fd, key, 0)); }
int EmuBackend::map_delete_elem_flags(int fd, const void* key, uint64_t flags) {
  return ret(emu::sys_map_delete_elem(fd, key, flags));
}
int EmuBackend::map_get_next_key(int fd, const void* key, void* next_key) {
  return ret(emu::sys_map_get_next_key(fd, key, next_key));
}
int EmuBackend::map_freeze(int fd) { return ret(emu::sys_map_freeze(fd)); }

int EmuBackend::map_lookup_batch(int fd, void* in_batch, void* out_batch, void* keys, void* values,
                                 uint32_t* count, const BatchOpts* opts) {
  BatchOpts o = opts != nullptr ? *opts : BatchOpts{};
  return ret(emu::sys_map_lookup_batch(fd, in_batch, out_batch, keys, values, count, o.elem_flags, o.flags, false));
}
int EmuBackend::map_lookup_and_delete_batch(int fd, void* in_batch, void* out_batch, void* keys, void* values,
                                            uint32_t* count, const BatchOpts* opts) {
  BatchOpts o = opts != nullptr ? *opts : BatchOpts{};
  return ret(emu::sys_map_lookup_batch(fd, in_batch, out_batch, keys, values, count, o.elem_flags, o.flags, true));
}
int EmuBackend::map_update_batch(int fd, const void* keys, const void* values, uint32_t* count,
                                 const BatchOpts* opts) {
  BatchOpts o = opts != nullptr ? *opts : BatchOpts{};
  return ret(emu::sys_map_update_batch(fd, keys, values, count, o.elem_flags, o.flags));
}
int EmuBackend::map_delete_batch(int fd, const void* keys, uint32_t* count, const BatchOpts* opts) {
  BatchOpts o = opts != nullptr ? *opts : BatchOpts{};
  return ret(emu::sys_map_delete_batch(fd, keys, count, o.elem_flags, o.flags));
}

int EmuBackend::obj_pin(int fd, const char* pathname) { return ret(emu::sys_obj_pin(fd, pathname, 0, 0)); }
int EmuBackend::obj_get(const char* pathname) { return ret(emu::sys_obj_get(pathname, 0, 0)); }
int EmuBackend::obj_get_opts(const char* pathname, const ObjOpts* opts) {
  return ret(emu::sys_obj_get(pathname, opts != nullptr ? opts->file_flags : 0, 0));
}
int EmuBackend::map_get_fd_by_id(uint32_t id) { return ret(emu::sys_map_get_fd_by_id(id, 0)); }
int EmuBackend::map_get_next_id(uint32_t start_id, uint32_t* next_id) {
  return ret(emu::sys_map_get_next_id(start_id, next_id));
}
int EmuBackend::obj_get_info_by_fd(int fd, void* info, uint32_t* info_len) {
  return ret(emu::sys_obj_get_info_by_fd(fd, info, info_len));
}
int EmuBackend::obj_unpin(const char* pathname) { return ret(emu::bpffs_unpin(pathname)); }
void* EmuBackend::map_mmap(int fd, size_t length, int prot, int flags, off_t offset) {
  void* out = nullptr;
  if (int r = emu::sys_mmap(fd, nullptr, length, prot, flags, offset, &out); r < 0) {
    ret(r);
    return MAP_FAILED;
  }
  return out;
}
int EmuBackend::map_munmap(void* addr, size_t length) {
  if (::munmap(addr, length) != 0) return ret(-errno);
  emu::note_munmap(addr, length);
  return 0;
}
long EmuBackend::bpf(int cmd, void* attr, unsigned size) {
  const long r = emu::bpf_syscall(cmd, attr, size);
  if (r < 0) return ret(static_cast<int>(r));
  return r;
}
int EmuBackend::close(int fd) { return ret(emu::sys_close(fd)); }
int EmuBackend::num_possible_cpus() { return possible_cpus(); }

}  // namespace bpfemu
