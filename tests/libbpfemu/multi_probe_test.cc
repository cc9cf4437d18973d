// kprobe.multi and uprobe.multi links on the emulator, without root: a
// skeleton whose SEC("kprobe.multi/<pattern>") programs libbpf attaches by
// resolving the pattern in /proc/kallsyms, a program attached to named
// functions with a cookie each, and uprobe.multi links on a function of this
// very binary. The test fires the functions and reads what the programs
// recorded: the function's address (bpf_get_func_ip), the cookie of that
// function (bpf_get_attach_cookie), the first argument or the return value.
// Linked with libbpfemu before libbpf, as bpf_object_test.cc is.
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/bpf.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>

#include "bpfemu/programs.h"
#include "conformance/self_maps.h"

// What the programs record per hit (bpf/multi_probe.bpf.c); the skeleton's
// .bss names the type.
struct hit {
  uint64_t ip;
  uint64_t cookie;
  uint64_t value;
};

#include "multi_probe.skel.h"

extern "C" __attribute__((noinline)) int multi_probe_target(int x) {
  asm volatile("");
  return x + 1;
}

namespace {

constexpr uint32_t kTraceUprobeMulti = 48;  // BPF_TRACE_UPROBE_MULTI (past this uapi header)
constexpr uint32_t kLinkTypeKprobeMulti = 8, kLinkTypeUprobeMulti = 12;

// struct bpf_link_info's kprobe_multi part (6.6+, past this uapi header):
// addrs at 16, count at 24, flags at 28, missed at 32, cookies at 40.
struct KprobeMultiInfo {
  uint32_t type, id, prog_id, pad;
  uint64_t addrs;
  uint32_t count, flags;
  uint64_t missed, cookies;
  uint8_t rest[16];
};
static_assert(sizeof(KprobeMultiInfo) == 64);

// The address /proc/kallsyms gives the text symbol `name` (the emulator's
// own when the kernel hides its addresses), 0 when there is none.
uint64_t kallsyms_addr(const char* name) {
  FILE* f = fopen("/proc/kallsyms", "re");
  if (f == nullptr) return 0;
  char line[600], sym[512];
  unsigned long long addr = 0;
  char type = 0;
  uint64_t found = 0;
  while (found == 0 && fgets(line, sizeof(line), f) != nullptr)
    if (sscanf(line, "%llx %c %511s", &addr, &type, sym) == 3 && (type == 't' || type == 'T') && strcmp(sym, name) == 0)
      found = addr;
  fclose(f);
  return found;
}

using bpfemu::conformance::file_offset_of;

class MultiProbe : public ::testing::Test {
 protected:
  void SetUp() override {
    skel_ = multi_probe__open();
    ASSERT_NE(skel_, nullptr) << strerror(errno);
    // SEC("kprobe.multi") makes them kprobe.multi programs; these two are
    // for uprobe.multi links.
    ASSERT_EQ(bpf_program__set_expected_attach_type(skel_->progs.on_uprobe,
                                                    static_cast<bpf_attach_type>(kTraceUprobeMulti)),
              0);
    ASSERT_EQ(bpf_program__set_expected_attach_type(skel_->progs.on_uretprobe,
                                                    static_cast<bpf_attach_type>(kTraceUprobeMulti)),
              0);
    ASSERT_EQ(multi_probe__load(skel_), 0) << strerror(errno);
  }
  void TearDown() override { multi_probe__destroy(skel_); }

  multi_probe* skel_ = nullptr;
};

TEST_F(MultiProbe, SkeletonAttachRunsTheProgramsOnEveryMatchingFunction) {
  ASSERT_EQ(multi_probe__attach(skel_), 0) << strerror(errno);
  ASSERT_NE(skel_->links.on_entry, nullptr);
  ASSERT_NE(skel_->links.on_return, nullptr);
  const uint64_t test1 = kallsyms_addr("bpf_fentry_test1");
  const uint64_t test3 = kallsyms_addr("bpf_fentry_test3");
  ASSERT_NE(test1, 0u);
  ASSERT_NE(test3, 0u);

  const uint64_t args[1] = {5};
  EXPECT_EQ(bpfemu_function_fire("bpf_fentry_test1", args, 1, 6, -1), 2);
  const uint64_t args3[3] = {7, 8, 9};
  EXPECT_EQ(bpfemu_function_fire("bpf_fentry_test3", args3, 3, 24, -1), 2);
  EXPECT_EQ(bpfemu_function_fire("do_unlinkat", args, 1, 0, -1), 0);  // not matched by the pattern

  ASSERT_EQ(skel_->bss->n_entries, 2u);
  EXPECT_EQ(skel_->bss->entries[0].ip, test1);
  EXPECT_EQ(skel_->bss->entries[0].cookie, 0u);
  EXPECT_EQ(skel_->bss->entries[0].value, 5u);
  EXPECT_EQ(skel_->bss->entries[1].ip, test3);
  EXPECT_EQ(skel_->bss->entries[1].value, 7u);
  ASSERT_EQ(skel_->bss->n_returns, 2u);
  EXPECT_EQ(skel_->bss->returns[0].ip, test1);
  EXPECT_EQ(skel_->bss->returns[0].value, 6u);
  EXPECT_EQ(skel_->bss->returns[1].ip, test3);
  EXPECT_EQ(skel_->bss->returns[1].value, 24u);

  // The links' info: one entry per matched function, the return flag.
  for (bpf_link* l : {skel_->links.on_entry, skel_->links.on_return}) {
    KprobeMultiInfo info{};
    uint32_t len = sizeof(info);
    ASSERT_EQ(bpf_obj_get_info_by_fd(bpf_link__fd(l), &info, &len), 0) << strerror(errno);
    EXPECT_EQ(info.type, kLinkTypeKprobeMulti);
    EXPECT_GE(info.count, 2u);
    EXPECT_EQ(info.flags, l == skel_->links.on_return ? 1u : 0u);
  }
  // A kprobe.multi link cannot be detached, only closed (EOPNOTSUPP).
  EXPECT_EQ(bpf_link_detach(bpf_link__fd(skel_->links.on_entry)), -EOPNOTSUPP);
}

TEST_F(MultiProbe, ExplicitFunctionsGetTheirOwnCookies) {
  const char* syms[2] = {"bpf_fentry_test2", "bpf_fentry_test1"};
  const __u64 cookies[2] = {200, 100};
  LIBBPF_OPTS(bpf_kprobe_multi_opts, opts, .syms = syms, .cookies = cookies, .cnt = 2);
  bpf_link* link = bpf_program__attach_kprobe_multi_opts(skel_->progs.on_explicit, nullptr, &opts);
  ASSERT_NE(link, nullptr) << strerror(errno);
  const uint64_t args[2] = {1, 2};
  EXPECT_EQ(bpfemu_function_fire("bpf_fentry_test1", args, 1, 2, -1), 1);
  EXPECT_EQ(bpfemu_function_fire("bpf_fentry_test2", args, 2, 5, -1), 1);
  ASSERT_EQ(skel_->bss->n_explicit, 2u);
  EXPECT_EQ(skel_->bss->explicit_hits[0].cookie, 100u);
  EXPECT_EQ(skel_->bss->explicit_hits[0].ip, kallsyms_addr("bpf_fentry_test1"));
  EXPECT_EQ(skel_->bss->explicit_hits[1].cookie, 200u);
  EXPECT_EQ(skel_->bss->explicit_hits[1].ip, kallsyms_addr("bpf_fentry_test2"));

  // The link's arrays come sorted by address, each cookie with its function.
  uint64_t addrs[2] = {}, got[2] = {};
  KprobeMultiInfo info{};
  info.addrs = reinterpret_cast<uintptr_t>(addrs);
  info.cookies = reinterpret_cast<uintptr_t>(got);
  info.count = 2;
  uint32_t len = sizeof(info);
  ASSERT_EQ(bpf_obj_get_info_by_fd(bpf_link__fd(link), &info, &len), 0) << strerror(errno);
  EXPECT_EQ(info.count, 2u);
  EXPECT_LT(addrs[0], addrs[1]);
  for (int i = 0; i < 2; ++i)
    EXPECT_EQ(got[i], addrs[i] == kallsyms_addr("bpf_fentry_test1") ? 100u : 200u);
  ASSERT_EQ(bpf_link__destroy(link), 0);
  EXPECT_EQ(bpfemu_function_fire("bpf_fentry_test1", args, 1, 2, -1), 0);

  // A function the kernel does not have: the kernel's ESRCH.
  const char* missing[1] = {"bpfemu_no_such_function"};
  LIBBPF_OPTS(bpf_kprobe_multi_opts, bad, .syms = missing, .cnt = 1);
  errno = 0;
  EXPECT_EQ(bpf_program__attach_kprobe_multi_opts(skel_->progs.on_explicit, nullptr, &bad), nullptr);
  EXPECT_EQ(errno, ESRCH);
}

// BPF_LINK_CREATE with BPF_TRACE_UPROBE_MULTI, as a newer libbpf's
// bpf_program__attach_uprobe_multi makes it.
int uprobe_multi_link(int prog_fd, const char* path, const uint64_t* offsets, const uint64_t* cookies, uint32_t cnt,
                      uint32_t flags) {
  unsigned char attr[128] = {};
  const uint32_t head[4] = {static_cast<uint32_t>(prog_fd), 0, kTraceUprobeMulti, 0};
  const uint64_t ptrs[4] = {reinterpret_cast<uintptr_t>(path), reinterpret_cast<uintptr_t>(offsets), 0,
                            reinterpret_cast<uintptr_t>(cookies)};
  memcpy(attr, head, sizeof(head));
  memcpy(attr + 16, ptrs, sizeof(ptrs));
  memcpy(attr + 48, &cnt, 4);
  memcpy(attr + 52, &flags, 4);
  return static_cast<int>(syscall(__NR_bpf, BPF_LINK_CREATE, attr, sizeof(attr)));
}

TEST_F(MultiProbe, UprobeMultiLinksRunOnTheirOffsets) {
  char exe[PATH_MAX];
  ASSERT_NE(realpath("/proc/self/exe", exe), nullptr) << strerror(errno);
  const uint64_t off = file_offset_of(reinterpret_cast<const void*>(&multi_probe_target));
  ASSERT_NE(off, 0u);
  const uint64_t offsets[2] = {off, off + 1}, cookies[2] = {42, 43};
  const int entry = uprobe_multi_link(bpf_program__fd(skel_->progs.on_uprobe), exe, offsets, cookies, 2, 0);
  ASSERT_GE(entry, 0) << strerror(errno);
  const int ret = uprobe_multi_link(bpf_program__fd(skel_->progs.on_uretprobe), exe, offsets, cookies, 1, 1);
  ASSERT_GE(ret, 0) << strerror(errno);

  const uint64_t args[1] = {9};
  EXPECT_EQ(bpfemu_uprobe_fire(exe, off, args, 1, 10, -1), 2);
  EXPECT_EQ(bpfemu_uprobe_fire(exe, off + 1, args, 1, 10, -1), 1);  // the entry link's second offset
  EXPECT_EQ(multi_probe_target(1), 2);  // the real call: nothing is installed
  ASSERT_EQ(skel_->bss->n_uprobes, 2u);
  EXPECT_EQ(skel_->bss->uprobes[0].ip, reinterpret_cast<uint64_t>(&multi_probe_target));
  EXPECT_EQ(skel_->bss->uprobes[0].cookie, 42u);
  EXPECT_EQ(skel_->bss->uprobes[0].value, 9u);
  EXPECT_EQ(skel_->bss->uprobes[1].cookie, 43u);
  ASSERT_EQ(skel_->bss->n_uretprobes, 1u);
  EXPECT_EQ(skel_->bss->uretprobes[0].cookie, 42u);
  EXPECT_EQ(skel_->bss->uretprobes[0].value, 10u);

  // The link's info: the file, the offsets and cookies as given, no pid.
  char path[PATH_MAX];
  uint64_t got_offsets[2] = {}, got_cookies[2] = {};
  unsigned char info[64] = {};
  const uint64_t p = reinterpret_cast<uintptr_t>(path), po = reinterpret_cast<uintptr_t>(got_offsets),
                 pc = reinterpret_cast<uintptr_t>(got_cookies);
  const uint32_t path_size = sizeof(path), count = 2;
  memcpy(info + 16, &p, 8);
  memcpy(info + 24, &po, 8);
  memcpy(info + 40, &pc, 8);
  memcpy(info + 48, &path_size, 4);
  memcpy(info + 52, &count, 4);
  uint32_t len = sizeof(info);
  ASSERT_EQ(bpf_obj_get_info_by_fd(entry, info, &len), 0) << strerror(errno);
  uint32_t type = 0, got_count = 0, got_pid = 1;
  memcpy(&type, info, 4);
  memcpy(&got_count, info + 52, 4);
  memcpy(&got_pid, info + 60, 4);
  EXPECT_EQ(type, kLinkTypeUprobeMulti);
  EXPECT_EQ(got_count, 2u);
  EXPECT_EQ(got_pid, 0u);
  EXPECT_STREQ(path, exe);
  EXPECT_EQ(got_offsets[1], off + 1);
  EXPECT_EQ(got_cookies[0], 42u);

  ASSERT_EQ(close(entry), 0);
  ASSERT_EQ(close(ret), 0);
  EXPECT_EQ(bpfemu_uprobe_fire(exe, off, args, 1, 10, -1), 0);
}

}  // namespace
