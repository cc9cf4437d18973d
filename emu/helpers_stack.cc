// bpf_get_stackid and bpf_get_stack, after kernel/bpf/stackmap.c.
//
// A program here has no kernel beneath it to walk, so the stacks it sees are
// the ones a test gives its thread (bpfemu_set_stack): a kernel stack for the
// default, a user stack for BPF_F_USER_STACK. The kernel walks at most
// max_depth frames (what fits the value or buffer, plus those skipped, capped by
// kernel.perf_event_max_stack); the same cut is made here. Build ids are never
// resolved: every frame falls back to its ip (BPF_STACK_BUILD_ID_IP), as the
// kernel does for kernel stacks and when it cannot read a task's mappings.
#include "emu/helpers_stack.h"

#include <linux/bpf.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "core/map_ops.h"
#include "maptypes/families.h"

namespace bpfemu::emu {
namespace {

struct ThreadStacks {
  std::vector<uint64_t> kernel, user;
};
thread_local ThreadStacks t_stacks;

constexpr uint64_t kStackidFlags = BPF_F_SKIP_FIELD_MASK | BPF_F_USER_STACK | BPF_F_FAST_STACK_CMP | BPF_F_REUSE_STACKID;
constexpr uint64_t kStackFlags = BPF_F_SKIP_FIELD_MASK | BPF_F_USER_STACK | BPF_F_USER_BUILD_ID;

const std::vector<uint64_t>& stack_for(uint64_t flags) {
  return (flags & BPF_F_USER_STACK) ? t_stacks.user : t_stacks.kernel;
}

uint64_t ret(long v) { return static_cast<uint64_t>(v); }

// __bpf_get_stack into buf[0, size): bytes copied, the rest zeroed; on an
// error the whole buffer is zeroed.
long get_stack_into(uint8_t* buf, uint32_t size, uint64_t flags) {
  const uint32_t skip = flags & BPF_F_SKIP_FIELD_MASK;
  const bool build_id = flags & BPF_F_USER_BUILD_ID;
  const uint32_t elem = build_id ? sizeof(bpf_stack_build_id) : sizeof(uint64_t);
  long err = -EINVAL;
  if ((flags & ~kStackFlags) == 0 && !(build_id && !(flags & BPF_F_USER_STACK)) && size % elem == 0) {
    const std::vector<uint64_t>& ips = stack_for(flags);
    const uint32_t max_depth = std::min(size / elem + skip, maptypes::stack_map_max_frames());
    const uint32_t nr = std::min<uint64_t>(ips.size(), max_depth);
    if (nr >= skip) {
      const uint32_t trace_nr = nr - skip;
      for (uint32_t i = 0; i < trace_nr; ++i) {
        if (build_id) {
          bpf_stack_build_id b{};
          b.status = BPF_STACK_BUILD_ID_IP;
          b.ip = ips[skip + i];
          memcpy(buf + uint64_t{i} * elem, &b, sizeof(b));
        } else {
          memcpy(buf + uint64_t{i} * elem, &ips[skip + i], sizeof(uint64_t));
        }
      }
      const uint32_t copied = trace_nr * elem;
      if (size > copied) memset(buf + copied, 0, size - copied);
      return copied;
    }
    err = -EFAULT;
  }
  if (size != 0) memset(buf, 0, size);
  return err;
}

}  // namespace

void set_thread_stacks(const uint64_t* kernel_ips, uint32_t nk, const uint64_t* user_ips, uint32_t nu) {
  t_stacks.kernel.assign(kernel_ips, kernel_ips + (kernel_ips != nullptr ? nk : 0));
  t_stacks.user.assign(user_ips, user_ips + (user_ips != nullptr ? nu : 0));
}

namespace interp {

// bpf_get_stackid(ctx, map, flags). The verifier makes map a STACK_TRACE map;
// any other answers -EINVAL here (MapOps::get_stackid's default).
bool get_stackid(HelperCall& c, uint64_t* r0) {
  Map* m = c.m.map_arg(c.a[1], "bpf_get_stackid");
  if (m == nullptr) return false;
  const uint64_t flags = c.a[2];
  if (flags & ~kStackidFlags) return *r0 = ret(-EINVAL), true;
  const std::vector<uint64_t>& ips = stack_for(flags);
  *r0 = ret(m->ops().get_stackid(*m, ips.data(), static_cast<uint32_t>(ips.size()), flags));
  return true;
}

// bpf_get_stack(ctx, buf, size, flags).
bool get_stack(HelperCall& c, uint64_t* r0) {
  const uint32_t size = static_cast<uint32_t>(c.a[2]);
  if (size != 0 && !c.m.check(c.a[1], size, true, "bpf_get_stack buf")) return false;
  *r0 = ret(get_stack_into(reinterpret_cast<uint8_t*>(c.a[1]), size, c.a[3]));
  return true;
}

}  // namespace interp
}  // namespace bpfemu::emu
