#include "emu/program.h"

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

#include "bpfemu/uapi.h"
#include "core/libbpf_btf.h"
#include "core/log.h"
#include "core/profile.h"
#include "core/map.h"
#include "core/map_ops.h"
#include "core/map_types.h"
#include "core/uaccess.h"
#include "emu/bprintf.h"
#include "emu/btf_targets.h"
#include "emu/digest.h"
#include "emu/helper_availability.h"
#include "emu/interpreter.h"
#include "emu/iter.h"
#include "emu/kfuncs.h"
#include "emu/objects.h"

namespace bpfemu::emu {
namespace {

constexpr uint32_t kMaxProgType = 33;      // __MAX_BPF_PROG_TYPE on 6.18
constexpr uint32_t kComplexityLimit = 1000000;  // BPF_COMPLEXITY_LIMIT_INSNS
constexpr uint32_t kProgFlags = BPF_F_STRICT_ALIGNMENT | BPF_F_ANY_ALIGNMENT | BPF_F_TEST_STATE_FREQ |
                                BPF_F_SLEEPABLE | BPF_F_TEST_RND_HI32 | BPF_F_XDP_HAS_FRAGS | (1U << 6) /* XDP_DEV_BOUND_ONLY */ |
                                (1U << 7) /* TEST_REG_INVARIANTS */ | (1U << 16) /* TOKEN_FD */;
constexpr uint32_t kTokenFd = 1U << 16;

// struct bpf_prog_info (6.18), the fields the emulator fills.
struct ProgInfo {
  uint32_t type, id;
  uint8_t tag[8];
  uint32_t jited_prog_len, xlated_prog_len;
  uint64_t jited_prog_insns, xlated_prog_insns, load_time;
  uint32_t created_by_uid, nr_map_ids;
  uint64_t map_ids;
  char name[16];
  uint32_t ifindex;
  uint32_t gpl_compatible : 1;
  uint64_t netns_dev, netns_ino;
  uint32_t nr_jited_ksyms, nr_jited_func_lens;
  uint64_t jited_ksyms, jited_func_lens;
  uint32_t btf_id, func_info_rec_size;
  uint64_t func_info;
  uint32_t nr_func_info, nr_line_info;
  uint64_t line_info, jited_line_info;
  uint32_t nr_jited_line_info, line_info_rec_size, jited_line_info_rec_size, nr_prog_tags;
  uint64_t prog_tags, run_time_ns, run_cnt, recursion_misses;
  uint32_t verified_insns, attach_btf_obj_id, attach_btf_id;
};
static_assert(sizeof(ProgInfo) == 232);

bool kernel_isalnum(unsigned char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return c >= 0xC0 && c != 0xD7 && c != 0xF7;
}

int check_name(const char (&name)[16]) {
  for (size_t i = 0; i < sizeof(name); ++i) {
    auto c = static_cast<unsigned char>(name[i]);
    if (c == '\0') return 0;
    if (!kernel_isalnum(c) && c != '_' && c != '.')
      return log_reason(-EINVAL, "prog_name has a character other than [A-Za-z0-9_.] (0x%02x)", c);
  }
  return log_reason(-EINVAL, "prog_name is not NUL-terminated within 16 bytes");
}

// license_is_gpl_compatible.
bool gpl_compatible(const char* license) {
  for (const char* l : {"GPL", "GPL v2", "GPL and additional rights", "Dual BSD/GPL", "Dual MIT/GPL", "Dual MPL/GPL"})
    if (strcmp(license, l) == 0) return true;
  return false;
}

// The verifier's bpf_check_attach_target for a TRACING or LSM program on the
// running kernel's BTF: fentry/fexit/fmod_ret and LSM to a function, tp_btf to
// a tracepoint (*target: the function's or tracepoint's name), then
// bpf_lsm_verify_prog's hook rules. Iterators, BPF programs or module BTF as
// targets are not emulated.
int check_tracing_target(uint32_t type, uint32_t attach, uint32_t attach_btf_id, bool sleepable, std::string* target) {
  if (attach_btf_id == 0) return log_reason(-EINVAL, "tracing programs must provide btf_id");
  const VmlinuxTypes* types = vmlinux_types();
  if (types == nullptr) return log_reason(-EINVAL, "the running kernel's BTF cannot be read: no attach targets");
  if (type == BPF_PROG_TYPE_TRACING && attach == BPF_TRACE_RAW_TP) {
    auto it = types->raw_tracepoint_ids.find(attach_btf_id);
    if (it == types->raw_tracepoint_ids.end())
      return log_reason(-EINVAL, "attach_btf_id %u is not a btf_trace_ typedef", attach_btf_id);
    *target = it->second;
    return 0;
  }
  if (type == BPF_PROG_TYPE_TRACING && attach == BPF_TRACE_ITER) {
    // The function's name says the target: bpf_iter_<target>.
    auto it = types->funcs.find(attach_btf_id);
    if (it == types->funcs.end()) return log_reason(-EINVAL, "attach_btf_id %u is not a function", attach_btf_id);
    const std::string& func = it->second;
    if (!std::string_view(func).starts_with("bpf_iter_"))
      return log_reason(-EINVAL, "%s is no iterator target (bpf_iter_<target>)", func.c_str());
    if (!iter_target_emulated(func.substr(9)))
      return log_reason(-EINVAL, "iterator target %s is not emulated (bpf_map and bpf_map_elem are)",
                        func.c_str() + 9);
    *target = func;
    return 0;
  }
  if (type == BPF_PROG_TYPE_TRACING && attach != BPF_TRACE_FENTRY && attach != BPF_TRACE_FEXIT &&
      attach != BPF_MODIFY_RETURN)
    return log_reason(-EINVAL, "tracing attach type %u is not emulated (fentry, fexit, fmod_ret, tp_btf and iter are)",
                      attach);
  auto it = types->funcs.find(attach_btf_id);
  if (it == types->funcs.end()) return log_reason(-EINVAL, "attach_btf_id %u is not a function", attach_btf_id);
  const std::string& func = it->second;
  const std::string_view hook = std::string_view(func).starts_with("bpf_lsm_") ? std::string_view(func).substr(8) : "";
  if (sleepable) {
    const bool ok = type == BPF_PROG_TYPE_LSM ? lsm_hook_sleepable(hook) : tracing_sleepable_allowed(func);
    if (!ok) return log_reason(-EINVAL, "%s is not sleepable", func.c_str());
  } else if (type == BPF_PROG_TYPE_TRACING && attach == BPF_MODIFY_RETURN && !modify_return_allowed(func)) {
    return log_reason(-EINVAL, "%s() is not modifiable", func.c_str());
  }
  if (type == BPF_PROG_TYPE_LSM) {
    if (!active_profile().lsm_any_attach_type && attach != BPF_LSM_MAC && attach != BPF_LSM_CGROUP)
      return log_reason(-EINVAL, "LSM programs take expected_attach_type BPF_LSM_MAC or BPF_LSM_CGROUP");
    if (active_profile().lsm_disabled_hooks && lsm_hook_disabled(hook))
      return log_reason(-EINVAL, "attach_btf_id %u points to disabled hook %s", attach_btf_id, func.c_str());
    if (hook.empty() || types->lsm_hooks.count(hook) == 0)
      return log_reason(-EINVAL, "attach_btf_id %u points to wrong type name %s", attach_btf_id, func.c_str());
  }
  *target = func;
  return 0;
}

// bpf_prog_load_check_attach: which expected_attach_type each program type takes.
int check_attach(uint32_t type, uint32_t attach, uint32_t attach_btf_id, uint32_t attach_prog_fd, bool sleepable,
                 std::string* target) {
  if (attach_prog_fd != 0)
    return log_reason(-EINVAL, "attach_prog_fd/attach_btf_obj_fd: BPF programs and module BTF as targets are not emulated");
  if (type == BPF_PROG_TYPE_TRACING || type == BPF_PROG_TYPE_LSM)
    return check_tracing_target(type, attach, attach_btf_id, sleepable, target);
  if (attach_btf_id != 0)
    return log_reason(-EINVAL, "attach_btf_id: only tracing programs attach through kernel BTF here");
  auto one_of = [attach](std::initializer_list<uint32_t> ok) {
    return std::find(ok.begin(), ok.end(), attach) != ok.end() ? 0 : -EINVAL;
  };
  int r = 0;
  switch (type) {
    case BPF_PROG_TYPE_CGROUP_SOCK:
      r = one_of({BPF_CGROUP_INET_SOCK_CREATE, BPF_CGROUP_INET_SOCK_RELEASE, BPF_CGROUP_INET4_POST_BIND,
                  BPF_CGROUP_INET6_POST_BIND});
      break;
    case BPF_PROG_TYPE_CGROUP_SOCK_ADDR:
      r = one_of({BPF_CGROUP_INET4_BIND, BPF_CGROUP_INET6_BIND, BPF_CGROUP_INET4_CONNECT, BPF_CGROUP_INET6_CONNECT,
                  BPF_CGROUP_INET4_GETPEERNAME, BPF_CGROUP_INET6_GETPEERNAME, BPF_CGROUP_INET4_GETSOCKNAME,
                  BPF_CGROUP_INET6_GETSOCKNAME, BPF_CGROUP_UDP4_SENDMSG, BPF_CGROUP_UDP6_SENDMSG,
                  BPF_CGROUP_UDP4_RECVMSG, BPF_CGROUP_UDP6_RECVMSG, 49, 50, 51, 52, 53 /* the UNIX_* types */});
      break;
    case BPF_PROG_TYPE_CGROUP_SKB:
      r = one_of({BPF_CGROUP_INET_INGRESS, BPF_CGROUP_INET_EGRESS});
      break;
    case BPF_PROG_TYPE_CGROUP_SOCKOPT:
      r = one_of({BPF_CGROUP_SETSOCKOPT, BPF_CGROUP_GETSOCKOPT});
      break;
    case BPF_PROG_TYPE_SK_LOOKUP:
      r = one_of({BPF_SK_LOOKUP});
      break;
    case BPF_PROG_TYPE_SK_REUSEPORT:
      r = one_of({BPF_SK_REUSEPORT_SELECT, BPF_SK_REUSEPORT_SELECT_OR_MIGRATE});
      break;
    case 32:  // NETFILTER
      r = one_of({45 /* BPF_NETFILTER */});
      break;
    case BPF_PROG_TYPE_SYSCALL:
    case BPF_PROG_TYPE_EXT:
      r = attach != 0 ? -EINVAL : 0;
      break;
    case BPF_PROG_TYPE_STRUCT_OPS:
      // These attach through kernel BTF too (struct_ops members).
      return log_reason(-EINVAL, "program type %u is not emulated (it attaches through kernel BTF)", type);
    default:
      break;
  }
  return r != 0 ? log_reason(r, "expected_attach_type %u is not one program type %u takes", attach, type) : 0;
}

// The structural pass over the instructions (see program.h). Collects the maps
// the program references; *insns gets map fds replaced by map ids, as the
// kernel's xlated dump shows them.
// The kernel's bpf_prog_calc_tag: a digest of the instructions as the caller
// gave them, with the fd (or fd and value offset) an ld_imm64 of a map holds
// zeroed, since fds differ from one load to the next; the tag is its first 8
// bytes. Only map fd references are zeroed (not fd_array indexes).
void prog_tag(const std::vector<bpf_insn>& insns, bool sha256_tag, uint8_t out[8]) {
  std::vector<bpf_insn> copy = insns;
  bool in_map_ld = false;  // the previous insn was the first half of a map ld_imm64
  for (bpf_insn& in : copy) {
    const bool first_half = !in_map_ld && in.code == (BPF_LD | BPF_IMM | BPF_DW) &&
                            (in.src_reg == BPF_PSEUDO_MAP_FD || in.src_reg == BPF_PSEUDO_MAP_VALUE);
    const bool second_half = in_map_ld && in.code == 0 && in.dst_reg == 0 && in.src_reg == 0 && in.off == 0;
    if (first_half || second_half) in.imm = 0;
    in_map_ld = first_half;
  }
  uint8_t digest[kSha256Size];
  if (sha256_tag) {
    sha256(copy.data(), copy.size() * sizeof(bpf_insn), digest);
  } else {
    sha1(copy.data(), copy.size() * sizeof(bpf_insn), digest);
  }
  memcpy(out, digest, 8);
}

class Checker {
 public:
  Checker(std::vector<bpf_insn>& insns, const void* ufd_array, uint32_t fd_array_cnt, bool gpl, uint32_t prog_type)
      : insns_(insns), ufd_array_(ufd_array), fd_array_cnt_(fd_array_cnt), gpl_(gpl), prog_type_(prog_type) {}
  void set_iterator(bool iterator) { iterator_ = iterator; }

  // What the verifier's log says of the refusal, for the caller's log buffer
  // (libbpf's and bpftool's helper probes read it); empty when there is none.
  const std::string& verifier_text() const { return verifier_text_; }

  // In the verifier's order: the per-instruction scan of
  // resolve_pseudo_ldimm64 (opcodes, ld_imm64, map fds) and of
  // add_subprog_and_kfunc / check_subprogs (calls, jumps, the last insn); then
  // check_cfg (every insn reachable, no jump into an ld_imm64); then what
  // do_check finds, over the reachable insns in order (registers, r10 writes,
  // shifts, division by zero, helpers).
  int run(std::vector<Map*>* maps) {
    const uint32_t n = static_cast<uint32_t>(insns_.size());
    second_half_.assign(n, false);
    for (uint32_t i = 0; i < n; ++i) {
      if (int e = structural(i, maps); e != 0) return e;
      if (insns_[i].code == (BPF_LD | BPF_IMM | BPF_DW)) ++i;
    }
    const bpf_insn& last = insns_[n - 1];
    if (second_half_[n - 1] || !(BPF_CLASS(last.code) == BPF_JMP || BPF_CLASS(last.code) == BPF_JMP32) ||
        !(BPF_OP(last.code) == BPF_EXIT || BPF_OP(last.code) == BPF_JA))
      return log_reason(-EINVAL, "last insn is not an exit or jmp");
    const std::vector<bool> reached = reachable();
    for (uint32_t i = 0; i < n; ++i) {
      if (second_half_[i]) {
        if (reached[i]) return log_reason(-EINVAL, "jump into the middle of ldimm64 insn %u", i - 1);
        continue;
      }
      if (!reached[i]) return log_reason(-EINVAL, "unreachable insn %u", i);
    }
    for (uint32_t i = 0; i < n; ++i) {
      if (second_half_[i]) continue;
      if (int e = semantic(i); e != 0) return e;
    }
    return 0;
  }

 private:
  static bool is_jump(const bpf_insn& in) { return BPF_CLASS(in.code) == BPF_JMP || BPF_CLASS(in.code) == BPF_JMP32; }
  static int64_t jump_target(uint32_t i, const bpf_insn& in) {
    const int64_t off = (BPF_CLASS(in.code) == BPF_JMP32 && BPF_OP(in.code) == BPF_JA) ? in.imm : in.off;
    return int64_t{i} + off + 1;
  }

  // What the verifier checks of insn i before it follows the program.
  int structural(uint32_t i, std::vector<Map*>* maps) {
    const uint32_t n = static_cast<uint32_t>(insns_.size());
    bpf_insn& in = insns_[i];
    const uint8_t cls = BPF_CLASS(in.code);
    if (in.code == (BPF_LD | BPF_IMM | BPF_DW)) {
      if (i + 1 >= n || insns_[i + 1].code != 0 || insns_[i + 1].dst_reg != 0 || insns_[i + 1].src_reg != 0 ||
          insns_[i + 1].off != 0)
        return log_reason(-EINVAL, "insn %u: invalid bpf_ld_imm64 insn", i);
      if (int e = pseudo_ld(i, maps); e != 0) return e;
      second_half_[i + 1] = true;
      return 0;
    }
    switch (cls) {
      case BPF_LD:
        if (BPF_MODE(in.code) != BPF_ABS && BPF_MODE(in.code) != BPF_IND)
          return log_reason(-EINVAL, "insn %u: unknown opcode %02x", i, in.code);
        return 0;
      case BPF_LDX:
        if (BPF_MODE(in.code) != BPF_MEM && BPF_MODE(in.code) != 0x80 /* MEMSX */)
          return log_reason(-EINVAL, "insn %u: unknown opcode %02x", i, in.code);
        return 0;
      case BPF_ST:
        if (BPF_MODE(in.code) != BPF_MEM) return log_reason(-EINVAL, "insn %u: unknown opcode %02x", i, in.code);
        return 0;
      case BPF_STX:
        if (BPF_MODE(in.code) != BPF_MEM && BPF_MODE(in.code) != BPF_ATOMIC)
          return log_reason(-EINVAL, "insn %u: unknown opcode %02x", i, in.code);
        return 0;
      case BPF_ALU:
      case BPF_ALU64: {
        const uint8_t op = BPF_OP(in.code);
        if (op > BPF_END || (cls == BPF_ALU64 && op == BPF_END && BPF_SRC(in.code) == BPF_X))
          return log_reason(-EINVAL, "insn %u: unknown opcode %02x", i, in.code);
        return 0;
      }
      default: {  // BPF_JMP, BPF_JMP32
        const uint8_t op = BPF_OP(in.code);
        if (op == 0xf0) return log_reason(-EINVAL, "insn %u: unknown opcode %02x", i, in.code);
        if (op == BPF_EXIT) return 0;
        if (op == BPF_CALL) {
          if (in.src_reg == BPF_PSEUDO_CALL && (int64_t{i} + in.imm + 1 < 0 || int64_t{i} + in.imm + 1 >= n))
            return log_reason(-EINVAL, "insn %u: call to a function outside the program", i);
          if (in.src_reg == BPF_PSEUDO_KFUNC_CALL && interp::kfunc_of_call(in.imm, in.off) != nullptr) return 0;
          if (in.src_reg != 0 && in.src_reg != BPF_PSEUDO_CALL) return kfunc_refusal(i);
          return 0;
        }
        const int64_t target = jump_target(i, in);
        if (target < 0 || target >= n) return log_reason(-EINVAL, "insn %u: jump out of range to %lld", i, (long long)target);
        return 0;
      }
    }
  }

  // check_cfg's walk from the first insn: fall-throughs, both ways of a
  // conditional jump, calls (and callbacks given by ld_imm64) to their targets.
  std::vector<bool> reachable() const {
    const uint32_t n = static_cast<uint32_t>(insns_.size());
    std::vector<bool> seen(n, false);
    std::vector<int64_t> todo = {0};
    auto push = [&](int64_t t) {
      if (t >= 0 && t < n && !seen[static_cast<size_t>(t)]) todo.push_back(t);
    };
    while (!todo.empty()) {
      const auto t = static_cast<uint32_t>(todo.back());
      todo.pop_back();
      if (seen[t]) continue;
      seen[t] = true;
      const bpf_insn& in = insns_[t];
      if (in.code == (BPF_LD | BPF_IMM | BPF_DW)) {
        if (in.src_reg == BPF_PSEUDO_FUNC) push(int64_t{t} + in.imm + 1);
        push(int64_t{t} + 2);
        continue;
      }
      if (!is_jump(in)) {
        push(int64_t{t} + 1);
        continue;
      }
      const uint8_t op = BPF_OP(in.code);
      if (op == BPF_EXIT) continue;
      if (op == BPF_CALL) {
        if (in.src_reg == BPF_PSEUDO_CALL) push(int64_t{t} + in.imm + 1);
        push(int64_t{t} + 1);
        continue;
      }
      push(jump_target(t, in));
      if (op != BPF_JA) push(int64_t{t} + 1);
    }
    return seen;
  }

  // What do_check finds at insn i: registers, writes to r10, the ALU rules,
  // and helper calls (the kernel's answer for each).
  int semantic(uint32_t i) {
    const bpf_insn& in = insns_[i];
    const uint8_t cls = BPF_CLASS(in.code);
    if (in.code == (BPF_LD | BPF_IMM | BPF_DW)) {
      if (in.dst_reg > 10) return log_reason(-EINVAL, "insn %u: register R%u is invalid", i, in.dst_reg);
      if (in.dst_reg == BPF_REG_10) return log_reason(-EACCES, "insn %u: frame pointer is read only", i);
      return 0;
    }
    if (in.dst_reg > 10 || in.src_reg > 10)
      return log_reason(-EINVAL, "insn %u: register R%u is invalid", i, std::max(in.dst_reg, in.src_reg));
    if (cls == BPF_LDX && in.dst_reg == BPF_REG_10) return log_reason(-EACCES, "insn %u: frame pointer is read only", i);
    if (cls == BPF_ALU || cls == BPF_ALU64) {
      const uint8_t op = BPF_OP(in.code);
      if (op == BPF_NEG && (BPF_SRC(in.code) != BPF_K || in.src_reg != 0 || in.off != 0 || in.imm != 0))
        return log_reason(-EINVAL, "insn %u: BPF_NEG uses reserved fields", i);
      if (op == BPF_END && (in.src_reg != 0 || in.off != 0 || (in.imm != 16 && in.imm != 32 && in.imm != 64)))
        return log_reason(-EINVAL, "insn %u: BPF_END uses reserved fields", i);
      if ((op == BPF_DIV || op == BPF_MOD) && BPF_SRC(in.code) == BPF_K && in.imm == 0)
        return log_reason(-EINVAL, "insn %u: div by zero", i);
      if (in.dst_reg == BPF_REG_10) return log_reason(-EACCES, "insn %u: frame pointer is read only", i);
      if ((op == BPF_LSH || op == BPF_RSH || op == BPF_ARSH) && BPF_SRC(in.code) == BPF_K &&
          static_cast<uint32_t>(in.imm) >= (cls == BPF_ALU64 ? 64U : 32U))
        return log_reason(-EINVAL, "insn %u: invalid shift %d", i, in.imm);
      return 0;
    }
    if (is_jump(in) && BPF_OP(in.code) == BPF_CALL && in.src_reg == 0) return helper_refusal(i);
    return 0;
  }

  // A helper the kernel lacks is refused as the verifier refuses it; one the
  // emulator lacks, with its name, rather than at run time.
  int helper_refusal(uint32_t i) {
    const bpf_insn& in = insns_[i];
    const interp::HelperDef* h = in.imm > 0 ? interp::helper_by_id(static_cast<uint32_t>(in.imm)) : nullptr;
    const KernelProfile& profile = active_profile();
    if (h == nullptr) {
      verifier_text_ = "invalid func unknown#" + std::to_string(in.imm);
      return log_reason(-EINVAL, "insn %u: %s", i, verifier_text_.c_str());
    }
    // The seq helpers are an iterator's (tracing_prog_func_proto has them
    // for BPF_TRACE_ITER only; LSM programs share that table).
    const bool seq_helper = in.imm == BPF_FUNC_seq_printf || in.imm == BPF_FUNC_seq_write ||
                            in.imm == BPF_FUNC_seq_printf_btf;
    if (seq_helper && (prog_type_ == BPF_PROG_TYPE_TRACING || prog_type_ == BPF_PROG_TYPE_LSM) && !iterator_) {
      verifier_text_ = "unknown func bpf_" + std::string(h->name) + "#" + std::to_string(in.imm);
      return log_reason(-EINVAL, "insn %u: %s: only iterator programs have it", i, verifier_text_.c_str());
    }
    if (!helper_allowed_for_type(profile, prog_type_, static_cast<uint32_t>(in.imm))) {
      verifier_text_ = helper_refusal_text(profile, h->name, static_cast<uint32_t>(in.imm));
      return log_reason(-EINVAL, "insn %u: %s (program type %u)", i, verifier_text_.c_str(), prog_type_);
    }
    if (h->fn == nullptr) {
      // Said as the kernel says an unknown helper, so that feature probes see
      // the emulator cannot run it.
      verifier_text_ = "unknown func bpf_" + std::string(h->name) + "#" + std::to_string(in.imm) + " (not emulated yet)";
      return log_reason(-EINVAL, "insn %u: helper bpf_%s (%d) is not emulated yet", i, h->name, in.imm);
    }
    // A perf_event program's bpf_get_stackid is the kernel's _pe variant, not GPL-only.
    const bool pe_stackid = prog_type_ == BPF_PROG_TYPE_PERF_EVENT && in.imm == BPF_FUNC_get_stackid;
    if (h->gpl_only && !gpl_ && !pe_stackid) {
      verifier_text_ = "cannot call GPL-restricted function from non-GPL compatible program";
      return log_reason(-EINVAL, "insn %u: cannot call GPL-restricted function bpf_%s from non-GPL compatible program", i,
                        h->name);
    }
    return outer_map_refusal(i, h->name);
  }

  // check_map_func_compatibility, for the emulated types it limits: a map of
  // maps goes to bpf_map_lookup_elem only, a devmap also to bpf_redirect_map,
  // a cpumap to bpf_redirect_map only, a stack trace map to bpf_get_stackid
  // only (and it no other map), and bpf_redirect_map takes no other maps.
  // Without the verifier's register tracking, the map is found as compilers
  // emit it: the last write of the map's argument register (r2 for
  // bpf_get_stackid, else r1) before the call, in straight-line code, an
  // ld_imm64 of the map.
  static bool map_func_compatible(uint32_t type, int32_t func) {
    const bool lookup = func == BPF_FUNC_map_lookup_elem, redirect = func == BPF_FUNC_redirect_map;
    switch (type) {
      case BPF_MAP_TYPE_ARRAY_OF_MAPS:
      case BPF_MAP_TYPE_HASH_OF_MAPS:
        return lookup;
      case BPF_MAP_TYPE_DEVMAP:
      case BPF_MAP_TYPE_DEVMAP_HASH:
        return lookup || redirect;
      case BPF_MAP_TYPE_CPUMAP:
        return redirect;
      case BPF_MAP_TYPE_STACK_TRACE:
        return func == BPF_FUNC_get_stackid;
      default:
        return (!redirect || type == BPF_MAP_TYPE_XSKMAP) && func != BPF_FUNC_get_stackid;
    }
  }

  // The last instruction before insn i that writes reg, in the straight-line
  // code leading to i; -1 when a jump comes first (a branch ends
  // straight-line code; a call clobbers r1-r5) or nothing writes it.
  int64_t last_write(uint32_t i, uint8_t reg) const {
    for (uint32_t j = i; j-- > 0;) {
      const bpf_insn& in = insns_[j];
      if (second_half_[j]) continue;
      if (is_jump(in)) return -1;
      const uint8_t cls = BPF_CLASS(in.code);
      if ((cls == BPF_LD || cls == BPF_LDX || cls == BPF_ALU || cls == BPF_ALU64) && in.dst_reg == reg) return j;
    }
    return -1;
  }

  int outer_map_refusal(uint32_t i, const char* name) {
    const int32_t func = insns_[i].imm;
    if (func == BPF_FUNC_snprintf) return snprintf_refusal(i);
    const int64_t j = last_write(i, func == BPF_FUNC_get_stackid ? BPF_REG_2 : BPF_REG_1);
    const Map* m = j >= 0 && static_cast<size_t>(j) < ld_maps_.size() ? ld_maps_[j] : nullptr;
    if (m == nullptr) return 0;
    // record_func_map, before the compatibility check: a map programs may
    // only read (devmaps are made so) takes no writes.
    if ((m->attr().map_flags & BPF_F_RDONLY_PROG) &&
        (func == BPF_FUNC_map_delete_elem || func == BPF_FUNC_map_update_elem || func == BPF_FUNC_map_push_elem ||
         func == BPF_FUNC_map_pop_elem)) {
      verifier_text_ = "write into map forbidden";
      return log_reason(-EACCES, "insn %u: %s", i, verifier_text_.c_str());
    }
    const uint32_t type = m->attr().map_type;
    if (map_func_compatible(type, func)) return 0;
    verifier_text_ =
        "cannot pass map_type " + std::to_string(type) + " into func bpf_" + name + "#" + std::to_string(func);
    return log_reason(-EINVAL, "insn %u: %s", i, verifier_text_.c_str());
  }

  // check_reg_const_str and check_bpf_snprintf_call, with the arguments found
  // as compilers emit them: r3 an ld_imm64 of a map value, r5 a mov of a
  // constant. The format must lie NUL-terminated in a frozen read-only map,
  // data_len be a whole number of u64s, and the format need no more
  // arguments than that.
  int snprintf_refusal(uint32_t i) {
    const int64_t fmt_at = last_write(i, BPF_REG_3);
    Map* m = fmt_at >= 0 && static_cast<size_t>(fmt_at) < ld_values_.size() ? ld_values_[fmt_at] : nullptr;
    if (m == nullptr) return 0;
    if (!(m->attr().map_flags & BPF_F_RDONLY_PROG) || !m->frozen()) {
      verifier_text_ = "R3 does not point to a readonly map'";
      return log_reason(-EACCES, "insn %u: %s", i, verifier_text_.c_str());
    }
    const uint32_t zero = 0, off = static_cast<uint32_t>(insns_[fmt_at + 1].imm);
    const auto* value = static_cast<const char*>(m->ops().prog_lookup(*m, &zero));
    if (value == nullptr || off >= m->attr().value_size) return 0;
    const uint32_t room = m->attr().value_size - off;
    if (memchr(value + off, '\0', room) == nullptr) {
      verifier_text_ = "string is not zero-terminated";
      return log_reason(-EINVAL, "insn %u: %s", i, verifier_text_.c_str());
    }
    const int64_t len_at = last_write(i, BPF_REG_5);
    if (len_at < 0 || BPF_OP(insns_[len_at].code) != BPF_MOV || BPF_SRC(insns_[len_at].code) != BPF_K) return 0;
    const auto data_len = static_cast<uint32_t>(insns_[len_at].imm);
    if (data_len % 8 != 0)
      return log_reason(-EINVAL, "insn %u: bpf_snprintf data_len %u is not a multiple of 8", i, data_len);
    const std::vector<uint64_t> no_args(data_len / 8, 0);
    std::string unused;
    if (bprintf_format(value + off, room, no_args.data(), data_len / 8, &unused) != 0) {
      verifier_text_ = "Invalid format string";
      return log_reason(-EINVAL, "insn %u: %s", i, verifier_text_.c_str());
    }
    return 0;
  }

  // Named as the kernel names a kfunc it will not let a program call (one
  // the emulator lacks: bpf_list_push_front_impl, bpf_task_acquire, ...).
  int kfunc_refusal(uint32_t i) {
    const bpf_insn& in = insns_[i];
    const VmlinuxTypes* vm = vmlinux_types();
    const auto it = vm != nullptr && in.off == 0 ? vm->funcs.find(static_cast<uint32_t>(in.imm))
                                                 : decltype(vm->funcs)::const_iterator{};
    if (vm != nullptr && in.off == 0 && it != vm->funcs.end()) {
      verifier_text_ = "calling kernel function " + it->second + " is not allowed (kfuncs are not emulated)";
    } else {
      verifier_text_ = "kernel btf_id " + std::to_string(in.imm) + " is not a function (kfuncs are not emulated)";
    }
    return log_reason(-EINVAL, "insn %u: %s", i, verifier_text_.c_str());
  }

  int pseudo_ld(uint32_t i, std::vector<Map*>* maps) {
    bpf_insn& in = insns_[i];
    switch (in.src_reg) {
      case 0:
        return 0;
      case BPF_PSEUDO_FUNC: {
        const int64_t target = int64_t{i} + in.imm + 1;
        if (target < 0 || target >= static_cast<int64_t>(insns_.size()))
          return log_reason(-EINVAL, "insn %u: callback outside the program", i);
        return 0;
      }
      case BPF_PSEUDO_MAP_FD:
      case BPF_PSEUDO_MAP_VALUE:
      case BPF_PSEUDO_MAP_IDX:
      case BPF_PSEUDO_MAP_IDX_VALUE: {
        int fd = in.imm;
        if (in.src_reg == BPF_PSEUDO_MAP_IDX || in.src_reg == BPF_PSEUDO_MAP_IDX_VALUE) {
          if (ufd_array_ == nullptr) return log_reason(-EPROTO, "insn %u: map index without fd_array", i);
          if (fd_array_cnt_ != 0 && static_cast<uint32_t>(in.imm) >= fd_array_cnt_)
            return log_reason(-EINVAL, "insn %u: map index %d past fd_array_cnt", i, in.imm);
          const auto* slot = static_cast<const int32_t*>(ufd_array_) + static_cast<uint32_t>(in.imm);
          if (copy_from_user(&fd, slot, sizeof(fd)) != 0) return log_reason(-EFAULT, "fd_array points at bad memory");
        }
        int err = -EBADF;
        Map* m = map_from_fd_checked(fd, nullptr, &err);
        if (m == nullptr) return log_reason(err, "insn %u: fd %d is not pointing to valid bpf_map", i, fd);
        const bool value = in.src_reg == BPF_PSEUDO_MAP_VALUE || in.src_reg == BPF_PSEUDO_MAP_IDX_VALUE;
        if (value && !m->ops().direct_value_access(*m))
          return log_reason(-EINVAL, "insn %u: no direct value access support for this map type", i);
        if (value && static_cast<uint32_t>(insns_[i + 1].imm) >= m->attr().value_size)
          return log_reason(-EINVAL, "insn %u: invalid access to map value, off=%u size=%u", i,
                            static_cast<uint32_t>(insns_[i + 1].imm), m->attr().value_size);
        if (std::find(maps->begin(), maps->end(), m) == maps->end()) {
          if (maps->size() >= kMaxUsedMaps) return log_reason(-E2BIG, "the program uses more than 64 maps");
          maps->push_back(m);
        }
        in.imm = static_cast<int32_t>(m->id());
        if (value) {
          if (ld_values_.size() <= i) ld_values_.resize(insns_.size(), nullptr);
          ld_values_[i] = m;
        } else {
          if (ld_maps_.size() <= i) ld_maps_.resize(insns_.size(), nullptr);
          ld_maps_[i] = m;
        }
        return 0;
      }
      case BPF_PSEUDO_BTF_ID:
        return log_reason(-EINVAL, "insn %u: ksyms (BPF_PSEUDO_BTF_ID) need kernel BTF, which is not emulated", i);
      default:
        return log_reason(-EINVAL, "insn %u: unrecognized bpf_ld_imm64 insn", i);
    }
  }

  std::vector<bpf_insn>& insns_;
  const void* ufd_array_;
  uint32_t fd_array_cnt_;
  bool gpl_;  // the license is GPL-compatible
  uint32_t prog_type_;
  bool iterator_ = false;  // a BPF_TRACE_ITER program
  std::string verifier_text_;
  std::vector<bool> second_half_;  // the second insns of ld_imm64s
  std::vector<const Map*> ld_maps_;  // the map an ld_imm64 of a map (not a value) loads, by insn
  std::vector<Map*> ld_values_;      // the map whose value an ld_imm64 of a map value points into, by insn
};

// The program types that may not use a map whose value holds a bpf_spin_lock,
// named as the verifier names them; nullptr for the others.
const char* spin_lock_refused(uint32_t prog_type) {
  switch (prog_type) {
    case BPF_PROG_TYPE_SOCKET_FILTER:
      return "socket filter";
    case BPF_PROG_TYPE_KPROBE:
    case BPF_PROG_TYPE_TRACEPOINT:
    case BPF_PROG_TYPE_PERF_EVENT:
    case BPF_PROG_TYPE_RAW_TRACEPOINT:
    case BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE:
      return "tracing";
    default:
      return nullptr;
  }
}

// The verifier log: what the kernel writes at the end of a successful load,
// with its rules for a buffer that is too small (ENOSPC).
int write_log(const ProgLoadAttr& a, uint32_t insn_cnt) {
  if (a.log_level == 0) return 0;
  char text[256];
  const int n = snprintf(text, sizeof(text),
                         "processed %u insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 "
                         "mark_read 0\n",
                         insn_cnt);
  const uint32_t need = static_cast<uint32_t>(n) + 1;
  if (a.log_true_size != nullptr && copy_to_user(a.log_true_size, &need, sizeof(need)) != 0) return -EFAULT;
  if (a.log_buf == nullptr) return 0;
  const uint32_t copy = std::min(need, a.log_size);
  text[copy - 1] = '\0';
  if (copy_to_user(a.log_buf, text, copy) != 0) return -EFAULT;
  return need > a.log_size ? log_reason(-ENOSPC, "the verifier log (%u bytes) does not fit in log_size %u", need, a.log_size) : 0;
}

// On a refused load: the verifier's words for it, when the caller asked for a
// log (what fits; the load's own error stands).
void write_failure_log(const ProgLoadAttr& a, const std::string& why) {
  if (a.log_level == 0 || a.log_buf == nullptr || a.log_size == 0 || why.empty()) return;
  const std::string text = why + "\n";
  const uint32_t copy = std::min(static_cast<uint32_t>(text.size()) + 1, a.log_size);
  std::string out = text.substr(0, copy - 1);
  (void)copy_to_user(a.log_buf, out.c_str(), out.size() + 1);
}

// The verifier's rules on sleepable programs (check_map_prog_compatibility,
// check_attach_btf_id): the maps one may use (kSleepable in
// core/map_types.def, queues and stacks only from some version on); a syscall
// program must be sleepable; of the other types the emulator loads, kprobe
// (for uprobes), fentry/fexit/fmod_ret and LSM may be (their targets were
// checked with check_attach).
int check_sleepable(uint32_t type, uint32_t attach, bool sleepable, const std::vector<Map*>& maps) {
  if (sleepable) {
    for (const Map* m : maps) {
      const MapTypeInfo* t = map_type_info(m->attr().map_type);
      const bool allowed = t != nullptr && t->has(kSleepable) &&
                           (t->shape != MapShape::kQueue || active_profile().sleepable_queue_stack);
      if (!allowed)
        return log_reason(-EINVAL, "sleepable programs cannot use %s maps", t != nullptr ? t->name : "these");
    }
  }
  if (type == BPF_PROG_TYPE_SYSCALL && !sleepable) return log_reason(-EINVAL, "syscall programs must be sleepable");
  const bool trampoline = (type == BPF_PROG_TYPE_TRACING && attach != BPF_TRACE_RAW_TP) || type == BPF_PROG_TYPE_LSM;
  if (sleepable && type != BPF_PROG_TYPE_SYSCALL && type != BPF_PROG_TYPE_KPROBE && !trampoline)
    return log_reason(-EINVAL, "program type %u cannot be sleepable", type);
  return 0;
}

// The verifier's check_return_code for an LSM program (6.10+): on a hook that
// returns int, r0 at exit must be 0 or a -errno (0 or 1 on the boolean
// hooks), as a 32-bit value. Without data flow the emulator sees only what the
// compiler emits for a constant return, `r0 = K; exit` in the main program;
// other values are checked when the program runs (lsm_return_in_range).
// BPF_LSM_CGROUP programs (every version): 0 or 1, and 1 on a void hook.
int check_lsm_return(const std::vector<bpf_insn>& insns, uint32_t attach, uint32_t attach_btf_id,
                     const std::string& func) {
  const VmlinuxTypes* types = vmlinux_types();
  if (types == nullptr) return 0;
  const bool void_hook = types->void_funcs.count(attach_btf_id) != 0;
  const bool cgroup = attach == BPF_LSM_CGROUP;
  if (!cgroup && (void_hook || !active_profile().lsm_retval_range)) return 0;
  auto in_range = [&](int32_t v) {
    if (cgroup) return v == 1 || (v == 0 && !void_hook);
    return lsm_return_in_range(func, static_cast<uint64_t>(static_cast<int64_t>(v)));
  };
  // The main program ends where its first subprogram (a bpf-to-bpf call's
  // target) begins.
  size_t end = insns.size();
  for (size_t i = 0; i < insns.size(); ++i)
    if (insns[i].code == (BPF_JMP | BPF_CALL) && insns[i].src_reg == BPF_PSEUDO_CALL)
      end = std::min<size_t>(end, i + 1 + insns[i].imm);
  for (size_t i = 1; i < end; ++i) {
    const bpf_insn& mov = insns[i - 1];
    const bool const_r0 = (mov.code == (BPF_ALU64 | BPF_MOV | BPF_K) || mov.code == (BPF_ALU | BPF_MOV | BPF_K)) &&
                          mov.dst_reg == BPF_REG_0 && mov.off == 0;
    if (insns[i].code != (BPF_JMP | BPF_EXIT) || !const_r0) continue;
    if (!in_range(mov.imm))
      return log_reason(-EINVAL, "At program exit the register R0 has value %d, outside the range %s allows",
                        mov.imm, func.c_str());
  }
  return 0;
}

}  // namespace

int sys_prog_load(const ProgLoadAttr& a) {
  if (a.prog_flags & ~kProgFlags) return log_reason(-EINVAL, "prog_flags has unknown bits");
  if (a.prog_flags & kTokenFd) return log_reason(-EINVAL, "BPF tokens are not emulated");
  uint32_t attach = a.expected_attach_type;
  if (a.prog_type == BPF_PROG_TYPE_CGROUP_SOCK && attach == 0) attach = BPF_CGROUP_INET_SOCK_CREATE;
  if (a.prog_type == BPF_PROG_TYPE_SK_REUSEPORT && attach == 0) attach = BPF_SK_REUSEPORT_SELECT;
  if (a.insn_cnt == 0 || a.insn_cnt > kComplexityLimit)
    return log_reason(-E2BIG, "insn_cnt %u is not in 1..1000000", a.insn_cnt);
  std::string target;
  const bool sleepable = (a.prog_flags & BPF_F_SLEEPABLE) != 0;
  if (int e = check_attach(a.prog_type, attach, a.attach_btf_id, a.attach_prog_fd, sleepable, &target); e != 0)
    return e;
  std::vector<bpf_insn> insns(a.insn_cnt);
  if (copy_from_user(insns.data(), a.insns, insns.size() * sizeof(bpf_insn)) != 0)
    return log_reason(-EFAULT, "insns points at bad memory");
  char license[128] = {};
  if (strncpy_from_user(license, a.license, sizeof(license) - 1) == -EFAULT)
    return log_reason(-EFAULT, "license points at bad memory");
  if (a.prog_type == 0 || a.prog_type >= kMaxProgType)
    return log_reason(-EINVAL, "program type %u does not exist", a.prog_type);
  if (int e = check_name(a.prog_name); e != 0) return e;
  if (a.prog_ifindex != 0) return log_reason(-EINVAL, "prog_ifindex: device offload is not emulated");
  if (a.signature != 0) return log_reason(-EOPNOTSUPP, "signed programs are not supported");
  // bpf_check: the log attributes, then the program.
  if (!log_attrs_valid(active_profile(), a.log_buf, a.log_size, a.log_level))
    return log_reason(-EINVAL, "invalid log buffer attributes");
  std::vector<Map*> maps;
  // process_fd_array: with a count, fd_array lists the maps (and BTFs) the
  // program may use, all checked up front, one fd at a time (the first bad
  // fd answers, whatever follows it); a count that overflows is EINVAL.
  if (a.fd_array_cnt >= UINT32_MAX / sizeof(int32_t))
    return log_reason(-EINVAL, "fd_array_cnt is too big (%u)", a.fd_array_cnt);
  for (uint32_t i = 0; i < a.fd_array_cnt; ++i) {
    int32_t fd = -1;
    if (copy_from_user(&fd, user_ptr_add(a.fd_array, uint64_t{i} * sizeof(fd)), sizeof(fd)) != 0)
      return log_reason(-EFAULT, "fd_array points at bad memory");
    ObjKind kind = ObjKind::kNone;
    uint8_t access = 0;
    int e = -EBADF;
    Object* obj = object_from_fd_checked(fd, &kind, &access, &e);
    if (obj == nullptr) return log_reason(e, "fd_array: fd %d is not a BPF object", fd);
    if (kind == ObjKind::kMap) {
      auto* m = static_cast<Map*>(obj);
      if (std::find(maps.begin(), maps.end(), m) == maps.end()) {
        if (maps.size() >= kMaxUsedMaps) return log_reason(-E2BIG, "the program uses more than 64 maps");
        maps.push_back(m);
      }
    } else if (kind != ObjKind::kBtf) {
      return log_reason(-EINVAL, "fd_array: fd %d is neither a map nor BTF", fd);
    }
  }
  // check_btf_info_early: func and line info need the program's BTF (which
  // the program then keeps: bpf_obj_new reads its types).
  Object* btf = nullptr;
  if (a.func_info_cnt != 0 || a.line_info_cnt != 0) {
    ObjKind kind = ObjKind::kNone;
    uint8_t access = 0;
    int e = -EBADF;
    btf = object_from_fd_checked(static_cast<int>(a.prog_btf_fd), &kind, &access, &e);
    if (btf == nullptr) return log_reason(e == -EBADF ? -EBADF : -EINVAL, "prog_btf_fd is not a BTF fd");
    if (kind != ObjKind::kBtf) return log_reason(-EINVAL, "prog_btf_fd is not a BTF fd");
    if (a.func_info_cnt != 0 && (a.func_info_rec_size < 8 || a.func_info_rec_size > 252 || a.func_info_rec_size % 4))
      return log_reason(-EINVAL, "invalid func info rec size %u", a.func_info_rec_size);
    if (a.line_info_cnt != 0 && (a.line_info_rec_size < 16 || a.line_info_rec_size > 252 || a.line_info_rec_size % 4))
      return log_reason(-EINVAL, "invalid line info rec size %u", a.line_info_rec_size);
  }
  uint8_t tag[8];
  prog_tag(insns, active_profile().prog_tag_sha256, tag);
  Checker checker(insns, a.fd_array, a.fd_array_cnt, gpl_compatible(license), a.prog_type);
  checker.set_iterator(a.prog_type == BPF_PROG_TYPE_TRACING && attach == BPF_TRACE_ITER);
  if (int e = checker.run(&maps); e != 0) {
    write_failure_log(a, checker.verifier_text());
    return e;
  }
  if (int e = check_sleepable(a.prog_type, attach, sleepable, maps); e != 0) return e;
  if (a.prog_type == BPF_PROG_TYPE_LSM) {  // bpf_lsm_verify_prog, then check_return_code
    if (!gpl_compatible(license)) return log_reason(-EINVAL, "LSM programs must have a GPL compatible license");
    if (int e = check_lsm_return(insns, attach, a.attach_btf_id, target); e != 0) return e;
  }
  // bpf_prog_map_compatible: a prog array holds programs of one type.
  for (Map* m : maps)
    if (m->ops().prog_compatible(*m, a.prog_type) != 0)
      return log_reason(-EINVAL, "the program's type %u is not the type of the programs in prog array %u", a.prog_type,
                        m->id());
  // check_map_prog_compatibility: values with a bpf_spin_lock are not for
  // socket filters and tracing programs.
  for (Map* m : maps)
    if (const char* who = spin_lock_refused(a.prog_type); who != nullptr && m->ops().has_spin_lock(*m))
      return log_reason(-EINVAL, "%s progs cannot use bpf_spin_lock yet (map %u)", who, m->id());
  if (int e = write_log(a, a.insn_cnt); e != 0) return e;

  int err = 0;
  Store* store = Store::current(&err);
  if (store == nullptr) return log_reason(err, "the emulated bpffs root cannot be used");
  Region region;
  const size_t bytes = insns.size() * sizeof(bpf_insn);
  const size_t data_bytes = (bytes + kHeaderPage - 1) & ~(kHeaderPage - 1);
  if (int e = store->new_region(ObjKind::kProg, data_bytes + kHeaderPage, &region); e != 0) return e;
  memcpy(region.base(), insns.data(), bytes);
  auto* hdr = new (region.at<void>(region.size() - kHeaderPage)) ProgHeader();
  init_obj_header(hdr->obj, ObjKind::kProg, sizeof(ProgHeader), data_bytes);
  hdr->prog_type = a.prog_type;
  hdr->expected_attach_type = attach;
  hdr->attach_btf_id = a.attach_btf_id;
  strncpy(hdr->attach_target, target.c_str(), sizeof(hdr->attach_target) - 1);
  hdr->insn_cnt = a.insn_cnt;
  memcpy(hdr->tag, tag, sizeof(hdr->tag));
  hdr->prog_flags = a.prog_flags;
  hdr->gpl_compatible = gpl_compatible(license) ? 1 : 0;
  memcpy(hdr->name, a.prog_name, sizeof(hdr->name));
  // The program's references on its maps and BTF, taken while the caller's fds hold them.
  for (Map* m : maps) {
    hdr->map_ids[hdr->nr_map_ids++] = m->id();
    m->obj_header().krefs.fetch_add(1);
  }
  if (btf != nullptr) {
    hdr->btf_id = btf->id();
    btf->obj_header().krefs.fetch_add(1);
  }
  const int fd = publish_object(*store, std::make_unique<Program>(std::move(region)), kCanReadWrite);
  if (fd < 0) {
    for (Map* m : maps) m->obj_header().krefs.fetch_sub(1);
    if (btf != nullptr) btf->obj_header().krefs.fetch_sub(1);
  }
  return fd;
}

int prog_get_info(Program& prog, void* uinfo, uint32_t* info_len) {
  const ProgHeader& h = prog.header();
  uint32_t len = *info_len;
  if (int e = check_uarg_tail_zero(uinfo, sizeof(ProgInfo), &len, "bpf_prog_info"); e != 0) return e;
  ProgInfo info{};
  if (copy_from_user(&info, uinfo, len) != 0) return -EFAULT;
  info.type = h.prog_type;
  info.id = prog.id();
  info.load_time = h.obj.created_ns;
  info.created_by_uid = h.obj.owner_uid;
  info.gpl_compatible = h.gpl_compatible;
  memcpy(info.tag, h.tag, sizeof(info.tag));
  memcpy(info.name, h.name, sizeof(info.name));
  const uint32_t want_maps = std::min(info.nr_map_ids, h.nr_map_ids);
  info.nr_map_ids = h.nr_map_ids;
  if (want_maps != 0 && copy_to_user(reinterpret_cast<void*>(info.map_ids), h.map_ids, want_maps * sizeof(uint32_t)))
    return -EFAULT;
  info.verified_insns = h.insn_cnt;
  if (h.attach_btf_id != 0) {  // the kernel's own BTF, which is object 1 there
    info.attach_btf_obj_id = 1;
    info.attach_btf_id = h.attach_btf_id;
  }
  const uint32_t want_insns = info.xlated_prog_len;
  info.xlated_prog_len = h.insn_cnt * static_cast<uint32_t>(sizeof(bpf_insn));
  if (want_insns != 0 &&
      copy_to_user(reinterpret_cast<void*>(info.xlated_prog_insns), prog.insns(), std::min(want_insns, info.xlated_prog_len)))
    return -EFAULT;
  info.jited_prog_len = 0;  // programs are not compiled
  info.nr_jited_ksyms = info.nr_jited_func_lens = info.nr_func_info = info.nr_line_info = info.nr_jited_line_info = 0;
  info.run_time_ns = info.run_cnt = info.recursion_misses = 0;
  if (copy_to_user(uinfo, &info, len) != 0) return -EFAULT;
  *info_len = len;
  return 0;
}

}  // namespace bpfemu::emu
