// The kernel functions (kfuncs) programs may call here: one table, looked up
// by the name the call's BTF id has in the running kernel's BTF (libbpf
// resolves a program's __ksym externs against /sys/kernel/btf/vmlinux, so the
// id is the host kernel's). A kfunc outside the table is refused at load, as
// the kernel refuses one it does not have.
#pragma once

#include <cstdint>
#include <string_view>

#include "emu/interpreter.h"

namespace bpfemu::emu::interp {

struct KfuncDef {
  const char* name;
  HelperFn fn;
  int major, minor;  // the first kernel that has it
  bool under_lock;   // callable while holding a bpf_spin_lock (list and rbtree kfuncs)
};

// The emulated kfunc named `name` the active profile's kernel has, or nullptr.
const KfuncDef* kfunc_by_name(std::string_view name);
// The emulated kfunc a BPF_PSEUDO_KFUNC_CALL (imm, off) calls, or nullptr
// (off != 0: a module's BTF, which the emulator has none of).
const KfuncDef* kfunc_of_call(int32_t imm, int16_t off);

// Whether that kfunc may be called while holding a bpf_spin_lock.
bool kfunc_under_lock(int32_t imm, int16_t off);

// The helper bpf_kptr_xchg (194), which moves objects in and out of map
// values' __kptr fields.
bool kptr_xchg(HelperCall& c, uint64_t* r0);

}  // namespace bpfemu::emu::interp
