// The emulated kernel's bpf(2) commands: what kernel/bpf/syscall.c does for
// each, in the kernel's order of checks, dispatching to an object's ops. Every
// call returns a value >= 0 or -errno (it does not set errno; the API layers do).
//
// Pointer arguments named u* are the caller's memory, read and written only
// through core/uaccess.h (a bad pointer is -EFAULT); the rest are the
// emulator's (a copied bpf_attr's fields).
#pragma once

#include <cstdint>

#include "bpfemu/uapi.h"
#include "core/map.h"
#include "emu/fd_table.h"
#include "emu/objects.h"

namespace bpfemu::emu {

// ---- maps ----
int sys_map_create(const MapAttr& attr);
// Lookup and update: the common case (a handle this process knows, with the
// access the call needs, plain flags, non-null buffers) goes straight to the
// map's fast path (Map::fast); everything else takes the general path, which
// makes every check in the kernel's order.
inline int sys_map_lookup_elem(int fd, const void* ukey, void* uvalue, uint64_t flags);
inline int sys_map_update_elem(int fd, const void* ukey, const void* uvalue, uint64_t flags);
int sys_map_lookup_elem_general(int fd, const void* ukey, void* uvalue, uint64_t flags);
int sys_map_update_elem_general(int fd, const void* ukey, const void* uvalue, uint64_t flags);
int sys_map_delete_elem(int fd, const void* ukey, uint64_t flags);
int sys_map_get_next_key(int fd, const void* ukey, void* unext_key);
int sys_map_lookup_and_delete_elem(int fd, const void* ukey, void* uvalue, uint64_t flags);
int sys_map_freeze(int fd);
// Batches; *count (emulator memory) is the capacity in and what was done out,
// as the kernel leaves attr.batch.count.
int sys_map_lookup_batch(int fd, void* uin_batch, void* uout_batch, void* ukeys, void* uvalues, uint32_t* count,
                         uint64_t elem_flags, uint64_t flags, bool do_delete);
int sys_map_update_batch(int fd, const void* ukeys, const void* uvalues, uint32_t* count, uint64_t elem_flags,
                         uint64_t flags);
int sys_map_delete_batch(int fd, const void* ukeys, uint32_t* count, uint64_t elem_flags, uint64_t flags);

// ---- objects ----
// BPF_F_PATH_FD (6.5+): pathname is relative to path_fd instead of the cwd.
inline constexpr uint32_t kObjPathFd = 1U << 14;
// BPF_OBJ_PIN / BPF_OBJ_GET; upath is the caller's string.
int sys_obj_pin(int fd, const char* upath, uint32_t file_flags, int path_fd);
int sys_obj_get(const char* upath, uint32_t file_flags, int path_fd);
// BPF_{MAP,PROG,BTF,LINK}_GET_FD_BY_ID and _GET_NEXT_ID.
int sys_get_fd_by_id(ObjKind kind, uint32_t id, uint32_t open_flags);
int sys_get_next_id(ObjKind kind, uint32_t start_id, uint32_t* next_id);
// BPF_OBJ_GET_INFO_BY_FD: uinfo is the caller's buffer; *info_len (emulator
// memory) is the buffer's length in and the length the kernel reports out.
int sys_obj_get_info_by_fd(int fd, void* uinfo, uint32_t* info_len);

// Compatibility names.
inline int sys_map_get_fd_by_id(uint32_t id, uint32_t open_flags) {
  return sys_get_fd_by_id(ObjKind::kMap, id, open_flags);
}
inline int sys_map_get_next_id(uint32_t start_id, uint32_t* next_id) {
  return sys_get_next_id(ObjKind::kMap, start_id, next_id);
}
// Number of maps this process has a view of (tests check lifetimes with it).
inline int live_map_count() { return live_view_count(ObjKind::kMap); }
inline bool is_map_fd(int fd) {
  uint8_t access = 0;
  return fd_table::known(fd, &access) != nullptr;
}


// The fast path for ops that take emulator pointers: copies through small
// buffers (out of line, so the path above needs no stack frame).
int sys_map_lookup_elem_buffered(int fd, Map& m, const void* ukey, void* uvalue);
int sys_map_update_elem_buffered(int fd, Map& m, const void* ukey, const void* uvalue, uint64_t flags);

[[gnu::always_inline]] inline int sys_map_lookup_elem(int fd, const void* ukey, void* uvalue, uint64_t flags) {
  uint8_t access = 0;
  Map* m = fd_table::known(fd, &access);
  if (m != nullptr && (access & kCanRead) != 0 && flags == 0 && ukey != nullptr && uvalue != nullptr) [[likely]] {
    const FastOps& f = m->fast();
    if (f.user & FastOps::kLookupTakesUser) [[likely]]
      return f.lookup(*m, ukey, uvalue);
    return sys_map_lookup_elem_buffered(fd, *m, ukey, uvalue);
  }
  return sys_map_lookup_elem_general(fd, ukey, uvalue, flags);
}

[[gnu::always_inline]] inline int sys_map_update_elem(int fd, const void* ukey, const void* uvalue, uint64_t flags) {
  uint8_t access = 0;
  Map* m = fd_table::known(fd, &access);
  if (m != nullptr && (access & kCanWrite) != 0 && (flags & BPF_F_LOCK) == 0 && ukey != nullptr &&
      uvalue != nullptr && !m->frozen()) [[likely]] {
    const FastOps& f = m->fast();
    if (f.user & FastOps::kUpdateTakesUser) [[likely]]
      return f.update(*m, ukey, uvalue, flags);
    return sys_map_update_elem_buffered(fd, *m, ukey, uvalue, flags);
  }
  return sys_map_update_elem_general(fd, ukey, uvalue, flags);
}

}  // namespace bpfemu::emu
