#include "emu/link.h"

#include <linux/bpf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "bpfemu/controls.h"
#include "core/cpu.h"
#include "core/libbpf_btf.h"
#include "core/log.h"
#include "core/profile.h"
#include "core/scope.h"
#include "core/uaccess.h"
#include "emu/prog_attach.h"
#include "emu/fire.h"
#include "emu/interpreter.h"
#include "emu/link_internal.h"
#include "emu/objects.h"
#include "emu/perf_event.h"
#include "emu/probe_event.h"
#include "emu/program.h"
#include "emu/store.h"
#include "emu/test_run.h"
#include "emu/trampoline.h"

namespace bpfemu::emu {
namespace {

constexpr uint32_t kMaxRawTpArgs = 12;  // MAX_BPF_FUNC_ARGS
constexpr uint32_t kTcxIngress = 46, kTcxEgress = 47;  // BPF_TCX_INGRESS/EGRESS

// Copies name (and its NUL) to the caller's buffer of ulen bytes as
// bpf_copy_to_user does: what fits, NUL-terminated, and -ENOSPC when it is cut.
int copy_name_out(uint64_t ubuf, uint32_t ulen, const std::string& name) {
  if (ulen == 0) return 0;
  const bool fits = ulen > name.size();
  const std::string text = fits ? name : name.substr(0, ulen - 1);
  if (copy_to_user(reinterpret_cast<void*>(ubuf), text.c_str(), text.size() + 1) != 0) return -EFAULT;
  return fits ? 0 : -ENOSPC;
}

// raw_tracepoint: {u64 tp_name, u32 tp_name_len, u32 pad, u64 cookie} at 16.
// The name's full length always; the buffer gets what fits (ENOSPC, with the
// rest of the info copied, when it is too short).
int fill_raw_tp_link_info(const LinkHeader& h, const LinkInfo& given, LinkInfo* info) {
  const uint64_t user_name = given.get64(16);
  const uint32_t user_len = given.get32(24);
  if ((user_name != 0) != (user_len != 0)) return log_reason(-EINVAL, "tp_name and tp_name_len go together");
  const std::string name(h.tp_name, strnlen(h.tp_name, sizeof(h.tp_name)));
  info->put64(16, user_name);
  info->put32(24, static_cast<uint32_t>(name.size()) + 1);
  info->put64(32, h.cookie);
  return user_name != 0 ? copy_name_out(user_name, user_len, name) : 0;
}

// perf_event: {u32 type, u32 pad, then at 24 one of tracepoint {u64
// tp_name, u32 name_len, u32 pad, u64 cookie}, kprobe {u64 func_name, u32
// name_len, u32 offset, u64 addr, u64 missed, u64 cookie}, uprobe {u64
// file_name, u32 name_len, u32 offset, u64 cookie, u64 ref_ctr_offset}}.
int fill_perf_link_info(const Link& link, const LinkInfo& given, LinkInfo* info) {
  const LinkHeader& h = link.header();
  const uint64_t user_name = given.get64(24);
  const uint32_t user_len = given.get32(32);
  if ((user_name != 0) != (user_len != 0)) return log_reason(-EINVAL, "the name and its length go together");
  int err = 0;
  Object* ev = view_of(*link.store(), ObjKind::kPerfEvent, h.perf_event_id, &err);
  if (ev == nullptr) return err;
  const PerfEventHeader& e = static_cast<PerfEvent*>(ev)->header();
  std::string name;
  if (e.type == kprobe_pmu_type()) {
    name = e.tp_name;
  } else if (e.type == uprobe_pmu_type()) {
    name = e.path;
  } else {
    const char* slash = strchr(e.tp_name, '/');
    name = slash != nullptr ? slash + 1 : e.tp_name;
  }
  if (int r = copy_name_out(user_name, user_len, name); r != 0) return r;
  info->put64(24, user_name);
  info->put32(32, static_cast<uint32_t>(name.size()) + 1);
  if (e.type == kprobe_pmu_type()) {
    info->put32(16, e.retprobe ? 4 : 3);  // BPF_PERF_EVENT_KRETPROBE / _KPROBE
    info->put32(36, static_cast<uint32_t>(e.probe_offset));
    info->put64(40, 0);  // addr: hidden, as from a kernel whose kallsyms show no addresses
    info->put64(48, 0);  // missed
    info->put64(56, h.cookie);
  } else if (e.type == uprobe_pmu_type()) {
    info->put32(16, e.retprobe ? 2 : 1);  // BPF_PERF_EVENT_URETPROBE / _UPROBE
    info->put32(36, static_cast<uint32_t>(e.probe_offset));
    info->put64(40, h.cookie);
    info->put64(48, e.ref_ctr_offset);
  } else {
    info->put32(16, 5);  // BPF_PERF_EVENT_TRACEPOINT
    info->put64(40, h.cookie);
  }
  return 0;
}

// iter: {u64 target_name, u32 target_name_len, then map {u32 map_id}} at 16.
int fill_iter_link_info(const LinkHeader& h, const LinkInfo& given, LinkInfo* info) {
  const uint64_t user_name = given.get64(16);
  const uint32_t user_len = given.get32(24);
  if ((user_name != 0) != (user_len != 0)) return log_reason(-EINVAL, "target_name and target_name_len go together");
  const std::string name(h.tp_name, strnlen(h.tp_name, sizeof(h.tp_name)));
  info->put32(24, static_cast<uint32_t>(name.size()) + 1);
  if (user_name != 0)
    if (int e = copy_name_out(user_name, user_len, name); e != 0) return e;
  if (h.iter_map_id != 0) info->put32(28, h.iter_map_id);
  return 0;
}



// Whether the running kernel has raw tracepoint `name` (its BTF declares a
// btf_trace_<name> typedef for each); unknown, so true, without its BTF.
bool kernel_has_tracepoint(const std::string& name) {
  const VmlinuxTypes* types = vmlinux_types();
  return types == nullptr || types->raw_tracepoints.count(name) != 0;
}

// The object of kind K behind fd (bpf_prog_get, bpf_link_get_from_fd):
// nullptr with *err set, EBADF for no BPF object, EINVAL for another kind.
template <class T, ObjKind K>
T* typed_from_fd(uint32_t fd, const char* what, int* err) {
  ObjKind kind = ObjKind::kNone;
  uint8_t access = 0;
  *err = -EBADF;
  Object* obj = object_from_fd_checked(static_cast<int>(fd), &kind, &access, err);
  if (obj == nullptr) {
    *err = log_reason(*err, "%s %u is not a BPF object", what, fd);
    return nullptr;
  }
  if (kind != K) {
    *err = log_reason(-EINVAL, "%s %u is not a %s", what, fd, obj_kind_name(K));
    return nullptr;
  }
  return static_cast<T*>(obj);
}

Program* program_from_fd(uint32_t prog_fd, int* err) { return typed_from_fd<Program, ObjKind::kProg>(prog_fd, "prog_fd", err); }
Link* link_from_fd(uint32_t link_fd, int* err) { return typed_from_fd<Link, ObjKind::kLink>(link_fd, "link_fd", err); }


// A new link object holding `prog`: its fd or -errno.
int publish_link(Program& prog, uint32_t type, uint64_t cookie, const char* tp_name, uint32_t ifindex,
                 uint32_t perf_event_id = 0, uint32_t attach_type = 0, uint32_t target_btf_id = 0) {
  Store* store = prog.store();
  Region region;
  if (int e = store->new_region(ObjKind::kLink, kHeaderPage, &region); e != 0) return e;
  auto* hdr = new (region.at<void>(region.size() - kHeaderPage)) LinkHeader();
  init_obj_header(hdr->obj, ObjKind::kLink, sizeof(LinkHeader), 0);
  hdr->type = type;
  hdr->prog_id = prog.id();
  hdr->prog_type = prog.header().prog_type;
  hdr->cookie = cookie;
  hdr->ifindex = ifindex;
  hdr->perf_event_id = perf_event_id;
  hdr->attach_type = attach_type;
  hdr->target_btf_id = target_btf_id;
  if (tp_name != nullptr) strncpy(hdr->tp_name, tp_name, sizeof(hdr->tp_name) - 1);
  prog.obj_header().krefs.fetch_add(1);  // the link holds its program
  const int fd = publish_object(*store, std::make_unique<Link>(std::move(region)), kCanReadWrite);
  if (fd < 0) prog.obj_header().krefs.fetch_sub(1);
  return fd;
}

// Whether a live XDP link is attached to device ifindex.
bool xdp_link_on(Store& store, uint32_t ifindex) {
  return any_link(store, [&](const Link& link) {
    const LinkHeader& h = link.header();
    return h.type == BPF_LINK_TYPE_XDP && field(h.ifindex).load() == ifindex;
  });
}

// bpf_xdp_link_attach and dev_xdp_attach: one mode flag at most; devices are
// this host's; every device is treated as having no native XDP driver.
int xdp_link_attach(Program& prog, uint32_t ifindex, uint32_t flags) {
  constexpr uint32_t kModes = XDP_FLAGS_SKB_MODE | XDP_FLAGS_DRV_MODE | XDP_FLAGS_HW_MODE;
  if (flags & ~kModes) return log_reason(-EINVAL, "XDP link flags 0x%x: only one mode flag may be given", flags);
  char name[IF_NAMESIZE];
  if (ifindex == 0 || if_indextoname(ifindex, name) == nullptr)
    return log_reason(-EINVAL, "no network device with ifindex %u here", ifindex);
  if (__builtin_popcount(flags & kModes) > 1) return log_reason(-EINVAL, "more than one XDP mode flag");
  if (flags & (XDP_FLAGS_DRV_MODE | XDP_FLAGS_HW_MODE))
    return log_reason(-EOPNOTSUPP, "native and offloaded XDP are not emulated (%s runs programs in generic mode)",
                      name);
  if (xdp_link_on(*prog.store(), ifindex)) return log_reason(-EBUSY, "%s has an XDP link already", name);
  return publish_link(prog, BPF_LINK_TYPE_XDP, 0, nullptr, ifindex);
}

// bpf_perf_link_attach: the program runs when the event's tracepoint fires,
// for as long as the link exists; the link holds the event.
int perf_link_attach(Program& prog, uint32_t perf_fd, uint32_t flags, uint64_t cookie) {
  if (flags != 0) return log_reason(-EINVAL, "perf links take no flags");
  ObjKind kind = ObjKind::kNone;
  uint8_t access = 0;
  int err = -EBADF;
  Object* obj = object_from_fd_checked(static_cast<int>(perf_fd), &kind, &access, &err);
  if (obj == nullptr || kind != ObjKind::kPerfEvent)
    return log_reason(-EBADF, "target_fd %d is no emulated perf event", static_cast<int>(perf_fd));
  auto& ev = *static_cast<PerfEvent*>(obj);
  if (int e = perf_event_attach_prog(ev, prog, cookie); e != 0) return e;
  ev.obj_header().krefs.fetch_add(1);
  const int fd = publish_link(prog, BPF_LINK_TYPE_PERF_EVENT, cookie, nullptr, 0, ev.id());
  if (fd < 0) {
    perf_event_detach_prog(ev, prog.id());
    drop_object_ref(*ev.store(), ObjKind::kPerfEvent, ev.id());
  }
  return fd;
}

// bpf_tracing_prog_attach and, for tp_btf programs, bpf_raw_tp_link_attach:
// the target is the one the program was loaded for. A program is linked to
// its function once at a time (EBUSY), as one trampoline holds it once.
int tracing_link_attach(Program& prog, uint64_t cookie) {
  const ProgHeader& p = prog.header();
  const uint32_t at = p.expected_attach_type;
  if (p.prog_type == BPF_PROG_TYPE_LSM) {
    if (at != BPF_LSM_MAC) return log_reason(-EINVAL, "an LSM program links only with BPF_LSM_MAC (it has %u)", at);
  } else if (p.prog_type != BPF_PROG_TYPE_TRACING) {
    return log_reason(-EINVAL, "program type %u is not emulated", p.prog_type);
  } else if (at == BPF_TRACE_RAW_TP) {
    return publish_link(prog, BPF_LINK_TYPE_RAW_TRACEPOINT, cookie, p.attach_target, 0);
  } else if (at != BPF_TRACE_FENTRY && at != BPF_TRACE_FEXIT && at != BPF_MODIFY_RETURN) {
    return log_reason(-EINVAL, "tracing attach type %u is not emulated", at);
  }
  Store& store = *prog.store();
  int err = 0;
  for (uint32_t id = 0;;) {
    uint32_t next = 0;
    if (store.next_id(ObjKind::kLink, id, &next) != 0) break;
    id = next;
    Object* obj = view_of(store, ObjKind::kLink, id, &err);
    if (obj == nullptr) continue;
    const LinkHeader& h = static_cast<Link*>(obj)->header();
    if (h.type == BPF_LINK_TYPE_TRACING && field(h.prog_id).load() == prog.id())
      return log_reason(-EBUSY, "program %u is linked to %s already", prog.id(), p.attach_target);
  }
  return publish_link(prog, BPF_LINK_TYPE_TRACING, cookie, p.attach_target, 0, 0, p.expected_attach_type,
                      p.attach_btf_id);
}

// A cgroup or tcx link exists (it has its id) before it joins its list
// (cgroup_bpf_link_attach, tcx_link_attach): `join` adds it, and when that
// fails the link goes again. The link fd, or -errno.
template <class Join>
int publish_then_join(Program& prog, uint32_t type, uint32_t attach_type, Join join) {
  const int fd = publish_link(prog, type, 0, nullptr, 0, 0, attach_type);
  if (fd < 0) return fd;
  int err = 0;
  Link* link = link_from_fd(static_cast<uint32_t>(fd), &err);
  if (link == nullptr || (err = join(*link)) != 0) {
    sys_close(fd);
    return err;
  }
  return fd;
}

int cgroup_link_create(Program& prog, uint32_t cgroup_fd, uint32_t attach_type, uint32_t flags, uint32_t relative,
                       uint64_t expected_revision) {
  if (int e = check_prog_attach_type(prog, attach_type); e != 0) return e;
  if (int e = cgroup_link_check_flags(flags); e != 0) return e;
  CgroupRef cg;
  if (int e = cgroup_from_fd(cgroup_fd, &cg); e != 0) return e;
  return publish_then_join(prog, BPF_LINK_TYPE_CGROUP, attach_type, [&](Link& link) {
    const int e = cgroup_link_attach(*prog.store(), cg, attach_type, link.id(), prog.id(), prog.header().prog_type,
                                     flags, relative, expected_revision);
    if (e == 0) std::atomic_ref<uint64_t>(const_cast<LinkHeader&>(link.header()).cgroup_id).store(cg.id);
    return e;
  });
}

int tcx_link_create(Program& prog, uint32_t ifindex, uint32_t attach_type, uint32_t flags, uint32_t relative,
                    uint64_t expected_revision) {
  if (int e = tcx_check_device(ifindex); e != 0) return e;
  return publish_then_join(prog, kLinkTypeTcx, attach_type, [&](Link& link) {
    const int e = tcx_link_attach(*prog.store(), ifindex, attach_type, link.id(), prog.id(), prog.header().prog_type,
                                  flags, relative, expected_revision);
    if (e == 0) field(link.header().ifindex).store(ifindex);
    return e;
  });
}


// bpf_iter_link_attach: link_create.iter_info (at 16) and iter_info_len (at
// 24) give a union bpf_iter_link_info (16 bytes) whose map.map_fd names the
// map a bpf_map_elem iterator walks; other targets take none. The program's
// largest key and value accesses are not checked against the map's sizes
// (the kernel's EACCES): the emulator has no verifier to measure them.
int iter_link_attach(Program& prog, uint32_t target_fd, uint32_t flags, const uint8_t* attr) {
  constexpr uint32_t kIterLinkInfoSize = 16;
  if (target_fd != 0 || flags != 0) return log_reason(-EINVAL, "iterator links take no target_fd and no flags");
  const uint64_t uinfo = attr != nullptr ? attr_u64(attr, 16) : 0;
  uint32_t len = attr != nullptr ? attr_u32(attr, 24) : 0;
  if ((uinfo == 0) != (len == 0)) return log_reason(-EINVAL, "iter_info and iter_info_len go together");
  uint8_t info[kIterLinkInfoSize] = {};
  if (uinfo != 0) {
    if (int e = check_uarg_tail_zero(reinterpret_cast<void*>(uinfo), kIterLinkInfoSize, &len, "bpf_iter_link_info");
        e != 0)
      return e;
    if (copy_from_user(info, reinterpret_cast<void*>(uinfo), len) != 0) return -EFAULT;
  }
  if (prog.header().expected_attach_type != BPF_TRACE_ITER)
    return log_reason(-ENOENT, "the program was not loaded as an iterator (no iterator target has its btf_id)");
  const char* target = prog.header().attach_target + strlen("bpf_iter_");
  if (strcmp(target, "bpf_map_elem") != 0) return publish_link(prog, BPF_LINK_TYPE_ITER, 0, target, 0);
  // bpf_iter_attach_map: the map must be one whose elements the kernel walks.
  const uint32_t map_fd = attr_u32(info, 0);
  if (map_fd == 0) return log_reason(-EBADF, "iter_info.map.map_fd is 0: bpf_map_elem needs a map");
  uint8_t access = 0;
  int err = -EBADF;
  Map* map = map_from_fd_checked(static_cast<int>(map_fd), &access, &err);
  if (map == nullptr) return log_reason(err, "map_fd %u is not a map", map_fd);
  const uint32_t mt = map->attr().map_type;
  if (mt != BPF_MAP_TYPE_HASH && mt != BPF_MAP_TYPE_LRU_HASH && mt != BPF_MAP_TYPE_ARRAY &&
      mt != BPF_MAP_TYPE_PERCPU_HASH && mt != BPF_MAP_TYPE_LRU_PERCPU_HASH && mt != BPF_MAP_TYPE_PERCPU_ARRAY)
    return log_reason(-EINVAL, "bpf_map_elem iterators walk hash and array maps, not map type %u", mt);
  map->obj_header().krefs.fetch_add(1);  // the link holds the map (dropped when the link goes)
  const int fd = publish_link(prog, BPF_LINK_TYPE_ITER, 0, target, 0);
  if (fd < 0) {
    drop_object_ref(*map->store(), ObjKind::kMap, map->id());
    return fd;
  }
  Link* link = link_from_fd(static_cast<uint32_t>(fd), &err);
  if (link != nullptr) field(link->header().iter_map_id).store(map->id());
  return fd;
}

// link_create's first check: whether prog_type may link with attach_type.
bool attach_type_fits(uint32_t prog_type, uint32_t attach_type) {
  switch (prog_type) {
    case BPF_PROG_TYPE_EXT:
      return true;
    case 32:  // BPF_PROG_TYPE_NETFILTER
      return attach_type == 45;  // BPF_NETFILTER
    case BPF_PROG_TYPE_PERF_EVENT:
    case BPF_PROG_TYPE_TRACEPOINT:
      return attach_type == BPF_PERF_EVENT;
    case BPF_PROG_TYPE_KPROBE:  // perf event, kprobe/uprobe multi, kprobe/uprobe session (as the kernel knows them)
      return attach_type == BPF_PERF_EVENT || attach_type == BPF_TRACE_KPROBE_MULTI ||
             ((attach_type == kTraceUprobeMulti || attach_type == 56 || attach_type == 57) &&
              attach_type < active_profile().attach_type_count);
    default:
      return prog_type_of_attach(attach_type) == prog_type;
  }
}

}  // namespace

int sys_link_create(uint32_t prog_fd, uint32_t target, uint32_t attach_type, uint32_t flags, uint64_t at16,
                    uint64_t at24, const uint8_t* attr) {
  const auto relative = static_cast<uint32_t>(at16);
  const uint64_t expected_revision = at24;
  int err = 0;
  Program* prog = program_from_fd(prog_fd, &err);
  if (prog == nullptr) return err;
  const uint32_t type = prog->header().prog_type;
  if (!attach_type_fits(type, attach_type))
    return log_reason(-EINVAL, "program type %u cannot be linked with attach type %u", type, attach_type);
  if (type == BPF_PROG_TYPE_TRACING && attach_type == BPF_TRACE_ITER) return iter_link_attach(*prog, target, flags, attr);
  if (is_cgroup_prog_type(type)) return cgroup_link_create(*prog, target, attach_type, flags, relative, expected_revision);
  if (type == BPF_PROG_TYPE_SCHED_CLS && (attach_type == kTcxIngress || attach_type == kTcxEgress))
    return tcx_link_create(*prog, target, attach_type, flags, relative, expected_revision);
  if (type == BPF_PROG_TYPE_XDP) return xdp_link_attach(*prog, target, flags);
  if ((type == BPF_PROG_TYPE_TRACING && attach_type != BPF_TRACE_ITER) ||
      (type == BPF_PROG_TYPE_LSM && attach_type == BPF_LSM_MAC)) {
    if (attach_type != prog->header().expected_attach_type)
      return log_reason(-EINVAL, "attach type %u is not the program's expected attach type %u", attach_type,
                        prog->header().expected_attach_type);
    // link_create.target_fd / target_btf_id (another target than the load's)
    // would name a BPF program to trace: not emulated.
    if (target != 0) return log_reason(-EINVAL, "tracing a BPF program (target_fd) is not emulated");
    return tracing_link_attach(*prog, at24);  // link_create.tracing.cookie
  }
  if (attach_type == BPF_PERF_EVENT) return perf_link_attach(*prog, target, flags, at16);  // perf_event.bpf_cookie
  if (type == BPF_PROG_TYPE_KPROBE && attr != nullptr && attach_type == BPF_TRACE_KPROBE_MULTI)
    return kprobe_multi_link_attach(*prog, flags, attr);
  if (type == BPF_PROG_TYPE_KPROBE && attr != nullptr && attach_type == kTraceUprobeMulti)
    return uprobe_multi_link_attach(*prog, flags, attr);
  return log_reason(-EOPNOTSUPP, "BPF_LINK_CREATE of program type %u (attach type %u) is not emulated yet: "
                    "XDP links and raw tracepoints are", type, attach_type);
}

namespace {

std::atomic_ref<uint64_t> cgroup_field(const LinkHeader& h) {
  return std::atomic_ref<uint64_t>(const_cast<uint64_t&>(h.cgroup_id));
}

// cgroup_bpf_replace: the new program must be of the link's program's type.
int cgroup_link_update(Link& link, Program& prog, Program* old) {
  LinkHeader& h = const_cast<LinkHeader&>(link.header());
  const uint64_t cg = cgroup_field(h).load();
  if (cg == 0) return log_reason(-ENOLINK, "the link was detached");
  uint32_t cur = field(h.prog_id).load();
  if (old != nullptr && old->id() != cur) return log_reason(-EPERM, "the link does not hold old_prog_fd's program");
  if (prog.header().prog_type != h.prog_type)
    return log_reason(-EINVAL, "the new program's type differs from the link's");
  prog.obj_header().krefs.fetch_add(1);
  if (int e = cgroup_link_replace(*link.store(), cg, h.attach_type, link.id(), prog.id()); e != 0) {
    prog.obj_header().krefs.fetch_sub(1);
    return e;
  }
  field(h.prog_id).store(prog.id());
  drop_object_ref(*link.store(), ObjKind::kProg, cur);
  return 0;
}

// tcx_link_update: in place, as a replace relative to the link's program.
int tcx_link_update(Link& link, Program& prog, Program* old) {
  LinkHeader& h = const_cast<LinkHeader&>(link.header());
  const uint32_t ifindex = field(h.ifindex).load();
  if (ifindex == 0) return log_reason(-ENOLINK, "the link was detached");
  const uint32_t cur = field(h.prog_id).load();
  if (old != nullptr && old->id() != cur) return log_reason(-EPERM, "the link does not hold old_prog_fd's program");
  if (prog.id() == cur) return 0;
  prog.obj_header().krefs.fetch_add(1);
  if (int e = tcx_link_replace(*link.store(), ifindex, h.attach_type, link.id(), cur, prog.id(),
                               prog.header().prog_type);
      e != 0) {
    prog.obj_header().krefs.fetch_sub(1);
    return e;
  }
  field(h.prog_id).store(prog.id());
  drop_object_ref(*link.store(), ObjKind::kProg, cur);
  return 0;
}

}  // namespace

int sys_link_update(uint32_t link_fd, uint32_t new_prog_fd, uint32_t flags, uint32_t old_prog_fd) {
  if (flags & ~uint32_t{BPF_F_REPLACE}) return log_reason(-EINVAL, "link_update flags 0x%x", flags);
  int err = 0;
  Link* link = link_from_fd(link_fd, &err);
  if (link == nullptr) return err;
  Program* prog = program_from_fd(new_prog_fd, &err);
  if (prog == nullptr) return err;
  Program* old = nullptr;
  if (flags & BPF_F_REPLACE) {
    old = program_from_fd(old_prog_fd, &err);
    if (old == nullptr) return err;
  } else if (old_prog_fd != 0) {
    return log_reason(-EINVAL, "old_prog_fd needs BPF_F_REPLACE");
  }
  LinkHeader& h = const_cast<LinkHeader&>(link->header());
  if (h.type == BPF_LINK_TYPE_CGROUP) return cgroup_link_update(*link, *prog, old);
  if (h.type == kLinkTypeTcx) return tcx_link_update(*link, *prog, old);
  if (h.type != BPF_LINK_TYPE_XDP && h.type != BPF_LINK_TYPE_ITER)
    return log_reason(-EINVAL, "this kind of link cannot change its program");
  if (h.type == BPF_LINK_TYPE_XDP && field(h.ifindex).load() == 0) return log_reason(-ENOLINK, "the link was detached");
  uint32_t cur = field(h.prog_id).load();
  if (old != nullptr && old->id() != cur) return log_reason(-EPERM, "the link does not hold old_prog_fd's program");
  Object* held = view_of(*link->store(), ObjKind::kProg, cur, &err);
  if (held == nullptr) return err;
  const ProgHeader& was = static_cast<Program*>(held)->header();
  if (prog->header().prog_type != was.prog_type || prog->header().expected_attach_type != was.expected_attach_type)
    return log_reason(-EINVAL, "the new program's type or expected attach type differs from the link's");
  // bpf_iter_link_replace: and the same iterator target. Iterators made
  // before keep the program they were made with.
  if (h.type == BPF_LINK_TYPE_ITER && prog->header().attach_btf_id != was.attach_btf_id)
    return log_reason(-EINVAL, "the new program iterates over another target than the link's");
  if (prog->id() == cur) return 0;
  prog->obj_header().krefs.fetch_add(1);
  if (!field(h.prog_id).compare_exchange_strong(cur, prog->id())) {
    prog->obj_header().krefs.fetch_sub(1);
    return log_reason(-EPERM, "the link's program changed meanwhile");
  }
  drop_object_ref(*link->store(), ObjKind::kProg, cur);
  return 0;
}

int sys_link_detach(uint32_t link_fd) {
  int err = 0;
  Link* link = link_from_fd(link_fd, &err);
  if (link == nullptr) return err;
  const LinkHeader& h = link->header();
  if (h.type == BPF_LINK_TYPE_CGROUP) {
    // bpf_cgroup_link_detach: out of the list; the program stays held.
    if (const uint64_t cg = cgroup_field(h).exchange(0); cg != 0)
      cgroup_link_remove(*link->store(), cg, h.attach_type, link->id());
    return 0;
  }
  if (h.type == kLinkTypeTcx) {
    if (const uint32_t ifindex = field(h.ifindex).exchange(0); ifindex != 0)
      tcx_link_remove(*link->store(), ifindex, h.attach_type, link->id(), field(h.prog_id).load());
    return 0;
  }
  if (h.type != BPF_LINK_TYPE_XDP) return log_reason(-EOPNOTSUPP, "this kind of link cannot be detached");
  field(h.ifindex).store(0);  // the program stays held, as the kernel's detached link does
  return 0;
}

int sys_raw_tracepoint_open(const char* uname, uint32_t prog_fd, uint64_t cookie) {
  ObjKind kind = ObjKind::kNone;
  uint8_t access = 0;
  int err = -EBADF;
  Object* obj = object_from_fd_checked(static_cast<int>(prog_fd), &kind, &access, &err);
  if (obj == nullptr) return log_reason(err, "prog_fd %u is not a BPF object", prog_fd);
  if (kind != ObjKind::kProg) return log_reason(-EINVAL, "prog_fd %u is not a program", prog_fd);
  auto* prog = static_cast<Program*>(obj);
  const uint32_t type = prog->header().prog_type;
  if (type == BPF_PROG_TYPE_TRACING || type == BPF_PROG_TYPE_EXT || type == BPF_PROG_TYPE_LSM) {
    // Their attach point was given at load (attach_btf_id), never by name.
    if (uname != nullptr) return log_reason(-EINVAL, "a tracing program's target comes from its load, not a name");
    return tracing_link_attach(*prog, cookie);
  }
  if (type != BPF_PROG_TYPE_RAW_TRACEPOINT && type != BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE)
    return log_reason(-EINVAL, "program type %u does not attach to raw tracepoints by name", type);
  char name[128] = {};
  if (strncpy_from_user(name, uname, sizeof(name) - 1) < 0) return log_reason(-EFAULT, "name points at bad memory");
  if (!kernel_has_tracepoint(name)) return log_reason(-ENOENT, "the kernel has no raw tracepoint %s", name);

  return publish_link(*prog, BPF_LINK_TYPE_RAW_TRACEPOINT, cookie, name, 0);
}

int link_get_info(const Link& link, void* uinfo, uint32_t* info_len) {
  const LinkHeader& h = link.header();
  const uint32_t kernel_size = active_profile().link_info_size;
  uint32_t len = *info_len;
  if (int e = check_uarg_tail_zero(uinfo, kernel_size, &len, "bpf_link_info"); e != 0) return e;
  // bpf_link_get_info_by_fd starts from the caller's bytes: what a link type
  // does not fill comes back as given.
  LinkInfo info;
  if (copy_from_user(&info, uinfo, len) != 0) return -EFAULT;
  const LinkInfo given = info;
  info.put32(0, h.type);
  info.put32(4, link.id());
  info.put32(8, field(h.prog_id).load());
  int err = 0;
  switch (h.type) {
    case BPF_LINK_TYPE_XDP:  // bpf_xdp_link_fill_link_info: the device, 0 once detached
      info.put32(16, field(h.ifindex).load());
      break;
    case BPF_LINK_TYPE_CGROUP:  // bpf_cgroup_link_fill_link_info: 0 once detached
      info.put64(16, cgroup_field(h).load());
      info.put32(24, h.attach_type);
      break;
    case kLinkTypeTcx:  // tcx_link_fill_info: the device, 0 once detached
      info.put32(16, field(h.ifindex).load());
      info.put32(20, h.attach_type);
      break;
    case BPF_LINK_TYPE_TRACING:  // bpf_tracing_link_fill_link_info: the kernel's BTF is object 1
      info.put32(16, h.attach_type);
      info.put32(20, 1);
      info.put32(24, h.target_btf_id);
      info.put64(32, h.cookie);
      break;
    case BPF_LINK_TYPE_ITER:  // bpf_iter_link_fill_link_info: the target's name, then the map's id
      err = fill_iter_link_info(h, given, &info);
      if (err != 0) return err;  // nothing of the struct is copied back then
      break;
    case BPF_LINK_TYPE_PERF_EVENT:  // bpf_perf_link_fill_tracepoint: the event's name, as tracefs lists it
      if (!active_profile().perf_link_info) break;
      err = fill_perf_link_info(link, given, &info);
      if (err != 0) return err;  // the kernel copies nothing back then
      break;
    case kLinkTypeKprobeMulti:
    case kLinkTypeUprobeMulti:  // bpf_{k,u}probe_multi_link_fill_link_info (6.6+)
      if (!active_profile().perf_link_info) break;
      err = h.type == kLinkTypeKprobeMulti ? fill_kprobe_multi_info(link, given, &info)
                                           : fill_uprobe_multi_info(link, given, &info);
      if (err != 0) return err;  // nothing of the struct is copied back then
      break;
    default:  // bpf_raw_tp_link_fill_link_info
      err = fill_raw_tp_link_info(h, given, &info);
      if (err == -EINVAL || err == -EFAULT) return err;
      break;
  }
  if (copy_to_user(uinfo, info.bytes, len) != 0) return -EFAULT;
  *info_len = len;
  return err;
}

// The link's program's tag in hex, as the kernel's link fdinfo shows it.
std::string prog_tag_hex(const Link& link, uint32_t prog_id) {
  char hex[17] = "0000000000000000";
  int err = 0;
  if (Object* o = link.store() != nullptr ? view_of(*link.store(), ObjKind::kProg, prog_id, &err) : nullptr)
    for (int i = 0; i < 8; ++i) snprintf(hex + 2 * i, 3, "%02x", static_cast<Program*>(o)->header().tag[i]);
  return hex;
}


int link_fdinfo(const Link& link, char* buf, int size) {
  const LinkHeader& h = link.header();
  const uint32_t prog_id = field(h.prog_id).load();
  const std::string tag = prog_tag_hex(link, prog_id);
  if (h.type == BPF_LINK_TYPE_TRACING)
    return snprintf(buf, static_cast<size_t>(size),
                    "link_type:\ttracing\nlink_id:\t%u\nprog_tag:\t%s\nprog_id:\t%u\n"
                    "attach_type:\t%u\ntarget_obj_id:\t1\ntarget_btf_id:\t%u\n",
                    link.id(), tag.c_str(), prog_id, h.attach_type, h.target_btf_id);
  if (h.type == BPF_LINK_TYPE_CGROUP)
    return snprintf(buf, static_cast<size_t>(size),
                    "link_type:\tcgroup\nlink_id:\t%u\nprog_tag:\t%s\nprog_id:\t%u\ncgroup_id:\t%llu\n"
                    "attach_type:\t%u\n",
                    link.id(), tag.c_str(), prog_id, static_cast<unsigned long long>(cgroup_field(h).load()),
                    h.attach_type);
  if (h.type == kLinkTypeTcx)
    return snprintf(buf, static_cast<size_t>(size),
                    "link_type:\ttcx\nlink_id:\t%u\nprog_tag:\t%s\nprog_id:\t%u\nifindex:\t%u\n"
                    "attach_type:\t%u (%s)\n",
                    link.id(), tag.c_str(), prog_id, field(h.ifindex).load(), h.attach_type,
                    h.attach_type == kTcxIngress ? "ingress" : "egress");
  if (h.type == BPF_LINK_TYPE_PERF_EVENT)
    return snprintf(buf, static_cast<size_t>(size), "link_type:\tperf\nlink_id:\t%u\nprog_tag:\t%s\nprog_id:\t%u\n",
                    link.id(), tag.c_str(), prog_id);
  if (h.type == kLinkTypeKprobeMulti || h.type == kLinkTypeUprobeMulti)
    return multi_link_fdinfo(link, tag, buf, size);
  if (h.type == BPF_LINK_TYPE_ITER) {
    char map_line[32] = "";
    if (h.iter_map_id != 0) snprintf(map_line, sizeof(map_line), "map_id:\t%u\n", h.iter_map_id);
    return snprintf(buf, static_cast<size_t>(size),
                    "link_type:\titer\nlink_id:\t%u\nprog_tag:\t%s\nprog_id:\t%u\ntarget_name:\t%s\n%s",
                    link.id(), tag.c_str(), prog_id, h.tp_name, map_line);
  }
  if (h.type == BPF_LINK_TYPE_XDP)
    return snprintf(buf, static_cast<size_t>(size),
                    "link_type:\txdp\nlink_id:\t%u\nprog_tag:\t%s\nprog_id:\t%u\nifindex:\t%u\n", link.id(),
                    tag.c_str(), prog_id, field(h.ifindex).load());
  return snprintf(buf, static_cast<size_t>(size),
                  "link_type:\traw_tracepoint\nlink_id:\t%u\nprog_tag:\t%s\nprog_id:\t%u\ntp_name:\t%s\n", link.id(),
                  tag.c_str(), prog_id, h.tp_name);
}

int fire_function(const char* func, const uint64_t* args, uint32_t nargs, uint64_t ret, int cpu, uint64_t* result) {
  if (func == nullptr || nargs > kMaxRawTpArgs || (nargs != 0 && args == nullptr))
    return log_reason(-EINVAL, "a function name and at most 12 arguments");
  Firing fire(cpu);
  if (fire.error() != 0) return fire.error();
  uint64_t value = 0;
  const int err = call_traced(fire, func, std::vector<uint64_t>(args, args + nargs), [ret] { return ret; }, &value);
  if (err != 0) return err;
  if (result != nullptr) *result = value;
  return fire.ran();
}

int fire_raw_tracepoint(const char* name, const uint64_t* args, uint32_t nargs, int cpu) {
  if (name == nullptr || nargs > kMaxRawTpArgs || (nargs != 0 && args == nullptr))
    return log_reason(-EINVAL, "a tracepoint name and at most 12 arguments");
  Firing fire(cpu);
  if (fire.error() != 0) return fire.error();
  std::vector<uint64_t> ctx(args, args + nargs);
  int err = 0;
  fire.each(ObjKind::kLink, [&](Object& obj) {
    const LinkHeader& h = static_cast<Link&>(obj).header();
    if (err == 0 && h.type == BPF_LINK_TYPE_RAW_TRACEPOINT && strncmp(h.tp_name, name, sizeof(h.tp_name)) == 0)
      err = fire.run(field(h.prog_id).load(), ctx.data(), nargs * 8, h.cookie);
  });
  return err != 0 ? err : fire.ran();
}

}  // namespace bpfemu::emu
