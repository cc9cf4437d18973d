// Programs attached to cgroups on the emulator: BPF_PROG_ATTACH, BPF_PROG_QUERY,
// BPF_PROG_DETACH and cgroup links (and tcx on lo, last). The cgroup is the
// test process's own cgroup v2 directory, opened read-only: the emulator only
// needs to know which cgroup it is, so no root is needed. (The conformance scenarios in
// conformance/scenarios_attach.cc check every answer against the kernel.)
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "bpfemu/emu_backend.h"
#include "tests/emu_test_support.h"

namespace {

using bpfemu::EmuBackend;

// This process's cgroup v2 directory (mount point + the 0:: line of
// /proc/self/cgroup), or "" when there is no cgroup v2 here.
std::string own_cgroup_dir() {
  std::string mount;
  std::ifstream mounts("/proc/self/mounts");
  std::string dev, dir, type, rest;
  while (mounts >> dev >> dir >> type) {
    std::getline(mounts, rest);
    if (type == "cgroup2") {
      mount = dir;
      break;
    }
  }
  if (mount.empty()) return "";
  std::ifstream cg("/proc/self/cgroup");
  std::string line;
  while (std::getline(cg, line))
    if (line.rfind("0::", 0) == 0) return mount + line.substr(3);
  return "";
}

class CgroupAttachTest : public bpfemu::testsupport::PrivateBpffsTest {
 protected:
  void SetUp() override {
    PrivateBpffsTest::SetUp();
    const std::string dir = own_cgroup_dir();
    if (dir.empty()) GTEST_SKIP() << "no cgroup v2 mount here";
    cg_ = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (cg_ < 0) GTEST_SKIP() << dir << ": " << strerror(errno);
  }
  void TearDown() override {
    if (cg_ >= 0) close(cg_);
    PrivateBpffsTest::TearDown();
  }
  int load(uint32_t type, uint32_t expected = 0) {
    const std::vector<bpf_insn> insns = {{BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 1},
                                         {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}};
    union bpf_attr a {};
    a.prog_type = type;
    a.expected_attach_type = expected;
    a.insns = reinterpret_cast<uint64_t>(insns.data());
    a.insn_cnt = static_cast<uint32_t>(insns.size());
    a.license = reinterpret_cast<uint64_t>("GPL");
    return static_cast<int>(b_.bpf(BPF_PROG_LOAD, &a, sizeof(a)));
  }
  uint32_t id_of(int prog) {
    bpf_prog_info info{};
    uint32_t len = sizeof(info);
    EXPECT_EQ(b_.obj_get_info_by_fd(prog, &info, &len), 0);
    return info.id;
  }
  long attach(int prog, uint32_t type, uint32_t flags, int replace = 0) {
    union bpf_attr a {};
    a.target_fd = static_cast<uint32_t>(cg_);
    a.attach_bpf_fd = static_cast<uint32_t>(prog);
    a.attach_type = type;
    a.attach_flags = flags;
    a.replace_bpf_fd = static_cast<uint32_t>(replace);
    return b_.bpf(BPF_PROG_ATTACH, &a, sizeof(a));
  }
  long detach(int prog, uint32_t type) {
    union bpf_attr a {};
    a.target_fd = static_cast<uint32_t>(cg_);
    a.attach_bpf_fd = static_cast<uint32_t>(prog);
    a.attach_type = type;
    return b_.bpf(BPF_PROG_DETACH, &a, sizeof(a));
  }
  // The programs attached (ids), with the list's flags in *flags.
  std::vector<uint32_t> query(uint32_t type, uint32_t* flags = nullptr, long* ret = nullptr, uint32_t cap = 16) {
    std::vector<uint32_t> ids(cap);
    union bpf_attr a {};
    a.query.target_fd = static_cast<uint32_t>(cg_);
    a.query.attach_type = type;
    a.query.prog_ids = reinterpret_cast<uint64_t>(ids.data());
    a.query.prog_cnt = cap;
    const long r = b_.bpf(BPF_PROG_QUERY, &a, sizeof(a));
    if (ret != nullptr) *ret = r;
    else
      EXPECT_EQ(r, 0) << strerror(errno);
    if (flags != nullptr) *flags = a.query.attach_flags;
    ids.resize(std::min(a.query.prog_cnt, cap));
    return ids;
  }

  EmuBackend b_;
  int cg_ = -1;
};

TEST_F(CgroupAttachTest, AttachQueryDetachInEachFlagMode) {
  const int p1 = load(BPF_PROG_TYPE_CGROUP_SKB);
  const int p2 = load(BPF_PROG_TYPE_CGROUP_SKB);
  ASSERT_GE(p1, 0);
  ASSERT_GE(p2, 0);
  const uint32_t in = BPF_CGROUP_INET_INGRESS;
  EXPECT_TRUE(query(in).empty());

  // No flags: one program, which the next attach replaces.
  ASSERT_EQ(attach(p1, in, 0), 0);
  ASSERT_EQ(attach(p2, in, 0), 0);
  uint32_t flags = 99;
  EXPECT_EQ(query(in, &flags), std::vector<uint32_t>{id_of(p2)});
  EXPECT_EQ(flags, 0u);
  EXPECT_EQ(attach(p1, in, BPF_F_ALLOW_MULTI), -EPERM) << "the list was attached without flags";
  ASSERT_EQ(detach(p2, in), 0);
  EXPECT_EQ(detach(p2, in), -ENOENT);

  // Multi: both, in attach order; a program at most once; replace in place.
  ASSERT_EQ(attach(p1, in, BPF_F_ALLOW_MULTI), 0);
  ASSERT_EQ(attach(p2, in, BPF_F_ALLOW_MULTI), 0);
  EXPECT_EQ(attach(p1, in, BPF_F_ALLOW_MULTI), -EINVAL);
  EXPECT_EQ(query(in, &flags), (std::vector<uint32_t>{id_of(p1), id_of(p2)}));
  EXPECT_EQ(flags, static_cast<uint32_t>(BPF_F_ALLOW_MULTI));
  const int p3 = load(BPF_PROG_TYPE_CGROUP_SKB);
  ASSERT_GE(p3, 0);
  ASSERT_EQ(attach(p3, in, BPF_F_ALLOW_MULTI | BPF_F_REPLACE, p1), 0);
  EXPECT_EQ(query(in), (std::vector<uint32_t>{id_of(p3), id_of(p2)}));

  // A short array: ENOSPC, with the count filled in.
  long r = 0;
  std::vector<uint32_t> one = query(in, nullptr, &r, 1);
  EXPECT_EQ(r, -ENOSPC);
  EXPECT_EQ(one, std::vector<uint32_t>{id_of(p3)});

  EXPECT_EQ(detach(0, in), -EINVAL) << "a multi list needs the program";
  ASSERT_EQ(detach(p3, in), 0);
  ASSERT_EQ(detach(p2, in), 0);
  EXPECT_TRUE(query(in).empty());
  for (int fd : {p1, p2, p3}) ASSERT_EQ(close(fd), 0);
}

TEST_F(CgroupAttachTest, WrongProgramsAndTargetsGetTheKernelsErrors) {
  const int skb = load(BPF_PROG_TYPE_CGROUP_SKB);
  const int sock = load(BPF_PROG_TYPE_CGROUP_SOCK, BPF_CGROUP_INET_SOCK_CREATE);
  const int xdp = load(BPF_PROG_TYPE_XDP);
  ASSERT_GE(skb, 0);
  ASSERT_GE(sock, 0);
  ASSERT_GE(xdp, 0);
  EXPECT_EQ(attach(xdp, BPF_CGROUP_INET_INGRESS, 0), -EINVAL);
  EXPECT_EQ(attach(sock, BPF_CGROUP_INET_SOCK_RELEASE, 0), -EINVAL) << "loaded for sock_create";
  EXPECT_EQ(attach(skb, 9999, 0), -EINVAL);
  EXPECT_EQ(attach(skb, BPF_CGROUP_INET_INGRESS, BPF_F_ALLOW_MULTI | BPF_F_ALLOW_OVERRIDE), -EINVAL);
  union bpf_attr a {};
  a.target_fd = static_cast<uint32_t>(skb);  // no cgroup
  a.attach_bpf_fd = static_cast<uint32_t>(skb);
  a.attach_type = BPF_CGROUP_INET_INGRESS;
  EXPECT_EQ(b_.bpf(BPF_PROG_ATTACH, &a, sizeof(a)), -EBADF);
  ASSERT_EQ(attach(sock, BPF_CGROUP_INET_SOCK_CREATE, 0), 0);
  EXPECT_EQ(query(BPF_CGROUP_INET_SOCK_CREATE), std::vector<uint32_t>{id_of(sock)});
  ASSERT_EQ(detach(sock, BPF_CGROUP_INET_SOCK_CREATE), 0);
}

TEST_F(CgroupAttachTest, SixtyFourProgramsAtMost) {
  std::vector<int> progs;
  for (int i = 0; i < 65; ++i) {
    progs.push_back(load(BPF_PROG_TYPE_CGROUP_SKB));
    ASSERT_GE(progs.back(), 0);
  }
  for (int i = 0; i < 64; ++i) ASSERT_EQ(attach(progs[i], BPF_CGROUP_INET_EGRESS, BPF_F_ALLOW_MULTI), 0) << i;
  EXPECT_EQ(attach(progs[64], BPF_CGROUP_INET_EGRESS, BPF_F_ALLOW_MULTI), -E2BIG);
  EXPECT_EQ(query(BPF_CGROUP_INET_EGRESS, nullptr, nullptr, 80).size(), 64u);
  for (int i = 0; i < 64; ++i) ASSERT_EQ(detach(progs[i], BPF_CGROUP_INET_EGRESS), 0) << i;
  for (int fd : progs) ASSERT_EQ(close(fd), 0);
}

TEST_F(CgroupAttachTest, LinksJoinTheListAndLeaveItWhenClosed) {
  const int p1 = load(BPF_PROG_TYPE_CGROUP_SKB);
  const int p2 = load(BPF_PROG_TYPE_CGROUP_SKB);
  ASSERT_GE(p1, 0);
  ASSERT_GE(p2, 0);
  const uint32_t in = BPF_CGROUP_INET_INGRESS;
  union bpf_attr a {};
  a.link_create.prog_fd = static_cast<uint32_t>(p1);
  a.link_create.target_fd = static_cast<uint32_t>(cg_);
  a.link_create.attach_type = in;
  const int link = static_cast<int>(b_.bpf(BPF_LINK_CREATE, &a, sizeof(a)));
  ASSERT_GE(link, 0) << strerror(errno);
  uint32_t flags = 0;
  EXPECT_EQ(query(in, &flags), std::vector<uint32_t>{id_of(p1)});
  EXPECT_EQ(flags, static_cast<uint32_t>(BPF_F_ALLOW_MULTI)) << "links make a multi list";
  EXPECT_EQ(attach(p2, in, 0), -EPERM);
  EXPECT_EQ(detach(p1, in), -ENOENT) << "a linked program is detached through its link";

  bpf_link_info info{};
  uint32_t len = sizeof(info);
  ASSERT_EQ(b_.obj_get_info_by_fd(link, &info, &len), 0);
  struct stat st {};
  ASSERT_EQ(fstat(cg_, &st), 0);
  EXPECT_EQ(info.type, static_cast<uint32_t>(BPF_LINK_TYPE_CGROUP));
  EXPECT_EQ(info.cgroup.cgroup_id, static_cast<uint64_t>(st.st_ino));
  EXPECT_EQ(info.cgroup.attach_type, in);

  union bpf_attr u {};
  u.link_update.link_fd = static_cast<uint32_t>(link);
  u.link_update.new_prog_fd = static_cast<uint32_t>(p2);
  ASSERT_EQ(b_.bpf(BPF_LINK_UPDATE, &u, sizeof(u)), 0);
  EXPECT_EQ(query(in), std::vector<uint32_t>{id_of(p2)});

  // Another process sees the same attachment (the state is the store's).
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    std::vector<uint32_t> ids(4);
    union bpf_attr q {};
    q.query.target_fd = static_cast<uint32_t>(cg_);
    q.query.attach_type = in;
    q.query.prog_ids = reinterpret_cast<uint64_t>(ids.data());
    q.query.prog_cnt = 4;
    _exit(b_.bpf(BPF_PROG_QUERY, &q, sizeof(q)) == 0 && q.query.prog_cnt == 1 ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);

  ASSERT_EQ(close(link), 0);
  EXPECT_TRUE(query(in).empty()) << "closing a link's last fd detaches it";
  ASSERT_EQ(close(p1), 0);
  ASSERT_EQ(close(p2), 0);
}

}  // namespace

namespace {

// tcx on the loopback device: programs and links in one ordered list.
class TcxAttachTest : public bpfemu::testsupport::PrivateBpffsTest {};

TEST_F(TcxAttachTest, ProgramsAndLinksInOrder) {
  EmuBackend b;
  auto load = [&b]() {
    const std::vector<bpf_insn> insns = {{BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0},
                                         {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}};
    union bpf_attr a {};
    a.prog_type = BPF_PROG_TYPE_SCHED_CLS;
    a.insns = reinterpret_cast<uint64_t>(insns.data());
    a.insn_cnt = static_cast<uint32_t>(insns.size());
    a.license = reinterpret_cast<uint64_t>("GPL");
    return static_cast<int>(b.bpf(BPF_PROG_LOAD, &a, sizeof(a)));
  };
  constexpr uint32_t kIngress = 46, kBefore = 1U << 3;  // BPF_TCX_INGRESS, BPF_F_BEFORE
  const int p1 = load(), p2 = load();
  ASSERT_GE(p1, 0);
  ASSERT_GE(p2, 0);
  union bpf_attr a {};
  a.target_fd = 1;  // lo
  a.attach_bpf_fd = static_cast<uint32_t>(p1);
  a.attach_type = kIngress;
  ASSERT_EQ(b.bpf(BPF_PROG_ATTACH, &a, sizeof(a)), 0);
  EXPECT_EQ(b.bpf(BPF_PROG_ATTACH, &a, sizeof(a)), -EEXIST);
  union bpf_attr l {};
  l.link_create.prog_fd = static_cast<uint32_t>(p2);
  l.link_create.target_ifindex = 1;
  l.link_create.attach_type = kIngress;
  l.link_create.flags = kBefore;
  const int link = static_cast<int>(b.bpf(BPF_LINK_CREATE, &l, sizeof(l)));
  ASSERT_GE(link, 0);
  uint32_t ids[4] = {}, links[4] = {};
  uint8_t q[64] = {};  // bpf_attr.query as 6.6+ lays it out
  uint32_t w[4] = {1, kIngress, 0, 0};
  memcpy(q, w, sizeof(w));
  const uint64_t pids = reinterpret_cast<uint64_t>(ids), lids = reinterpret_cast<uint64_t>(links);
  const uint32_t cap = 4;
  memcpy(q + 16, &pids, 8);
  memcpy(q + 24, &cap, 4);
  memcpy(q + 40, &lids, 8);
  ASSERT_EQ(b.bpf(BPF_PROG_QUERY, q, sizeof(q)), 0);
  uint32_t count = 0;
  memcpy(&count, q + 24, 4);
  ASSERT_EQ(count, 2u);
  bpf_link_info info{};
  uint32_t len = sizeof(info);
  ASSERT_EQ(b.obj_get_info_by_fd(link, &info, &len), 0);
  EXPECT_EQ(links[0], info.id) << "the link went before the program";
  EXPECT_EQ(links[1], 0u);
  a.attach_bpf_fd = static_cast<uint32_t>(p2);
  EXPECT_EQ(b.bpf(BPF_PROG_DETACH, &a, sizeof(a)), -EBUSY) << "a linked program leaves through its link";
  ASSERT_EQ(close(link), 0);
  a.attach_bpf_fd = static_cast<uint32_t>(p1);
  ASSERT_EQ(b.bpf(BPF_PROG_DETACH, &a, sizeof(a)), 0);
  EXPECT_EQ(b.bpf(BPF_PROG_DETACH, &a, sizeof(a)), -ENOENT);
  ASSERT_EQ(close(p1), 0);
  ASSERT_EQ(close(p2), 0);
}

}  // namespace
