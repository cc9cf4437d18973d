// This process's side of the object model: its views of objects and its fds.
//
// A view (core/object.h) is made the first time this process reaches an object
// (creating it, opening it by id or through a pin, or meeting a handle it
// inherited) and dropped when the process holds no handle on it any more; the
// object itself lives on as long as anything anywhere references it
// (emu/store.h). Handles are real fds, so close/dup/fork/exec behave; the fd
// table (emu/fd_table.h) says which fds are handles.
#pragma once

#include <cstdint>
#include <memory>

#include "core/map.h"
#include "emu/fd_table.h"
#include "emu/store.h"

namespace bpfemu::emu {

// Fills the header every kind starts with, for a new object of `kind` whose
// whole header is header_size bytes and data area data_size bytes: owned by
// this user, created now (CLOCK_BOOTTIME); the store gives it its id.
void init_obj_header(ObjHeader& hdr, ObjKind kind, uint32_t header_size, uint64_t data_size);
// Drops a reference one object held on (kind, id) -- a map's BTF, a program's
// maps, a link's program, a prog array slot's program -- freeing it when
// nothing references it any more.
void drop_object_ref(Store& store, ObjKind kind, uint32_t id);

// Publishes a new object (its header filled in but for the id) in `store` and
// returns its first fd with `access`, or -errno (the object is then dropped).
int publish_object(Store& store, std::unique_ptr<Object> obj, uint8_t access);
// A new fd on an object this process has a view of.
int open_fd(Object& obj, uint8_t access);
// The view of (store, kind, id), attaching to the object if this process has
// none: nullptr with *err (-ENOENT when the object does not exist).
Object* view_of(Store& store, ObjKind kind, uint32_t id, int* err);
// A new fd on the object (store, kind, id): the fd or -errno.
int open_object(Store& store, ObjKind kind, uint32_t id, uint8_t access);

// The object behind fd, adopting handles made outside this process's calls
// (inherited, passed over a socket, dup'ed by a raw syscall): nullptr with *err
// -EBADF (not an open fd) or -EINVAL (not a BPF object).
Object* object_from_fd(int fd, ObjKind* kind, uint8_t* access, int* err);
// The same for maps: -EINVAL as well when fd is another kind of object.
Map* map_from_fd(int fd, uint8_t* access = nullptr, int* err = nullptr);
// The same, checked against what the number names now, for commands that are
// not on a fast path (info, pin, freeze, mmap, ioctl, and the fds a map, program
// or link is made from): a recorded fd closed or replaced behind libc's back (a
// raw close or dup2 syscall) is forgotten and answered for what it is now. The
// element and test-run paths trust the record, which libc's close, dup2, dup3,
// close_range and fcntl keep right.
Object* object_from_fd_checked(int fd, ObjKind* kind, uint8_t* access, int* err);
Map* map_from_fd_checked(int fd, uint8_t* access, int* err);

// close(2) of an fd; when it was this process's last handle on an object, the
// view goes and the object is freed if nothing else references it.
int sys_close(int fd);
// Records that new_fd (made by dup/dup2/dup3/fcntl outside the emulator) now
// refers to what old_fd does; when old_fd is no handle, new_fd is none either.
void note_dup(int old_fd, int new_fd);
// The fds in [first, last] were closed together (close_range, closefrom).
void note_closed_range(unsigned first, unsigned last);
// Frees (store, kind, id) if nothing references it any more (after an unpin).
void collect_object(Store& store, ObjKind kind, uint32_t id);
// True when fd is a handle of an emulated object this process knows.
bool is_bpf_fd(int fd);
// What fd is a handle of, for the libc interposers: false when it is none.
bool fd_object(int fd, ObjKind* kind, Object** obj, uint8_t* access);
// Bytes of memory the storage of the object behind fd uses now (the pages of
// its data file that were touched, its header page excluded); 0 when fd is none.
uint64_t storage_bytes(int fd);
// Views of objects of `kind` this process has (tests check lifetimes with it).
int live_view_count(ObjKind kind);

}  // namespace bpfemu::emu
