// A kernel function called as BPF programs see it: what the kernel's BPF
// trampoline and kprobes do around it (kernel/bpf/trampoline.c,
// arch/x86/net/bpf_jit_comp.c). Used by bpfemu_function_fire and by the test
// runs of tracing programs, which call the kernel's test functions.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

namespace bpfemu::emu {

class Firing;

// Calls function `func` with its u64 arguments: kprobes on its entry, its
// fentry programs (ctx: the arguments), its fmod_ret programs and LSM
// programs on an int hook (ctx: the arguments, then the return value so far,
// 0 for the first; the first non-zero return becomes the function's and skips
// the rest, body included), `body` when none did (what the function itself
// returns), then its fexit programs and LSM programs on a void hook (ctx: the
// arguments, then the return value), then kretprobes. Programs of one kind
// run newest link first, as the trampoline lists them. *ret: the return value
// the caller sees. 0, or -errno when a program faulted (or an LSM program
// returned what the verifier would not have let it).
int call_traced(Firing& fire, const char* func, const std::vector<uint64_t>& args,
                const std::function<uint64_t()>& body, uint64_t* ret);

}  // namespace bpfemu::emu
