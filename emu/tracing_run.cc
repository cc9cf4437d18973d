// BPF_PROG_TEST_RUN of TRACING programs (net/bpf/test_run.c,
// bpf_prog_test_run_tracing): the program under test does not run by itself.
// The kernel calls its test functions -- bpf_fentry_test1.. for fentry and
// fexit programs, bpf_modify_return_test(2) for fmod_ret ones -- checks what
// they return and reports it; whatever programs are attached to those
// functions (this one, if it is linked, and any other) run as they are called.
#include <linux/bpf.h>

#include <cerrno>
#include <cstddef>
#include <vector>

#include "core/log.h"
#include "core/profile.h"
#include "core/uaccess.h"
#include "emu/fire.h"
#include "emu/program.h"
#include "emu/test_run.h"
#include "emu/trampoline.h"

namespace bpfemu::emu {
namespace {

uint64_t ptr(const void* p) { return reinterpret_cast<uint64_t>(p); }

// One call of a test function: its arguments and what its body returns.
// False when the caller must stop (a program faulted: *err).
bool call(Firing& fire, const char* func, std::vector<uint64_t> args, uint64_t body_ret, uint64_t* ret, int* err) {
  *err = call_traced(fire, func, args, [body_ret] { return body_ret; }, ret);
  return *err == 0;
}

// bpf_fentry_test1..N with the kernel's arguments, each checked against what
// it returns untouched (an fmod_ret program on bpf_fentry_test1 can change
// that): 0, -EFAULT when one returned something else, or a fault's -errno.
int fentry_tests(Firing& fire) {
  struct {
    const char* func;
    std::vector<uint64_t> args;
    int32_t want;
  } const kTests[] = {
      {"bpf_fentry_test1", {1}, 2},
      {"bpf_fentry_test2", {2, 3}, 5},
      {"bpf_fentry_test3", {4, 5, 6}, 15},
      {"bpf_fentry_test4", {7, 8, 9, 10}, 34},
      {"bpf_fentry_test5", {11, 12, 13, 14, 15}, 65},
      {"bpf_fentry_test6", {16, 17, 18, 19, 20, 21}, 111},
      {"bpf_fentry_test7", {0}, 0},
  };
  int err = 0;
  uint64_t ret = 0;
  for (const auto& t : kTests) {
    if (!call(fire, t.func, t.args, static_cast<uint64_t>(static_cast<int64_t>(t.want)), &ret, &err)) return err;
    if (static_cast<int32_t>(ret) != t.want) return log_reason(-EFAULT, "%s returned %d", t.func, static_cast<int>(ret));
  }
  // test8 gets a struct whose first member is NULL and returns it; test9 a
  // u32 holding 0 and returns it; test10 a NULL pointer.
  uint64_t test8_arg = 0;
  uint32_t test9_arg = 0;
  const struct {
    const char* func;
    uint64_t arg;
  } kPointerTests[] = {{"bpf_fentry_test8", ptr(&test8_arg)}, {"bpf_fentry_test9", ptr(&test9_arg)},
                       {"bpf_fentry_test10", 0}};
  const uint32_t more = active_profile().fentry_test_funcs - 7;
  for (uint32_t i = 0; i < more && i < 3; ++i) {
    if (!call(fire, kPointerTests[i].func, {kPointerTests[i].arg}, 0, &ret, &err)) return err;
    if (static_cast<int32_t>(ret) != 0)
      return log_reason(-EFAULT, "%s returned %d", kPointerTests[i].func, static_cast<int>(ret));
  }
  return 0;
}

// bpf_modify_return_test(1, &b) and, on newer kernels,
// bpf_modify_return_test2(1, &b, 3, 4, 5, 6, 7), with b = 2: each body adds 1
// to b and returns the sum of its arguments (b's new value for the pointer).
// The result packs the u16 sum of what they returned with, at bit 16, how
// many bodies ran (b changed).
int modify_return_tests(Firing& fire, uint32_t* retval) {
  int32_t b = 2;
  uint16_t sum = 0, side_effect = 0;
  uint64_t ret = 0;
  auto body = [&b](int64_t others) {
    return [&b, others] {
      b += 1;
      return static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(others + b)));
    };
  };
  if (int e = call_traced(fire, "bpf_modify_return_test", {1, ptr(&b)}, body(1), &ret); e != 0) return e;
  sum = static_cast<uint16_t>(ret);
  if (b != 2) ++side_effect;
  if (active_profile().modify_return_test2) {
    b = 2;
    if (int e = call_traced(fire, "bpf_modify_return_test2", {1, ptr(&b), 3, 4, 5, 6, 7}, body(1 + 3 + 4 + 5 + 6 + 7),
                            &ret);
        e != 0)
      return e;
    sum = static_cast<uint16_t>(sum + static_cast<uint16_t>(ret));
    if (b != 2) ++side_effect;
  }
  *retval = (static_cast<uint32_t>(side_effect) << 16) | sum;
  return 0;
}

}  // namespace

int run_tracing_test(const Program& prog, void* uattr, const TestRunAttr& a) {
  if (a.flags != 0 || a.cpu != 0 || a.batch_size != 0)
    return log_reason(-EINVAL, "a tracing program's test run takes no flags, cpu or batch_size");
  const uint32_t at = prog.header().expected_attach_type;
  if (at != BPF_TRACE_FENTRY && at != BPF_TRACE_FEXIT && at != BPF_MODIFY_RETURN)
    return log_reason(-EFAULT, "the kernel has no test function for tracing attach type %u", at);
  Firing fire(-1);
  if (fire.error() != 0) return fire.error();
  uint32_t retval = 0;
  const int e = at == BPF_MODIFY_RETURN ? modify_return_tests(fire, &retval) : fentry_tests(fire);
  if (e != 0) return e;
  return copy_to_user(user_ptr_add(uattr, offsetof(TestRunAttr, retval)), &retval, sizeof(retval)) != 0 ? -EFAULT
                                                                                                           : 0;
}

}  // namespace bpfemu::emu
