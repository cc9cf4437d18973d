// What plain syscalls on a BPF handle answer: the kernel's handles are files
// of its anonymous-inode filesystem (read and write are EINVAL, lseek ESPIPE,
// fstat shows the one shared anon inode, /proc/self/fd names "anon_inode:bpf-map",
// /proc/self/fdinfo lists the object's attributes, mmap maps a map's values
// under the kernel's rules). The libc interposers of libbpfemu answer with
// these; the C++ API reaches mmap through Backend::map_mmap.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/object.h"

namespace bpfemu::emu {

// The readlink() target of /proc/self/fd/<handle>: "anon_inode:bpf-map", ...
const char* anon_inode_name(ObjKind kind);
// fstat() of a handle: the kernel's shared anon inode.
void anon_inode_stat(struct stat* st);
// fcntl(F_GETFL) of a handle: its access mode (BTF handles are read-only).
int handle_status_flags(ObjKind kind, uint8_t access);
// The contents of /proc/self/fdinfo/<fd> when fd is a handle; false otherwise.
bool fdinfo_text(int fd, std::string* out);

// mmap() of a handle, as bpf_map_mmap and the VFS before it answer: 0 with
// *out the mapping, or -errno. The mapping keeps the map alive until it is
// unmapped, as the kernel's does.
int sys_mmap(int fd, void* addr, size_t len, int prot, int flags, off_t offset, void** out);
// After munmap(addr, len) succeeded: forgets the BPF mappings it removed.
void note_munmap(void* addr, size_t len);
// Whether [addr, addr + len) lies in a mapping of a map (mremap may not grow it).
bool is_map_mapping(void* addr, size_t len);

// ioctl(2) and read(2) of a handle when it is a perf event (other handles
// answer as the kernel's BPF files: ENOTTY, and EINVAL for read); -EBADF when
// fd is no handle.
int sys_handle_ioctl(int fd, unsigned long request, unsigned long arg);
ssize_t sys_handle_read(int fd, void* buf, size_t n);

// poll()/epoll of a map or perf event handle, as bpf_map_poll and perf_poll
// answer: the EPOLL* events ready now (EPOLLERR for maps whose type has no
// map_poll), or -EBADF for other fds.
int sys_poll_events(int fd);
// A file that turns readable when the map or perf event behind handle fd
// wakes its pollers (a program committed a ring buffer record or wrote a perf
// sample): poll and epoll wait on it in the handle's place. One per object and
// process, shared by all processes through a FIFO beside the object's data,
// owned by the object's view (do not close it). -EINVAL for maps that never
// wake anyone.
int sys_poll_wait_fd(int fd);
// Empties a wait fd of wake-ups already delivered.
void drain_wait_fd(int wait_fd);
// Wakes the object's pollers in every process.
void notify_object_pollers(Object& o);
// Makes maptypes::notify_pollers reach the wait fds (once, with the object model).
void install_poll_notifier();

}  // namespace bpfemu::emu
