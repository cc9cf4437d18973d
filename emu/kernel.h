// The emulated kernel's map commands: what kernel/bpf/syscall.c does for each
// bpf(2) map command, in the kernel's order of checks, dispatching to the map's
// ops table. Every call returns a value >= 0 or -errno (it does not set errno;
// the API layers do).
//
// Handles are real file descriptors on the map's region file, so close/dup/fork
// work; this process's fd table remembers which fds are map handles and what
// access (read/write) each grants, like the kernel's per-file f_mode.
#pragma once

#include <cstdint>

#include "bpfemu/uapi.h"
#include "emu/fd_table.h"
#include "emu/map.h"

namespace bpfemu::emu {

// Resolves a handle to its map for program-side code and tools; nullptr (with
// *err = -EBADF or -EINVAL) when fd is not an emulated map handle.
Map* map_from_fd(int fd, uint8_t* access = nullptr, int* err = nullptr);

int sys_map_create(const MapAttr& attr);
// Lookup and update: the common case (a handle this process knows, with the
// access the call needs, plain flags, non-null buffers) goes straight to the
// map's fast path (Map::fast); everything else takes the general path, which
// makes every check in the kernel's order.
inline int sys_map_lookup_elem(int fd, const void* key, void* value, uint64_t flags);
inline int sys_map_update_elem(int fd, const void* key, const void* value, uint64_t flags);
int sys_map_lookup_elem_general(int fd, const void* key, void* value, uint64_t flags);
int sys_map_update_elem_general(int fd, const void* key, const void* value, uint64_t flags);
int sys_map_delete_elem(int fd, const void* key, uint64_t flags);
int sys_map_get_next_key(int fd, const void* key, void* next_key);
int sys_map_lookup_and_delete_elem(int fd, const void* key, void* value, uint64_t flags);
int sys_map_freeze(int fd);
int sys_map_lookup_batch(int fd, void* in_batch, void* out_batch, void* keys, void* values, uint32_t* count,
                         uint64_t elem_flags, uint64_t flags, bool do_delete);
int sys_map_update_batch(int fd, const void* keys, const void* values, uint32_t* count, uint64_t elem_flags,
                         uint64_t flags);
int sys_map_delete_batch(int fd, const void* keys, uint32_t* count, uint64_t elem_flags, uint64_t flags);
int sys_obj_pin(int fd, const char* path, uint32_t file_flags);
int sys_obj_get(const char* path, uint32_t file_flags);
int sys_map_get_fd_by_id(uint32_t id, uint32_t open_flags);
int sys_map_get_next_id(uint32_t start_id, uint32_t* next_id);
int sys_obj_get_info_by_fd(int fd, void* info, uint32_t* info_len);

// Closes a handle; the map view is dropped when this process holds no handle and
// no pin keeps the map.
int sys_close(int fd);
// Records that `new_fd` (made by dup/dup2/fcntl outside our API) is another
// handle of the same map as `old_fd`. When old_fd is not a map handle, new_fd is
// not one either (dup2 onto a map handle closed it).
void note_dup(int old_fd, int new_fd);
// Drops this process's views of maps that no handle here and no pin holds any
// more (called after a pin was unlinked, so the memory goes as the kernel's would).
void collect_unpinned_views();
// True when fd is a handle of an emulated map.
bool is_map_fd(int fd);
// Number of maps this process currently has a view of (tests use it to check
// lifetime).
int live_map_count();

inline int sys_map_lookup_elem(int fd, const void* key, void* value, uint64_t flags) {
  uint8_t access = 0;
  Map* m = fd_table::known(fd, &access);
  if (m != nullptr && (access & kCanRead) != 0 && flags == 0 && key != nullptr && value != nullptr) [[likely]]
    return m->fast().lookup(*m, key, value);
  return sys_map_lookup_elem_general(fd, key, value, flags);
}

inline int sys_map_update_elem(int fd, const void* key, const void* value, uint64_t flags) {
  uint8_t access = 0;
  Map* m = fd_table::known(fd, &access);
  if (m != nullptr && (access & kCanWrite) != 0 && (flags & BPF_F_LOCK) == 0 && key != nullptr && value != nullptr &&
      !m->frozen()) [[likely]]
    return m->fast().update(*m, key, value, flags);
  return sys_map_update_elem_general(fd, key, value, flags);
}

}  // namespace bpfemu::emu
