// BPF iterators (kernel/bpf/bpf_iter.c, map_iter.c): the bpf_map and
// bpf_map_elem targets, the fd BPF_ITER_CREATE makes, read() of it, and the
// helpers its programs print with (bpf_seq_write, bpf_seq_printf).
//
// An iterator fd is a real fd (a memfd named bpf_iter) known to this process
// only: its position and buffer are per process, as the kernel's are per
// open file; it holds its program (and, for bpf_map_elem, the map) until it
// is closed.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace bpfemu::emu {

namespace interp {
struct HelperCall;
}  // namespace interp

// Whether target (the name after bpf_iter_) is an emulated iterator target.
bool iter_target_emulated(const std::string& target);
// BPF_ITER_CREATE: an fd to read the link's iterator from, or -errno.
int sys_iter_create(uint32_t link_fd, uint32_t flags);
// Whether this process has iterator fds open (one atomic load).
bool iter_fds_open();
// Whether fd is an iterator fd of this process.
bool is_iter_fd(int fd);
// read(2) of an iterator fd: bytes, 0 at the end, or -errno.
ssize_t iter_read(int fd, void* buf, size_t n);
// The fd was closed (or is about to be): forget its iterator.
void iter_forget(int fd);

namespace interp {
bool seq_printf(HelperCall& c, uint64_t* r0);
bool seq_write(HelperCall& c, uint64_t* r0);
}  // namespace interp

}  // namespace bpfemu::emu
