// EmuBackend: bpfemu::Backend answered by the in-process emulated kernel.
// Needs no privileges. All EmuBackend instances in a process share one emulated
// kernel (fds and ids are process-wide, as they are with the real kernel).
#pragma once

#include "bpfemu/backend.h"

namespace bpfemu {

class EmuBackend : public Backend {
 public:
  EmuBackend() = default;

  std::string_view name() const override { return "emu"; }
  std::string describe() const override;
  bool emulated() const override { return true; }

  int map_create(uint32_t map_type, const char* map_name, uint32_t key_size, uint32_t value_size,
                 uint32_t max_entries, const MapCreateOpts* opts) override;
  int map_update_elem(int fd, const void* key, const void* value, uint64_t flags) override;
  int map_lookup_elem(int fd, const void* key, void* value) override;
  int map_lookup_elem_flags(int fd, const void* key, void* value, uint64_t flags) override;
  int map_lookup_and_delete_elem(int fd, const void* key, void* value) override;
  int map_lookup_and_delete_elem_flags(int fd, const void* key, void* value, uint64_t flags) override;
  int map_delete_elem(int fd, const void* key) override;
  int map_delete_elem_flags(int fd, const void* key, uint64_t flags) override;
  int map_get_next_key(int fd, const void* key, void* next_key) override;
  int map_freeze(int fd) override;
  int map_lookup_batch(int fd, void* in_batch, void* out_batch, void* keys, void* values, uint32_t* count,
                       const BatchOpts* opts) override;
  int map_lookup_and_delete_batch(int fd, void* in_batch, void* out_batch, void* keys, void* values,
                                  uint32_t* count, const BatchOpts* opts) override;
  int map_update_batch(int fd, const void* keys, const void* values, uint32_t* count,
                       const BatchOpts* opts) override;
  int map_delete_batch(int fd, const void* keys, uint32_t* count, const BatchOpts* opts) override;
  int obj_pin(int fd, const char* pathname) override;
  int obj_get(const char* pathname) override;
  int obj_get_opts(const char* pathname, const ObjOpts* opts) override;
  int map_get_fd_by_id(uint32_t id) override;
  int map_get_next_id(uint32_t start_id, uint32_t* next_id) override;
  int obj_get_info_by_fd(int fd, void* info, uint32_t* info_len) override;
  int obj_unpin(const char* pathname) override;
  void* map_mmap(int fd, size_t length, int prot, int flags, off_t offset) override;
  int map_munmap(void* addr, size_t length) override;
  long bpf(int cmd, void* attr, unsigned size) override;
  int close(int fd) override;
  int num_possible_cpus() override;
};

}  // namespace bpfemu
