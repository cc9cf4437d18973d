// Testing a BPF program itself without root: this binary is linked with
// libbpfemu before libbpf (link mode), so libbpf's whole object flow -- the
// bpftool skeleton's open and load, its feature probes, global data, pinning
// by name -- runs on the emulator. The test fires the programs (a packet through
// BPF_PROG_TEST_RUN, a raw tracepoint with bpfemu_prog_fire on a chosen CPU) and
// checks what they wrote to their maps, their global data and their trace
// output. (skel_vs_kernel.sh checks that the kernel gives the same results.)
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <cstdlib>
#include <thread>
#include <string>
#include <vector>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>

#include "bpfemu/programs.h"
#include "private_bpffs_root.h"
#include "skel_demo.skel.h"
#include "tracing_demo.skel.h"
#include "cgroup_demo.skel.h"
#include "modret_lsm.skel.h"

namespace {

const bool g_private_root = take_private_bpffs_root();

std::string read_trace() {
  std::string out;
  char buf[256];
  while (bpfemu_trace_read(buf, sizeof(buf)) > 0) out += buf;
  return out;
}

class BpfObjectTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* root = getenv("BPFEMU_BPFFS");
    ASSERT_NE(root, nullptr) << "ctest sets BPFEMU_BPFFS to a private emulated bpffs";
    // A pin directory per test: ctest runs them in parallel on one emulated bpffs.
    pin_dir_ = std::string("/sys/fs/bpf/object_test_") + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pin_dir_.c_str());
    skel_ = skel_demo__open_opts(&opts);
    ASSERT_NE(skel_, nullptr) << strerror(errno);
    skel_->rodata->bump = 5;
    ASSERT_EQ(skel_demo__load(skel_), 0);
    read_trace();  // drop what earlier tests printed
  }
  void TearDown() override {
    if (skel_ != nullptr) {
      ASSERT_EQ(bpf_map__unpin(skel_->maps.seen, nullptr), 0);
      skel_demo__destroy(skel_);
    }
  }
  int run_xdp(std::vector<unsigned char> pkt, uint32_t* retval) {
    unsigned char out[256];
    LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = pkt.data(), .data_out = out,
                .data_size_in = static_cast<uint32_t>(pkt.size()), .data_size_out = sizeof(out));
    const int err = bpf_prog_test_run_opts(bpf_program__fd(skel_->progs.count_xdp), &t);
    *retval = t.retval;
    return err;
  }
  uint64_t count(uint32_t k) {
    uint64_t v = 0;
    EXPECT_EQ(bpf_map__lookup_elem(skel_->maps.counts, &k, sizeof(k), &v, sizeof(v), 0), 0);
    return v;
  }

  skel_demo* skel_ = nullptr;
  std::string pin_dir_;
};

TEST_F(BpfObjectTest, XdpProgramCountsPacketsInItsMapsAndGlobals) {
  std::vector<unsigned char> pkt(60, 0);
  pkt[12] = 0x86;  // IPv6
  pkt[13] = 0xdd;
  uint32_t retval = 0;
  ASSERT_EQ(run_xdp(pkt, &retval), 0);
  EXPECT_EQ(retval, static_cast<uint32_t>(XDP_PASS));
  pkt.resize(120);
  ASSERT_EQ(run_xdp(pkt, &retval), 0);
  EXPECT_EQ(retval, static_cast<uint32_t>(XDP_DROP));  // longer than 100 bytes
  EXPECT_EQ(count(1), 10u);                            // bumped by .rodata's 5, twice
  uint32_t proto = 0xdd86;
  uint64_t seen_ipv6 = 0;
  ASSERT_EQ(bpf_map__lookup_elem(skel_->maps.protos, &proto, sizeof(proto), &seen_ipv6, sizeof(seen_ipv6), 0), 0);
  EXPECT_EQ(seen_ipv6, 2u);
  EXPECT_EQ(skel_->bss->packets, 2u);  // the .bss map is mmapped, as on the kernel
  EXPECT_EQ(skel_->bss->last_len, 120u);
  EXPECT_EQ(read_trace(), "xdp len 60\nxdp len 120\n");
  ASSERT_EQ(run_xdp(std::vector<unsigned char>(10), &retval), -EINVAL);  // shorter than an Ethernet header
}

TEST_F(BpfObjectTest, RawTracepointFiredOnACpuWithItsArguments) {
  for (int cpu : {0, 1}) {
    uint64_t args[2] = {0, 59};  // sys_enter(regs, id): execve
    uint64_t ret = 0;
    ASSERT_EQ(bpfemu_prog_fire(bpf_program__fd(skel_->progs.on_enter), args, sizeof(args), cpu, &ret), 0);
    EXPECT_EQ(ret, 3u);  // bpf_for_each_map_elem stopped at the third element
  }
  EXPECT_EQ(count(3), 20u);  // 59 % 4
  uint64_t nr = 0;
  ASSERT_EQ(bpf_map__lookup_and_delete_elem(skel_->maps.events, nullptr, 0, &nr, sizeof(nr), 0), 0);
  EXPECT_EQ(nr, 59u);
  EXPECT_EQ(skel_->bss->loop_sum, 2u * 7 * (0 + 1 + 2 + 3 + 4));  // bpf_loop with .data's configured = 7
  EXPECT_EQ(read_trace(), "sys 59 visited 3\nsys 59 visited 3\n");
  uint64_t ret = 0;
  EXPECT_EQ(bpfemu_prog_fire(bpf_program__fd(skel_->progs.on_enter), nullptr, 0, 1, &ret), -EFAULT)
      << "reading args[1] of a missing context is a fault, not a crash";
  uint64_t args[2] = {0, 1};
  EXPECT_EQ(bpfemu_prog_fire(bpf_program__fd(skel_->progs.on_enter), args, sizeof(args), 99, &ret), -ENXIO);
  EXPECT_EQ(bpfemu_prog_fire(bpf_map__fd(skel_->maps.counts), nullptr, 0, -1, &ret), -EINVAL);
}

// The skeleton's attach makes a raw tracepoint link; the program runs when the
// test fires the tracepoint, and no more once the link is gone.
TEST_F(BpfObjectTest, AttachedRawTracepointRunsWhenTheTracepointFires) {
  ASSERT_EQ(skel_demo__attach(skel_), 0);
  ASSERT_NE(skel_->links.on_enter, nullptr);
  EXPECT_EQ(skel_->links.count_xdp, nullptr) << "XDP programs are not auto-attached";
  const uint64_t args[2] = {0, 2};  // sys_enter(regs, id): open
  EXPECT_EQ(bpfemu_raw_tracepoint_fire("sys_enter", args, 2, 1), 1);
  EXPECT_EQ(bpfemu_raw_tracepoint_fire("sys_exit", args, 2, 1), 0) << "nothing is attached there";
  EXPECT_EQ(count(2), 10u);
  bpf_link_info info{};
  char name[32] = {};
  info.raw_tracepoint.tp_name = reinterpret_cast<uintptr_t>(name);
  info.raw_tracepoint.tp_name_len = sizeof(name);
  uint32_t len = sizeof(info);
  ASSERT_EQ(bpf_obj_get_info_by_fd(bpf_link__fd(skel_->links.on_enter), &info, &len), 0);
  EXPECT_EQ(info.type, static_cast<uint32_t>(BPF_LINK_TYPE_RAW_TRACEPOINT));
  EXPECT_STREQ(name, "sys_enter");
  bpf_prog_info pinfo{};
  uint32_t plen = sizeof(pinfo);
  ASSERT_EQ(bpf_obj_get_info_by_fd(bpf_program__fd(skel_->progs.on_enter), &pinfo, &plen), 0);
  EXPECT_EQ(info.prog_id, pinfo.id);
  skel_demo__detach(skel_);
  EXPECT_EQ(bpfemu_raw_tracepoint_fire("sys_enter", args, 2, 1), 0) << "detached";
  EXPECT_EQ(count(2), 10u);
}

// A SEC("tp/...") program: the skeleton's attach reads the tracepoint's id
// (tracefs is root's; the emulator answers) and attaches through a perf event;
// the program runs with the record the test fires the tracepoint with.
TEST_F(BpfObjectTest, AttachedTracepointRunsWithTheRecordItIsFiredWith) {
  ASSERT_EQ(skel_demo__attach(skel_), 0) << strerror(errno);
  ASSERT_NE(skel_->links.on_write, nullptr);
  struct {
    uint64_t common;
    long id;
    unsigned long args[6];
  } record{0, 1, {1, 0, 42, 0, 0, 0}};
  EXPECT_EQ(bpfemu_tracepoint_fire("syscalls/sys_enter_write", &record, sizeof(record), 0), 1);
  EXPECT_EQ(bpfemu_tracepoint_fire("syscalls/sys_enter_read", &record, sizeof(record), 0), 0)
      << "nothing is attached there";
  EXPECT_EQ(count(3), 42u);
  skel_demo__detach(skel_);
  EXPECT_EQ(bpfemu_tracepoint_fire("syscalls/sys_enter_write", &record, sizeof(record), 0), 0) << "detached";
  EXPECT_EQ(count(3), 42u);
}

TEST_F(BpfObjectTest, PinnedByNameMapIsInTheEmulatedBpffsAndReused) {
  struct stat st {};
  ASSERT_EQ(stat((pin_dir_ + "/seen").c_str(), &st), 0) << "libbpf pinned `seen` under the pin root";
  std::vector<unsigned char> pkt(77, 0);
  uint32_t retval = 0;
  ASSERT_EQ(run_xdp(pkt, &retval), 0);
  // A second object reuses the pinned map instead of making a new one.
  LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pin_dir_.c_str());
  skel_demo* again = skel_demo__open_opts(&opts);
  ASSERT_NE(again, nullptr);
  ASSERT_EQ(skel_demo__load(again), 0);
  uint32_t len = 77, v = 0;
  EXPECT_EQ(bpf_map__lookup_elem(again->maps.seen, &len, sizeof(len), &v, sizeof(v), 0), 0);
  EXPECT_EQ(v, 77u);
  skel_demo__destroy(again);
}

TEST_F(BpfObjectTest, XdpProgramAttachesToADeviceThroughALink) {
  bpf_link* link = bpf_program__attach_xdp(skel_->progs.count_xdp, 1);  // lo
  ASSERT_NE(link, nullptr) << strerror(errno);
  bpf_link_info info{};
  uint32_t len = sizeof(info);
  ASSERT_EQ(bpf_obj_get_info_by_fd(bpf_link__fd(link), &info, &len), 0);
  EXPECT_EQ(info.type, static_cast<uint32_t>(BPF_LINK_TYPE_XDP));
  EXPECT_EQ(info.xdp.ifindex, 1u);
  EXPECT_EQ(bpf_program__attach_xdp(skel_->progs.count_xdp, 1), nullptr) << "one XDP link per device";
  EXPECT_EQ(errno, EBUSY);
  ASSERT_EQ(bpf_link__detach(link), 0);
  ASSERT_EQ(bpf_obj_get_info_by_fd(bpf_link__fd(link), &info, &len), 0);
  EXPECT_EQ(info.xdp.ifindex, 0u) << "a detached link has no device";
  ASSERT_EQ(bpf_link__destroy(link), 0);
  bpf_link* again = bpf_program__attach_xdp(skel_->progs.count_xdp, 1);
  ASSERT_NE(again, nullptr) << "the device is free again: " << strerror(errno);
  ASSERT_EQ(bpf_link__destroy(again), 0);
}

// fentry/fexit and tp_btf programs: libbpf finds their targets in the
// kernel's BTF, the emulator checks them and links them; they run when the
// test says the function ran (arguments in, return value out) or the BTF
// tracepoint fired.
TEST(TracingPrograms, FentryFexitAndTpBtfRunWhenFired) {
  tracing_demo* skel = tracing_demo__open_and_load();
  ASSERT_NE(skel, nullptr) << strerror(errno);
  ASSERT_EQ(tracing_demo__attach(skel), 0) << strerror(errno);
  const uint64_t args[2] = {100, 0x1234};  // do_unlinkat(dfd, name)
  EXPECT_EQ(bpfemu_function_fire("do_unlinkat", args, 2, static_cast<uint64_t>(-2), 0), 4)
      << "fentry, fexit, and the kprobe and kretprobe";
  EXPECT_EQ(bpfemu_function_fire("do_rmdir", args, 2, 0, 0), 0) << "nothing is attached there";
  const uint64_t sys_args[2] = {0, 87};  // sys_enter(regs, id): unlink
  EXPECT_EQ(bpfemu_raw_tracepoint_fire("sys_enter", sys_args, 2, 0), 1);
  EXPECT_EQ(skel->bss->entered_dfd, 100u);
  EXPECT_EQ(skel->bss->enters, 1u);
  EXPECT_EQ(static_cast<int64_t>(skel->bss->exit_ret), -2);
  EXPECT_EQ(skel->bss->last_syscall, 87u);
  bpf_prog_info info{};
  uint32_t len = sizeof(info);
  ASSERT_EQ(bpf_obj_get_info_by_fd(bpf_program__fd(skel->progs.on_unlink_entry), &info, &len), 0);
  EXPECT_NE(info.attach_btf_id, 0u) << "the target's id in the kernel's BTF";
  tracing_demo__detach(skel);
  EXPECT_EQ(bpfemu_function_fire("do_unlinkat", args, 2, 0, 0), 0) << "detached";
  tracing_demo__destroy(skel);
}

// The fentry program loads name->name straight from its argument: through
// a real struct it reads the name; through a bad pointer (NULL, or an
// address nothing is mapped at) the load reads 0, as the kernel's loads
// through BTF pointers do, and the run goes on.
TEST(TracingPrograms, FentryLoadsThroughItsPointerArgument) {
  tracing_demo* skel = tracing_demo__open_and_load();
  ASSERT_NE(skel, nullptr) << strerror(errno);
  ASSERT_EQ(tracing_demo__attach(skel), 0) << strerror(errno);
  static const char kPath[] = "/tmp/victim";
  const char* const filename[1] = {kPath};  // struct filename starts with its name
  uint64_t args[2] = {static_cast<uint64_t>(-100), reinterpret_cast<uint64_t>(filename)};
  ASSERT_EQ(bpfemu_function_fire("do_unlinkat", args, 2, 0, 0), 4);
  EXPECT_STREQ(skel->bss->unlinked, kPath);
  EXPECT_EQ(skel->bss->unlinked_len, static_cast<long>(sizeof(kPath)));
  for (uint64_t bad : {uint64_t{0}, uint64_t{8}, uint64_t{0xdead000000000000}}) {
    args[1] = bad;
    ASSERT_EQ(bpfemu_function_fire("do_unlinkat", args, 2, 0, 0), 4) << "no fault through 0x" << std::hex << bad;
    EXPECT_EQ(skel->bss->unlinked_len, -EFAULT) << "name->name read 0, which bpf_probe_read_kernel_str refuses";
  }
  tracing_demo__destroy(skel);
}

// kprobes and kretprobes: attached by the skeleton (libbpf opens kprobe
// perf events, reading the PMU type from sysfs, which the emulator answers on
// kernels without kprobes), fired with the function's arguments in pt_regs.
TEST(TracingPrograms, KprobeAndKretprobeRunWhenTheFunctionIsFired) {
  tracing_demo* skel = tracing_demo__open_and_load();
  ASSERT_NE(skel, nullptr) << strerror(errno);
  ASSERT_EQ(tracing_demo__attach(skel), 0) << strerror(errno);
  const uint64_t args[2] = {77, 0x1234};
  // fentry, fexit, kprobe and kretprobe on do_unlinkat.
  EXPECT_EQ(bpfemu_function_fire("do_unlinkat", args, 2, static_cast<uint64_t>(-13), -1), 4);
  EXPECT_EQ(skel->bss->kprobe_dfd, 77u);
  EXPECT_EQ(static_cast<int64_t>(skel->bss->kretprobe_ret), -13);
  bpf_link_info info{};
  uint32_t len = sizeof(info);
  ASSERT_EQ(bpf_obj_get_info_by_fd(bpf_link__fd(skel->links.on_unlink_kprobe), &info, &len), 0);
  EXPECT_EQ(info.type, BPF_LINK_TYPE_PERF_EVENT);
  tracing_demo__destroy(skel);
}

// A function of this binary, for the uprobe test (not inlined, not static:
// libbpf finds it in the symbol table).
extern "C" __attribute__((noinline)) int bpfemu_probed_function(int a, int b) {
  asm volatile("" ::: "memory");
  return a * b;
}

// uprobes and uretprobes: attached by function name in this binary (libbpf
// resolves the offset from the ELF file) with a cookie, fired at that offset.
TEST(TracingPrograms, UprobeAndUretprobeRunWhenTheCodeIsFired) {
  tracing_demo* skel = tracing_demo__open_and_load();
  ASSERT_NE(skel, nullptr) << strerror(errno);
  LIBBPF_OPTS(bpf_uprobe_opts, entry, .bpf_cookie = 0xc00c1e, .func_name = "bpfemu_probed_function");
  bpf_link* in = bpf_program__attach_uprobe_opts(skel->progs.on_probed_call, -1, "/proc/self/exe", 0, &entry);
  ASSERT_NE(in, nullptr) << strerror(errno);
  LIBBPF_OPTS(bpf_uprobe_opts, exit, .retprobe = true, .func_name = "bpfemu_probed_function");
  bpf_link* out = bpf_program__attach_uprobe_opts(skel->progs.on_probed_return, getpid(), "/proc/self/exe", 0, &exit);
  ASSERT_NE(out, nullptr) << strerror(errno);
  // bpf_link_info.perf_event.uprobe (newer than this system's UAPI header):
  // file_name at 24, name_len at 32, offset at 36.
  unsigned char info[sizeof(bpf_link_info)] = {};
  char path[256] = {};
  const uint64_t path_ptr = reinterpret_cast<uint64_t>(path);
  const uint32_t path_len = sizeof(path);
  memcpy(info + 24, &path_ptr, 8);
  memcpy(info + 32, &path_len, 4);
  uint32_t len = sizeof(info);
  ASSERT_EQ(bpf_obj_get_info_by_fd(bpf_link__fd(in), info, &len), 0);
  uint32_t offset = 0;
  memcpy(&offset, info + 36, 4);
  EXPECT_NE(offset, 0u) << "libbpf found the function's offset in the file";
  EXPECT_STREQ(path, "/proc/self/exe");
  const uint64_t args[2] = {6, 7};
  EXPECT_EQ(bpfemu_uprobe_fire("/proc/self/exe", offset, args, 2, 42, -1), 2);
  EXPECT_EQ(skel->bss->uprobe_arg, 7u);
  EXPECT_EQ(skel->bss->uprobe_cookie, 0xc00c1eu) << "bpf_get_attach_cookie: the perf link's bpf_cookie";
  EXPECT_EQ(skel->bss->uretprobe_ret, 42u);
  EXPECT_EQ(bpfemu_uprobe_fire("/proc/self/exe", offset + 1, args, 2, 42, -1), 0) << "no probe there";
  ASSERT_EQ(bpf_link__destroy(in), 0);
  ASSERT_EQ(bpf_link__destroy(out), 0);
  EXPECT_EQ(bpfemu_uprobe_fire("/proc/self/exe", offset, args, 2, 42, -1), 0) << "detached";
  EXPECT_EQ(bpfemu_probed_function(6, 7), 42);
  tracing_demo__destroy(skel);
}

// Whether the running kernel's BTF has function `name` (what the emulator's
// host profile follows too).
bool kernel_has_function(const char* name) {
  btf* vmlinux = btf__load_vmlinux_btf();
  if (vmlinux == nullptr) return false;
  const bool has = btf__find_by_name_kind(vmlinux, name, BTF_KIND_FUNC) > 0;
  btf__free(vmlinux);
  return has;
}

// fmod_ret: BPF_PROG_TEST_RUN of an fmod_ret program calls the kernel's
// bpf_modify_return_test(1, &b) (b = 2; it adds 1 to b and returns a + b) and,
// on kernels that have it, bpf_modify_return_test2 (which returns 29), and
// reports the sum of their returns with, at bit 16, how many of their bodies
// ran. The attached fmod_ret program's non-zero return replaces the first
// one's and skips its body; fexit sees the final return.
TEST(TracingPrograms, FmodRetChangesWhatTestRunReports) {
  if (!kernel_has_function("bpf_modify_return_test")) GTEST_SKIP() << "no kernel BTF with the test functions";
  const bool has_test2 = kernel_has_function("bpf_modify_return_test2");
  modret_lsm* skel = modret_lsm__open_and_load();
  ASSERT_NE(skel, nullptr) << strerror(errno);
  const int modret_fd = bpf_program__fd(skel->progs.on_modify_return);
  LIBBPF_OPTS(bpf_test_run_opts, run);
  ASSERT_EQ(bpf_prog_test_run_opts(modret_fd, &run), 0) << "unattached: the functions run untouched";
  EXPECT_EQ(run.retval, has_test2 ? (2u << 16 | 33u) : (1u << 16 | 4u));
  EXPECT_EQ(skel->bss->fentry_runs, 0u) << "nothing is attached yet";
  ASSERT_EQ(modret_lsm__attach(skel), 0) << strerror(errno);
  skel->bss->mod_value = 0;
  run.retval = 0;
  ASSERT_EQ(bpf_prog_test_run_opts(modret_fd, &run), 0);
  EXPECT_EQ(run.retval, has_test2 ? (2u << 16 | 33u) : (1u << 16 | 4u)) << "fmod_ret returned 0: the body ran";
  EXPECT_EQ(skel->bss->fentry_runs, 1u);
  EXPECT_EQ(skel->bss->fentry_a, 1u);
  EXPECT_EQ(skel->bss->modret_seen_ret, 0u);
  EXPECT_EQ(skel->bss->fexit_ret, 4u);
  skel->bss->mod_value = 5;
  ASSERT_EQ(bpf_prog_test_run_opts(modret_fd, &run), 0);
  EXPECT_EQ(run.retval, has_test2 ? (1u << 16 | 34u) : 5u) << "fmod_ret returned 5: body skipped, 5 returned";
  EXPECT_EQ(skel->bss->fexit_ret, 5u);
  EXPECT_EQ(skel->bss->fentry_runs, 2u);
  // An fentry program's test run calls bpf_fentry_test1..: nothing attached
  // there, so 0; the programs on bpf_modify_return_test do not run.
  ASSERT_EQ(bpf_prog_test_run_opts(bpf_program__fd(skel->progs.on_modify_entry), &run), 0);
  EXPECT_EQ(run.retval, 0u);
  EXPECT_EQ(skel->bss->fentry_runs, 2u);
  // The kernel refuses a context or flags for these runs.
  uint64_t ctx[2] = {1, 2};
  LIBBPF_OPTS(bpf_test_run_opts, bad, .ctx_in = ctx, .ctx_size_in = sizeof(ctx), .flags = BPF_F_TEST_RUN_ON_CPU);
  EXPECT_EQ(bpf_prog_test_run_opts(modret_fd, &bad), -EINVAL);
  bpf_link_info info{};
  uint32_t len = sizeof(info);
  ASSERT_EQ(bpf_obj_get_info_by_fd(bpf_link__fd(skel->links.on_modify_return), &info, &len), 0);
  EXPECT_EQ(info.type, BPF_LINK_TYPE_TRACING);
  EXPECT_EQ(info.tracing.attach_type, BPF_MODIFY_RETURN);
  modret_lsm__detach(skel);
  ASSERT_EQ(bpf_prog_test_run_opts(modret_fd, &run), 0);
  EXPECT_EQ(run.retval, has_test2 ? (2u << 16 | 33u) : (1u << 16 | 4u)) << "detached";
  EXPECT_EQ(skel->bss->fentry_runs, 2u);
  modret_lsm__destroy(skel);
}

// LSM programs: attached through the skeleton (BPF_LSM_MAC links), fired as
// their hook's bpf_lsm_<hook> function: on an int hook the program's return
// is the verdict the caller gets; on a void hook it runs after the hook.
TEST(LsmPrograms, VerdictAndMapWritesWhenTheHookIsCalled) {
  if (!kernel_has_function("bpf_lsm_file_open")) GTEST_SKIP() << "no kernel BTF with the BPF LSM hooks";
  modret_lsm* skel = modret_lsm__open_and_load();
  ASSERT_NE(skel, nullptr) << strerror(errno);
  ASSERT_EQ(modret_lsm__attach(skel), 0) << strerror(errno);
  const uint64_t file = 0xffff888012345678ULL;  // the struct file * the hook gets
  uint64_t verdict = 7;
  EXPECT_EQ(bpfemu_function_call("bpf_lsm_file_open", &file, 1, 0, -1, &verdict), 1);
  EXPECT_EQ(static_cast<int32_t>(verdict), 0) << "allowed";
  skel->bss->deny = 1;
  EXPECT_EQ(bpfemu_function_call("bpf_lsm_file_open", &file, 1, 0, -1, &verdict), 1);
  EXPECT_EQ(static_cast<int32_t>(verdict), -EPERM) << "the program's return is the hook's verdict";
  EXPECT_EQ(skel->bss->file_opens, 2u);
  EXPECT_EQ(skel->bss->opened_file, file);
  uint64_t key = file, value = 0;
  ASSERT_EQ(bpf_map__lookup_elem(skel->maps.verdicts, &key, sizeof(key), &value, sizeof(value), 0), 0);
  EXPECT_EQ(value, 1u);
  const uint64_t task = 0xffff888000001000ULL;
  EXPECT_EQ(bpfemu_function_call("bpf_lsm_task_free", &task, 1, 0, -1, &verdict), 1);
  EXPECT_EQ(skel->bss->task_frees, 1u);
  LIBBPF_OPTS(bpf_test_run_opts, run);
  EXPECT_EQ(bpf_prog_test_run_opts(bpf_program__fd(skel->progs.on_file_open), &run), -524)
      << "LSM programs have no test run (ENOTSUPP)";
  bpf_link_info info{};
  uint32_t len = sizeof(info);
  ASSERT_EQ(bpf_obj_get_info_by_fd(bpf_link__fd(skel->links.on_file_open), &info, &len), 0);
  EXPECT_EQ(info.type, BPF_LINK_TYPE_TRACING);
  EXPECT_EQ(info.tracing.attach_type, BPF_LSM_MAC);
  EXPECT_NE(info.tracing.target_btf_id, 0u);
  modret_lsm__detach(skel);
  EXPECT_EQ(bpfemu_function_call("bpf_lsm_file_open", &file, 1, 0, -1, &verdict), 0) << "detached";
  EXPECT_EQ(verdict, 0u);
  modret_lsm__destroy(skel);
}

// This process's cgroup v2 directory, or "" without cgroup v2.
std::string own_cgroup_dir() {
  std::ifstream mounts("/proc/self/mounts");
  std::string dev, dir, type, rest, mount;
  while (mounts >> dev >> dir >> type) {
    std::getline(mounts, rest);
    if (type == "cgroup2") {
      mount = dir;
      break;
    }
  }
  std::ifstream cg("/proc/self/cgroup");
  std::string line;
  while (!mount.empty() && std::getline(cg, line))
    if (line.rfind("0::", 0) == 0) return mount + line.substr(3);
  return "";
}

// A daemon's cgroup programs, without root: a cgroup link made by
// bpf_program__attach_cgroup and a program attached by bpf_prog_attach_opts,
// both seen by bpf_prog_query_opts, gone once detached.
TEST(CgroupPrograms, AttachThroughLibbpfAndQuery) {
  const std::string dir = own_cgroup_dir();
  if (dir.empty()) GTEST_SKIP() << "no cgroup v2 mount here";
  const int cg = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(cg, 0) << dir << ": " << strerror(errno);
  cgroup_demo* skel = cgroup_demo__open_and_load();
  ASSERT_NE(skel, nullptr) << strerror(errno);
  bpf_link* link = bpf_program__attach_cgroup(skel->progs.count_ingress, cg);
  ASSERT_NE(link, nullptr) << strerror(errno);
  bpf_link_info info{};
  uint32_t len = sizeof(info);
  ASSERT_EQ(bpf_obj_get_info_by_fd(bpf_link__fd(link), &info, &len), 0);
  EXPECT_EQ(info.type, static_cast<uint32_t>(BPF_LINK_TYPE_CGROUP));
  EXPECT_EQ(info.cgroup.attach_type, static_cast<uint32_t>(BPF_CGROUP_INET_INGRESS));
  struct stat st {};
  ASSERT_EQ(fstat(cg, &st), 0);
  EXPECT_EQ(info.cgroup.cgroup_id, static_cast<uint64_t>(st.st_ino));

  bpf_prog_info pinfo{};
  len = sizeof(pinfo);
  ASSERT_EQ(bpf_obj_get_info_by_fd(bpf_program__fd(skel->progs.count_ingress), &pinfo, &len), 0);
  uint32_t ids[4] = {};
  LIBBPF_OPTS(bpf_prog_query_opts, q, .prog_ids = ids, .prog_cnt = 4);
  ASSERT_EQ(bpf_prog_query_opts(cg, BPF_CGROUP_INET_INGRESS, &q), 0) << strerror(errno);
  EXPECT_EQ(q.prog_cnt, 1u);
  EXPECT_EQ(ids[0], pinfo.id);
  EXPECT_EQ(q.attach_flags, static_cast<uint32_t>(BPF_F_ALLOW_MULTI));

  const int sock = bpf_program__fd(skel->progs.count_sockets);
  LIBBPF_OPTS(bpf_prog_attach_opts, opts, .flags = BPF_F_ALLOW_OVERRIDE);
  ASSERT_EQ(bpf_prog_attach_opts(sock, cg, BPF_CGROUP_INET_SOCK_CREATE, &opts), 0) << strerror(errno);
  uint32_t flags = 0, count = 4;
  ASSERT_EQ(bpf_prog_query(cg, BPF_CGROUP_INET_SOCK_CREATE, 0, &flags, ids, &count), 0);
  EXPECT_EQ(count, 1u);
  EXPECT_EQ(flags, static_cast<uint32_t>(BPF_F_ALLOW_OVERRIDE));
  ASSERT_EQ(bpf_prog_detach2(sock, cg, BPF_CGROUP_INET_SOCK_CREATE), 0);
  EXPECT_EQ(bpf_prog_detach2(sock, cg, BPF_CGROUP_INET_SOCK_CREATE), -ENOENT);

  ASSERT_EQ(bpf_link__destroy(link), 0);
  count = 4;
  ASSERT_EQ(bpf_prog_query(cg, BPF_CGROUP_INET_INGRESS, 0, &flags, ids, &count), 0);
  EXPECT_EQ(count, 0u) << "destroying the link detached the program";
  cgroup_demo__destroy(skel);
  ASSERT_EQ(close(cg), 0);
}

// What a ring buffer callback saw.
struct Seen {
  std::vector<uint32_t> lens;
};
int on_event(void* ctx, void* data, size_t size) {
  if (size == 16) static_cast<Seen*>(ctx)->lens.push_back(*static_cast<uint32_t*>(data));
  return 0;
}
double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

TEST_F(BpfObjectTest, RingBufferPollSleepsUntilAProgramSubmitsARecord) {
  Seen seen;
  ring_buffer* ring = ring_buffer__new(bpf_map__fd(skel_->maps.rb), on_event, &seen, nullptr);
  ASSERT_NE(ring, nullptr) << strerror(errno);
  EXPECT_EQ(ring_buffer__poll(ring, 0), 0) << "nothing is waiting yet";
  uint32_t retval = 0;
  int run_err = -1;
  std::thread producer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    run_err = run_xdp(std::vector<unsigned char>(64, 0), &retval);
  });
  const auto t0 = std::chrono::steady_clock::now();
  const int n = ring_buffer__poll(ring, 10000);
  const double waited = seconds_since(t0);
  producer.join();
  ASSERT_EQ(run_err, 0);
  EXPECT_EQ(n, 1);
  EXPECT_GE(waited, 0.1) << "poll returned before the record existed";
  EXPECT_LT(waited, 5.0) << "the submit did not wake the sleeping poll";
  ASSERT_EQ(seen.lens.size(), 1u);
  EXPECT_EQ(seen.lens[0], 64u);
  ring_buffer__free(ring);
}

void on_perf_sample(void* ctx, int, void* data, __u32 size) {
  if (size >= 4) static_cast<Seen*>(ctx)->lens.push_back(*static_cast<uint32_t*>(data));
}

TEST_F(BpfObjectTest, PerfBufferPollSleepsUntilAProgramOutputsASample) {
  Seen seen;
  perf_buffer* pb = perf_buffer__new(bpf_map__fd(skel_->maps.pkts), 2, on_perf_sample, nullptr, &seen, nullptr);
  ASSERT_NE(pb, nullptr) << strerror(errno);
  EXPECT_EQ(perf_buffer__poll(pb, 0), 0) << "nothing is waiting yet";
  uint32_t retval = 0;
  int run_err = -1;
  std::thread producer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    run_err = run_xdp(std::vector<unsigned char>(70, 0), &retval);
  });
  const auto t0 = std::chrono::steady_clock::now();
  const int n = perf_buffer__poll(pb, 10000);
  const double waited = seconds_since(t0);
  producer.join();
  ASSERT_EQ(run_err, 0);
  EXPECT_EQ(n, 1) << "one CPU's buffer had a sample";
  EXPECT_GE(waited, 0.1) << "poll returned before the sample existed";
  EXPECT_LT(waited, 5.0) << "the sample did not wake the sleeping poll";
  ASSERT_EQ(seen.lens.size(), 1u);
  EXPECT_EQ(seen.lens[0], 70u);
  perf_buffer__free(pb);
}

TEST_F(BpfObjectTest, RingBufferPinnedInOneProcessWakesAConsumerInAnother) {
  const std::string pin = pin_dir_ + "/rb";
  ASSERT_EQ(bpf_map__pin(skel_->maps.rb, pin.c_str()), 0) << strerror(errno);
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {  // the consumer: its own fd through the pin, its own epoll
    const int fd = bpf_obj_get(pin.c_str());
    Seen got;
    ring_buffer* ring = fd >= 0 ? ring_buffer__new(fd, on_event, &got, nullptr) : nullptr;
    (void)!write(ready[1], "r", 1);
    const int n = ring != nullptr ? ring_buffer__poll(ring, 10000) : -1;
    _exit(n == 1 && got.lens.size() == 1 && got.lens[0] == 90 ? 0 : 10 + n);
  }
  char c;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the child is asleep in epoll_wait
  const auto t0 = std::chrono::steady_clock::now();
  uint32_t retval = 0;
  ASSERT_EQ(run_xdp(std::vector<unsigned char>(90, 0), &retval), 0);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_LT(seconds_since(t0), 5.0) << "the consumer was not woken";
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "the consumer saw another record count or length";
  close(ready[0]);
  close(ready[1]);
  ASSERT_EQ(unlink(pin.c_str()), 0);
}

}  // namespace
