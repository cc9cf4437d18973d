// Which helpers each program type may call, asked the way libbpf's
// libbpf_probe_bpf_helper asks: load a program that calls the helper and look
// for the verifier's refusal in the log ("unknown func", "invalid func", and
// from 6.x "program of this type cannot use helper").
#pragma once

#include <cstdint>
#include <string>

#include "bpfemu/backend.h"

namespace bpfemu::conformance {

// Program types whose load reaches the helper check with a bare program (the
// others need BTF or an attach target first).
bool helper_probe_informative(uint32_t prog_type);
// One character per helper id 1..max_helper: 'u' when the backend refuses the
// call as unknown for prog_type, 'o' otherwise.
std::string helper_classes(Backend& b, uint32_t prog_type, uint32_t max_helper);

}  // namespace bpfemu::conformance
