// kprobe.multi and uprobe.multi links, after kernel/trace/bpf_trace.c: their
// attach checks and answers, info and fdinfo, and the runs of their programs
// when a test fires a function or a uprobe place.
#include <linux/bpf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "core/log.h"
#include "core/uaccess.h"
#include "emu/fire.h"
#include "emu/ksyms.h"
#include "emu/link_internal.h"
#include "emu/objects.h"
#include "emu/probe_event.h"
#include "emu/program.h"
#include "emu/store.h"

namespace bpfemu::emu {
namespace {

constexpr uint32_t kMaxMultiCnt = 1U << 20;    // MAX_KPROBE_MULTI_CNT, MAX_UPROBE_MULTI_CNT
constexpr uint32_t kMultiReturn = 1;           // BPF_F_KPROBE_MULTI_RETURN, BPF_F_UPROBE_MULTI_RETURN
constexpr size_t kKsymNameLen = 512;           // KSYM_NAME_LEN

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

}  // namespace

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

namespace {

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

}  // namespace

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
  return any_link(store, [&](const Link& link) {
    const LinkHeader& h = link.header();
    if (h.type != kLinkTypeUprobeMulti || h.multi_dev != dev || h.multi_ino != ino) return false;
    const auto* e = reinterpret_cast<const UprobeMultiEntry*>(link.data());
    for (uint32_t i = 0; i < h.multi_cnt; ++i)
      if (e[i].offset == offset && e[i].ref_ctr_offset != ref_ctr) return true;
    return false;
  });
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
