// bpf(2) itself: syscall(__NR_bpf, cmd, attr, size) answered by the emulated
// kernel with the kernel's ABI rules (__sys_bpf): an attr larger than the
// kernel's union bpf_attr must have a zero tail (E2BIG), a page at most; it is
// copied in from the caller (EFAULT); each command's unused fields must be zero
// (CHECK_ATTR, EINVAL); results the kernel writes back into the caller's attr
// (next_id, info_len, batch.count, log sizes) are written back the same way.
// The layout and each command's last field follow the active kernel profile.
#pragma once

#include <cstddef>
#include <cstdint>

namespace bpfemu::emu {

// union bpf_attr as the 6.18 kernel lays it out (168 bytes; the installed uapi
// header is 6.1's, 144 bytes), for the commands the emulator decodes.
union BpfAttr {
  struct {
    uint32_t map_type, key_size, value_size, max_entries, map_flags, inner_map_fd, numa_node;
    char map_name[16];
    uint32_t map_ifindex, btf_fd, btf_key_type_id, btf_value_type_id, btf_vmlinux_value_type_id;
    uint64_t map_extra;
    int32_t value_type_btf_obj_fd, map_token_fd;
    uint64_t excl_prog_hash;
    uint32_t excl_prog_hash_size;
  } create;
  struct {
    uint32_t map_fd;
    uint32_t pad;
    uint64_t key;
    uint64_t value;  // next_key for BPF_MAP_GET_NEXT_KEY
    uint64_t flags;
  } elem;
  struct {
    uint64_t in_batch, out_batch, keys, values;
    uint32_t count, map_fd;
    uint64_t elem_flags, flags;
  } batch;
  struct {
    uint64_t pathname;
    uint32_t bpf_fd, file_flags;
    int32_t path_fd;
  } obj;
  struct {
    uint32_t start_id;  // prog_id, map_id, btf_id, link_id for GET_FD_BY_ID
    uint32_t next_id;
    uint32_t open_flags;
    int32_t fd_by_id_token_fd;
  } id;
  struct {
    uint32_t bpf_fd, info_len;
    uint64_t info;
  } info;
  struct {
    uint64_t btf, btf_log_buf;
    uint32_t btf_size, btf_log_size, btf_log_level, btf_log_true_size, btf_flags;
    int32_t btf_token_fd;
  } btf;
  struct {
    uint32_t prog_type, insn_cnt;
    uint64_t insns, license;
    uint32_t log_level, log_size;
    uint64_t log_buf;
    uint32_t kern_version, prog_flags;
    char prog_name[16];
    uint32_t prog_ifindex, expected_attach_type, prog_btf_fd, func_info_rec_size;
    uint64_t func_info;
    uint32_t func_info_cnt, line_info_rec_size;
    uint64_t line_info;
    uint32_t line_info_cnt, attach_btf_id, attach_prog_fd, core_relo_cnt;
    uint64_t fd_array, core_relos;
    uint32_t core_relo_rec_size, log_true_size;
    int32_t prog_token_fd;
    uint32_t fd_array_cnt;
    uint64_t signature;
    uint32_t signature_size;
    int32_t keyring_id;
  } prog;
  uint8_t bytes[168];
};
static_assert(sizeof(BpfAttr) == 168);
static_assert(offsetof(BpfAttr, create.excl_prog_hash_size) == 88);
static_assert(offsetof(BpfAttr, batch.elem_flags) == 40);
static_assert(offsetof(BpfAttr, btf.btf_token_fd) == 36);
static_assert(offsetof(BpfAttr, prog.keyring_id) == 164);


// The result of the command (>= 0) or -errno.
long bpf_syscall(int cmd, void* uattr, unsigned int size);

// Size of union bpf_attr in the active profile's kernel.
unsigned int bpf_attr_size();

}  // namespace bpfemu::emu
