// What the kernel allows of programs that attach through its BTF to a
// function: which functions an fmod_ret program may modify, which may take a
// sleepable program, and the LSM hooks' rules (kernel/bpf/bpf_lsm.c and the
// verifier's bpf_check_attach_target). Names, not ids: ids change with every
// kernel build.
#pragma once

#include <cstdint>
#include <string_view>

namespace bpfemu::emu {

// BPF_MODIFY_RETURN: a function registered as modifiable (the fmodret kfunc
// set of net/bpf/test_run.c, on kernels that have it: profile fmodret_set) or
// a security_* function. Functions marked ALLOW_ERROR_INJECTION would be too,
// but neither profiled kernel accepts them (6.18 here is built without
// CONFIG_FUNCTION_ERROR_INJECTION; Debian's 6.1 refuses
// bpf_modify_return_test).
bool modify_return_allowed(std::string_view func);
// A sleepable fentry/fexit/fmod_ret program: only on a function of that set
// flagged KF_SLEEPABLE (bpf_fentry_test1), for the same reason; none on 6.1.
bool tracing_sleepable_allowed(std::string_view func);
// LSM hooks, by hook name (file_open for bpf_lsm_file_open).
bool lsm_hook_disabled(std::string_view hook);  // bpf_lsm_disabled_hooks
bool lsm_hook_sleepable(std::string_view hook);  // sleepable_lsm_hooks
bool lsm_hook_boolean(std::string_view hook);    // returns 0 or 1 rather than 0 or -errno
// Whether r0 is a return value the verifier lets an LSM program on function
// bpf_lsm_<hook> (one that returns int) have, on the active profile's kernel.
bool lsm_return_in_range(std::string_view func, uint64_t r0);

}  // namespace bpfemu::emu
