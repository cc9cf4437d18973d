#include "emu/trampoline.h"

#include <linux/bpf.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>

#include "core/libbpf_btf.h"
#include "core/log.h"
#include "emu/btf_targets.h"
#include "emu/fire.h"
#include "emu/link.h"
#include "emu/probe_event.h"

namespace bpfemu::emu {
namespace {

struct Attached {
  uint32_t link_id, prog_id;
  uint64_t cookie;
  bool lsm;
};

// The trampoline's lists for `func`: fentry, fmod_ret (with LSM programs on
// an int hook) and fexit (with LSM programs on a void hook), newest first.
struct Lists {
  std::vector<Attached> fentry, modify_return, fexit;
};

Lists lists_of(Firing& fire, const char* func) {
  Lists out;
  fire.each(ObjKind::kLink, [&](Object& obj) {
    const LinkHeader& h = static_cast<Link&>(obj).header();
    if (h.type != BPF_LINK_TYPE_TRACING || strncmp(h.tp_name, func, sizeof(h.tp_name)) != 0) return;
    const uint32_t prog = std::atomic_ref<uint32_t>(const_cast<uint32_t&>(h.prog_id)).load();
    const Attached a{obj.id(), prog, h.cookie, h.attach_type == BPF_LSM_MAC};
    const VmlinuxTypes* types = vmlinux_types();
    const bool void_hook = types != nullptr && types->void_funcs.count(h.target_btf_id) != 0;
    if (h.attach_type == BPF_TRACE_FENTRY) out.fentry.push_back(a);
    if (h.attach_type == BPF_TRACE_FEXIT || (a.lsm && void_hook)) out.fexit.push_back(a);
    if (h.attach_type == BPF_MODIFY_RETURN || (a.lsm && !void_hook)) out.modify_return.push_back(a);
  });
  for (auto* l : {&out.fentry, &out.modify_return, &out.fexit})
    std::sort(l->begin(), l->end(), [](const Attached& x, const Attached& y) { return x.link_id > y.link_id; });
  return out;
}

}  // namespace

int call_traced(Firing& fire, const char* func, const std::vector<uint64_t>& args,
                const std::function<uint64_t()>& body, uint64_t* ret) {
  const auto nargs = static_cast<uint32_t>(args.size());
  fire.func_name = func;
  // Entry kprobes see no return value yet; kretprobes get theirs below.
  if (int e = fire_kprobes(fire, func, args.data(), nargs, 0, false); e != 0) return e;
  const Lists l = lists_of(fire, func);
  std::vector<uint64_t> ctx(args);
  ctx.push_back(0);  // the return value's slot, after the arguments
  for (const Attached& a : l.fentry)
    if (int e = fire.run(a.prog_id, ctx.data(), nargs * 8, a.cookie); e != 0) return e;
  uint64_t value = 0;
  bool skipped = false;
  for (const Attached& a : l.modify_return) {
    ctx[nargs] = value;
    if (int e = fire.run(a.prog_id, ctx.data(), (nargs + 1) * 8, a.cookie, &value); e != 0) return e;
    if (a.lsm && !lsm_return_in_range(func, value))
      return log_reason(-EFAULT, "LSM program %u returned %lld on %s, which the verifier would have refused", a.prog_id,
                        static_cast<long long>(value), func);
    if (value != 0) {
      skipped = true;
      break;
    }
  }
  if (!skipped && body) value = body();
  ctx[nargs] = value;
  for (const Attached& a : l.fexit)
    if (int e = fire.run(a.prog_id, ctx.data(), (nargs + 1) * 8, a.cookie); e != 0) return e;
  if (int e = fire_kprobes(fire, func, args.data(), nargs, value, true); e != 0) return e;
  *ret = value;
  return 0;
}

}  // namespace bpfemu::emu
