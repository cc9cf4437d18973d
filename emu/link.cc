#include "emu/link.h"

#include <linux/bpf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <ctime>
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
#include "emu/ksyms.h"
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

// struct bpf_link_info as bytes (6.18's 64; the profile says how many a
// kernel copies): type, id, prog_id, then the union each link type fills.
struct LinkInfo {
  uint8_t bytes[64] = {};
  uint32_t get32(size_t off) const {
    uint32_t v;
    memcpy(&v, bytes + off, sizeof(v));
    return v;
  }
  uint64_t get64(size_t off) const {
    uint64_t v;
    memcpy(&v, bytes + off, sizeof(v));
    return v;
  }
  void put32(size_t off, uint32_t v) { memcpy(bytes + off, &v, sizeof(v)); }
  void put64(size_t off, uint64_t v) { memcpy(bytes + off, &v, sizeof(v)); }
};

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

// kprobe_multi: {u64 addrs, u32 count, u32 flags, u64 missed, u64 cookies}
// at 16. The arrays get min(count, the link's) entries (ENOSPC when fewer),
// in the link's order; addresses as the emulator's kallsyms shows them.
int fill_kprobe_multi_info(const Link& link, const LinkInfo& given, LinkInfo* info) {
  const LinkHeader& h = link.header();
  const uint64_t uaddrs = given.get64(16), ucookies = given.get64(40);
  uint32_t ucount = given.get32(24);
  if ((uaddrs != 0) != (ucount != 0)) return log_reason(-EINVAL, "kprobe_multi.addrs and count go together");
  if (ucookies != 0 && ucount == 0) return log_reason(-EINVAL, "kprobe_multi.cookies needs a count");
  info->put32(24, h.multi_cnt);
  info->put32(28, h.multi_flags);
  info->put64(32, 0);  // missed: the emulator never skips a run
  if (uaddrs == 0) return 0;
  int err = 0;
  if (ucount < h.multi_cnt) err = -ENOSPC;
  else ucount = h.multi_cnt;
  const auto* e = reinterpret_cast<const KprobeMultiEntry*>(link.data());
  for (uint32_t i = 0; i < ucount; ++i) {
    if (ucookies != 0 && copy_to_user(reinterpret_cast<void*>(ucookies + 8ULL * i), &e[i].cookie, 8) != 0) return -EFAULT;
    if (copy_to_user(reinterpret_cast<void*>(uaddrs + 8ULL * i), &e[i].addr, 8) != 0) return -EFAULT;
  }
  return err;
}

// uprobe_multi: {u64 path, u64 offsets, u64 ref_ctr_offsets, u64 cookies, u32
// path_size, u32 count, u32 flags, u32 pid} at 16.
int fill_uprobe_multi_info(const Link& link, const LinkInfo& given, LinkInfo* info) {
  const LinkHeader& h = link.header();
  const uint64_t upath = given.get64(16), uoffsets = given.get64(24), uref = given.get64(32), ucookies = given.get64(40);
  const uint32_t upath_size = given.get32(48);
  uint32_t ucount = given.get32(52);
  if ((upath != 0) != (upath_size != 0)) return log_reason(-EINVAL, "uprobe_multi.path and path_size go together");
  if ((uoffsets != 0 || uref != 0 || ucookies != 0) && ucount == 0)
    return log_reason(-EINVAL, "uprobe_multi's arrays need a count");
  info->put32(52, h.multi_cnt);
  info->put32(56, h.multi_flags);
  info->put32(60, static_cast<uint32_t>(h.multi_pid));
  const auto* e = reinterpret_cast<const UprobeMultiEntry*>(link.data());
  const char* path = reinterpret_cast<const char*>(e + h.multi_cnt);
  const uint32_t need = h.multi_path_len + 1;
  const uint32_t room = upath_size != 0 ? std::min<uint32_t>(upath_size, PATH_MAX) : PATH_MAX;
  if (need > room) return log_reason(-ENAMETOOLONG, "the path takes %u bytes, the buffer has %u", need, room);
  if (upath != 0 && copy_to_user(reinterpret_cast<void*>(upath), path, need) != 0) return -EFAULT;
  info->put32(48, need);
  if (uoffsets == 0 && uref == 0 && ucookies == 0) return 0;
  int err = 0;
  if (ucount < h.multi_cnt) err = -ENOSPC;
  else ucount = h.multi_cnt;
  auto put = [](uint64_t base, uint32_t i, uint64_t v) {
    return base == 0 || copy_to_user(reinterpret_cast<void*>(base + 8ULL * i), &v, 8) == 0;
  };
  for (uint32_t i = 0; i < ucount; ++i)
    if (!put(uoffsets, i, e[i].offset) || !put(uref, i, e[i].ref_ctr_offset) || !put(ucookies, i, e[i].cookie))
      return -EFAULT;
  return err;
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

std::atomic_ref<uint32_t> field(const uint32_t& f) { return std::atomic_ref<uint32_t>(const_cast<uint32_t&>(f)); }

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
  int err = 0;
  for (uint32_t id = 0;;) {
    uint32_t next = 0;
    if (store.next_id(ObjKind::kLink, id, &next) != 0) return false;
    id = next;
    Object* obj = view_of(store, ObjKind::kLink, id, &err);
    if (obj == nullptr) continue;
    const LinkHeader& h = static_cast<Link*>(obj)->header();
    if (h.type == BPF_LINK_TYPE_XDP && field(h.ifindex).load() == ifindex) return true;
  }
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

// --- kprobe.multi and uprobe.multi links (bpf_kprobe_multi_link_attach,
// bpf_uprobe_multi_link_attach) ---

constexpr uint32_t kTraceUprobeMulti = 48;     // BPF_TRACE_UPROBE_MULTI
constexpr uint32_t kMaxMultiCnt = 1U << 20;    // MAX_KPROBE_MULTI_CNT, MAX_UPROBE_MULTI_CNT
constexpr uint32_t kMultiReturn = 1;           // BPF_F_KPROBE_MULTI_RETURN, BPF_F_UPROBE_MULTI_RETURN
constexpr size_t kKsymNameLen = 512;           // KSYM_NAME_LEN

uint64_t attr_u64(const uint8_t* attr, size_t off) {
  uint64_t v;
  memcpy(&v, attr + off, sizeof(v));
  return v;
}
uint32_t attr_u32(const uint8_t* attr, size_t off) {
  uint32_t v;
  memcpy(&v, attr + off, sizeof(v));
  return v;
}

uint64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

// A link whose region holds `data` (data_size bytes) before its header;
// `fill` completes the header. Its fd or -errno.
template <class Fill>
int publish_multi_link(Program& prog, uint32_t type, uint32_t attach_type, const void* data, size_t data_size,
                       Fill fill) {
  Store* store = prog.store();
  const size_t data_pages = (data_size + kHeaderPage - 1) / kHeaderPage * kHeaderPage;
  Region region;
  if (int e = store->new_region(ObjKind::kLink, data_pages + kHeaderPage, &region); e != 0) return e;
  if (data_size != 0) memcpy(region.at<void>(0), data, data_size);
  auto* hdr = new (region.at<void>(region.size() - kHeaderPage)) LinkHeader();
  init_obj_header(hdr->obj, ObjKind::kLink, sizeof(LinkHeader), 0);
  hdr->type = type;
  hdr->prog_id = prog.id();
  hdr->prog_type = prog.header().prog_type;
  hdr->attach_type = attach_type;
  hdr->multi_created_ns = monotonic_ns();
  fill(*hdr);
  prog.obj_header().krefs.fetch_add(1);  // the link holds its program
  const int fd = publish_object(*store, std::make_unique<Link>(std::move(region)), kCanReadWrite);
  if (fd < 0) prog.obj_header().krefs.fetch_sub(1);
  return fd;
}

// link_create.kprobe_multi: {u32 flags, u32 cnt, u64 syms, u64 addrs, u64
// cookies} at 16. Functions are the kernel's text symbols (/proc/kallsyms,
// emu/ksyms.h), every one taken as traceable.
int kprobe_multi_link_attach(Program& prog, uint32_t link_flags, const uint8_t* attr) {
  if (link_flags != 0) return log_reason(-EINVAL, "kprobe.multi links take no link_create.flags");
  if (prog.header().expected_attach_type != BPF_TRACE_KPROBE_MULTI)
    return log_reason(-EINVAL, "the program was not loaded for BPF_TRACE_KPROBE_MULTI");
  const uint32_t flags = attr_u32(attr, 16), cnt = attr_u32(attr, 20);
  const uint64_t usyms = attr_u64(attr, 24), uaddrs = attr_u64(attr, 32), ucookies = attr_u64(attr, 40);
  if (flags & ~kMultiReturn) return log_reason(-EINVAL, "kprobe_multi.flags 0x%x", flags);
  if ((uaddrs != 0) == (usyms != 0)) return log_reason(-EINVAL, "kprobe_multi takes syms or addrs, one of them");
  if (cnt == 0) return log_reason(-EINVAL, "kprobe_multi.cnt is 0");
  if (cnt > kMaxMultiCnt) return log_reason(-E2BIG, "kprobe_multi.cnt %u is above 1<<20", cnt);
  std::vector<KprobeMultiEntry> e(cnt);
  if (ucookies != 0) {
    std::vector<uint64_t> c(cnt);
    if (copy_from_user(c.data(), reinterpret_cast<const void*>(ucookies), cnt * 8ULL) != 0)
      return log_reason(-EFAULT, "kprobe_multi.cookies points at bad memory");
    for (uint32_t i = 0; i < cnt; ++i) e[i].cookie = c[i];
  }
  if (uaddrs != 0) {
    std::vector<uint64_t> a(cnt);
    if (copy_from_user(a.data(), reinterpret_cast<const void*>(uaddrs), cnt * 8ULL) != 0)
      return log_reason(-EFAULT, "kprobe_multi.addrs points at bad memory");
    for (uint32_t i = 0; i < cnt; ++i) e[i].addr = a[i];
  } else {
    // The names, sorted (with their cookies) before they are looked up, as
    // the kernel sorts them: what the link holds comes in that order.
    std::vector<std::pair<std::string, uint64_t>> named(cnt);
    for (uint32_t i = 0; i < cnt; ++i) {
      uint64_t p = 0;
      if (copy_from_user(&p, reinterpret_cast<const void*>(usyms + 8ULL * i), 8) != 0)
        return log_reason(-EFAULT, "kprobe_multi.syms points at bad memory");
      char name[kKsymNameLen];
      const long n = strncpy_from_user(name, reinterpret_cast<const char*>(p), sizeof(name));
      if (n == -ENAMETOOLONG) return log_reason(-E2BIG, "kprobe_multi.syms[%u] is %zu bytes or longer", i, kKsymNameLen);
      if (n < 0) return log_reason(static_cast<int>(n), "kprobe_multi.syms[%u] points at bad memory", i);
      named[i] = {name, e[i].cookie};
    }
    std::stable_sort(named.begin(), named.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
    for (uint32_t i = 0; i < cnt; ++i) {
      const uint64_t a = ksym_text_addr(named[i].first);
      if (a == 0 && ksyms_known())
        return log_reason(-ESRCH, "kprobe_multi: the kernel has no function %s", named[i].first.c_str());
      e[i] = {a, named[i].second};
    }
  }
  if (ucookies != 0)  // the kernel sorts by address to find a cookie by bsearch
    std::stable_sort(e.begin(), e.end(), [](const auto& x, const auto& y) { return x.addr < y.addr; });
  if (ksyms_known())
    for (const auto& x : e)
      if (!ksym_text_at(x.addr))
        return log_reason(-EINVAL, "kprobe_multi: 0x%llx is no function's address",
                          static_cast<unsigned long long>(x.addr));
  return publish_multi_link(prog, kLinkTypeKprobeMulti, BPF_TRACE_KPROBE_MULTI, e.data(), e.size() * sizeof(e[0]),
                            [&](LinkHeader& h) {
                              h.multi_cnt = cnt;
                              h.multi_flags = flags;
                            });
}

// Whether pid is a process (a thread group's leader), as the kernel's
// PIDTYPE_TGID lookup finds it: /proc/<pid>/status says Tgid is itself.
bool is_process(int32_t pid) {
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/status", pid);
  FILE* f = fopen(path, "re");
  if (f == nullptr) return false;
  char line[256];
  long tgid = -1;
  while (tgid < 0 && fgets(line, sizeof(line), f) != nullptr) sscanf(line, "Tgid: %ld", &tgid);
  fclose(f);
  return tgid == pid;
}

// link_create.uprobe_multi: {u64 path, u64 offsets, u64 ref_ctr_offsets, u64
// cookies, u32 cnt, u32 flags, u32 pid} at 16. The file is held as the kernel
// holds it (device and inode); nothing is installed in it.
int uprobe_multi_link_attach(Program& prog, uint32_t link_flags, const uint8_t* attr) {
  if (link_flags != 0) return log_reason(-EINVAL, "uprobe.multi links take no link_create.flags");
  if (prog.header().expected_attach_type != kTraceUprobeMulti)
    return log_reason(-EINVAL, "the program was not loaded for BPF_TRACE_UPROBE_MULTI");
  const uint64_t upath = attr_u64(attr, 16), uoffsets = attr_u64(attr, 24), uref = attr_u64(attr, 32),
                 ucookies = attr_u64(attr, 40);
  const uint32_t cnt = attr_u32(attr, 48), flags = attr_u32(attr, 52);
  const auto pid = static_cast<int32_t>(attr_u32(attr, 56));
  if (flags & ~kMultiReturn) return log_reason(-EINVAL, "uprobe_multi.flags 0x%x", flags);
  if (upath == 0 || uoffsets == 0 || cnt == 0 || pid < 0)
    return log_reason(-EINVAL, "uprobe_multi needs a path, offsets, a count and a pid >= 0");
  if (cnt > kMaxMultiCnt) return log_reason(-E2BIG, "uprobe_multi.cnt %u is above 1<<20", cnt);
  std::string path(PATH_MAX, '\0');
  const long n = strncpy_from_user(path.data(), reinterpret_cast<const char*>(upath), PATH_MAX);
  if (n < 0) return log_reason(static_cast<int>(n), "uprobe_multi.path cannot be read or is too long");
  path.resize(static_cast<size_t>(n));
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return log_reason(-errno, "uprobe_multi.path %s: %s", path.c_str(), strerror(errno));
  if (!S_ISREG(st.st_mode)) return log_reason(-EBADF, "uprobe_multi.path %s is not a regular file", path.c_str());
  if (pid != 0 && !is_process(pid)) return log_reason(-ESRCH, "no process %d (a thread's id is none)", pid);
  std::vector<UprobeMultiEntry> e(cnt);
  auto read_u64 = [](uint64_t base, uint32_t i, uint64_t* out) {
    return copy_from_user(out, reinterpret_cast<const void*>(base + 8ULL * i), 8);
  };
  for (uint32_t i = 0; i < cnt; ++i) {
    if (read_u64(uoffsets, i, &e[i].offset) != 0) return log_reason(-EFAULT, "uprobe_multi.offsets points at bad memory");
    if (static_cast<int64_t>(e[i].offset) < 0) return log_reason(-EINVAL, "uprobe_multi.offsets[%u] is negative", i);
    if (uref != 0 && read_u64(uref, i, &e[i].ref_ctr_offset) != 0)
      return log_reason(-EFAULT, "uprobe_multi.ref_ctr_offsets points at bad memory");
    if (ucookies != 0 && read_u64(ucookies, i, &e[i].cookie) != 0)
      return log_reason(-EFAULT, "uprobe_multi.cookies points at bad memory");
  }
  // uprobe_register's own checks, offset by offset: each probe joins the
  // one at its place, which must have the same ref_ctr_offset (the link's
  // earlier entries included).
  for (uint32_t i = 0; i < cnt; ++i) {
    if (e[i].offset > static_cast<uint64_t>(st.st_size))
      return log_reason(-EINVAL, "uprobe_multi.offsets[%u] is past the end of %s", i, path.c_str());
    if (e[i].ref_ctr_offset % 2 != 0)
      return log_reason(-EINVAL, "uprobe_multi.ref_ctr_offsets[%u] is not 2-byte aligned", i);
    bool taken = uprobe_ref_ctr_taken(*prog.store(), st.st_dev, st.st_ino, e[i].offset, e[i].ref_ctr_offset);
    for (uint32_t j = 0; j < i && !taken; ++j)
      taken = e[j].offset == e[i].offset && e[j].ref_ctr_offset != e[i].ref_ctr_offset;
    if (taken)
      return log_reason(-EINVAL, "a uprobe at %s+%llu has another ref_ctr_offset", path.c_str(),
                        static_cast<unsigned long long>(e[i].offset));
  }
  std::vector<uint8_t> data(cnt * sizeof(UprobeMultiEntry) + path.size() + 1);
  memcpy(data.data(), e.data(), cnt * sizeof(UprobeMultiEntry));
  memcpy(data.data() + cnt * sizeof(UprobeMultiEntry), path.c_str(), path.size() + 1);
  return publish_multi_link(prog, kLinkTypeUprobeMulti, kTraceUprobeMulti, data.data(), data.size(), [&](LinkHeader& h) {
    h.multi_cnt = cnt;
    h.multi_flags = flags;
    h.multi_pid = pid;
    h.multi_path_len = static_cast<uint32_t>(path.size());
    h.multi_dev = st.st_dev;
    h.multi_ino = st.st_ino;
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

// The kernel's fdinfo of a multi link: the link type says which flavour
// (kretprobe_multi, uretprobe_multi), then the entries, one a line.
int multi_link_fdinfo(const Link& link, const std::string& tag, char* buf, int size) {
  const LinkHeader& h = link.header();
  const bool kprobe = h.type == kLinkTypeKprobeMulti;
  const bool ret = (h.multi_flags & 1) != 0;
  char line[640];
  snprintf(line, sizeof(line), "link_type:\t%s\nlink_id:\t%u\nprog_tag:\t%s\nprog_id:\t%u\n",
           kprobe ? (ret ? "kretprobe_multi" : "kprobe_multi") : (ret ? "uretprobe_multi" : "uprobe_multi"), link.id(),
           tag.c_str(), field(h.prog_id).load());
  std::string out = line;
  if (kprobe) {
    const auto* e = reinterpret_cast<const KprobeMultiEntry*>(link.data());
    snprintf(line, sizeof(line), "kprobe_cnt:\t%u\nmissed:\t0\ncookie\t func\n", h.multi_cnt);
    out += line;
    for (uint32_t i = 0; i < h.multi_cnt; ++i) {
      std::string name;
      uint64_t sym_size = 0;
      ksym_text_at(e[i].addr, &name, &sym_size);
      snprintf(line, sizeof(line), "%llu\t %s+0x0/0x%llx\n", static_cast<unsigned long long>(e[i].cookie), name.c_str(),
               static_cast<unsigned long long>(sym_size));
      out += line;
    }
  } else {
    const auto* e = reinterpret_cast<const UprobeMultiEntry*>(link.data());
    snprintf(line, sizeof(line), "uprobe_cnt:\t%u\npid:\t%d\npath:\t%s\ncookie\t offset\t ref_ctr_offset\n", h.multi_cnt,
             h.multi_pid, reinterpret_cast<const char*>(e + h.multi_cnt));
    out += line;
    for (uint32_t i = 0; i < h.multi_cnt; ++i) {
      snprintf(line, sizeof(line), "%llu\t 0x%llx\t 0x%llx\n", static_cast<unsigned long long>(e[i].cookie),
               static_cast<unsigned long long>(e[i].offset), static_cast<unsigned long long>(e[i].ref_ctr_offset));
      out += line;
    }
  }
  if (size > 0) snprintf(buf, static_cast<size_t>(size), "%s", out.c_str());
  return static_cast<int>(out.size());
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

namespace bpfemu::emu {

namespace {

// The live multi links of `type`, newest first: the order in which the
// kernel's probes on one place run them (each new one goes to the head).
std::vector<Link*> multi_links(Firing& fire, uint32_t type) {
  std::vector<Link*> out;
  fire.each(ObjKind::kLink, [&](Object& obj) {
    if (static_cast<Link&>(obj).header().type == type) out.push_back(static_cast<Link*>(&obj));
  });
  std::sort(out.begin(), out.end(), [](const Link* x, const Link* y) { return x->id() > y->id(); });
  return out;
}

}  // namespace

int fire_kprobe_multi(Firing& fire, const char* func, void* regs, uint32_t regs_size, bool ret_phase) {
  const std::vector<Link*> links = multi_links(fire, kLinkTypeKprobeMulti);
  if (links.empty()) return 0;
  const uint64_t addr = ksym_text_addr(func);
  if (addr == 0) return 0;
  for (Link* link : links) {
    const LinkHeader& h = link->header();
    if (((h.multi_flags & kMultiReturn) != 0) != ret_phase) continue;
    const auto* e = reinterpret_cast<const KprobeMultiEntry*>(link->data());
    for (uint32_t i = 0; i < h.multi_cnt; ++i) {
      if (e[i].addr != addr) continue;
      // One probe per address and link, as fprobe has it.
      if (int err = fire.run(field(h.prog_id).load(), regs, regs_size, e[i].cookie); err != 0) return err;
      break;
    }
  }
  return 0;
}

bool uprobe_multi_ref_ctr_taken(Store& store, uint64_t dev, uint64_t ino, uint64_t offset, uint64_t ref_ctr) {
  int err = 0;
  for (uint32_t id = 0;;) {
    uint32_t next = 0;
    if (store.next_id(ObjKind::kLink, id, &next) != 0) return false;
    id = next;
    Object* obj = view_of(store, ObjKind::kLink, id, &err);
    if (obj == nullptr) continue;
    const auto& link = *static_cast<Link*>(obj);
    const LinkHeader& h = link.header();
    if (h.type != kLinkTypeUprobeMulti || h.multi_dev != dev || h.multi_ino != ino) continue;
    const auto* e = reinterpret_cast<const UprobeMultiEntry*>(link.data());
    for (uint32_t i = 0; i < h.multi_cnt; ++i)
      if (e[i].offset == offset && e[i].ref_ctr_offset != ref_ctr) return true;
  }
}

void uprobe_multi_consumers(Firing& fire, uint64_t dev, uint64_t ino, uint64_t offset, bool ret_phase,
                            std::vector<UprobeConsumer>* out) {
  const pid_t self = getpid();
  for (Link* link : multi_links(fire, kLinkTypeUprobeMulti)) {
    const LinkHeader& h = link->header();
    if (((h.multi_flags & kMultiReturn) != 0) != ret_phase || h.multi_dev != dev || h.multi_ino != ino ||
        (h.multi_pid != 0 && h.multi_pid != self))
      continue;
    const auto* e = reinterpret_cast<const UprobeMultiEntry*>(link->data());
    // Every entry at the offset is a consumer of its own.
    for (uint32_t i = 0; i < h.multi_cnt; ++i)
      if (e[i].offset == offset) out->push_back({h.multi_created_ns, field(h.prog_id).load(), e[i].cookie});
  }
}

}  // namespace bpfemu::emu
