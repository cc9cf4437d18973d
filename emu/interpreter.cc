#include "emu/interpreter.h"

#include <linux/bpf.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <string>
#include <type_traits>

#include "core/log.h"
#include "core/map_ops.h"
#include "core/uaccess.h"
#include "emu/kfuncs.h"
#include "emu/local_obj.h"
#include "emu/objects.h"
#include "emu/prog_helpers.h"
#include "emu/program.h"

namespace bpfemu::emu {

RunEnv::~RunEnv() {
  for (Map* m : inner_maps) m->local_refs.fetch_sub(1);
  (void)run_drop_held(*this);
}

// --- RunMemory ---

bool RunMemory::add(const void* p, uint64_t size, bool writable) {
  const auto lo = reinterpret_cast<uint64_t>(p);
  auto it = std::lower_bound(ranges_.begin(), ranges_.end(), lo, [](const Range& r, uint64_t v) { return r.lo < v; });
  if (it != ranges_.end() && it->lo == lo) return false;
  ranges_.insert(it, Range{lo, lo + size, writable});
  return true;
}

void RunMemory::remove(const void* p) {
  const auto lo = reinterpret_cast<uint64_t>(p);
  auto it = std::lower_bound(ranges_.begin(), ranges_.end(), lo, [](const Range& r, uint64_t v) { return r.lo < v; });
  if (it != ranges_.end() && it->lo == lo) ranges_.erase(it);
  if (last_lo_ == lo) last_lo_ = 1, last_hi_ = 0;
}

bool RunMemory::allows_slow(uint64_t addr, uint64_t size, bool write) const {
  const uint64_t end = addr + size;
  if (end < addr) return false;
  auto it = std::upper_bound(ranges_.begin(), ranges_.end(), addr, [](uint64_t v, const Range& r) { return v < r.lo; });
  if (it == ranges_.begin()) return false;
  --it;
  if (end > it->hi) return false;
  last_lo_ = it->lo;
  last_hi_ = it->hi;
  last_writable_ = it->writable;
  return it->writable || !write;
}

int add_program_maps(const Program& prog, RunEnv* env) {
  const ProgHeader& h = prog.header();
  if (h.nr_map_ids == 0) return 0;
  int err = 0;
  Store* store = prog.store() != nullptr ? prog.store() : Store::current(&err);
  if (store == nullptr) return err;
  for (uint32_t i = 0; i < h.nr_map_ids && i < kMaxUsedMaps; ++i) {
    Object* obj = view_of(*store, ObjKind::kMap, h.map_ids[i], &err);
    if (obj == nullptr) return log_reason(err, "map id %u of the program is gone", h.map_ids[i]);
    auto* m = static_cast<Map*>(obj);
    if (std::find(env->maps.begin(), env->maps.end(), m) == env->maps.end()) env->maps.push_back(m);
  }
  return 0;
}

void allow_map_memory(RunEnv& env, const Map& map) {
  for (const Map* m : env.mapped)
    if (m == &map) return;
  env.mapped.push_back(&map);
  env.memory.add(map.data(), map.data_size(), !(map.attr().map_flags & BPF_F_RDONLY_PROG));
}

namespace interp {
namespace {

constexpr int kMaxFrames = 8;         // MAX_CALL_FRAMES
constexpr uint32_t kFrameSize = 512;  // MAX_BPF_STACK
constexpr uint8_t kMemSx = 0x80;      // BPF_MEMSX
constexpr int32_t kLoadAcquire = 0x100;
constexpr int32_t kStoreRelease = 0x110;

uint32_t size_bytes(uint8_t code) {
  switch (BPF_SIZE(code)) {
    case BPF_B: return 1;
    case BPF_H: return 2;
    case BPF_W: return 4;
    default: return 8;
  }
}

uint64_t sign_extend(uint64_t v, uint32_t bytes) {
  switch (bytes) {
    case 1: return static_cast<uint64_t>(static_cast<int64_t>(static_cast<int8_t>(v)));
    case 2: return static_cast<uint64_t>(static_cast<int64_t>(static_cast<int16_t>(v)));
    case 4: return static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(v)));
    default: return v;
  }
}

// One ALU operation on 64-bit (wide) or 32-bit operands, with the kernel's
// answers for division by zero and by -1 (the verifier's rewrites of
// div/mod make them defined: x / 0 = 0, x % 0 = x, INT_MIN / -1 wraps).
bool alu(uint8_t op, int16_t off, bool wide, uint64_t& dst, uint64_t src) {
  if (!wide) {
    const uint32_t d = static_cast<uint32_t>(dst), s = static_cast<uint32_t>(src);
    uint32_t r = 0;
    switch (op) {
      case BPF_ADD: r = d + s; break;
      case BPF_SUB: r = d - s; break;
      case BPF_MUL: r = d * s; break;
      case BPF_OR: r = d | s; break;
      case BPF_AND: r = d & s; break;
      case BPF_XOR: r = d ^ s; break;
      case BPF_LSH: r = d << (s & 31); break;
      case BPF_RSH: r = d >> (s & 31); break;
      case BPF_ARSH: r = static_cast<uint32_t>(static_cast<int32_t>(d) >> (s & 31)); break;
      case BPF_NEG: r = 0u - d; break;
      case BPF_DIV:
        if (off == 1) {
          const auto sd = static_cast<int32_t>(d), ss = static_cast<int32_t>(s);
          r = ss == 0 ? 0 : ss == -1 ? 0u - d : static_cast<uint32_t>(sd / ss);
        } else {
          r = s == 0 ? 0 : d / s;
        }
        break;
      case BPF_MOD:
        if (off == 1) {
          const auto sd = static_cast<int32_t>(d), ss = static_cast<int32_t>(s);
          r = ss == 0 ? d : ss == -1 ? 0 : static_cast<uint32_t>(sd % ss);
        } else {
          r = s == 0 ? d : d % s;
        }
        break;
      case BPF_MOV:
        r = off == 0 ? s : static_cast<uint32_t>(sign_extend(s, static_cast<uint32_t>(off) / 8));
        break;
      default:
        return false;
    }
    dst = r;
    return true;
  }
  switch (op) {
    case BPF_ADD: dst += src; break;
    case BPF_SUB: dst -= src; break;
    case BPF_MUL: dst *= src; break;
    case BPF_OR: dst |= src; break;
    case BPF_AND: dst &= src; break;
    case BPF_XOR: dst ^= src; break;
    case BPF_LSH: dst <<= (src & 63); break;
    case BPF_RSH: dst >>= (src & 63); break;
    case BPF_ARSH: dst = static_cast<uint64_t>(static_cast<int64_t>(dst) >> (src & 63)); break;
    case BPF_NEG: dst = 0 - dst; break;
    case BPF_DIV:
      if (off == 1) {
        const auto sd = static_cast<int64_t>(dst), ss = static_cast<int64_t>(src);
        dst = ss == 0 ? 0 : ss == -1 ? 0 - dst : static_cast<uint64_t>(sd / ss);
      } else {
        dst = src == 0 ? 0 : dst / src;
      }
      break;
    case BPF_MOD:
      if (off == 1) {
        const auto sd = static_cast<int64_t>(dst), ss = static_cast<int64_t>(src);
        dst = ss == 0 ? dst : ss == -1 ? 0 : static_cast<uint64_t>(sd % ss);
      } else {
        dst = src == 0 ? dst : dst % src;
      }
      break;
    case BPF_MOV:
      dst = off == 0 ? src : sign_extend(src, static_cast<uint32_t>(off) / 8);
      break;
    default:
      return false;
  }
  return true;
}

// BPF_END: to little endian is a truncation on this (little-endian) host;
// to big endian and ALU64's unconditional BSWAP reverse the bytes.
bool byte_order(bool swap, int32_t bits, uint64_t& dst) {
  switch (bits) {
    case 16: dst = swap ? __builtin_bswap16(static_cast<uint16_t>(dst)) : static_cast<uint16_t>(dst); return true;
    case 32: dst = swap ? __builtin_bswap32(static_cast<uint32_t>(dst)) : static_cast<uint32_t>(dst); return true;
    case 64: dst = swap ? __builtin_bswap64(dst) : dst; return true;
    default: return false;
  }
}

bool condition(uint8_t op, bool wide, uint64_t a, uint64_t b) {
  if (!wide) {
    a = static_cast<uint32_t>(a);
    b = static_cast<uint32_t>(b);
  }
  const int64_t sa = wide ? static_cast<int64_t>(a) : static_cast<int32_t>(a);
  const int64_t sb = wide ? static_cast<int64_t>(b) : static_cast<int32_t>(b);
  switch (op) {
    case BPF_JEQ: return a == b;
    case BPF_JNE: return a != b;
    case BPF_JGT: return a > b;
    case BPF_JGE: return a >= b;
    case BPF_JLT: return a < b;
    case BPF_JLE: return a <= b;
    case BPF_JSET: return (a & b) != 0;
    case BPF_JSGT: return sa > sb;
    case BPF_JSGE: return sa >= sb;
    case BPF_JSLT: return sa < sb;
    case BPF_JSLE: return sa <= sb;
    default: return false;
  }
}

}  // namespace

Machine::Machine(const Program& prog, RunEnv& env) : env_(env) {
  static_assert(sizeof(stack_) == kMaxFrames * kFrameSize);
  memset(stack_, 0, sizeof(stack_));
  set_program(prog);
}

void Machine::set_program(const Program& prog) {
  prog_ = &prog;
  insns_ = reinterpret_cast<const bpf_insn*>(prog.insns());
  n_ = prog.header().insn_cnt;
  code_ = &prog.code();
  map_loads_.assign(code_->map_loads(), 0);
  const uint32_t type = prog.header().prog_type;
  probe_loads_ = type == BPF_PROG_TYPE_TRACING || type == BPF_PROG_TYPE_LSM || code_->takes_btf_pointers();
}

bool Machine::fault(const char* fmt, ...) {
  char why[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof(why), fmt, ap);
  va_end(ap);
  char text[320];
  snprintf(text, sizeof(text), "insn %u: %s", pc_, why);
  if (env_.error.empty()) env_.error = text;
  return false;
}

bool Machine::in_bounds(uint64_t addr, uint64_t size, bool write) const {
  // The stack: frame d's 512 bytes lie below frame d-1's; a frame may use its
  // own and its callers' (stack pointers passed down), never a callee's.
  const auto top = reinterpret_cast<uint64_t>(stack_) + kMaxFrames * kFrameSize;
  const uint64_t bottom = top - static_cast<uint64_t>(depth_ + 1) * kFrameSize;
  if (addr >= bottom && addr + size <= top && addr + size > addr) return true;
  return env_.memory.allows(addr, size, write);
}

bool Machine::check(uint64_t addr, uint64_t size, bool write, const char* what) {
  if (size == 0 || in_bounds(addr, size, write)) return true;  // size 0: a helper's _OR_ZERO size
  return fault("%s of %llu bytes at 0x%llx is outside the program's memory", what, (unsigned long long)size,
               (unsigned long long)addr);
}

Map* Machine::map_arg(uint64_t reg, const char* helper) {
  for (Map* m : env_.maps)
    if (reinterpret_cast<uint64_t>(m) == reg) return m;
  fault("%s: R1 is not a map of this program", helper);
  return nullptr;
}

int64_t Machine::func_arg(uint64_t reg) const {
  const auto first = reinterpret_cast<uint64_t>(insns_);
  if (reg < first || reg >= first + uint64_t{n_} * sizeof(bpf_insn) || (reg - first) % sizeof(bpf_insn)) return -1;
  return static_cast<int64_t>((reg - first) / sizeof(bpf_insn));
}

bool Machine::load(uint64_t addr, uint32_t size, uint64_t* out) {
  const auto ctx = reinterpret_cast<uint64_t>(env_.ctx);
  if (env_.ctx_model != nullptr && addr >= ctx && addr < ctx + env_.ctx_size &&
      env_.ctx_model->load(static_cast<uint32_t>(addr - ctx), size, out))
    return true;
  if (probe_loads_ && !in_bounds(addr, size, false)) {
    const auto stack = reinterpret_cast<uint64_t>(stack_);
    const bool stack_block = addr < stack + sizeof(stack_) && addr + size > stack;
    if (!stack_block) {
      uint64_t v = 0;
      if (copy_from_user(&v, reinterpret_cast<const void*>(addr), size) != 0) v = 0;
      *out = v;
      return true;
    }
  }
  if (!check(addr, size, false, "load")) return false;
  const auto* p = reinterpret_cast<const uint8_t*>(addr);
  switch (size) {
    case 1: *out = __atomic_load_n(p, __ATOMIC_RELAXED); break;
    case 2: { uint16_t v; memcpy(&v, p, 2); *out = v; break; }
    case 4: { uint32_t v; memcpy(&v, p, 4); *out = v; break; }
    default: memcpy(out, p, 8); break;
  }
  return true;
}

bool Machine::store(uint64_t addr, uint32_t size, uint64_t v) {
  const auto ctx = reinterpret_cast<uint64_t>(env_.ctx);
  if (env_.ctx_model != nullptr && addr >= ctx && addr < ctx + env_.ctx_size &&
      !env_.ctx_model->store_allowed(static_cast<uint32_t>(addr - ctx), size))
    return fault("store of %u bytes at ctx offset %llu: the field is read-only", size,
                 (unsigned long long)(addr - ctx));
  if (!check(addr, size, true, "store")) return false;
  memcpy(reinterpret_cast<void*>(addr), &v, size);  // little endian: the low bytes
  return true;
}

bool Machine::atomic(const bpf_insn& in, uint64_t* regs) {
  const uint32_t size = size_bytes(in.code);
  const int32_t op = in.imm;
  if (op == kLoadAcquire) {
    const uint64_t addr = regs[in.src_reg] + static_cast<int64_t>(in.off);
    if (!check(addr, size, false, "load-acquire")) return false;
    uint64_t v = 0;
    switch (size) {
      case 1: v = __atomic_load_n(reinterpret_cast<uint8_t*>(addr), __ATOMIC_ACQUIRE); break;
      case 2: v = __atomic_load_n(reinterpret_cast<uint16_t*>(addr), __ATOMIC_ACQUIRE); break;
      case 4: v = __atomic_load_n(reinterpret_cast<uint32_t*>(addr), __ATOMIC_ACQUIRE); break;
      default: v = __atomic_load_n(reinterpret_cast<uint64_t*>(addr), __ATOMIC_ACQUIRE); break;
    }
    regs[in.dst_reg] = v;
    return true;
  }
  const uint64_t addr = regs[in.dst_reg] + static_cast<int64_t>(in.off);
  if (op == kStoreRelease) {
    if (!check(addr, size, true, "store-release")) return false;
    const uint64_t v = regs[in.src_reg];
    switch (size) {
      case 1: __atomic_store_n(reinterpret_cast<uint8_t*>(addr), static_cast<uint8_t>(v), __ATOMIC_RELEASE); break;
      case 2: __atomic_store_n(reinterpret_cast<uint16_t*>(addr), static_cast<uint16_t>(v), __ATOMIC_RELEASE); break;
      case 4: __atomic_store_n(reinterpret_cast<uint32_t*>(addr), static_cast<uint32_t>(v), __ATOMIC_RELEASE); break;
      default: __atomic_store_n(reinterpret_cast<uint64_t*>(addr), v, __ATOMIC_RELEASE); break;
    }
    return true;
  }
  if (size != 4 && size != 8) return fault("atomic operation of %u bytes", size);
  if (addr % size != 0) return fault("misaligned atomic access at 0x%llx", (unsigned long long)addr);
  if (!check(addr, size, true, "atomic")) return false;
  const bool fetch = (op & BPF_FETCH) != 0;
  uint64_t src = regs[in.src_reg];
  uint64_t old = 0;
  auto rmw = [&](auto* p, auto v) {
    using T = std::remove_pointer_t<decltype(p)>;
    switch (op & ~BPF_FETCH) {
      case BPF_ADD: return static_cast<uint64_t>(__atomic_fetch_add(p, static_cast<T>(v), __ATOMIC_SEQ_CST));
      case BPF_OR: return static_cast<uint64_t>(__atomic_fetch_or(p, static_cast<T>(v), __ATOMIC_SEQ_CST));
      case BPF_AND: return static_cast<uint64_t>(__atomic_fetch_and(p, static_cast<T>(v), __ATOMIC_SEQ_CST));
      case BPF_XOR: return static_cast<uint64_t>(__atomic_fetch_xor(p, static_cast<T>(v), __ATOMIC_SEQ_CST));
      default: return static_cast<uint64_t>(__atomic_exchange_n(p, static_cast<T>(v), __ATOMIC_SEQ_CST));
    }
  };
  switch (op) {
    case BPF_ADD: case BPF_OR: case BPF_AND: case BPF_XOR:
    case BPF_ADD | BPF_FETCH: case BPF_OR | BPF_FETCH: case BPF_AND | BPF_FETCH: case BPF_XOR | BPF_FETCH:
    case BPF_XCHG:
      old = size == 4 ? rmw(reinterpret_cast<uint32_t*>(addr), static_cast<uint32_t>(src))
                      : rmw(reinterpret_cast<uint64_t*>(addr), src);
      if (fetch) regs[in.src_reg] = old;
      return true;
    case BPF_CMPXCHG:
      if (size == 4) {
        auto expected = static_cast<uint32_t>(regs[BPF_REG_0]);
        __atomic_compare_exchange_n(reinterpret_cast<uint32_t*>(addr), &expected, static_cast<uint32_t>(src), false,
                                    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
        regs[BPF_REG_0] = expected;
      } else {
        uint64_t expected = regs[BPF_REG_0];
        __atomic_compare_exchange_n(reinterpret_cast<uint64_t*>(addr), &expected, src, false, __ATOMIC_SEQ_CST,
                                    __ATOMIC_SEQ_CST);
        regs[BPF_REG_0] = expected;
      }
      return true;
    default:
      return fault("unknown atomic operation 0x%x", static_cast<unsigned>(op));
  }
}

bool Machine::ld_imm64(uint32_t pc, const bpf_insn* in, uint64_t* out) {
  const uint64_t imm64 = static_cast<uint32_t>(in[0].imm) | (uint64_t{static_cast<uint32_t>(in[1].imm)} << 32);
  switch (in[0].src_reg) {
    case 0:
      *out = imm64;
      return true;
    case BPF_PSEUDO_FUNC:
      *out = reinterpret_cast<uint64_t>(&insns_[pc + 1 + in[0].imm]);
      return true;
    case BPF_PSEUDO_MAP_FD:
    case BPF_PSEUDO_MAP_IDX:
    case BPF_PSEUDO_MAP_VALUE:
    case BPF_PSEUDO_MAP_IDX_VALUE: {
      // The loader replaced the fd (or index) with the map's id.
      const auto id = static_cast<uint32_t>(in[0].imm);
      Map* map = nullptr;
      for (Map* m : env_.maps)
        if (m->id() == id) map = m;
      if (map == nullptr) return fault("map id %u is not one of the program's maps", id);
      if (in[0].src_reg == BPF_PSEUDO_MAP_FD || in[0].src_reg == BPF_PSEUDO_MAP_IDX) {
        *out = reinterpret_cast<uint64_t>(map);
        return true;
      }
      const uint32_t zero = 0;
      auto* value = static_cast<uint8_t*>(map->ops().prog_lookup(*map, &zero));
      if (value == nullptr) return fault("map id %u has no directly addressable value", id);
      allow_map_memory(env_, *map);
      *out = reinterpret_cast<uint64_t>(value) + static_cast<uint32_t>(in[1].imm);
      return true;
    }
    default:
      return fault("ld_imm64 with pseudo source %u is not emulated", in[0].src_reg);
  }
}

bool Machine::helper(int32_t id, uint64_t* regs) {
  const HelperDef* def = id > 0 ? helper_by_id(static_cast<uint32_t>(id)) : nullptr;
  if (def == nullptr) return fault("call to unknown helper %d", id);
  if (def->fn == nullptr) return fault("helper bpf_%s (%d) is not emulated yet", def->name, id);
  HelperCall c{*this, env_, {regs[1], regs[2], regs[3], regs[4], regs[5]}};
  return def->fn(c, &regs[BPF_REG_0]);
}

bool Machine::kfunc(const bpf_insn& in, uint64_t* regs) {
  const KfuncDef* def = kfunc_of_call(in.imm, in.off);
  if (def == nullptr) return fault("kfunc call (btf id %d) is not emulated", in.imm);
  HelperCall c{*this, env_, {regs[1], regs[2], regs[3], regs[4], regs[5]}};
  return def->fn(c, &regs[BPF_REG_0]);
}

bool Machine::tail_call(uint32_t* pc, uint64_t* regs) {
  constexpr uint32_t kMaxTailCalls = 33;  // MAX_TAIL_CALL_CNT
  Map* map = map_arg(regs[BPF_REG_2], "bpf_tail_call");
  if (map == nullptr) return false;
  if (map->attr().map_type != BPF_MAP_TYPE_PROG_ARRAY) return fault("bpf_tail_call: R2 is not a prog array");
  // No target, or too many tail calls: the program goes on after the call.
  const uint32_t id = map->ops().tail_call_target(*map, static_cast<uint32_t>(regs[BPF_REG_3]));
  ++*pc;
  if (id == 0 || tail_calls_ >= kMaxTailCalls) return true;
  if (depth_ != 0) return fault("tail calls from a subprogram or callback are not emulated");
  int err = 0;
  Object* obj = prog_->store() != nullptr ? view_of(*prog_->store(), ObjKind::kProg, id, &err) : nullptr;
  if (obj == nullptr) return true;  // freed meanwhile: as an empty slot
  const auto* target = static_cast<const Program*>(obj);
  ++tail_calls_;
  // The target runs in this frame with the same context; it can use its own maps.
  if (int e = add_program_maps(*target, &env_); e != 0) return fault("bpf_tail_call: the target's maps: %s", strerror(-e));
  set_program(*target);
  *pc = 0;
  return true;
}

bool Machine::call(uint32_t pc, const uint64_t (&args)[5], uint64_t* r0) {
  if (pc >= n_) return fault("call to instruction %u outside the program", pc);
  if (depth_ + 1 >= kMaxFrames) return fault("call depth above %d frames", kMaxFrames);
  // A call is charged one unit, so that callbacks run in a helper's loop
  // (bpf_loop, for_each) count even when they have no loop of their own.
  if (env_.insn_budget == 0) return fault("instruction budget exhausted (a runaway loop?)");
  --env_.insn_budget;
  uint64_t regs[11] = {0, args[0], args[1], args[2], args[3], args[4]};
  const uint32_t saved_pc = pc_;
  ++depth_;
  regs[BPF_REG_10] = reinterpret_cast<uint64_t>(stack_) + static_cast<uint64_t>(kMaxFrames - depth_) * kFrameSize;
  const bool ok = exec(pc, regs, r0);
  --depth_;
  if (ok) pc_ = saved_pc;
  return ok;
}

int Machine::run(uint64_t ctx, uint64_t* r0) {
  uint64_t regs[11] = {0, ctx};
  regs[BPF_REG_10] = reinterpret_cast<uint64_t>(stack_) + kMaxFrames * kFrameSize;
  depth_ = 0;
  if (!exec(0, regs, r0)) return log_reason(-EFAULT, "the program stopped: %s", env_.error.c_str());
  return 0;
}

Machine::Step Machine::general(uint32_t* pcp, uint64_t* regs, uint64_t* r0) {
  const uint32_t pc = *pcp;
  pc_ = pc;
  if (pc >= n_) return fault("fell off the end of the program"), Step::kFault;
  const bpf_insn& in = insns_[pc];
  if (in.dst_reg > BPF_REG_10 || in.src_reg > BPF_REG_10)
    return fault("register r%u does not exist", std::max(in.dst_reg, in.src_reg)), Step::kFault;
  const uint8_t cls = BPF_CLASS(in.code);
  uint64_t& dst = regs[in.dst_reg];
  switch (cls) {
    case BPF_ALU:
    case BPF_ALU64: {
      const bool wide = cls == BPF_ALU64;
      const uint8_t op = BPF_OP(in.code);
      if (op == BPF_END) {
        const bool swap = wide || BPF_SRC(in.code) == BPF_TO_BE;
        if (!byte_order(swap, in.imm, dst)) return fault("byte swap of %d bits", in.imm), Step::kFault;
        return Step::kNext;
      }
      const uint64_t src =
          BPF_SRC(in.code) == BPF_X ? regs[in.src_reg] : static_cast<uint64_t>(static_cast<int64_t>(in.imm));
      if (!alu(op, in.off, wide, dst, src)) return fault("unknown ALU opcode 0x%02x", in.code), Step::kFault;
      return Step::kNext;
    }
    case BPF_JMP:
    case BPF_JMP32: {
      const uint8_t op = BPF_OP(in.code);
      if (op == BPF_JA) {
        *pcp = pc + 1 + static_cast<uint32_t>(cls == BPF_JMP32 ? in.imm : in.off);
        return Step::kGoto;
      }
      if (op == BPF_EXIT) {
        *r0 = regs[BPF_REG_0];
        return Step::kExit;
      }
      if (op == BPF_CALL) {
        // While a bpf_spin_lock is held the verifier allows no call but its
        // unlock, the list and rbtree kfuncs and calls of the program's own
        // functions.
        if (env_.held_lock != nullptr && in.src_reg != BPF_PSEUDO_CALL &&
            !(in.src_reg == 0 && in.imm == BPF_FUNC_spin_unlock) &&
            !(in.src_reg == BPF_PSEUDO_KFUNC_CALL && kfunc_under_lock(in.imm, in.off)))
          return fault("function calls are not allowed while holding a bpf_spin_lock (the verifier refuses it)"),
                 Step::kFault;
        if (in.src_reg == 0 && in.imm == BPF_FUNC_tail_call) {
          uint32_t next = pc;
          if (!tail_call(&next, regs)) return Step::kFault;
          *pcp = next;
          return Step::kGoto;
        }
        if (in.src_reg == BPF_PSEUDO_CALL) {
          const uint64_t args[5] = {regs[1], regs[2], regs[3], regs[4], regs[5]};
          return call(pc + 1 + static_cast<uint32_t>(in.imm), args, &regs[BPF_REG_0]) ? Step::kNext : Step::kFault;
        }
        if (in.src_reg == 0) return helper(in.imm, regs) ? Step::kNext : Step::kFault;
        return kfunc(in, regs) ? Step::kNext : Step::kFault;
      }
      const uint64_t src =
          BPF_SRC(in.code) == BPF_X ? regs[in.src_reg] : static_cast<uint64_t>(static_cast<int64_t>(in.imm));
      if (!condition(op, cls == BPF_JMP, dst, src)) return Step::kNext;
      *pcp = pc + 1 + static_cast<uint32_t>(static_cast<int32_t>(in.off));
      return Step::kGoto;
    }
    case BPF_LDX: {
      const uint32_t size = size_bytes(in.code);
      uint64_t v = 0;
      if (!load(regs[in.src_reg] + static_cast<int64_t>(in.off), size, &v)) return Step::kFault;
      dst = BPF_MODE(in.code) == kMemSx ? sign_extend(v, size) : v;
      return Step::kNext;
    }
    case BPF_ST:
      return store(dst + static_cast<int64_t>(in.off), size_bytes(in.code),
                   static_cast<uint64_t>(static_cast<int64_t>(in.imm)))
                 ? Step::kNext
                 : Step::kFault;
    case BPF_STX:
      if (BPF_MODE(in.code) == BPF_ATOMIC) return atomic(in, regs) ? Step::kNext : Step::kFault;
      return store(dst + static_cast<int64_t>(in.off), size_bytes(in.code), regs[in.src_reg]) ? Step::kNext
                                                                                              : Step::kFault;
    case BPF_LD: {
      if (in.code == (BPF_LD | BPF_IMM | BPF_DW)) {
        if (pc + 1 >= n_) return fault("truncated ld_imm64"), Step::kFault;
        if (!ld_imm64(pc, &in, &dst)) return Step::kFault;
        *pcp = pc + 1;
        return Step::kNext;
      }
      // LD_ABS / LD_IND: legacy packet loads in network byte order; out of
      // the packet, the program ends returning 0.
      uint32_t len = 0;
      const uint8_t* pkt = env_.ctx_model != nullptr ? env_.ctx_model->packet(&len) : nullptr;
      if (pkt == nullptr) return fault("LD_ABS/LD_IND without a packet"), Step::kFault;
      const uint32_t size = size_bytes(in.code);
      int64_t off = in.imm;
      if (BPF_MODE(in.code) == BPF_IND) off += static_cast<int32_t>(regs[in.src_reg]);
      if (off < 0 || static_cast<uint64_t>(off) + size > len) {
        *r0 = 0;
        return Step::kExit;
      }
      uint64_t v = 0;
      for (uint32_t i = 0; i < size; ++i) v = (v << 8) | pkt[off + i];
      regs[BPF_REG_0] = v;
      return Step::kNext;
    }
    default:
      return fault("unknown opcode 0x%02x", in.code), Step::kFault;
  }
}

bool Machine::load_map(uint32_t pc, const Op& op, uint64_t* out) {
  uint64_t& cached = map_loads_[op.imm];
  if (cached == 0) {
    pc_ = pc;
    if (!ld_imm64(pc, &insns_[pc], &cached)) return false;
  }
  *out = cached;
  return true;
}

Machine::Window Machine::window_at(uint64_t addr, bool write) const {
  Window w;
  bool writable = false;
  env_.memory.last_hit(&w.lo, &w.hi, &writable);
  const auto ctx = reinterpret_cast<uint64_t>(env_.ctx);
  const bool holds_ctx = env_.ctx_model != nullptr && w.lo < ctx + env_.ctx_size && ctx < w.hi;
  if (addr < w.lo || addr >= w.hi || holds_ctx || (write && !writable)) return Window{};
  return w;
}

bool Machine::lookup_slow(uint64_t* regs) {
  if (!helper(BPF_FUNC_map_lookup_elem, regs)) return false;
  // The helper accepted r1, so it is one of the program's maps. Maps of maps
  // hand out inner maps, which the helper has to record: never cached.
  auto* m = reinterpret_cast<Map*>(regs[BPF_REG_1]);
  const uint32_t type = m->attr().map_type;
  if (type == BPF_MAP_TYPE_ARRAY_OF_MAPS || type == BPF_MAP_TYPE_HASH_OF_MAPS) return true;
  allow_map_memory(env_, *m);
  prog::InlineLookup how;
  m->ops().gen_lookup(*m, &how);
  lookup_ = LookupCache{m, m->attr().key_size, how.max_entries, nullptr, 0, how.call};
  if (how.base != nullptr && how.cpu_stride == 0) {
    lookup_.base = how.base;
    lookup_.stride = how.elem_stride;
    lookup_.call = nullptr;
  } else if (how.call != nullptr && how.map != m) {
    lookup_.call = nullptr;  // a call on some other object: take the map's own lookup
  }
  return true;
}

// The dispatch: each handler ends by jumping straight to the next op's
// handler (labels as values), so the branch predictor sees one indirect jump
// per handler rather than one shared one.
bool Machine::exec(uint32_t start, uint64_t* regs, uint64_t* r0) {
  static const void* const kHandlers[] = {
#define BPFEMU_INTERP_LABEL(k) &&op_##k,
      BPFEMU_INTERP_OP_KINDS(BPFEMU_INTERP_LABEL)
#undef BPFEMU_INTERP_LABEL
  };
  const Op* ops = code_->ops();
  const Op* op = ops + (start <= n_ ? start : n_);
  uint64_t budget = env_.insn_budget;
  // This frame's stack and its callers' (see check()); a load or store that
  // falls inside needs no other check.
  const uint64_t stack_top = reinterpret_cast<uint64_t>(stack_) + kMaxFrames * kFrameSize;
  const uint64_t stack_span = static_cast<uint64_t>(depth_ + 1) * kFrameSize;
  const uint64_t stack_lo = stack_top - stack_span;
  auto on_stack = [&](uint64_t addr, uint64_t size) { return size <= stack_span && addr - stack_lo <= stack_span - size; };
  auto pc_of = [&](const Op* o) { return static_cast<uint32_t>(o - ops); };
  // Program memory last loaded from and stored to (see window_at): forgotten
  // whenever a helper or a call runs, since helpers add and remove ranges.
  Window rd, wr;

#define DISPATCH() goto* kHandlers[static_cast<uint8_t>(op->kind)]
#define NEXT() \
  do {         \
    ++op;      \
    DISPATCH(); \
  } while (0)
// A taken jump to op index t; a jump back is charged the instructions it may
// repeat, so a runaway loop runs out of budget.
#define JUMP_TO(t)                                                              \
  do {                                                                          \
    const uint32_t to_ = static_cast<uint32_t>(t), from_ = pc_of(op);           \
    if (to_ <= from_) {                                                         \
      const uint64_t cost_ = from_ - to_ + 1;                                   \
      if (budget < cost_) {                                                     \
        pc_ = from_;                                                            \
        return fault("instruction budget exhausted (a runaway loop?)");         \
      }                                                                         \
      budget -= cost_;                                                          \
    }                                                                           \
    op = ops + to_;                                                             \
    DISPATCH();                                                                 \
  } while (0)
#define ALU64(name, expr)                          \
  op_##name##64K : {                               \
    uint64_t& d = regs[op->dst];                   \
    const uint64_t s = op->imm;                    \
    d = (expr);                                    \
    NEXT();                                        \
  }                                                \
  op_##name##64X : {                               \
    uint64_t& d = regs[op->dst];                   \
    const uint64_t s = regs[op->src];              \
    d = (expr);                                    \
    NEXT();                                        \
  }
#define ALU32(name, expr)                                  \
  op_##name##32K : {                                       \
    uint64_t& r = regs[op->dst];                           \
    const uint32_t d = static_cast<uint32_t>(r);           \
    const uint32_t s = static_cast<uint32_t>(op->imm);     \
    r = static_cast<uint32_t>(expr);                       \
    NEXT();                                                \
  }                                                        \
  op_##name##32X : {                                       \
    uint64_t& r = regs[op->dst];                           \
    const uint32_t d = static_cast<uint32_t>(r);           \
    const uint32_t s = static_cast<uint32_t>(regs[op->src]); \
    r = static_cast<uint32_t>(expr);                       \
    NEXT();                                                \
  }
#define JCOND(name, cond)                                        \
  op_##name##K : {                                               \
    const uint64_t d = regs[op->dst], s = op->imm;               \
    if (cond) JUMP_TO(op->off);                                  \
    NEXT();                                                      \
  }                                                              \
  op_##name##X : {                                               \
    const uint64_t d = regs[op->dst], s = regs[op->src];         \
    if (cond) JUMP_TO(op->off);                                  \
    NEXT();                                                      \
  }
#define LDX(n, T)                                                        \
  op_Ldx##n : {                                                          \
    const uint64_t a = regs[op->src] + static_cast<int64_t>(op->off);    \
    if (on_stack(a, n)) {                                                \
      T v;                                                               \
      memcpy(&v, reinterpret_cast<const void*>(a), n);                   \
      regs[op->dst] = v;                                                 \
    } else if (rd.contains(a, n)) {                                      \
      T v;                                                               \
      memcpy(&v, reinterpret_cast<const void*>(a), n);                   \
      regs[op->dst] = v;                                                 \
    } else {                                                             \
      pc_ = pc_of(op);                                                   \
      if (!load(a, n, &regs[op->dst])) return false;                     \
      rd = window_at(a, false);                                          \
    }                                                                    \
    NEXT();                                                              \
  }
#define STORE(label, n, value)                                           \
  op_##label : {                                                         \
    const uint64_t a = regs[op->dst] + static_cast<int64_t>(op->off);    \
    const uint64_t v = (value);                                          \
    if (on_stack(a, n) || wr.contains(a, n)) {                           \
      memcpy(reinterpret_cast<void*>(a), &v, n);                         \
    } else {                                                             \
      pc_ = pc_of(op);                                                   \
      if (!store(a, n, v)) return false;                                 \
      wr = window_at(a, true);                                           \
    }                                                                    \
    NEXT();                                                              \
  }

  DISPATCH();

  ALU64(Add, d + s)
  ALU64(Sub, d - s)
  ALU64(Mul, d * s)
  ALU64(Or, d | s)
  ALU64(And, d & s)
  ALU64(Xor, d ^ s)
  ALU64(Lsh, d << (s & 63))
  ALU64(Rsh, d >> (s & 63))
  ALU64(Arsh, static_cast<uint64_t>(static_cast<int64_t>(d) >> (s & 63)))
  ALU64(Mov, (static_cast<void>(d), s))
  ALU32(Add, d + s)
  ALU32(Sub, d - s)
  ALU32(Mul, d * s)
  ALU32(Or, d | s)
  ALU32(And, d & s)
  ALU32(Xor, d ^ s)
  ALU32(Lsh, d << (s & 31))
  ALU32(Rsh, d >> (s & 31))
  ALU32(Arsh, static_cast<uint32_t>(static_cast<int32_t>(d) >> (s & 31)))
  ALU32(Mov, (static_cast<void>(d), s))
  op_Div64K : {
    uint64_t& d = regs[op->dst];
    d = op->imm == 0 ? 0 : d / op->imm;
    NEXT();
  }
  op_Div64X : {
    uint64_t& d = regs[op->dst];
    const uint64_t s = regs[op->src];
    d = s == 0 ? 0 : d / s;
    NEXT();
  }
  op_Mod64K : {
    uint64_t& d = regs[op->dst];
    d = op->imm == 0 ? d : d % op->imm;
    NEXT();
  }
  op_Mod64X : {
    uint64_t& d = regs[op->dst];
    const uint64_t s = regs[op->src];
    d = s == 0 ? d : d % s;
    NEXT();
  }

op_Ja:
  JUMP_TO(op->off);
  JCOND(Jeq, d == s)
  JCOND(Jne, d != s)
  JCOND(Jgt, d > s)
  JCOND(Jge, d >= s)
  JCOND(Jlt, d < s)
  JCOND(Jle, d <= s)
  JCOND(Jset, (d & s) != 0)
  JCOND(Jsgt, static_cast<int64_t>(d) > static_cast<int64_t>(s))
  JCOND(Jsge, static_cast<int64_t>(d) >= static_cast<int64_t>(s))
  JCOND(Jslt, static_cast<int64_t>(d) < static_cast<int64_t>(s))
  JCOND(Jsle, static_cast<int64_t>(d) <= static_cast<int64_t>(s))

  LDX(1, uint8_t)
  LDX(2, uint16_t)
  LDX(4, uint32_t)
  LDX(8, uint64_t)
  STORE(St1, 1, op->imm)
  STORE(St2, 2, op->imm)
  STORE(St4, 4, op->imm)
  STORE(St8, 8, op->imm)
  STORE(Stx1, 1, regs[op->src])
  STORE(Stx2, 2, regs[op->src])
  STORE(Stx4, 4, regs[op->src])
  STORE(Stx8, 8, regs[op->src])

op_LdImm64:
  regs[op->dst] = op->imm;
  op += 2;
  DISPATCH();
op_LdMap:
  if (const uint64_t v = map_loads_[op->imm]; v != 0) {
    regs[op->dst] = v;
  } else {
    if (!load_map(pc_of(op), *op, &regs[op->dst])) return false;
    rd = wr = Window{};
  }
  op += 2;
  DISPATCH();

op_CallHelper : {
  // While a bpf_spin_lock is held the verifier allows no call but its unlock.
  if (env_.held_lock != nullptr) goto op_General;
  pc_ = pc_of(op);
  env_.insn_budget = budget;
  const auto* def = reinterpret_cast<const HelperDef*>(op->imm);
  HelperCall c{*this, env_, {regs[1], regs[2], regs[3], regs[4], regs[5]}};
  if (!def->fn(c, &regs[BPF_REG_0])) return false;
  budget = env_.insn_budget;
  rd = wr = Window{};
  NEXT();
}
op_CallLookup:
op_CallLookupJz : {
  if (env_.held_lock != nullptr) goto op_General;  // the call alone, which faults
  if (regs[BPF_REG_1] != reinterpret_cast<uint64_t>(lookup_.map) || lookup_.map == nullptr) {
    pc_ = pc_of(op);
    env_.insn_budget = budget;
    if (!lookup_slow(regs)) return false;
    budget = env_.insn_budget;
    rd = wr = Window{};
  } else {
    const uint64_t key = regs[BPF_REG_2];
    if (!on_stack(key, lookup_.key_size)) {
      pc_ = pc_of(op);
      if (!check(key, lookup_.key_size, false, "bpf_map_lookup_elem key")) return false;
    }
    if (lookup_.base != nullptr) {
      uint32_t i;
      memcpy(&i, reinterpret_cast<const void*>(key), sizeof(i));
      regs[BPF_REG_0] = i < lookup_.max_entries ? reinterpret_cast<uint64_t>(lookup_.base + i * lookup_.stride) : 0;
    } else {
      auto* m = const_cast<Map*>(lookup_.map);
      const void* k = reinterpret_cast<const void*>(key);
      regs[BPF_REG_0] =
          reinterpret_cast<uint64_t>(lookup_.call != nullptr ? lookup_.call(m, k) : m->ops().prog_lookup(*m, k));
    }
  }
  if (op->kind == OpKind::CallLookup) NEXT();
  if (regs[BPF_REG_0] == 0) JUMP_TO(op->off);  // the fused `if r0 == 0 goto`
  op += 2;
  DISPATCH();
}
op_StackAddr:
  regs[op->dst] = regs[BPF_REG_10] + op->imm;
  op += 2;
  DISPATCH();
op_CallLocal : {
  pc_ = pc_of(op);
  env_.insn_budget = budget;
  const uint64_t args[5] = {regs[1], regs[2], regs[3], regs[4], regs[5]};
  if (!call(static_cast<uint32_t>(op->off), args, &regs[BPF_REG_0])) return false;
  budget = env_.insn_budget;
  rd = wr = Window{};
  NEXT();
}
op_Exit:
  *r0 = regs[BPF_REG_0];
  env_.insn_budget = budget;
  return true;

op_General:
op_End : {
  uint32_t pc = pc_of(op);
  env_.insn_budget = budget;
  const Step step = general(&pc, regs, r0);
  budget = env_.insn_budget;
  rd = wr = Window{};
  switch (step) {
    case Step::kNext:
      op = ops + pc + 1;
      DISPATCH();
    case Step::kGoto:
      if (code_->ops() != ops) {  // a tail call: the target's first instruction
        ops = code_->ops();
        op = ops;
        DISPATCH();
      }
      JUMP_TO(pc <= n_ ? pc : n_);
    case Step::kExit:
      env_.insn_budget = budget;
      return true;
    case Step::kFault:
      return false;
  }
  return false;
}

#undef STORE
#undef LDX
#undef JCOND
#undef ALU32
#undef ALU64
#undef JUMP_TO
#undef NEXT
#undef DISPATCH
}

}  // namespace interp

namespace {
std::atomic<uint64_t> g_insn_budget{uint64_t{1} << 28};
}  // namespace

uint64_t insn_budget() { return g_insn_budget.load(std::memory_order_relaxed); }
ScopedInsnBudget::ScopedInsnBudget(uint64_t n) : saved_(g_insn_budget.exchange(n)) {}
ScopedInsnBudget::~ScopedInsnBudget() { g_insn_budget.store(saved_); }

int run_program(const Program& prog, RunEnv& env, uint64_t ctx, uint64_t* r0) {
  if (env.insn_budget == 0) env.insn_budget = insn_budget();
  interp::Machine m(prog, env);
  int e = m.run(ctx, r0);
  // The verifier refuses a program that can exit holding a ring buffer record;
  // the emulator discards it so that consumers are not blocked behind it.
  if (!env.ring_records.empty()) {
    for (const RunEnv::RingRecord& r : env.ring_records) helpers::ringbuf_commit(*r.map, r.data, 0, true);
    if (e == 0) {
      env.error = "the program exited without submitting or discarding " + std::to_string(env.ring_records.size()) +
                  " ring buffer record(s) (the kernel's verifier would have refused it)";
      e = -EINVAL;
    }
    env.ring_records.clear();
  }
  // Nor can it exit holding a bpf_spin_lock: the lock is released so that the
  // value is not wedged for everyone else.
  if (env.held_lock != nullptr) {
    (void)helpers::spin_unlock(*env.held_lock_map, env.held_lock);
    env.held_lock = nullptr;
    env.held_lock_map = nullptr;
    if (e == 0) {
      env.error = "the program exited holding a bpf_spin_lock (the kernel's verifier would have refused it)";
      e = log_reason(-EINVAL, "%s", env.error.c_str());
    }
  }
  // Nor with a reference on an object (bpf_obj_new's): it is dropped.
  if (const size_t n = run_drop_held(env); n != 0 && e == 0) {
    env.error = "the program exited holding " + std::to_string(n) +
                " object reference(s) (the kernel's verifier would have refused it: unreleased reference)";
    e = log_reason(-EINVAL, "%s", env.error.c_str());
  }
  trace_append(env.trace);
  env.trace.clear();
  return e;
}

}  // namespace bpfemu::emu
