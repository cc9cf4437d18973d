// Which helpers a program type may call, per kernel version: the verifier's
// answer, asked of the real kernels (scripts/gen-helper-availability.sh).
#pragma once

#include <cstdint>
#include <string>

#include "core/profile.h"

namespace bpfemu::emu {

// False when the profile's verifier refuses a call of helper `id` from a
// program of prog_type (the helper is not in that type's func_proto). Types
// the data has no row for (those that need BTF or an attach target before
// their helpers are looked at) are not restricted.
bool helper_allowed_for_type(const KernelProfile& p, uint32_t prog_type, uint32_t id);
// The verifier's words for that refusal on the profile's kernel.
std::string helper_refusal_text(const KernelProfile& p, const char* helper_name, uint32_t id);

}  // namespace bpfemu::emu
