// bpf_get_stackid and bpf_get_stack (emu/helpers_stack.cc), for the helper
// table in emu/helpers.cc, and the call stacks they read.
#pragma once

#include <cstdint>

#include "emu/interpreter.h"

namespace bpfemu::emu {

// bpfemu_set_stack (bpfemu/programs.h): the stacks programs run by this thread
// see from now on, innermost frame first.
void set_thread_stacks(const uint64_t* kernel_ips, uint32_t nk, const uint64_t* user_ips, uint32_t nu);

namespace interp {
bool get_stackid(HelperCall& c, uint64_t* r0);
bool get_stack(HelperCall& c, uint64_t* r0);
}  // namespace interp

}  // namespace bpfemu::emu
