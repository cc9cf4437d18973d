// BPF_PROG_ATTACH, BPF_PROG_DETACH and BPF_PROG_QUERY: which program type an
// attach type takes, the checks every hook shares, the dispatch to cgroups
// (emu/cgroup_attach.cc) and tcx (emu/tcx_attach.cc), and the queries of
// hooks the emulator attaches nothing to.
#include "emu/prog_attach.h"

#include <linux/bpf.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "core/log.h"
#include "core/profile.h"
#include "core/uaccess.h"
#include "emu/attach_table.h"
#include "emu/objects.h"
#include "emu/program.h"

namespace bpfemu::emu {
namespace {

long not_emulated(uint32_t attach_type) {
  return log_reason(-EOPNOTSUPP, "attach type %u (not a cgroup hook) is not emulated by BPF_PROG_ATTACH", attach_type);
}

}  // namespace

uint32_t prog_type_of_attach(uint32_t attach_type) {
  if (attach_type >= active_profile().attach_type_count) return 0;
  switch (attach_type) {
    case BPF_CGROUP_INET_INGRESS:
    case BPF_CGROUP_INET_EGRESS:
      return BPF_PROG_TYPE_CGROUP_SKB;
    case BPF_CGROUP_INET_SOCK_CREATE:
    case BPF_CGROUP_INET_SOCK_RELEASE:
    case BPF_CGROUP_INET4_POST_BIND:
    case BPF_CGROUP_INET6_POST_BIND:
      return BPF_PROG_TYPE_CGROUP_SOCK;
    case BPF_CGROUP_INET4_BIND:
    case BPF_CGROUP_INET6_BIND:
    case BPF_CGROUP_INET4_CONNECT:
    case BPF_CGROUP_INET6_CONNECT:
    case BPF_CGROUP_UDP4_SENDMSG:
    case BPF_CGROUP_UDP6_SENDMSG:
    case BPF_CGROUP_UDP4_RECVMSG:
    case BPF_CGROUP_UDP6_RECVMSG:
    case BPF_CGROUP_INET4_GETPEERNAME:
    case BPF_CGROUP_INET6_GETPEERNAME:
    case BPF_CGROUP_INET4_GETSOCKNAME:
    case BPF_CGROUP_INET6_GETSOCKNAME:
    case 49: case 50: case 51: case 52: case 53:  // BPF_CGROUP_UNIX_*
      return BPF_PROG_TYPE_CGROUP_SOCK_ADDR;
    case BPF_CGROUP_SOCK_OPS:
      return BPF_PROG_TYPE_SOCK_OPS;
    case BPF_CGROUP_DEVICE:
      return BPF_PROG_TYPE_CGROUP_DEVICE;
    case BPF_SK_MSG_VERDICT:
      return BPF_PROG_TYPE_SK_MSG;
    case BPF_SK_SKB_STREAM_PARSER:
    case BPF_SK_SKB_STREAM_VERDICT:
    case BPF_SK_SKB_VERDICT:
      return BPF_PROG_TYPE_SK_SKB;
    case BPF_LIRC_MODE2:
      return BPF_PROG_TYPE_LIRC_MODE2;
    case BPF_FLOW_DISSECTOR:
      return BPF_PROG_TYPE_FLOW_DISSECTOR;
    case BPF_CGROUP_SYSCTL:
      return BPF_PROG_TYPE_CGROUP_SYSCTL;
    case BPF_CGROUP_GETSOCKOPT:
    case BPF_CGROUP_SETSOCKOPT:
      return BPF_PROG_TYPE_CGROUP_SOCKOPT;
    case BPF_TRACE_ITER:
    case BPF_TRACE_RAW_TP:
    case BPF_TRACE_FENTRY:
    case BPF_TRACE_FEXIT:
    case BPF_MODIFY_RETURN:
      return BPF_PROG_TYPE_TRACING;
    case BPF_LSM_MAC:
    case BPF_LSM_CGROUP:
      return BPF_PROG_TYPE_LSM;
    case BPF_SK_LOOKUP:
      return BPF_PROG_TYPE_SK_LOOKUP;
    case BPF_XDP:
      return BPF_PROG_TYPE_XDP;
    case 46: case 47: case 54: case 55:  // BPF_TCX_INGRESS/EGRESS, BPF_NETKIT_PRIMARY/PEER
      return BPF_PROG_TYPE_SCHED_CLS;
    default:
      return 0;
  }
}

bool is_cgroup_prog_type(uint32_t prog_type) {
  switch (prog_type) {
    case BPF_PROG_TYPE_CGROUP_DEVICE:
    case BPF_PROG_TYPE_CGROUP_SKB:
    case BPF_PROG_TYPE_CGROUP_SOCK:
    case BPF_PROG_TYPE_CGROUP_SOCK_ADDR:
    case BPF_PROG_TYPE_CGROUP_SOCKOPT:
    case BPF_PROG_TYPE_CGROUP_SYSCTL:
    case BPF_PROG_TYPE_SOCK_OPS:
      return true;
    default:
      return false;
  }
}

int check_prog_attach_type(const Program& prog, uint32_t attach_type) {
  const ProgHeader& p = prog.header();
  switch (p.prog_type) {
    case BPF_PROG_TYPE_CGROUP_SOCK:
    case BPF_PROG_TYPE_CGROUP_SOCK_ADDR:
    case BPF_PROG_TYPE_CGROUP_SOCKOPT:
    case BPF_PROG_TYPE_SK_LOOKUP:
      if (attach_type != p.expected_attach_type)
        return log_reason(-EINVAL, "the program was loaded for attach type %u, not %u", p.expected_attach_type,
                          attach_type);
      return 0;
    default:
      // CGROUP_SKB's expected attach type binds only programs that read
      // fields one direction has; the emulator has no verifier to tell.
      if (prog_type_of_attach(attach_type) != p.prog_type)
        return log_reason(-EINVAL, "program type %u does not attach with attach type %u", p.prog_type, attach_type);
      return 0;
  }
}

long sys_prog_attach(const ProgAttachAttr& a) {
  const KernelProfile& prof = active_profile();
  const uint32_t ptype = prog_type_of_attach(a.attach_type);
  if (ptype == 0) return log_reason(-EINVAL, "attach type %u has no program type", a.attach_type);
  const uint32_t base = kOverride | kMulti | kFReplace;
  int err = 0;
  if (!is_cgroup_prog_type(ptype)) {
    if (ptype == BPF_PROG_TYPE_SCHED_CLS) {  // tcx and netkit: mprog flags
      if (a.attach_flags & ~(kFReplace | kFBefore | kFAfter | kFId | kFLink))
        return log_reason(-EINVAL, "attach_flags 0x%x", a.attach_flags);
    } else if ((a.attach_flags & ~base) || a.relative != 0 || a.expected_revision != 0) {
      return log_reason(-EINVAL, "attach_flags 0x%x, relative_fd and expected_revision", a.attach_flags);
    }
    Program* prog = prog_of_type(a.attach_bpf_fd, ptype, &err);
    if (prog == nullptr) return err;
    if (int e = check_prog_attach_type(*prog, a.attach_type); e != 0) return e;
    switch (ptype) {
      case BPF_PROG_TYPE_SK_MSG:
      case BPF_PROG_TYPE_SK_SKB:
      case BPF_PROG_TYPE_LIRC_MODE2:
      case BPF_PROG_TYPE_FLOW_DISSECTOR:
      case BPF_PROG_TYPE_SCHED_CLS:
        if (is_tcx(a.attach_type)) return tcx_prog_attach(*prog, a);
        return not_emulated(a.attach_type);
      default:
        return log_reason(-EINVAL, "programs of type %u are not attached with BPF_PROG_ATTACH", ptype);
    }
  }
  if (prof.cgroup_mprog) {
    if (a.attach_flags & ~(base | kFPreorder | kFBefore | kFAfter | kFId))
      return log_reason(-EINVAL, "attach_flags 0x%x", a.attach_flags);
  } else if (a.attach_flags & ~base) {
    return log_reason(-EINVAL, "attach_flags 0x%x", a.attach_flags);
  }
  Program* prog = prog_of_type(a.attach_bpf_fd, ptype, &err);
  if (prog == nullptr) return err;
  if (int e = check_prog_attach_type(*prog, a.attach_type); e != 0) return e;
  return cgroup_prog_attach(*prog, a);
}

long sys_prog_detach(const ProgAttachAttr& a) {
  const KernelProfile& prof = active_profile();
  const uint32_t ptype = prog_type_of_attach(a.attach_type);
  if (ptype != 0 && is_cgroup_prog_type(ptype)) {
    if (a.attach_flags != 0 || (prof.cgroup_mprog && a.relative != 0))
      return log_reason(-EINVAL, "attach_flags and relative_fd must be 0 to detach from a cgroup");
    return cgroup_prog_detach(a, ptype);
  }
  if (ptype == BPF_PROG_TYPE_SCHED_CLS) {  // tcx and netkit: mprog flags
    if (a.attach_flags & ~(kFReplace | kFBefore | kFAfter | kFId | kFLink))
      return log_reason(-EINVAL, "attach_flags 0x%x", a.attach_flags);
    Program* prog = nullptr;
    int err = 0;
    if (a.attach_bpf_fd != 0 && (prog = prog_of_type(a.attach_bpf_fd, ptype, &err)) == nullptr) return err;
    if (is_tcx(a.attach_type)) return tcx_prog_detach(prog, a);
    return not_emulated(a.attach_type);
  } else {
    if (ptype == 0) return log_reason(-EINVAL, "attach type %u has no program type", a.attach_type);
    if (a.attach_flags != 0 || a.relative != 0 || a.expected_revision != 0)
      return log_reason(-EINVAL, "attach_flags, relative_fd and expected_revision must be 0");
    switch (ptype) {
      case BPF_PROG_TYPE_SK_MSG:
      case BPF_PROG_TYPE_SK_SKB:
      case BPF_PROG_TYPE_LIRC_MODE2:
      case BPF_PROG_TYPE_FLOW_DISSECTOR:
        return not_emulated(a.attach_type);
      default:
        return log_reason(-EINVAL, "programs of type %u are not detached with BPF_PROG_DETACH", ptype);
    }
  }
}

namespace {

// netns_bpf_prog_query: the fd must be a network namespace's; the emulator
// attaches nothing there, so nothing is attached.
long netns_prog_query(void* uattr, uint32_t fd, uint32_t query_flags) {
  if (query_flags != 0) return log_reason(-EINVAL, "query_flags must be 0 for a network namespace");
  struct stat st {};
  if (fstat(static_cast<int>(fd), &st) != 0) return log_reason(-EBADF, "fd %u is not open", fd);
  if (ioctl(static_cast<int>(fd), NS_GET_NSTYPE) != CLONE_NEWNET)
    return log_reason(-EINVAL, "fd %u is no network namespace", fd);
  if (put32(uattr, 12, 0) != 0 || put32(uattr, 24, 0) != 0) return log_reason(-EFAULT, "the attr cannot be written back");
  return 0;
}

// sock_map_bpf_prog_query: the fd must be a map's, and a sockmap's (which
// the emulator does not have); for another map the kernel still writes the
// flags and count (0) before it answers EOPNOTSUPP.
long sockmap_prog_query(void* uattr, uint32_t fd, uint32_t query_flags) {
  if (query_flags != 0) return log_reason(-EINVAL, "query_flags must be 0 for a sockmap");
  ObjKind kind = ObjKind::kNone;
  uint8_t access = 0;
  int err = -EBADF;
  if (object_from_fd_checked(static_cast<int>(fd), &kind, &access, &err) != nullptr) {
    if (kind != ObjKind::kMap) return log_reason(-EINVAL, "fd %u is not a map", fd);
    if (put32(uattr, 12, 0) != 0 || put32(uattr, 24, 0) != 0)
      return log_reason(-EFAULT, "the attr cannot be written back");
    return log_reason(-EOPNOTSUPP, "fd %u is a map but no sockmap", fd);
  }
  struct stat st {};
  if (fstat(static_cast<int>(fd), &st) != 0) return log_reason(-EBADF, "fd %u is not open", fd);
  return log_reason(-EINVAL, "fd %u is not a map", fd);
}

// __cgroup_bpf_query over the BPF_LSM_CGROUP hooks: LSM programs do not
// load here, so none is attached.
long lsm_cgroup_query(void* uattr, const uint8_t* attr) {
  uint32_t target_fd, query_flags, prog_cnt;
  uint64_t prog_ids, prog_attach_flags;
  memcpy(&target_fd, attr, 4);
  memcpy(&query_flags, attr + 8, 4);
  memcpy(&prog_ids, attr + 16, 8);
  memcpy(&prog_cnt, attr + 24, 4);
  memcpy(&prog_attach_flags, attr + 32, 8);
  CgroupRef cg;
  if (int e = cgroup_from_fd(target_fd, &cg); e != 0) return e;
  const bool effective = (query_flags & kQueryEffective) != 0;
  if (effective && prog_attach_flags != 0)
    return log_reason(-EINVAL, "prog_attach_flags cannot be asked for with BPF_F_QUERY_EFFECTIVE");
  if (!effective && prog_cnt != 0 && prog_ids != 0 && prog_attach_flags == 0)
    return log_reason(-EINVAL, "BPF_LSM_CGROUP queries need prog_attach_flags");
  const uint64_t revision = 0;
  if (put32(uattr, 12, 0) != 0 || put32(uattr, 24, 0) != 0 ||
      (active_profile().cgroup_mprog && copy_to_user(user_ptr_add(uattr, 56), &revision, sizeof(revision)) != 0))
    return log_reason(-EFAULT, "the attr cannot be written back");
  return 0;
}

}  // namespace

long sys_prog_query(void* uattr, const uint8_t* attr) {
  QueryAttr q;
  memcpy(&q.target_fd, attr, 4);
  memcpy(&q.attach_type, attr + 4, 4);
  memcpy(&q.query_flags, attr + 8, 4);
  memcpy(&q.prog_ids, attr + 16, 8);
  memcpy(&q.prog_cnt, attr + 24, 4);
  memcpy(&q.prog_attach_flags, attr + 32, 8);
  if (q.query_flags & ~kQueryEffective) return log_reason(-EINVAL, "query_flags 0x%x", q.query_flags);
  const uint32_t ptype = prog_type_of_attach(q.attach_type);
  switch (ptype) {
    case BPF_PROG_TYPE_SCHED_CLS:
      if (is_tcx(q.attach_type)) return tcx_prog_query(uattr, attr);
      // netkit: the host kernel is built without it, so its stub answers.
      return log_reason(-EINVAL, "netkit is not in this kernel");
    case BPF_PROG_TYPE_LIRC_MODE2:
      return log_reason(-EINVAL, "lirc mode2 programs are not in this kernel");
    case BPF_PROG_TYPE_FLOW_DISSECTOR:
    case BPF_PROG_TYPE_SK_LOOKUP:
      return netns_prog_query(uattr, q.target_fd, q.query_flags);
    case BPF_PROG_TYPE_SK_MSG:
    case BPF_PROG_TYPE_SK_SKB:
      return sockmap_prog_query(uattr, q.target_fd, q.query_flags);
    case BPF_PROG_TYPE_LSM:
      if (q.attach_type == BPF_LSM_CGROUP) return lsm_cgroup_query(uattr, attr);
      return log_reason(-EINVAL, "attach type %u cannot be queried", q.attach_type);
    default:
      if (!is_cgroup_prog_type(ptype)) return log_reason(-EINVAL, "attach type %u cannot be queried", q.attach_type);
  }
  return cgroup_prog_query(uattr, q);
}

}  // namespace bpfemu::emu
