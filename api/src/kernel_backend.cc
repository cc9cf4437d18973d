#include "bpfemu/kernel_backend.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace bpfemu {
namespace {

// libbpf already returns -errno and sets errno; keep errno in sync for the
// calls that return plain -1 (close).
int ret(int r) {
  if (r < 0) errno = -r;
  return r;
}

}  // namespace

std::string KernelBackend::describe() const {
  struct utsname u {};
  uname(&u);
  return std::string("kernel ") + u.release;
}

int KernelBackend::map_create(uint32_t map_type, const char* map_name, uint32_t key_size, uint32_t value_size,
                              uint32_t max_entries, const MapCreateOpts* opts) {
  LIBBPF_OPTS(bpf_map_create_opts, o);
  if (opts != nullptr) {
    o.btf_fd = opts->btf_fd;
    o.btf_key_type_id = opts->btf_key_type_id;
    o.btf_value_type_id = opts->btf_value_type_id;
    o.btf_vmlinux_value_type_id = opts->btf_vmlinux_value_type_id;
    o.inner_map_fd = opts->inner_map_fd;
    o.map_flags = opts->map_flags;
    o.map_extra = opts->map_extra;
    o.numa_node = opts->numa_node;
    o.map_ifindex = opts->map_ifindex;
  }
  return ret(bpf_map_create(static_cast<bpf_map_type>(map_type), map_name, key_size, value_size, max_entries, &o));
}

int KernelBackend::map_update_elem(int fd, const void* key, const void* value, uint64_t flags) {
  return ret(bpf_map_update_elem(fd, key, value, flags));
}
int KernelBackend::map_lookup_elem(int fd, const void* key, void* value) {
  return ret(bpf_map_lookup_elem(fd, key, value));
}
int KernelBackend::map_lookup_elem_flags(int fd, const void* key, void* value, uint64_t flags) {
  return ret(bpf_map_lookup_elem_flags(fd, key, value, flags));
}
int KernelBackend::map_lookup_and_delete_elem(int fd, const void* key, void* value) {
  return ret(bpf_map_lookup_and_delete_elem(fd, key, value));
}
int KernelBackend::map_lookup_and_delete_elem_flags(int fd, const void* key, void* value, uint64_t flags) {
  return ret(bpf_map_lookup_and_delete_elem_flags(fd, key, value, flags));
}
int KernelBackend::map_delete_elem(int fd, const void* key) { return ret(bpf_map_delete_elem(fd, key)); }
int KernelBackend::map_delete_elem_flags(int fd, const void* key, uint64_t flags) {
  return ret(bpf_map_delete_elem_flags(fd, key, flags));
}
int KernelBackend::map_get_next_key(int fd, const void* key, void* next_key) {
  return ret(bpf_map_get_next_key(fd, key, next_key));
}
int KernelBackend::map_freeze(int fd) { return ret(bpf_map_freeze(fd)); }

static bpf_map_batch_opts to_libbpf(const BatchOpts* opts) {
  LIBBPF_OPTS(bpf_map_batch_opts, o);
  if (opts != nullptr) {
    o.elem_flags = opts->elem_flags;
    o.flags = opts->flags;
  }
  return o;
}

int KernelBackend::map_lookup_batch(int fd, void* in_batch, void* out_batch, void* keys, void* values,
                                    uint32_t* count, const BatchOpts* opts) {
  auto o = to_libbpf(opts);
  return ret(bpf_map_lookup_batch(fd, in_batch, out_batch, keys, values, count, &o));
}
int KernelBackend::map_lookup_and_delete_batch(int fd, void* in_batch, void* out_batch, void* keys, void* values,
                                               uint32_t* count, const BatchOpts* opts) {
  auto o = to_libbpf(opts);
  return ret(bpf_map_lookup_and_delete_batch(fd, in_batch, out_batch, keys, values, count, &o));
}
int KernelBackend::map_update_batch(int fd, const void* keys, const void* values, uint32_t* count,
                                    const BatchOpts* opts) {
  auto o = to_libbpf(opts);
  return ret(bpf_map_update_batch(fd, keys, values, count, &o));
}
int KernelBackend::map_delete_batch(int fd, const void* keys, uint32_t* count, const BatchOpts* opts) {
  auto o = to_libbpf(opts);
  return ret(bpf_map_delete_batch(fd, keys, count, &o));
}

int KernelBackend::obj_pin(int fd, const char* pathname) { return ret(bpf_obj_pin(fd, pathname)); }
int KernelBackend::obj_get(const char* pathname) { return ret(bpf_obj_get(pathname)); }
int KernelBackend::obj_get_opts(const char* pathname, const ObjOpts* opts) {
  LIBBPF_OPTS(bpf_obj_get_opts, o);
  if (opts != nullptr) o.file_flags = opts->file_flags;
  return ret(bpf_obj_get_opts(pathname, &o));
}
int KernelBackend::map_get_fd_by_id(uint32_t id) { return ret(bpf_map_get_fd_by_id(id)); }
int KernelBackend::map_get_next_id(uint32_t start_id, uint32_t* next_id) {
  return ret(bpf_map_get_next_id(start_id, next_id));
}
int KernelBackend::obj_get_info_by_fd(int fd, void* info, uint32_t* info_len) {
  return ret(bpf_obj_get_info_by_fd(fd, info, info_len));
}
int KernelBackend::obj_unpin(const char* pathname) { return ::unlink(pathname) == 0 ? 0 : ret(-errno); }
void* KernelBackend::map_mmap(int fd, size_t length, int prot, int flags, off_t offset) {
  return ::mmap(nullptr, length, prot, flags, fd, offset);
}
int KernelBackend::map_munmap(void* addr, size_t length) { return ::munmap(addr, length) == 0 ? 0 : ret(-errno); }
long KernelBackend::bpf(int cmd, void* attr, unsigned size) {
  const long r = ::syscall(__NR_bpf, cmd, attr, size);
  return r < 0 ? ret(-errno) : r;
}
int KernelBackend::close(int fd) { return ::close(fd) == 0 ? 0 : -errno; }
int KernelBackend::num_possible_cpus() { return libbpf_num_possible_cpus(); }

}  // namespace bpfemu
