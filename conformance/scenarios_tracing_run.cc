// Programs that attach through the kernel's BTF to a function: the test run
// of TRACING programs (the kernel calls its test functions bpf_fentry_test1..
// and bpf_modify_return_test.., and the programs attached to them run),
// fmod_ret loads, attachment and return values, and LSM program loads and
// links. The programs write what they saw into an array map the scenario
// reads back. Some hosts refuse every fentry/fmod_ret/LSM load by policy
// (EPERM before the verifier): there only the tp_btf rows compare, and the
// rest is compared in the VM runner against Debian's 6.1.
#include <linux/bpf.h>
#include <linux/btf.h>
#include <bpf/btf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "conformance/scenario.h"
#include "emu/insn_builder.h"

namespace bpfemu::conformance {
namespace {

namespace in = insn;

// The id of a type in the running kernel's BTF (the emulator reads the same
// BTF), or 0. The BTF is read once and kept for the process.
uint32_t kernel_type(const char* name, int kind) {
  static struct btf* vmlinux = btf__load_vmlinux_btf();
  if (vmlinux == nullptr) return 0;
  const int id = btf__find_by_name_kind(vmlinux, name, kind);
  return id > 0 ? static_cast<uint32_t>(id) : 0;
}

uint32_t kernel_func(const char* name) { return kernel_type(name, BTF_KIND_FUNC); }

// map[slot] = ctx[word] (a u64 the program sees), then return `ret`.
std::vector<bpf_insn> record_word(int map, int32_t slot, int16_t word, int32_t ret) {
  std::vector<bpf_insn> p;
  p.push_back(in::make(BPF_LDX | BPF_MEM | BPF_DW, BPF_REG_2, BPF_REG_1, static_cast<int16_t>(word * 8), 0));
  p.push_back(in::make(BPF_STX | BPF_MEM | BPF_DW, BPF_REG_10, BPF_REG_2, -8, 0));
  p.push_back(in::make(BPF_ST | BPF_MEM | BPF_W, BPF_REG_10, 0, -12, slot));
  in::ld_map(p, BPF_REG_1, map);
  p.push_back(in::movr(BPF_REG_2, BPF_REG_10));
  p.push_back(in::make(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, -12));
  p.push_back(in::movr(BPF_REG_3, BPF_REG_10));
  p.push_back(in::make(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_3, 0, 0, -8));
  p.push_back(in::mov(BPF_REG_4, 0));
  p.push_back(in::call(BPF_FUNC_map_update_elem));
  p.push_back(in::mov(BPF_REG_0, ret));
  p.push_back(in::exit());
  return p;
}

std::vector<bpf_insn> returns(int32_t ret) { return {in::mov(BPF_REG_0, ret), in::exit()}; }

int link(Recorder& r, int prog, uint32_t attach, const std::string& label) {
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.link_create.prog_fd = static_cast<uint32_t>(prog);
  a.link_create.attach_type = attach;
  return static_cast<int>(r.raw(label, BPF_LINK_CREATE, &a, sizeof(a), true));
}

int raw_open(Recorder& r, int prog, const std::string& label) {
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.raw_tracepoint.prog_fd = static_cast<uint32_t>(prog);
  return static_cast<int>(r.raw(label, BPF_RAW_TRACEPOINT_OPEN, &a, sizeof(a), true));
}

// BPF_PROG_TEST_RUN with the attr `a` holds (prog_fd filled in); its retval noted.
void test_run(Recorder& r, int prog, union bpf_attr a, const std::string& label) {
  a.test.prog_fd = static_cast<uint32_t>(prog);
  a.test.retval = 0xaaaaaaaa;
  if (r.raw(label, BPF_PROG_TEST_RUN, &a, sizeof(a)) == 0) r.note(label + ": retval", a.test.retval);
}

void test_run(Recorder& r, int prog, const std::string& label) {
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  test_run(r, prog, a, label);
}


// The map's first n u64 slots, one lookup each.
void dump(Recorder& r, int map, uint32_t n) {
  for (uint32_t i = 0; i < n; ++i) r.lookup(map, u32(i));
}

void drop(Recorder& r, int fd) {
  if (fd >= 0) r.close(fd);
}

}  // namespace

// The test run's attr rules, on a tp_btf program (which the kernel runs
// through the same tracing test run and has no test function for).
SCENARIO("COMMON", "tracing", "test_run_attrs") {
  const uint32_t tp = kernel_type("btf_trace_sys_enter", BTF_KIND_TYPEDEF);
  r.note("the kernel's BTF has btf_trace_sys_enter", tp > 0);
  if (tp == 0) return;
  const int prog = load_prog(r, BPF_PROG_TYPE_TRACING, BPF_TRACE_RAW_TP, tp, returns(0), "tp_btf");
  if (prog < 0) return;
  test_run(r, prog, "tp_btf test run");
  uint64_t ctx[2] = {1, 2};
  uint8_t data[64] = {};
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.test.flags = BPF_F_TEST_RUN_ON_CPU;
  test_run(r, prog, a, "flags");
  memset(&a, 0, sizeof(a));
  a.test.cpu = 1;
  test_run(r, prog, a, "cpu without the flag");
  memset(&a, 0, sizeof(a));
  a.test.ctx_in = reinterpret_cast<uintptr_t>(ctx);
  test_run(r, prog, a, "ctx_in without ctx_size_in");
  memset(&a, 0, sizeof(a));
  a.test.ctx_size_in = sizeof(ctx);
  test_run(r, prog, a, "ctx_size_in without ctx_in");
  memset(&a, 0, sizeof(a));
  a.test.ctx_in = reinterpret_cast<uintptr_t>(ctx);
  a.test.ctx_size_in = sizeof(ctx);
  test_run(r, prog, a, "ctx_in");
  memset(&a, 0, sizeof(a));
  a.test.data_in = reinterpret_cast<uintptr_t>(data);
  a.test.data_size_in = sizeof(data);
  test_run(r, prog, a, "data_in");
  memset(&a, 0, sizeof(a));
  a.test.repeat = 10;
  test_run(r, prog, a, "repeat");
  r.close(prog);
}

// fentry and fexit programs on the kernel's test functions: a test run of
// any fentry/fexit program calls bpf_fentry_test1.. (returning 0 when each
// returned what it should), and the programs linked to them run -- not the
// ones only loaded. An fmod_ret program on bpf_fentry_test1 that changes its
// return makes the test run fail with EFAULT before the later functions run.
SCENARIO("COMMON", "tracing", "fentry_test_run") {
  const uint32_t t1 = kernel_func("bpf_fentry_test1"), t2 = kernel_func("bpf_fentry_test2"),
                 t6 = kernel_func("bpf_fentry_test6");
  r.note("the kernel's BTF has the test functions", t1 != 0 && t2 != 0 && t6 != 0);
  if (t1 == 0 || t2 == 0 || t6 == 0) return;
  if (host_refuses(r, BPF_PROG_TYPE_TRACING, BPF_TRACE_FENTRY, t1)) return;
  const int map = r.create(BPF_MAP_TYPE_ARRAY, 4, 8, 8);
  if (map < 0) return;
  const int entry1 = load_prog(r, BPF_PROG_TYPE_TRACING, BPF_TRACE_FENTRY, t1, record_word(map, 0, 0, 0), "fentry test1");
  const int exit2 = load_prog(r, BPF_PROG_TYPE_TRACING, BPF_TRACE_FEXIT, t2, record_word(map, 1, 2, 0), "fexit test2");
  const int entry6 = load_prog(r, BPF_PROG_TYPE_TRACING, BPF_TRACE_FENTRY, t6, record_word(map, 2, 5, 0), "fentry test6");
  if (entry1 < 0 || exit2 < 0 || entry6 < 0) return;
  test_run(r, entry1, "nothing linked");
  dump(r, map, 4);
  const int l1 = link(r, entry1, BPF_TRACE_FENTRY, "link fentry test1");
  const int l2 = raw_open(r, exit2, "link fexit test2 (raw_tracepoint_open)");
  test_run(r, entry6, "run through the unlinked test6 program");
  dump(r, map, 4);
  const int l6 = link(r, entry6, BPF_TRACE_FENTRY, "link fentry test6");
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  uint64_t ctx[3] = {7, 8, 9};
  a.test.ctx_in = reinterpret_cast<uintptr_t>(ctx);
  a.test.ctx_size_in = sizeof(ctx);
  a.test.repeat = 3;
  test_run(r, exit2, a, "with ctx_in and repeat, ignored");
  dump(r, map, 4);
  memset(&a, 0, sizeof(a));
  a.test.batch_size = 1;
  test_run(r, exit2, a, "batch_size");
  // fmod_ret on bpf_fentry_test1: the kernel lets its return be modified.
  const int mod1 = load_prog(r, BPF_PROG_TYPE_TRACING, BPF_MODIFY_RETURN, t1, returns(7), "fmod_ret test1 returning 7");
  if (mod1 >= 0) {
    const int lm = link(r, mod1, BPF_MODIFY_RETURN, "link fmod_ret test1");
    r.update(map, u32(1), u64(0));
    test_run(r, entry1, "test1 returns 7, not 2");
    dump(r, map, 4);
    drop(r, lm);
    test_run(r, entry1, "fmod_ret unlinked");
    r.close(mod1);
  }
  drop(r, l1);
  drop(r, l2);
  drop(r, l6);
  r.close(entry1);
  r.close(exit2);
  r.close(entry6);
}

// Loads through the BTF pointers an fentry program is given: the kernel
// makes them BPF_PROBE_MEM loads, which read 0 where nothing can be read. A
// test run calls bpf_fentry_test7(NULL) and bpf_fentry_test8(&arg) with
// arg.a NULL; the programs read arg->a, and on test8 also arg->a->a (a
// load through NULL), then mark that they ran to the end.
std::vector<bpf_insn> chase_pointers(int map, int32_t first_slot, int depth) {
  std::vector<bpf_insn> p;
  p.push_back(in::make(BPF_LDX | BPF_MEM | BPF_DW, BPF_REG_6, BPF_REG_1, 0, 0));  // the argument
  for (int i = 0; i < depth; ++i) {
    p.push_back(in::make(BPF_LDX | BPF_MEM | BPF_DW, BPF_REG_6, BPF_REG_6, 0, 0));  // ->a
    in::store_slot(p, map, first_slot + i, BPF_REG_6);
  }
  p.push_back(in::mov(BPF_REG_7, 1));
  in::store_slot(p, map, first_slot + depth, BPF_REG_7);
  p.push_back(in::mov(BPF_REG_0, 0));
  p.push_back(in::exit());
  return p;
}

SCENARIO("COMMON", "tracing", "btf_pointer_loads") {
  const uint32_t t7 = kernel_func("bpf_fentry_test7"), t8 = kernel_func("bpf_fentry_test8");
  r.note("the kernel's BTF has bpf_fentry_test7 and 8", t7 != 0 && t8 != 0);
  if (t7 == 0 || t8 == 0) return;
  if (host_refuses(r, BPF_PROG_TYPE_TRACING, BPF_TRACE_FENTRY, t7)) return;
  const int map = r.create(BPF_MAP_TYPE_ARRAY, 4, 8, 8);
  if (map < 0) return;
  for (uint32_t slot = 0; slot < 5; ++slot) r.update(map, u32(slot), u64(0xdead));
  const int p7 = load_prog(r, BPF_PROG_TYPE_TRACING, BPF_TRACE_FENTRY, t7, chase_pointers(map, 0, 1), "fentry test7");
  const int p8 = load_prog(r, BPF_PROG_TYPE_TRACING, BPF_TRACE_FENTRY, t8, chase_pointers(map, 2, 2), "fentry test8");
  if (p7 < 0 || p8 < 0) return;
  const int l7 = link(r, p7, BPF_TRACE_FENTRY, "link fentry test7");
  const int l8 = link(r, p8, BPF_TRACE_FENTRY, "link fentry test8");
  test_run(r, p7, "test run");
  dump(r, map, 5);
  drop(r, l7);
  drop(r, l8);
  r.close(p7);
  r.close(p8);
}

// fmod_ret: which functions take it, and the test run of an fmod_ret program
// calling bpf_modify_return_test(1, &b) (and bpf_modify_return_test2 on newer
// kernels): the programs' non-zero return replaces the function's and skips
// its body (which changes b); fexit sees the final value.
SCENARIO("COMMON", "tracing", "fmod_ret") {
  const uint32_t mrt = kernel_func("bpf_modify_return_test"), t2 = kernel_func("bpf_fentry_test2"),
                 sec = kernel_func("security_file_open");
  r.note("the kernel's BTF has the targets", mrt != 0 && t2 != 0 && sec != 0);
  if (mrt == 0 || t2 == 0 || sec == 0) return;
  if (host_refuses(r, BPF_PROG_TYPE_TRACING, BPF_TRACE_FENTRY, t2)) return;
  drop(r, load_prog(r, BPF_PROG_TYPE_TRACING, BPF_MODIFY_RETURN, t2, returns(0), "fmod_ret on bpf_fentry_test2"));
  drop(r, load_prog(r, BPF_PROG_TYPE_TRACING, BPF_MODIFY_RETURN, sec, returns(0), "fmod_ret on security_file_open"));
  drop(r, load_prog(r, BPF_PROG_TYPE_TRACING, BPF_MODIFY_RETURN, mrt, returns(0), "sleepable fmod_ret", BPF_F_SLEEPABLE));
  drop(r, load_prog(r, BPF_PROG_TYPE_TRACING, BPF_TRACE_FENTRY, t2, returns(0), "sleepable fentry on test2", BPF_F_SLEEPABLE));
  drop(r, load_prog(r, BPF_PROG_TYPE_TRACING, BPF_TRACE_FENTRY, kernel_func("bpf_fentry_test1"), returns(0),
               "sleepable fentry on test1", BPF_F_SLEEPABLE));
  const int map = r.create(BPF_MAP_TYPE_ARRAY, 4, 8, 4);
  if (map < 0) return;
  const int zero = load_prog(r, BPF_PROG_TYPE_TRACING, BPF_MODIFY_RETURN, mrt, record_word(map, 0, 2, 0), "fmod_ret 0");
  const int five = load_prog(r, BPF_PROG_TYPE_TRACING, BPF_MODIFY_RETURN, mrt, record_word(map, 1, 2, 5), "fmod_ret 5");
  const int fexit = load_prog(r, BPF_PROG_TYPE_TRACING, BPF_TRACE_FEXIT, mrt, record_word(map, 2, 2, 0), "fexit");
  const int fentry = load_prog(r, BPF_PROG_TYPE_TRACING, BPF_TRACE_FENTRY, mrt, record_word(map, 3, 0, 0), "fentry");
  if (zero < 0 || five < 0 || fexit < 0 || fentry < 0) return;
  test_run(r, zero, "nothing linked");
  test_run(r, fentry, "an fentry program's run calls the fentry tests");
  dump(r, map, 4);
  const int le = link(r, fexit, BPF_TRACE_FEXIT, "link fexit");
  const int lf = link(r, fentry, BPF_TRACE_FENTRY, "link fentry");
  drop(r, link(r, zero, BPF_TRACE_FENTRY, "fmod_ret linked as fentry"));
  const int lz = link(r, zero, BPF_MODIFY_RETURN, "link fmod_ret 0");
  test_run(r, five, "fmod_ret returning 0 linked");
  dump(r, map, 4);
  const int l5 = raw_open(r, five, "link fmod_ret 5 (raw_tracepoint_open)");
  r.update(map, u32(0), u64(0xdead));
  test_run(r, zero, "fmod_ret returning 5 linked last");
  dump(r, map, 4);
  if (l5 >= 0) {
    unsigned char raw[64] = {};
    uint32_t len = sizeof(raw);
    r.note("fmod_ret link info", r.backend().obj_get_info_by_fd(l5, raw, &len));
    uint32_t w[5];
    memcpy(w, raw, sizeof(w));
    r.note("link info type", w[0]);
    r.note("link info attach_type", w[4]);
  }
  drop(r, l5);
  drop(r, lz);
  drop(r, le);
  drop(r, lf);
  test_run(r, five, "all unlinked");
  for (int fd : {zero, five, fexit, fentry}) r.close(fd);
}

// LSM programs: loads against the bpf_lsm_<hook> functions (GPL only, hooks
// only, some hooks refused, some sleepable; return values the verifier
// holds to 0 or -errno), their links, and no test run.
SCENARIO("COMMON", "tracing", "lsm") {
  const uint32_t file_open = kernel_func("bpf_lsm_file_open"), task_free = kernel_func("bpf_lsm_task_free");
  r.note("the kernel's BTF has the BPF LSM hooks", file_open != 0 && task_free != 0);
  if (file_open == 0 || task_free == 0) return;
  if (host_refuses(r, BPF_PROG_TYPE_LSM, BPF_LSM_MAC, file_open)) return;
  auto try_load = [&](uint32_t attach, uint32_t id, int32_t ret, const std::string& label, uint32_t flags = 0,
                      const char* license = "GPL") {
    drop(r, load_prog(r, BPF_PROG_TYPE_LSM, attach, id, returns(ret), label, flags, license));
  };
  try_load(BPF_LSM_MAC, 0, 0, "no btf_id");
  try_load(BPF_LSM_MAC, file_open, 0, "not GPL", 0, "Proprietary");
  try_load(BPF_LSM_MAC, kernel_func("security_file_open"), 0, "security_file_open");
  try_load(BPF_LSM_MAC, kernel_func("bpf_lsm_verify_prog"), 0, "bpf_lsm_verify_prog, no hook");
  try_load(BPF_LSM_MAC, kernel_func("bpf_lsm_vm_enough_memory"), 0, "vm_enough_memory");
  try_load(BPF_LSM_MAC, kernel_func("bpf_lsm_getprocattr"), 0, "getprocattr");
  try_load(BPF_LSM_MAC, file_open, -1, "file_open returning -EPERM");
  try_load(BPF_LSM_MAC, file_open, 1, "file_open returning 1");
  try_load(BPF_LSM_MAC, file_open, -4096, "file_open returning -4096");
  try_load(BPF_LSM_MAC, task_free, 5, "void task_free returning 5");
  try_load(0, file_open, 0, "expected_attach_type 0");
  try_load(BPF_LSM_CGROUP, file_open, 1, "lsm_cgroup file_open returning 1");
  try_load(BPF_LSM_CGROUP, file_open, -1, "lsm_cgroup file_open returning -EPERM");
  try_load(BPF_LSM_CGROUP, task_free, 0, "lsm_cgroup void task_free returning 0");
  try_load(BPF_LSM_MAC, file_open, 0, "sleepable file_open", BPF_F_SLEEPABLE);
  try_load(BPF_LSM_MAC, task_free, 0, "sleepable task_free", BPF_F_SLEEPABLE);
  try_load(BPF_LSM_MAC, kernel_func("bpf_lsm_bprm_committed_creds"), 0, "sleepable bprm_committed_creds",
           BPF_F_SLEEPABLE);
  const int prog = load_prog(r, BPF_PROG_TYPE_LSM, BPF_LSM_MAC, file_open, returns(0), "file_open");
  const int other = load_prog(r, BPF_PROG_TYPE_LSM, BPF_LSM_MAC, task_free, returns(0), "task_free");
  if (prog < 0 || other < 0) return;
  bpf_prog_info pinfo{};
  uint32_t plen = sizeof(pinfo);
  r.note("prog info", r.backend().obj_get_info_by_fd(prog, &pinfo, &plen));
  r.note("prog info type", pinfo.type);
  r.note("prog info attach_btf_id is the hook's", pinfo.attach_btf_id == file_open);
  test_run(r, prog, "test run");
  drop(r, link(r, prog, BPF_TRACE_FENTRY, "link as fentry"));
  const int l = link(r, prog, BPF_LSM_MAC, "link");
  if (l >= 0) {
    unsigned char raw[64] = {};
    uint32_t len = sizeof(raw);
    r.note("link info", r.backend().obj_get_info_by_fd(l, raw, &len));
    uint32_t w[7];
    memcpy(w, raw, sizeof(w));
    r.note("link info type", w[0]);
    r.note("link info attach_type", w[4]);
    r.note("link info target_btf_id is the hook's", w[6] == file_open);
    drop(r, link(r, prog, BPF_LSM_MAC, "linked again"));
  }
  const int l2 = raw_open(r, other, "task_free through raw_tracepoint_open");
  drop(r, l2);
  drop(r, l);
  r.close(prog);
  r.close(other);
}

}  // namespace bpfemu::conformance
