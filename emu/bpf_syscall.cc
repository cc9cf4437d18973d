#include "emu/bpf_syscall.h"

#include <linux/bpf.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "core/log.h"
#include "core/profile.h"
#include "core/uaccess.h"
#include "emu/btf.h"
#include "emu/prog_attach.h"
#include "emu/iter.h"
#include "emu/kernel.h"
#include "emu/program.h"
#include "emu/link.h"
#include "emu/test_run.h"

namespace bpfemu::emu {
namespace {

constexpr unsigned kMaxAttrSize = 4096;  // PAGE_SIZE: bigger is "silly large"

// Per kernel version: sizeof(union bpf_attr) and, per command, the offset just
// past its last field (CHECK_ATTR: every byte from there on must be zero).
// Commands the table leaves at 0 take the whole attr. Checked against the
// running kernel (6.18) byte by byte; the 6.1 column is that kernel's
// *_LAST_FIELD defines.
struct Abi {
  int major, minor;
  unsigned attr_size;
  uint8_t end[40];
};

constexpr Abi make_abi(int major, int minor, unsigned attr_size, bool v6_18) {
  Abi a{major, minor, attr_size, {}};
  a.end[BPF_MAP_CREATE] = v6_18 ? 92 : 72;
  a.end[BPF_MAP_LOOKUP_ELEM] = 32;
  a.end[BPF_MAP_UPDATE_ELEM] = 32;
  a.end[BPF_MAP_DELETE_ELEM] = 16;
  a.end[BPF_MAP_GET_NEXT_KEY] = 24;
  a.end[BPF_MAP_LOOKUP_AND_DELETE_ELEM] = 32;
  a.end[BPF_MAP_FREEZE] = 4;
  a.end[BPF_OBJ_PIN] = v6_18 ? 20 : 16;
  a.end[BPF_OBJ_GET] = v6_18 ? 20 : 16;
  a.end[BPF_PROG_GET_NEXT_ID] = 8;
  a.end[BPF_MAP_GET_NEXT_ID] = 8;
  a.end[BPF_BTF_GET_NEXT_ID] = 8;
  a.end[BPF_LINK_GET_NEXT_ID] = 8;
  a.end[BPF_PROG_GET_FD_BY_ID] = 4;
  a.end[BPF_MAP_GET_FD_BY_ID] = 12;
  a.end[BPF_BTF_GET_FD_BY_ID] = v6_18 ? 16 : 4;
  a.end[BPF_LINK_GET_FD_BY_ID] = 4;
  a.end[BPF_OBJ_GET_INFO_BY_FD] = 16;
  a.end[BPF_BTF_LOAD] = v6_18 ? 40 : 28;
  a.end[BPF_MAP_LOOKUP_BATCH] = 56;
  a.end[BPF_MAP_LOOKUP_AND_DELETE_BATCH] = 56;
  a.end[BPF_MAP_UPDATE_BATCH] = 56;
  a.end[BPF_MAP_DELETE_BATCH] = 56;
  a.end[BPF_PROG_LOAD] = v6_18 ? 168 : 140;
  a.end[BPF_PROG_TEST_RUN] = 76;
  a.end[BPF_RAW_TRACEPOINT_OPEN] = v6_18 ? 24 : 12;
  a.end[BPF_LINK_UPDATE] = 16;
  a.end[BPF_LINK_DETACH] = 4;
  a.end[BPF_ITER_CREATE] = 8;  // link_fd, flags
  a.end[BPF_PROG_ATTACH] = v6_18 ? 32 : 20;  // expected_revision; 6.1: replace_bpf_fd
  a.end[BPF_PROG_DETACH] = v6_18 ? 32 : 12;  // expected_revision; 6.1: attach_type
  a.end[BPF_PROG_QUERY] = v6_18 ? 64 : 40;   // query.revision; 6.1: query.prog_attach_flags
  return a;
}

constexpr Abi kAbis[] = {
    make_abi(6, 1, 144, false),
    make_abi(6, 18, 168, true),
};

const Abi& abi() {
  const KernelProfile& p = active_profile();
  const Abi* best = &kAbis[0];
  for (const Abi& a : kAbis)
    if (a.major < p.major || (a.major == p.major && a.minor <= p.minor)) best = &a;
  return *best;
}

bool tail_is_zero(const BpfAttr& a, unsigned from, unsigned size) {
  for (unsigned i = from; i < size; ++i)
    if (a.bytes[i] != 0) return false;
  return true;
}

// Bytes past what the caller passed are zero already (the copy starts from a
// zeroed attr), so only [end, size) can hold anything.
int check_attr(const BpfAttr& a, int cmd, unsigned size, const Abi& abi) {
  const unsigned end = static_cast<unsigned>(cmd) < sizeof(abi.end) ? abi.end[cmd] : 0;
  if (end == 0 || end >= size || tail_is_zero(a, end, size)) return 0;
  return log_reason(-EINVAL, "attr bytes past the command's last field (offset %u) are not zero", end);
}

void* uptr(uint64_t v) { return reinterpret_cast<void*>(static_cast<uintptr_t>(v)); }

// put_user of a field of the caller's attr.
int put_field(void* uattr, size_t offset, uint32_t value) {
  if (copy_to_user(user_ptr_add(uattr, offset), &value, sizeof(value)) != 0)
    return log_reason(-EFAULT, "the attr cannot be written back");
  return 0;
}

ObjKind next_id_kind(int cmd) {
  switch (cmd) {
    case BPF_PROG_GET_NEXT_ID:
    case BPF_PROG_GET_FD_BY_ID:
      return ObjKind::kProg;
    case BPF_MAP_GET_NEXT_ID:
    case BPF_MAP_GET_FD_BY_ID:
      return ObjKind::kMap;
    case BPF_BTF_GET_NEXT_ID:
    case BPF_BTF_GET_FD_BY_ID:
      return ObjKind::kBtf;
    default:
      return ObjKind::kLink;
  }
}

long map_create(const BpfAttr& a) {
  MapAttr m;
  m.map_type = a.create.map_type;
  m.key_size = a.create.key_size;
  m.value_size = a.create.value_size;
  m.max_entries = a.create.max_entries;
  m.map_flags = a.create.map_flags;
  m.inner_map_fd = a.create.inner_map_fd;
  m.numa_node = a.create.numa_node;
  memcpy(m.map_name, a.create.map_name, sizeof(m.map_name));
  m.map_ifindex = a.create.map_ifindex;
  m.btf_fd = a.create.btf_fd;
  m.btf_key_type_id = a.create.btf_key_type_id;
  m.btf_value_type_id = a.create.btf_value_type_id;
  m.btf_vmlinux_value_type_id = a.create.btf_vmlinux_value_type_id;
  m.map_extra = a.create.map_extra;
  m.excl_prog_hash = a.create.excl_prog_hash;
  m.excl_prog_hash_size = a.create.excl_prog_hash_size;
  return sys_map_create(m);
}

long batch(int cmd, void* uattr, const BpfAttr& a) {
  uint32_t count = a.batch.count;
  int fd = static_cast<int>(a.batch.map_fd);
  long r;
  switch (cmd) {
    case BPF_MAP_LOOKUP_BATCH:
    case BPF_MAP_LOOKUP_AND_DELETE_BATCH:
      r = sys_map_lookup_batch(fd, uptr(a.batch.in_batch), uptr(a.batch.out_batch), uptr(a.batch.keys),
                               uptr(a.batch.values), &count, a.batch.elem_flags, a.batch.flags,
                               cmd == BPF_MAP_LOOKUP_AND_DELETE_BATCH);
      break;
    case BPF_MAP_UPDATE_BATCH:
      r = sys_map_update_batch(fd, uptr(a.batch.keys), uptr(a.batch.values), &count, a.batch.elem_flags,
                               a.batch.flags);
      break;
    default:
      r = sys_map_delete_batch(fd, uptr(a.batch.keys), &count, a.batch.elem_flags, a.batch.flags);
      break;
  }
  // The kernel writes batch.count back once the family's batch op ran,
  // whatever it returned; writing back an unchanged count is not observable.
  if (count != a.batch.count) {
    if (int e = put_field(uattr, offsetof(BpfAttr, batch.count), count); e != 0) return e;
  }
  return r;
}

long btf_load(void* uattr, unsigned size, const BpfAttr& a) {
  BtfLoadAttr b;
  b.btf = uptr(a.btf.btf);
  b.log_buf = uptr(a.btf.btf_log_buf);
  b.btf_size = a.btf.btf_size;
  b.log_size = a.btf.btf_log_size;
  b.log_level = a.btf.btf_log_level;
  b.flags = a.btf.btf_flags;
  b.token_fd = a.btf.btf_token_fd;
  // finalize_log reports the log's true size only to callers whose attr has the field.
  const size_t true_size_end = offsetof(BpfAttr, btf.btf_log_true_size) + sizeof(uint32_t);
  b.log_true_size = size >= true_size_end
                        ? static_cast<uint32_t*>(user_ptr_add(uattr, offsetof(BpfAttr, btf.btf_log_true_size)))
                        : nullptr;
  return sys_btf_load(b);
}

long prog_load(void* uattr, unsigned size, const BpfAttr& a) {
  ProgLoadAttr p{};
  p.prog_type = a.prog.prog_type;
  p.insn_cnt = a.prog.insn_cnt;
  p.insns = uptr(a.prog.insns);
  p.license = static_cast<const char*>(uptr(a.prog.license));
  p.log_level = a.prog.log_level;
  p.log_size = a.prog.log_size;
  p.log_buf = uptr(a.prog.log_buf);
  p.kern_version = a.prog.kern_version;
  p.prog_flags = a.prog.prog_flags;
  memcpy(p.prog_name, a.prog.prog_name, sizeof(p.prog_name));
  p.prog_ifindex = a.prog.prog_ifindex;
  p.expected_attach_type = a.prog.expected_attach_type;
  p.prog_btf_fd = a.prog.prog_btf_fd;
  p.func_info_rec_size = a.prog.func_info_rec_size;
  p.func_info_cnt = a.prog.func_info_cnt;
  p.line_info_rec_size = a.prog.line_info_rec_size;
  p.line_info_cnt = a.prog.line_info_cnt;
  p.attach_btf_id = a.prog.attach_btf_id;
  p.attach_prog_fd = a.prog.attach_prog_fd;
  p.fd_array = uptr(a.prog.fd_array);
  p.fd_array_cnt = a.prog.fd_array_cnt;
  p.signature = a.prog.signature;
  const size_t true_size_end = offsetof(BpfAttr, prog.log_true_size) + sizeof(uint32_t);
  p.log_true_size = size >= true_size_end
                        ? static_cast<uint32_t*>(user_ptr_add(uattr, offsetof(BpfAttr, prog.log_true_size)))
                        : nullptr;
  return sys_prog_load(p);
}

long not_emulated(int cmd) {
  (void)cmd;
  return log_reason(-EOPNOTSUPP, "running, attaching and linking BPF programs is not emulated yet");
}

long dispatch(int cmd, void* uattr, unsigned size, const BpfAttr& a) {
  switch (cmd) {
    case BPF_MAP_CREATE:
      return map_create(a);
    case BPF_MAP_LOOKUP_ELEM:
      return sys_map_lookup_elem(static_cast<int>(a.elem.map_fd), uptr(a.elem.key), uptr(a.elem.value),
                                 a.elem.flags);
    case BPF_MAP_UPDATE_ELEM:
      return sys_map_update_elem(static_cast<int>(a.elem.map_fd), uptr(a.elem.key), uptr(a.elem.value),
                                 a.elem.flags);
    case BPF_MAP_DELETE_ELEM:
      return sys_map_delete_elem(static_cast<int>(a.elem.map_fd), uptr(a.elem.key), 0);
    case BPF_MAP_GET_NEXT_KEY:
      return sys_map_get_next_key(static_cast<int>(a.elem.map_fd), uptr(a.elem.key), uptr(a.elem.value));
    case BPF_MAP_LOOKUP_AND_DELETE_ELEM:
      return sys_map_lookup_and_delete_elem(static_cast<int>(a.elem.map_fd), uptr(a.elem.key),
                                            uptr(a.elem.value), a.elem.flags);
    case BPF_MAP_FREEZE:
      return sys_map_freeze(static_cast<int>(a.elem.map_fd));
    case BPF_OBJ_PIN:
      return sys_obj_pin(static_cast<int>(a.obj.bpf_fd), static_cast<const char*>(uptr(a.obj.pathname)),
                         a.obj.file_flags, a.obj.path_fd);
    case BPF_OBJ_GET:
      if (a.obj.bpf_fd != 0) return log_reason(-EINVAL, "bpf_fd must be 0 for BPF_OBJ_GET");
      return sys_obj_get(static_cast<const char*>(uptr(a.obj.pathname)), a.obj.file_flags, a.obj.path_fd);
    case BPF_PROG_GET_NEXT_ID:
    case BPF_MAP_GET_NEXT_ID:
    case BPF_BTF_GET_NEXT_ID:
    case BPF_LINK_GET_NEXT_ID: {
      uint32_t next = 0;
      long r = sys_get_next_id(next_id_kind(cmd), a.id.start_id, &next);
      if (r == 0) r = put_field(uattr, offsetof(BpfAttr, id.next_id), next);
      return r;
    }
    case BPF_PROG_GET_FD_BY_ID:
    case BPF_MAP_GET_FD_BY_ID:
    case BPF_LINK_GET_FD_BY_ID:
      return sys_get_fd_by_id(next_id_kind(cmd), a.id.start_id, a.id.open_flags);
    case BPF_BTF_GET_FD_BY_ID:
      // open_flags may only hold BPF_F_TOKEN_FD, and tokens are not emulated.
      if (a.id.open_flags != 0) return log_reason(-EINVAL, "open_flags must be 0 for BTF (tokens are not emulated)");
      return sys_get_fd_by_id(ObjKind::kBtf, a.id.start_id, 0);
    case BPF_OBJ_GET_INFO_BY_FD: {
      uint32_t len = a.info.info_len;
      long r = sys_obj_get_info_by_fd(static_cast<int>(a.info.bpf_fd), uptr(a.info.info), &len);
      if (r == 0) r = put_field(uattr, offsetof(BpfAttr, info.info_len), len);
      return r;
    }
    case BPF_BTF_LOAD:
      return btf_load(uattr, size, a);
    case BPF_MAP_LOOKUP_BATCH:
    case BPF_MAP_LOOKUP_AND_DELETE_BATCH:
    case BPF_MAP_UPDATE_BATCH:
    case BPF_MAP_DELETE_BATCH:
      return batch(cmd, uattr, a);
    case BPF_PROG_LOAD:
      return prog_load(uattr, size, a);
    case BPF_PROG_TEST_RUN: {
      TestRunAttr t;
      memcpy(&t, a.bytes, sizeof(t));
      return sys_prog_test_run(uattr, t);
    }
    case BPF_RAW_TRACEPOINT_OPEN: {
      uint64_t name = 0, cookie = 0;
      uint32_t prog_fd = 0;
      memcpy(&name, a.bytes, sizeof(name));
      memcpy(&prog_fd, a.bytes + 8, sizeof(prog_fd));
      memcpy(&cookie, a.bytes + 16, sizeof(cookie));
      return sys_raw_tracepoint_open(static_cast<const char*>(uptr(name)), prog_fd, cookie);
    }
    case BPF_LINK_CREATE: {
      uint32_t w[4];
      uint64_t at16 = 0, at24 = 0;
      memcpy(w, a.bytes, sizeof(w));  // prog_fd, target_fd / target_ifindex, attach_type, flags
      memcpy(&at16, a.bytes + 16, sizeof(at16));
      memcpy(&at24, a.bytes + 24, sizeof(at24));
      return sys_link_create(w[0], w[1], w[2], w[3], at16, at24, a.bytes);
    }
    case BPF_PROG_ATTACH:
    case BPF_PROG_DETACH: {
      ProgAttachAttr p{};
      memcpy(&p, a.bytes, 24);  // target_fd, attach_bpf_fd, attach_type, attach_flags, replace_bpf_fd, relative
      memcpy(&p.expected_revision, a.bytes + 24, sizeof(p.expected_revision));
      return cmd == BPF_PROG_ATTACH ? sys_prog_attach(p) : sys_prog_detach(p);
    }
    case BPF_PROG_QUERY:
      return sys_prog_query(uattr, a.bytes);
    case BPF_LINK_UPDATE: {
      uint32_t w[4];
      memcpy(w, a.bytes, sizeof(w));  // link_fd, new_prog_fd, flags, old_prog_fd
      return sys_link_update(w[0], w[1], w[2], w[3]);
    }
    case BPF_LINK_DETACH: {
      uint32_t link_fd = 0;
      memcpy(&link_fd, a.bytes, sizeof(link_fd));
      return sys_link_detach(link_fd);
    }
    case BPF_ITER_CREATE: {
      uint32_t w[2];
      memcpy(w, a.bytes, sizeof(w));  // link_fd, flags
      return sys_iter_create(w[0], w[1]);
    }
    case BPF_TASK_FD_QUERY:
    case BPF_ENABLE_STATS:
    case BPF_PROG_BIND_MAP:
    case 36:  // BPF_TOKEN_CREATE
    case 37:  // BPF_PROG_STREAM_READ_BY_FD
      return not_emulated(cmd);
    default:
      return log_reason(-EINVAL, "unknown command %d", cmd);
  }
}

}  // namespace

unsigned int bpf_attr_size() { return abi().attr_size; }

long bpf_syscall(int cmd, void* uattr, unsigned int size) {
  const Abi& v = abi();
  if (size > kMaxAttrSize) return log_reason(-E2BIG, "attr size %u is above a page", size);
  if (size > v.attr_size) {
    const int zero = user_is_zero(user_ptr_add(uattr, v.attr_size), size - v.attr_size);
    if (zero < 0) return log_reason(-EFAULT, "attr points at bad memory");
    if (zero == 0)
      return log_reason(-E2BIG, "attr has non-zero bytes past the kernel's union bpf_attr (%u bytes)", v.attr_size);
    size = v.attr_size;
  }
  BpfAttr a;
  memset(&a, 0, sizeof(a));
  if (copy_from_user(&a, uattr, size) != 0) return log_reason(-EFAULT, "attr points at bad memory");
  if (int e = check_attr(a, cmd, size, v); e != 0) return e;
  return dispatch(cmd, uattr, size, a);
}

}  // namespace bpfemu::emu
