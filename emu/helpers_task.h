// Helpers that describe the current task (emu/helpers_task.cc), for the
// helper table in emu/helpers.cc.
#pragma once

#include <cstdint>

#include "emu/interpreter.h"

namespace bpfemu::emu::interp {

bool get_current_cgroup_id(HelperCall& c, uint64_t* r0);
bool get_current_ancestor_cgroup_id(HelperCall& c, uint64_t* r0);
bool get_ns_current_pid_tgid(HelperCall& c, uint64_t* r0);
bool get_current_task(HelperCall& c, uint64_t* r0);
bool get_current_task_btf(HelperCall& c, uint64_t* r0);

}  // namespace bpfemu::emu::interp
