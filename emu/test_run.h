// BPF_PROG_TEST_RUN (emu/test_run.cc).
#pragma once

#include <cstddef>
#include <cstdint>

namespace bpfemu::emu {

// union bpf_attr's test part.
struct TestRunAttr {
  uint32_t prog_fd, retval, data_size_in, data_size_out;
  uint64_t data_in, data_out;
  uint32_t repeat, duration, ctx_size_in, ctx_size_out;
  uint64_t ctx_in, ctx_out;
  uint32_t flags, cpu, batch_size;
};
static_assert(offsetof(TestRunAttr, batch_size) == 72);

// Runs the program; results go back into the caller's attr (uattr) as the
// kernel writes them (retval, data_size_out, duration, ctx_size_out).
int sys_prog_test_run(void* uattr, const TestRunAttr& attr);

class Program;
// The test run of a TRACING program (emu/tracing_run.cc): the kernel's test
// functions called, with whatever is attached to them.
int run_tracing_test(const Program& prog, void* uattr, const TestRunAttr& attr);

}  // namespace bpfemu::emu
