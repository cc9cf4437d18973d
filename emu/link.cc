#include "emu/link.h"

#include <linux/bpf.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
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
#include "emu/interpreter.h"
#include "emu/objects.h"
#include "emu/program.h"
#include "emu/store.h"
#include "emu/test_run.h"

namespace bpfemu::emu {
namespace {

constexpr uint32_t kMaxRawTpArgs = 12;  // MAX_BPF_FUNC_ARGS

// struct bpf_link_info's start and its raw_tracepoint part (6.18's 64 bytes;
// the profile says how many a kernel copies).
struct LinkInfo {
  uint32_t type, id, prog_id, pad;
  uint64_t tp_name;
  uint32_t tp_name_len, pad2;
  uint64_t cookie;
  uint8_t rest[24];
};
static_assert(sizeof(LinkInfo) == 64);

// Whether the running kernel has raw tracepoint `name` (its BTF declares a
// btf_trace_<name> typedef for each); unknown, so true, without its BTF.
bool kernel_has_tracepoint(const std::string& name) {
  const VmlinuxTypes* types = vmlinux_types();
  return types == nullptr || types->raw_tracepoints.count(name) != 0;
}

}  // namespace

int sys_raw_tracepoint_open(const char* uname, uint32_t prog_fd, uint64_t cookie) {
  ObjKind kind = ObjKind::kNone;
  uint8_t access = 0;
  int err = -EBADF;
  Object* obj = object_from_fd(static_cast<int>(prog_fd), &kind, &access, &err);
  if (obj == nullptr) return log_reason(err, "prog_fd %u is not a BPF object", prog_fd);
  if (kind != ObjKind::kProg) return log_reason(-EINVAL, "prog_fd %u is not a program", prog_fd);
  auto* prog = static_cast<Program*>(obj);
  const uint32_t type = prog->header().prog_type;
  if (type != BPF_PROG_TYPE_RAW_TRACEPOINT && type != BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE)
    return log_reason(-EINVAL, "program type %u does not attach to raw tracepoints by name", type);
  char name[128] = {};
  if (strncpy_from_user(name, uname, sizeof(name) - 1) < 0) return log_reason(-EFAULT, "name points at bad memory");
  if (!kernel_has_tracepoint(name)) return log_reason(-ENOENT, "the kernel has no raw tracepoint %s", name);

  Store* store = obj->store();
  Region region;
  if (int e = store->new_region(ObjKind::kLink, kHeaderPage, &region); e != 0) return e;
  auto* hdr = new (region.at<void>(region.size() - kHeaderPage)) LinkHeader();
  init_obj_header(hdr->obj, ObjKind::kLink, sizeof(LinkHeader), 0);
  hdr->type = BPF_LINK_TYPE_RAW_TRACEPOINT;
  hdr->prog_id = prog->id();
  hdr->prog_type = type;
  hdr->cookie = cookie;
  memcpy(hdr->tp_name, name, sizeof(name));
  prog->obj_header().krefs.fetch_add(1);  // the link holds its program
  const int fd = publish_object(*store, std::make_unique<Link>(std::move(region)), kCanReadWrite);
  if (fd < 0) prog->obj_header().krefs.fetch_sub(1);
  return fd;
}

int link_get_info(const Link& link, void* uinfo, uint32_t* info_len) {
  const LinkHeader& h = link.header();
  const uint32_t kernel_size = active_profile().link_info_size;
  uint32_t len = *info_len;
  if (int e = check_uarg_tail_zero(uinfo, kernel_size, &len, "bpf_link_info"); e != 0) return e;
  LinkInfo info{};
  if (copy_from_user(&info, uinfo, len) != 0) return -EFAULT;
  const uint64_t user_name = info.tp_name;
  const uint32_t user_len = info.tp_name_len;
  memset(&info, 0, sizeof(info));
  info.type = h.type;
  info.id = link.id();
  info.prog_id = h.prog_id;
  // bpf_raw_tp_link_fill_link_info: the name's full length; the buffer gets
  // what fits (ENOSPC when it is too short, after copying that much).
  const uint32_t need = static_cast<uint32_t>(strnlen(h.tp_name, sizeof(h.tp_name))) + 1;
  info.tp_name = user_name;
  info.tp_name_len = need;
  info.cookie = h.cookie;
  int err = 0;
  if ((user_name != 0) != (user_len != 0)) return log_reason(-EINVAL, "tp_name and tp_name_len go together");
  if (user_name != 0) {
    const uint32_t copy = std::min(need, user_len);
    std::string text(h.tp_name, copy);
    if (copy > 0) text[copy - 1] = '\0';
    if (copy_to_user(reinterpret_cast<void*>(user_name), text.data(), copy) != 0) return -EFAULT;
    if (user_len < need) err = -ENOSPC;
  }
  if (copy_to_user(uinfo, &info, len) != 0) return -EFAULT;
  *info_len = len;
  return err;
}

int link_fdinfo(const Link& link, char* buf, int size) {
  const LinkHeader& h = link.header();
  return snprintf(buf, static_cast<size_t>(size),
                  "link_type:\traw_tracepoint\nlink_id:\t%u\nprog_tag:\t0000000000000000\nprog_id:\t%u\n"
                  "tp_name:\t%s\n",
                  link.id(), h.prog_id, h.tp_name);
}

int fire_raw_tracepoint(const char* name, const uint64_t* args, uint32_t nargs, int cpu) {
  EmulatorScope scope;
  if (name == nullptr || nargs > kMaxRawTpArgs || (nargs != 0 && args == nullptr))
    return log_reason(-EINVAL, "a tracepoint name and at most 12 arguments");
  if (cpu >= possible_cpus()) return log_reason(-ENXIO, "CPU %d does not exist", cpu);
  int err = 0;
  Store* store = Store::current(&err);
  if (store == nullptr) return log_reason(err, "the emulated bpffs root cannot be used");
  std::vector<uint64_t> ctx(args, args + nargs);
  ScopedCpu on(cpu >= 0 ? cpu : current_cpu());
  int ran = 0;
  for (uint32_t id = 0;;) {
    uint32_t next = 0;
    if (store->next_id(ObjKind::kLink, id, &next) != 0) break;
    id = next;
    Object* obj = view_of(*store, ObjKind::kLink, id, &err);
    if (obj == nullptr) continue;
    const LinkHeader& h = static_cast<Link*>(obj)->header();
    if (h.type != BPF_LINK_TYPE_RAW_TRACEPOINT || strncmp(h.tp_name, name, sizeof(h.tp_name)) != 0) continue;
    Object* p = view_of(*store, ObjKind::kProg, h.prog_id, &err);
    if (p == nullptr) continue;
    const auto& prog = *static_cast<Program*>(p);
    RunEnv env;
    if (int e = add_program_maps(prog, &env); e != 0) return e;
    env.set_ctx(ctx.data(), nargs * 8, false);
    uint64_t r0 = 0;
    if (int e = run_program(prog, env, reinterpret_cast<uint64_t>(ctx.data()), &r0); e != 0) return e;
    ++ran;
  }
  return ran;
}

}  // namespace bpfemu::emu
