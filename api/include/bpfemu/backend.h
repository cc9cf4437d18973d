// bpfemu::Backend — the one API with two implementations.
//
// Every call mirrors a libbpf <bpf/bpf.h> call one to one (same arguments, same
// order) and follows libbpf 1.x's convention: it returns -errno on failure and
// also sets errno. KernelBackend forwards to libbpf (real bpf(2)); EmuBackend
// answers from the in-process emulated kernel. Code under test takes a Backend&
// and cannot tell which one it talks to.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "bpfemu/uapi.h"

namespace bpfemu {

// Mirrors libbpf's struct bpf_map_create_opts (all fields, newest kernel).
struct MapCreateOpts {
  uint32_t btf_fd = 0;
  uint32_t btf_key_type_id = 0;
  uint32_t btf_value_type_id = 0;
  uint32_t btf_vmlinux_value_type_id = 0;
  uint32_t inner_map_fd = 0;
  uint32_t map_flags = 0;
  uint64_t map_extra = 0;
  uint32_t numa_node = 0;
  uint32_t map_ifindex = 0;
};

// Mirrors libbpf's struct bpf_map_batch_opts.
struct BatchOpts {
  uint64_t elem_flags = 0;
  uint64_t flags = 0;
};

// Mirrors libbpf's struct bpf_obj_get_opts / bpf_obj_pin_opts (file_flags only).
struct ObjOpts {
  uint32_t file_flags = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;

  // "emu" or "kernel".
  virtual std::string_view name() const = 0;
  // A short description of what answers: the kernel release, or the emulated profile.
  virtual std::string describe() const = 0;
  // Whether the emulator answers (its controls -- CPUs, profiles, faults --
  // then apply, and /sys/fs/bpf paths are its emulated bpffs).
  virtual bool emulated() const = 0;

  virtual int map_create(uint32_t map_type, const char* map_name, uint32_t key_size, uint32_t value_size,
                         uint32_t max_entries, const MapCreateOpts* opts) = 0;
  virtual int map_update_elem(int fd, const void* key, const void* value, uint64_t flags) = 0;
  virtual int map_lookup_elem(int fd, const void* key, void* value) = 0;
  virtual int map_lookup_elem_flags(int fd, const void* key, void* value, uint64_t flags) = 0;
  virtual int map_lookup_and_delete_elem(int fd, const void* key, void* value) = 0;
  virtual int map_lookup_and_delete_elem_flags(int fd, const void* key, void* value, uint64_t flags) = 0;
  virtual int map_delete_elem(int fd, const void* key) = 0;
  virtual int map_delete_elem_flags(int fd, const void* key, uint64_t flags) = 0;
  virtual int map_get_next_key(int fd, const void* key, void* next_key) = 0;
  virtual int map_freeze(int fd) = 0;

  virtual int map_lookup_batch(int fd, void* in_batch, void* out_batch, void* keys, void* values, uint32_t* count,
                               const BatchOpts* opts) = 0;
  virtual int map_lookup_and_delete_batch(int fd, void* in_batch, void* out_batch, void* keys, void* values,
                                          uint32_t* count, const BatchOpts* opts) = 0;
  virtual int map_update_batch(int fd, const void* keys, const void* values, uint32_t* count,
                               const BatchOpts* opts) = 0;
  virtual int map_delete_batch(int fd, const void* keys, uint32_t* count, const BatchOpts* opts) = 0;

  virtual int obj_pin(int fd, const char* pathname) = 0;
  virtual int obj_get(const char* pathname) = 0;
  virtual int obj_get_opts(const char* pathname, const ObjOpts* opts) = 0;
  virtual int map_get_fd_by_id(uint32_t id) = 0;
  virtual int map_get_next_id(uint32_t start_id, uint32_t* next_id) = 0;
  virtual int obj_get_info_by_fd(int fd, void* info, uint32_t* info_len) = 0;
  // unlink(2) of a pin (what rm does to it): the object goes with its last
  // reference. On the emulator this reaches the emulated bpffs without LD_PRELOAD.
  virtual int obj_unpin(const char* pathname) = 0;
  // mmap(2) and munmap(2) of a map fd (BPF_F_MMAPABLE arrays): the mapping, or
  // MAP_FAILED with errno set.
  virtual void* map_mmap(int fd, size_t length, int prot, int flags, off_t offset) = 0;
  virtual int map_munmap(void* addr, size_t length) = 0;

  // bpf(2) itself: syscall(__NR_bpf, cmd, attr, size) with the caller's raw
  // attr, for callers that build union bpf_attr themselves. The result, or
  // -errno (errno set too).
  virtual long bpf(int cmd, void* attr, unsigned size) = 0;

  // close(2) of a handle returned by this backend.
  virtual int close(int fd) = 0;
  // libbpf_num_possible_cpus().
  virtual int num_possible_cpus() = 0;
};

// "emu" or "kernel"; nullptr (with *error set) when the name is unknown or the
// backend cannot be used here (e.g. kernel without bpf() permission).
std::unique_ptr<Backend> make_backend(std::string_view name, std::string* error = nullptr);

// True when bpf(2) map creation works in this process (root or CAP_BPF). When
// false, *why says what is missing and what to do.
bool kernel_bpf_available(std::string* why = nullptr);

}  // namespace bpfemu
