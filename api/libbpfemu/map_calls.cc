// libbpf's map calls (<bpf/bpf.h>) answered by the emulated kernel.
//
// Each function has libbpf's exact name and signature (the header is included so
// the compiler checks that) and mirrors what libbpf 1.1 does around its bpf(2)
// call: option validation, name truncation, which fields it passes, and what it
// writes back on errors. The map semantics themselves are the emulator's.
#include <bpf/bpf.h>

#include <cstring>

#include "api/libbpfemu/dropin.h"
#include "core/uaccess.h"
#include "emu/kernel.h"

using bpfemu::dropin::EmuCall;
using bpfemu::dropin::opts_valid;
namespace emu = bpfemu::emu;

namespace {

int create_map(uint32_t type, const char* name, uint32_t key_size, uint32_t value_size, uint32_t max_entries,
               const bpf_map_create_opts* opts) {
  EmuCall call("bpf_map_create");
  if (!opts_valid(opts)) return call.done(-EINVAL);
  emu::MapAttr a;
  a.map_type = type;
  a.key_size = key_size;
  a.value_size = value_size;
  a.max_entries = max_entries;
  // libbpf copies at most 15 characters and always terminates: longer names are
  // silently truncated, not rejected.
  if (name != nullptr) strncpy(a.map_name, name, sizeof(a.map_name) - 1);
  a.btf_fd = BPFEMU_OPT(opts, bpf_map_create_opts, btf_fd);
  a.btf_key_type_id = BPFEMU_OPT(opts, bpf_map_create_opts, btf_key_type_id);
  a.btf_value_type_id = BPFEMU_OPT(opts, bpf_map_create_opts, btf_value_type_id);
  a.btf_vmlinux_value_type_id = BPFEMU_OPT(opts, bpf_map_create_opts, btf_vmlinux_value_type_id);
  a.inner_map_fd = BPFEMU_OPT(opts, bpf_map_create_opts, inner_map_fd);
  a.map_flags = BPFEMU_OPT(opts, bpf_map_create_opts, map_flags);
  a.map_extra = BPFEMU_OPT(opts, bpf_map_create_opts, map_extra);
  a.numa_node = BPFEMU_OPT(opts, bpf_map_create_opts, numa_node);
  a.map_ifindex = BPFEMU_OPT(opts, bpf_map_create_opts, map_ifindex);
  return call.done(emu::sys_map_create(a));
}

// bpf_map_batch_common: *count is always written back with what the kernel left
// in attr.batch.count, on success and on error alike.
int batch(int cmd, int fd, void* in_batch, void* out_batch, void* keys, void* values, uint32_t* count,
          const bpf_map_batch_opts* opts) {
  EmuCall call(bpfemu::emu::bpf_cmd_name(cmd));
  if (!opts_valid(opts)) return call.done(-EINVAL);
  const uint64_t elem_flags = BPFEMU_OPT(opts, bpf_map_batch_opts, elem_flags);
  const uint64_t flags = BPFEMU_OPT(opts, bpf_map_batch_opts, flags);
  // libbpf would crash on a bad count; the emulator answers EFAULT instead.
  uint32_t n = 0;
  if (bpfemu::emu::copy_from_user(&n, count, sizeof(n)) != 0) return call.done(-EFAULT);
  uint32_t* attr_count = &n;
  int r;
  switch (cmd) {
    case BPF_MAP_LOOKUP_BATCH:
    case BPF_MAP_LOOKUP_AND_DELETE_BATCH:
      r = emu::sys_map_lookup_batch(fd, in_batch, out_batch, keys, values, attr_count, elem_flags, flags,
                                    cmd == BPF_MAP_LOOKUP_AND_DELETE_BATCH);
      break;
    case BPF_MAP_UPDATE_BATCH:
      r = emu::sys_map_update_batch(fd, keys, values, attr_count, elem_flags, flags);
      break;
    default:
      r = emu::sys_map_delete_batch(fd, keys, attr_count, elem_flags, flags);
      break;
  }
  if (bpfemu::emu::copy_to_user(count, &n, sizeof(n)) != 0) r = -EFAULT;
  return call.done(r);
}

}  // namespace

extern "C" {

BPFEMU_EXPORT int bpf_map_create(enum bpf_map_type map_type, const char* map_name, __u32 key_size, __u32 value_size,
                   __u32 max_entries, const struct bpf_map_create_opts* opts) {
  return create_map(map_type, map_name, key_size, value_size, max_entries, opts);
}

BPFEMU_EXPORT int bpf_map_update_elem(int fd, const void* key, const void* value, __u64 flags) {
  EmuCall call("bpf_map_update_elem");
  return call.done(emu::sys_map_update_elem(fd, key, value, flags));
}

BPFEMU_EXPORT int bpf_map_lookup_elem(int fd, const void* key, void* value) {
  EmuCall call("bpf_map_lookup_elem");
  return call.done(emu::sys_map_lookup_elem(fd, key, value, 0));
}

BPFEMU_EXPORT int bpf_map_lookup_elem_flags(int fd, const void* key, void* value, __u64 flags) {
  EmuCall call("bpf_map_lookup_elem_flags");
  return call.done(emu::sys_map_lookup_elem(fd, key, value, flags));
}

BPFEMU_EXPORT int bpf_map_lookup_and_delete_elem(int fd, const void* key, void* value) {
  EmuCall call("bpf_map_lookup_and_delete_elem");
  return call.done(emu::sys_map_lookup_and_delete_elem(fd, key, value, 0));
}

BPFEMU_EXPORT int bpf_map_lookup_and_delete_elem_flags(int fd, const void* key, void* value, __u64 flags) {
  EmuCall call("bpf_map_lookup_and_delete_elem_flags");
  return call.done(emu::sys_map_lookup_and_delete_elem(fd, key, value, flags));
}

BPFEMU_EXPORT int bpf_map_delete_elem(int fd, const void* key) {
  EmuCall call("bpf_map_delete_elem");
  return call.done(emu::sys_map_delete_elem(fd, key, 0));
}

// libbpf passes the flags through; the kernel's DELETE_ELEM has no flags field,
// so any non-zero value is EINVAL (the emulator knows).
BPFEMU_EXPORT int bpf_map_delete_elem_flags(int fd, const void* key, __u64 flags) {
  EmuCall call("bpf_map_delete_elem_flags");
  return call.done(emu::sys_map_delete_elem(fd, key, flags));
}

BPFEMU_EXPORT int bpf_map_get_next_key(int fd, const void* key, void* next_key) {
  EmuCall call("bpf_map_get_next_key");
  return call.done(emu::sys_map_get_next_key(fd, key, next_key));
}

BPFEMU_EXPORT int bpf_map_freeze(int fd) {
  EmuCall call("bpf_map_freeze");
  return call.done(emu::sys_map_freeze(fd));
}

BPFEMU_EXPORT int bpf_map_lookup_batch(int fd, void* in_batch, void* out_batch, void* keys, void* values, __u32* count,
                         const struct bpf_map_batch_opts* opts) {
  return batch(BPF_MAP_LOOKUP_BATCH, fd, in_batch, out_batch, keys, values, count, opts);
}

BPFEMU_EXPORT int bpf_map_lookup_and_delete_batch(int fd, void* in_batch, void* out_batch, void* keys, void* values,
                                    __u32* count, const struct bpf_map_batch_opts* opts) {
  return batch(BPF_MAP_LOOKUP_AND_DELETE_BATCH, fd, in_batch, out_batch, keys, values, count, opts);
}

BPFEMU_EXPORT int bpf_map_update_batch(int fd, const void* keys, const void* values, __u32* count,
                         const struct bpf_map_batch_opts* opts) {
  return batch(BPF_MAP_UPDATE_BATCH, fd, nullptr, nullptr, const_cast<void*>(keys), const_cast<void*>(values),
               count, opts);
}

BPFEMU_EXPORT int bpf_map_delete_batch(int fd, const void* keys, __u32* count, const struct bpf_map_batch_opts* opts) {
  return batch(BPF_MAP_DELETE_BATCH, fd, nullptr, nullptr, const_cast<void*>(keys), nullptr, count, opts);
}

// ---- pre-1.0 create calls, for code written against libbpf 0.x headers ----
// (libbpf 1.x no longer exports them; they are plain wrappers over map_create.)

BPFEMU_EXPORT int bpf_create_map_node(enum bpf_map_type map_type, const char* name, int key_size, int value_size,
                        int max_entries, __u32 map_flags, int node) {
  bpf_map_create_opts opts{};
  opts.sz = sizeof(opts);
  opts.map_flags = map_flags;
  if (node >= 0) {
    opts.numa_node = static_cast<__u32>(node);
    opts.map_flags |= BPF_F_NUMA_NODE;
  }
  return create_map(map_type, name, key_size, value_size, max_entries, &opts);
}

BPFEMU_EXPORT int bpf_create_map_name(enum bpf_map_type map_type, const char* name, int key_size, int value_size,
                        int max_entries, __u32 map_flags) {
  return bpf_create_map_node(map_type, name, key_size, value_size, max_entries, map_flags, -1);
}

BPFEMU_EXPORT int bpf_create_map(enum bpf_map_type map_type, int key_size, int value_size, int max_entries, __u32 map_flags) {
  return bpf_create_map_node(map_type, nullptr, key_size, value_size, max_entries, map_flags, -1);
}

BPFEMU_EXPORT int bpf_create_map_in_map_node(enum bpf_map_type map_type, const char* name, int key_size, int inner_map_fd,
                               int max_entries, __u32 map_flags, int node) {
  bpf_map_create_opts opts{};
  opts.sz = sizeof(opts);
  opts.inner_map_fd = static_cast<__u32>(inner_map_fd);
  opts.map_flags = map_flags;
  if (node >= 0) {
    opts.numa_node = static_cast<__u32>(node);
    opts.map_flags |= BPF_F_NUMA_NODE;
  }
  return create_map(map_type, name, key_size, 4, max_entries, &opts);
}

BPFEMU_EXPORT int bpf_create_map_in_map(enum bpf_map_type map_type, const char* name, int key_size, int inner_map_fd,
                          int max_entries, __u32 map_flags) {
  return bpf_create_map_in_map_node(map_type, name, key_size, inner_map_fd, max_entries, map_flags, -1);
}

}  // extern "C"
