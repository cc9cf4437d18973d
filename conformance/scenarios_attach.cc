// Programs attached to cgroups: BPF_PROG_ATTACH / BPF_PROG_DETACH /
// BPF_PROG_QUERY with each flag mode, the rules between a parent and a child
// cgroup, the kernel's answers for bad input, and cgroup links (create, info,
// update, detach, and how they mix with BPF_PROG_ATTACH). Each run makes its
// own cgroups under the cgroup v2 mount, so nothing depends on what else is
// attached on the machine; program ids are recorded as the name of the
// program they belong to, cgroup ids as "is this cgroup's inode".
#include <fcntl.h>
#include <linux/bpf.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "conformance/scenario.h"
#include "emu/bpf_syscall.h"

namespace bpfemu::conformance {
namespace {

constexpr uint32_t kReplace = 1U << 2;
constexpr uint32_t kBefore = 1U << 3;
constexpr uint32_t kAfter = 1U << 4;
constexpr uint32_t kId = 1U << 5;
constexpr uint32_t kPreorder = 1U << 6;
constexpr uint32_t kLinkFlag = 1U << 13;

// The cgroup v2 mount: the host's, or one made for the run (the VM has none).
std::string cgroup2_root() {
  std::ifstream in("/proc/self/mounts");
  std::string dev, dir, type;
  std::string rest;
  while (in >> dev >> dir >> type) {
    std::getline(in, rest);
    if (type == "cgroup2") return dir;
  }
  const std::string mine = "/tmp/bpfemu_cgroup2";
  mkdir("/tmp", 01777);
  mkdir(mine.c_str(), 0755);
  if (mount("cgroup2", mine.c_str(), "cgroup2", 0, nullptr) == 0) return mine;
  return "";
}

// A fresh cgroup directory P and its child P/c, removed at the end.
struct Cgroups {
  std::string parent, child;
  int pfd = -1, cfd = -1;
  std::vector<std::string> extra;
  explicit Cgroups(const std::string& tag) {
    static int n = 0;
    const std::string root = cgroup2_root();
    if (root.empty()) return;
    parent = root + "/bpfemu_conf_" + std::to_string(getpid()) + "_" + tag + "_" + std::to_string(n++);
    child = parent + "/c";
    if (mkdir(parent.c_str(), 0755) != 0 || mkdir(child.c_str(), 0755) != 0) return;
    pfd = open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    cfd = open(child.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  }
  int make(const std::string& leaf) {
    const std::string path = parent + "/" + leaf;
    if (mkdir(path.c_str(), 0755) != 0) return -1;
    extra.push_back(path);
    return open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  }
  bool ok() const { return pfd >= 0 && cfd >= 0; }
  ~Cgroups() {
    if (pfd >= 0) close(pfd);
    if (cfd >= 0) close(cfd);
    for (const std::string& e : extra) rmdir(e.c_str());
    if (!child.empty()) rmdir(child.c_str());
    if (!parent.empty()) rmdir(parent.c_str());
  }
};

uint64_t inode_of(int fd) {
  struct stat st {};
  return fstat(fd, &st) == 0 ? st.st_ino : 0;
}

// The attr of BPF_PROG_ATTACH / BPF_PROG_DETACH as 6.18 lays it out.
struct AttachAttr {
  uint32_t target_fd, attach_bpf_fd, attach_type, attach_flags, replace_bpf_fd, relative;
  uint64_t expected_revision;
  uint8_t rest[200 - 32];
};

// The attr of BPF_PROG_QUERY.
struct QueryAttr {
  uint32_t target_fd, attach_type, query_flags, attach_flags;
  uint64_t prog_ids;
  uint32_t prog_cnt, pad;
  uint64_t prog_attach_flags, link_ids, link_attach_flags, revision;
  uint8_t rest[200 - 64];
};

struct LinkCreateAttr {
  uint32_t prog_fd, target_fd, attach_type, flags, relative, pad;
  uint64_t expected_revision;
  uint8_t rest[200 - 32];
};

// Loads a program of `type` (for attach type `expected`) that returns `ret`,
// and remembers its id: fd -> id in *ids, id -> name in *names (recordings
// name programs, never their ids, which differ between the two sides).
int load_named(Recorder& r, uint32_t type, uint32_t expected, int32_t ret, const std::string& name,
               std::map<uint32_t, std::string>* names, std::map<int, uint32_t>* ids) {
  const std::vector<bpf_insn> insns = {{BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, ret},
                                       {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}};
  const int fd = r.load_program(type, insns, "load " + name, 0, expected);
  if (fd >= 0) {
    bpf_prog_info info{};
    uint32_t len = sizeof(info);
    const int saved = errno;
    if (r.backend().obj_get_info_by_fd(fd, &info, &len) == 0) {
      (*names)[info.id] = name;
      (*ids)[fd] = info.id;
    }
    errno = saved;
  }
  return fd;
}

class Attach {
 public:
  explicit Attach(Recorder& r) : r_(r) {}

  int load(uint32_t type, uint32_t expected, const std::string& name) {
    return load_named(r_, type, expected, 1, name, &names_, &ids_);
  }
  uint32_t id_of(int fd) { return ids_[fd]; }

  long attach(int target, int prog, uint32_t type, uint32_t flags, const std::string& label, int replace = 0,
              uint32_t relative = 0, uint64_t revision = 0) {
    AttachAttr a{};
    a.target_fd = static_cast<uint32_t>(target);
    a.attach_bpf_fd = static_cast<uint32_t>(prog);
    a.attach_type = type;
    a.attach_flags = flags;
    a.replace_bpf_fd = static_cast<uint32_t>(replace);
    a.relative = relative;
    a.expected_revision = revision;
    return r_.raw("attach: " + label, BPF_PROG_ATTACH, &a, sizeof(a));
  }
  long detach(int target, int prog, uint32_t type, const std::string& label, uint32_t flags = 0,
              uint64_t revision = 0) {
    AttachAttr a{};
    a.target_fd = static_cast<uint32_t>(target);
    a.attach_bpf_fd = static_cast<uint32_t>(prog);
    a.attach_type = type;
    a.attach_flags = flags;
    a.expected_revision = revision;
    return r_.raw("detach: " + label, BPF_PROG_DETACH, &a, sizeof(a));
  }
  // Queries and notes the answer: flags, count, revision, the programs by name.
  long query(int target, uint32_t type, const std::string& label, uint32_t qflags = 0, uint32_t cap = 80,
             bool with_flags = false) {
    std::vector<uint32_t> ids(cap + 1, 0xAAAAAAAAu);
    std::vector<uint32_t> flags(cap + 1, 0xAAAAAAAAu);
    QueryAttr q{};
    q.target_fd = static_cast<uint32_t>(target);
    q.attach_type = type;
    q.query_flags = qflags;
    q.attach_flags = 0xAAAAAAAAu;
    q.prog_ids = cap != 0 ? reinterpret_cast<uintptr_t>(ids.data()) : 0;
    q.prog_cnt = cap;
    if (with_flags) q.prog_attach_flags = reinterpret_cast<uintptr_t>(flags.data());
    const long r = r_.raw("query: " + label, BPF_PROG_QUERY, &q, sizeof(q));
    r_.note(label + ": attach_flags", q.attach_flags);
    r_.note(label + ": prog_cnt", q.prog_cnt);
    r_.note(label + ": revision", static_cast<long>(q.revision));
    std::string seen;
    for (uint32_t i = 0; i <= cap && i < 80; ++i) {
      if (ids[i] == 0xAAAAAAAAu) break;
      seen += (i ? "," : "") + name_of(ids[i]);
    }
    r_.note(label + ": programs " + seen, 0);
    if (with_flags) {
      std::string f;
      for (uint32_t i = 0; i <= cap && i < 80 && flags[i] != 0xAAAAAAAAu; ++i) f += std::to_string(flags[i]) + ",";
      r_.note(label + ": prog_attach_flags " + f, 0);
    }
    return r;
  }
  uint64_t revision(int target, uint32_t type) {
    QueryAttr q{};
    q.target_fd = static_cast<uint32_t>(target);
    q.attach_type = type;
    const int saved = errno;
    r_.backend().bpf(BPF_PROG_QUERY, &q, sizeof(q));
    errno = saved;
    return q.revision;
  }
  long link_create(int prog, int target, uint32_t type, uint32_t flags, const std::string& label,
                   uint32_t relative = 0, uint64_t revision = 0) {
    LinkCreateAttr a{};
    a.prog_fd = static_cast<uint32_t>(prog);
    a.target_fd = static_cast<uint32_t>(target);
    a.attach_type = type;
    a.flags = flags;
    a.relative = relative;
    a.expected_revision = revision;
    return r_.raw("link_create: " + label, BPF_LINK_CREATE, &a, sizeof(a), true);
  }
  void link_info(int link, int cgroup_fd, const std::string& label) {
    bpf_link_info info{};
    uint32_t len = sizeof(info);
    r_.note(label + ": link info", r_.backend().obj_get_info_by_fd(link, &info, &len));
    r_.note(label + ": type", info.type);
    r_.note(label + ": program " + name_of(info.prog_id), 0);
    r_.note(label + ": cgroup_id is the cgroup's inode", info.cgroup.cgroup_id == inode_of(cgroup_fd));
    r_.note(label + ": cgroup_id is 0", info.cgroup.cgroup_id == 0);
    r_.note(label + ": attach_type", info.cgroup.attach_type);
    r_.fdinfo_line(link, "link_type");
    r_.fdinfo_line(link, "attach_type");
  }

 private:
  std::string name_of(uint32_t id) {
    auto it = names_.find(id);
    return it != names_.end() ? it->second : (id == 0 ? "0" : "?");
  }
  Recorder& r_;
  std::map<uint32_t, std::string> names_;
  std::map<int, uint32_t> ids_;
};

}  // namespace

// Bad input, the three flag modes on one cgroup, and the parent/child rules.
SCENARIO("COMMON", "attach", "cgroup_prog_attach_modes") {
  Attach at(r);
  Cgroups cg("modes");
  r.note("cgroups made", cg.ok());
  if (!cg.ok()) return;
  const uint32_t in = BPF_CGROUP_INET_INGRESS;
  const int s1 = at.load(BPF_PROG_TYPE_CGROUP_SKB, 0, "skb1");
  const int s2 = at.load(BPF_PROG_TYPE_CGROUP_SKB, 0, "skb2");
  const int s3 = at.load(BPF_PROG_TYPE_CGROUP_SKB, BPF_CGROUP_INET_EGRESS, "skb3 (egress)");
  const int sock = at.load(BPF_PROG_TYPE_CGROUP_SOCK, BPF_CGROUP_INET_SOCK_CREATE, "sock_create");
  const int xdp = at.load(BPF_PROG_TYPE_XDP, 0, "xdp");
  const int map = r.create(BPF_MAP_TYPE_ARRAY, 4, 4, 1);
  if (s1 < 0 || s2 < 0 || s3 < 0 || sock < 0 || xdp < 0 || map < 0) return;
  const int file = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);

  at.query(cg.pfd, in, "nothing attached");
  at.query(cg.pfd, in, "effective, nothing attached", BPF_F_QUERY_EFFECTIVE);
  at.query(cg.pfd, 9999, "unknown attach type");
  at.query(cg.pfd, BPF_XDP, "BPF_XDP");
  at.query(cg.pfd, in, "unknown query flag", 2);
  at.query(file, in, "a file, not a cgroup");
  at.query(4000, in, "a closed fd");

  at.attach(cg.pfd, xdp, in, 0, "an XDP program");
  at.attach(cg.pfd, map, in, 0, "a map fd");
  at.attach(cg.pfd, 4000, in, 0, "a closed program fd");
  at.attach(cg.pfd, sock, BPF_CGROUP_INET_SOCK_RELEASE, 0, "sock program, another sock hook");
  at.attach(cg.pfd, sock, in, 0, "sock program, ingress");
  at.attach(cg.pfd, s1, 9999, 0, "unknown attach type");
  at.attach(cg.pfd, s1, BPF_XDP, 0, "BPF_XDP attach type");
  at.attach(file, s1, in, 0, "a file, not a cgroup");
  at.attach(4000, s1, in, 0, "a closed cgroup fd");
  at.attach(cg.pfd, s1, in, BPF_F_ALLOW_OVERRIDE | BPF_F_ALLOW_MULTI, "override and multi");
  at.attach(cg.pfd, s1, in, kReplace, "replace without multi", s2);
  at.attach(cg.pfd, s1, in, 1U << 10, "unknown flag");
  at.attach(cg.pfd, s1, in, kLinkFlag, "BPF_F_LINK");
  at.attach(cg.pfd, s3, in, 0, "egress-loaded skb program on ingress");
  at.detach(cg.pfd, s3, in, "skb3 from ingress");

  // No flags: one program, replaced by the next attach with no flags.
  at.attach(cg.pfd, s1, in, 0, "skb1, no flags");
  at.query(cg.pfd, in, "skb1 attached");
  at.attach(cg.pfd, s2, in, 0, "skb2 over skb1, no flags");
  at.query(cg.pfd, in, "skb2 replaced skb1");
  at.attach(cg.pfd, s1, in, BPF_F_ALLOW_OVERRIDE, "skb1 with override on a no-flags list");
  at.attach(cg.pfd, s1, in, BPF_F_ALLOW_MULTI, "skb1 with multi on a no-flags list");
  at.attach(cg.cfd, s1, in, 0, "child, under a no-override parent");
  at.attach(cg.cfd, s1, in, BPF_F_ALLOW_MULTI, "child multi, under a no-override parent");
  at.query(cg.cfd, in, "child effective", BPF_F_QUERY_EFFECTIVE);
  at.detach(cg.pfd, s3, in, "with another program's fd (no flags)");
  at.query(cg.pfd, in, "after detach");
  at.detach(cg.pfd, s1, in, "nothing attached");
  at.detach(cg.pfd, 0, in, "nothing attached, fd 0");
  at.detach(cg.pfd, s1, in, "unknown flag", 1);
  at.detach(cg.pfd, s1, 9999, "unknown attach type");
  at.detach(file, s1, in, "a file");

  // Override: the child may put its own program in place of the parent's.
  at.attach(cg.pfd, s1, in, BPF_F_ALLOW_OVERRIDE, "parent skb1, override");
  at.attach(cg.cfd, s2, in, 0, "child skb2, no flags");
  at.attach(cg.cfd, s3, in, BPF_F_ALLOW_MULTI, "child skb3, multi over no flags");
  at.query(cg.cfd, in, "child");
  at.query(cg.cfd, in, "child effective", BPF_F_QUERY_EFFECTIVE);
  at.query(cg.pfd, in, "parent effective", BPF_F_QUERY_EFFECTIVE);
  at.query(cg.cfd, in, "effective with prog_attach_flags", BPF_F_QUERY_EFFECTIVE, 8, true);
  at.query(cg.pfd, in, "parent with prog_attach_flags", 0, 8, true);
  at.detach(cg.cfd, 0, in, "child, fd 0");
  at.query(cg.cfd, in, "child effective after its detach", BPF_F_QUERY_EFFECTIVE);
  at.detach(cg.pfd, s1, in, "parent skb1");

  // Multi: a list, in attach order; a program once; replace in place.
  at.attach(cg.pfd, s1, in, BPF_F_ALLOW_MULTI, "multi skb1");
  at.attach(cg.pfd, s2, in, BPF_F_ALLOW_MULTI, "multi skb2");
  at.attach(cg.pfd, s1, in, BPF_F_ALLOW_MULTI, "multi skb1 again");
  at.attach(cg.pfd, s2, in, 0, "no flags on a multi list");
  at.attach(cg.pfd, s3, in, BPF_F_ALLOW_MULTI | kReplace, "replace skb1 by skb3", s1);
  at.query(cg.pfd, in, "after replace");
  at.attach(cg.pfd, s1, in, BPF_F_ALLOW_MULTI | kReplace, "replace skb1, not attached", s1);
  at.attach(cg.pfd, s1, in, BPF_F_ALLOW_MULTI | kReplace, "replace with a bad fd", 4000);
  at.attach(cg.pfd, s1, in, BPF_F_ALLOW_MULTI | kReplace, "replace with a sock program", sock);
  at.attach(cg.pfd, s3, in, BPF_F_ALLOW_MULTI | kReplace, "replace skb3 by itself", s3);
  at.attach(cg.cfd, s1, in, BPF_F_ALLOW_MULTI, "child multi skb1");
  at.attach(cg.cfd, s2, in, BPF_F_ALLOW_OVERRIDE, "child override on a multi list");
  at.query(cg.cfd, in, "child");
  at.query(cg.cfd, in, "child effective", BPF_F_QUERY_EFFECTIVE);
  at.query(cg.pfd, in, "parent, room for 1", 0, 1);
  at.query(cg.pfd, in, "parent, room for 0", 0, 0);
  at.query(cg.cfd, in, "child effective, room for 2", BPF_F_QUERY_EFFECTIVE, 2);
  at.query(cg.pfd, in, "parent with prog_attach_flags", 0, 8, true);
  at.query(cg.pfd, BPF_CGROUP_INET_EGRESS, "parent egress");
  at.detach(cg.pfd, 0, in, "multi, fd 0");
  at.detach(cg.pfd, s1, in, "multi, skb1 not attached here");
  at.detach(cg.pfd, sock, in, "multi, a sock program");
  at.detach(cg.pfd, s3, in, "multi skb3");
  at.detach(cg.pfd, s2, in, "multi skb2");
  at.query(cg.pfd, in, "parent emptied");
  at.attach(cg.pfd, s1, in, 0, "no flags once emptied");
  at.query(cg.cfd, in, "child effective, parent no flags", BPF_F_QUERY_EFFECTIVE);
  at.detach(cg.pfd, s1, in, "parent skb1");
  at.detach(cg.cfd, s1, in, "child skb1");
  at.query(cg.cfd, in, "child emptied");

  // Another program type on its own hook.
  at.attach(cg.pfd, sock, BPF_CGROUP_INET_SOCK_CREATE, 0, "sock_create");
  at.query(cg.pfd, BPF_CGROUP_INET_SOCK_CREATE, "sock_create");
  at.detach(cg.pfd, sock, BPF_CGROUP_INET_SOCK_CREATE, "sock_create");
  if (file >= 0) close(file);
}

// At most 64 programs per cgroup and hook (BPF_CGROUP_MAX_PROGS).
SCENARIO("COMMON", "attach", "cgroup_max_progs") {
  Attach at(r);
  Cgroups cg("max");
  if (!cg.ok()) return;
  std::vector<int> progs;
  for (int i = 0; i < 66; ++i) {
    const int fd = at.load(BPF_PROG_TYPE_CGROUP_SKB, 0, "p" + std::to_string(i));
    if (fd < 0) return;
    progs.push_back(fd);
  }
  for (int i = 0; i < 65; ++i)
    at.attach(cg.pfd, progs[i], BPF_CGROUP_INET_EGRESS, BPF_F_ALLOW_MULTI, "p" + std::to_string(i));
  at.attach(cg.pfd, progs[65], BPF_CGROUP_INET_EGRESS, BPF_F_ALLOW_MULTI | kReplace, "replace p0 when full",
            progs[0]);
  at.query(cg.pfd, BPF_CGROUP_INET_EGRESS, "full", 0, 70);
  at.query(cg.cfd, BPF_CGROUP_INET_EGRESS, "child effective", BPF_F_QUERY_EFFECTIVE, 70);
  at.detach(cg.pfd, progs[3], BPF_CGROUP_INET_EGRESS, "p3");
  at.attach(cg.pfd, progs[65], BPF_CGROUP_INET_EGRESS, BPF_F_ALLOW_MULTI, "p65 after a detach");
  for (int i = 0; i < 66; ++i)
    if (i != 3 && i != 64) at.detach(cg.pfd, progs[i], BPF_CGROUP_INET_EGRESS, "p" + std::to_string(i));
  at.query(cg.pfd, BPF_CGROUP_INET_EGRESS, "emptied");
}

// Positions (BPF_F_BEFORE, BPF_F_AFTER, BPF_F_ID), BPF_F_PREORDER and
// revisions: 6.16's mprog API for cgroups. On 6.1 each is refused.
SCENARIO("COMMON", "attach", "cgroup_order_and_revision") {
  Attach at(r);
  Cgroups cg("order");
  if (!cg.ok()) return;
  const uint32_t in = BPF_CGROUP_INET_INGRESS;
  const uint32_t m = BPF_F_ALLOW_MULTI;
  const int a = at.load(BPF_PROG_TYPE_CGROUP_SKB, 0, "a");
  const int b = at.load(BPF_PROG_TYPE_CGROUP_SKB, 0, "b");
  const int c = at.load(BPF_PROG_TYPE_CGROUP_SKB, 0, "c");
  const int d = at.load(BPF_PROG_TYPE_CGROUP_SKB, 0, "d");
  const int e = at.load(BPF_PROG_TYPE_CGROUP_SKB, 0, "e");
  const int sock = at.load(BPF_PROG_TYPE_CGROUP_SOCK, BPF_CGROUP_INET_SOCK_CREATE, "sock");
  if (a < 0 || b < 0 || c < 0 || d < 0 || e < 0 || sock < 0) return;
  at.query(cg.pfd, in, "fresh");
  at.attach(cg.pfd, a, in, m | kBefore | kAfter, "a, before and after on an empty list");
  at.query(cg.pfd, in, "a");
  at.detach(cg.pfd, a, in, "a");
  at.attach(cg.pfd, a, in, m | kLinkFlag | kBefore, "BPF_F_LINK on a program", 0, static_cast<uint32_t>(a));
  at.attach(cg.pfd, a, in, m, "a");
  at.attach(cg.pfd, b, in, m | kBefore, "b before all");
  at.attach(cg.pfd, c, in, m | kAfter, "c after all");
  at.query(cg.pfd, in, "b a c");
  at.attach(cg.pfd, d, in, m | kBefore, "d before a (fd)", 0, static_cast<uint32_t>(a));
  at.query(cg.pfd, in, "b d a c");
  at.detach(cg.pfd, d, in, "d");
  at.attach(cg.pfd, d, in, m | kAfter | kId, "d after a (id)", 0, at.id_of(a));
  at.query(cg.pfd, in, "b a d c");
  at.detach(cg.pfd, d, in, "d again");
  at.attach(cg.pfd, d, in, m | kBefore | kAfter, "before and after");
  at.attach(cg.pfd, d, in, m, "relative fd without before/after", 0, static_cast<uint32_t>(a));
  at.attach(cg.pfd, d, in, m | kId, "BPF_F_ID alone", 0, at.id_of(a));
  at.attach(cg.pfd, d, in, m | kBefore, "relative to one not attached", 0, static_cast<uint32_t>(e));
  at.attach(cg.pfd, d, in, m | kBefore | kId, "relative to id 0", 0, 0);
  at.attach(cg.pfd, d, in, m | kBefore | kId, "relative to no such id", 0, 0x7ffffff0u);
  at.attach(cg.pfd, d, in, m | kBefore, "relative to a sock program", 0, static_cast<uint32_t>(sock));
  at.attach(cg.pfd, d, in, m | kBefore, "relative to a closed fd", 0, 4000);
  at.attach(cg.pfd, d, in, m | kReplace | kBefore, "replace and before", a);
  at.attach(cg.pfd, d, in, m | kPreorder, "d preorder");
  at.attach(cg.pfd, e, in, m | kBefore | kPreorder, "e preorder before d", 0, static_cast<uint32_t>(d));
  at.attach(cg.pfd, e, in, m | kBefore, "e before preorder d, not preorder", 0, static_cast<uint32_t>(d));
  at.query(cg.pfd, in, "with preorder");
  at.query(cg.pfd, in, "with preorder, prog_attach_flags", 0, 8, true);
  at.attach(cg.cfd, c, in, m | kPreorder, "child c preorder");
  at.attach(cg.cfd, a, in, m, "child a");
  at.query(cg.cfd, in, "child effective with preorder", BPF_F_QUERY_EFFECTIVE);
  at.detach(cg.cfd, c, in, "child c");
  at.detach(cg.cfd, a, in, "child a");
  // Revisions: each change counts; a stale expectation is refused.
  const uint64_t rev = at.revision(cg.pfd, in);
  at.detach(cg.pfd, e, in, "e with an old revision", 0, rev - 1);
  at.detach(cg.pfd, e, in, "e with the revision", 0, rev);
  at.query(cg.pfd, in, "after detach at revision");
  at.attach(cg.pfd, e, in, m, "e with an old revision", 0, 0, rev);
  at.attach(cg.pfd, e, in, m, "e with the revision", 0, 0, rev + 1);
  at.attach(cg.cfd, e, in, m, "child e with a revision", 0, 0, 1);
  at.query(cg.cfd, in, "child");
  for (int p : {a, b, c, d, e}) at.detach(cg.pfd, p, in, "cleanup");
  at.detach(cg.cfd, e, in, "child cleanup");
  at.query(cg.pfd, in, "emptied");
}

// Cgroup links: BPF_LINK_CREATE with a cgroup attach type.
SCENARIO("COMMON", "attach", "cgroup_links") {
  Attach at(r);
  Cgroups cg("links");
  if (!cg.ok()) return;
  const uint32_t in = BPF_CGROUP_INET_INGRESS;
  const int s1 = at.load(BPF_PROG_TYPE_CGROUP_SKB, 0, "skb1");
  const int s2 = at.load(BPF_PROG_TYPE_CGROUP_SKB, 0, "skb2");
  const int s3 = at.load(BPF_PROG_TYPE_CGROUP_SKB, 0, "skb3");
  const int sock = at.load(BPF_PROG_TYPE_CGROUP_SOCK, BPF_CGROUP_INET_SOCK_CREATE, "sock_create");
  const int xdp = at.load(BPF_PROG_TYPE_XDP, 0, "xdp");
  if (s1 < 0 || s2 < 0 || s3 < 0 || sock < 0 || xdp < 0) return;
  const int file = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
  auto fail = [&](int prog, int target, uint32_t type, uint32_t flags, const std::string& label) {
    const long fd = at.link_create(prog, target, type, flags, label);
    if (fd >= 0) r.close(static_cast<int>(fd));
  };
  fail(s1, cg.pfd, in, 1, "flag 1");
  fail(s1, cg.pfd, in, BPF_F_ALLOW_MULTI, "BPF_F_ALLOW_MULTI");
  fail(s1, file, in, 0, "a file");
  fail(s1, 4000, in, 0, "a closed fd");
  fail(sock, cg.pfd, in, 0, "sock program, ingress");
  fail(sock, cg.pfd, BPF_CGROUP_INET_SOCK_RELEASE, 0, "sock program, sock_release");
  fail(xdp, cg.pfd, in, 0, "xdp program");
  fail(s1, cg.pfd, 9999, 0, "unknown attach type");

  const int l1 = static_cast<int>(at.link_create(s1, cg.pfd, in, 0, "skb1"));
  if (l1 < 0) return;
  at.link_info(l1, cg.pfd, "link1");
  at.query(cg.pfd, in, "one link");
  at.attach(cg.pfd, s2, in, 0, "skb2, no flags, on a linked list");
  at.attach(cg.pfd, s2, in, BPF_F_ALLOW_OVERRIDE, "skb2, override, on a linked list");
  at.attach(cg.pfd, s2, in, BPF_F_ALLOW_MULTI, "skb2, multi, beside the link");
  at.attach(cg.pfd, s1, in, BPF_F_ALLOW_MULTI, "skb1 as a program too");
  const int l2 = static_cast<int>(at.link_create(s1, cg.pfd, in, 0, "skb1 in a second link"));
  at.query(cg.pfd, in, "links and programs");
  at.detach(cg.pfd, s1, in, "skb1 the program");
  at.detach(cg.pfd, s1, in, "skb1 again (only linked now)");
  at.query(cg.pfd, in, "after detaching the program");
  const int lc = static_cast<int>(at.link_create(s3, cg.cfd, in, 0, "child skb3"));
  at.query(cg.cfd, in, "child effective", BPF_F_QUERY_EFFECTIVE);

  union bpf_attr u;
  memset(&u, 0, sizeof(u));
  u.link_update.link_fd = static_cast<uint32_t>(l1);
  u.link_update.new_prog_fd = static_cast<uint32_t>(s3);
  r.raw("link_update skb1 -> skb3", BPF_LINK_UPDATE, &u, sizeof(u));
  at.link_info(l1, cg.pfd, "link1 updated");
  at.query(cg.pfd, in, "after update");
  u.link_update.new_prog_fd = static_cast<uint32_t>(sock);
  r.raw("link_update to a sock program", BPF_LINK_UPDATE, &u, sizeof(u));
  u.link_update.new_prog_fd = static_cast<uint32_t>(s2);
  u.link_update.flags = BPF_F_REPLACE;
  u.link_update.old_prog_fd = static_cast<uint32_t>(s1);
  r.raw("link_update replacing a program it does not hold", BPF_LINK_UPDATE, &u, sizeof(u));
  u.link_update.old_prog_fd = static_cast<uint32_t>(s3);
  r.raw("link_update replacing the program it holds", BPF_LINK_UPDATE, &u, sizeof(u));
  at.query(cg.pfd, in, "after replace");

  union bpf_attr d;
  memset(&d, 0, sizeof(d));
  d.link_detach.link_fd = static_cast<uint32_t>(l1);
  r.raw("link_detach", BPF_LINK_DETACH, &d, sizeof(d));
  at.link_info(l1, cg.pfd, "link1 detached");
  at.query(cg.pfd, in, "after link detach");
  r.raw("link_detach again", BPF_LINK_DETACH, &d, sizeof(d));
  u.link_update.flags = 0;
  u.link_update.old_prog_fd = 0;
  r.raw("link_update after detach", BPF_LINK_UPDATE, &u, sizeof(u));
  if (l2 >= 0) r.close(l2);
  at.query(cg.pfd, in, "after closing link2");
  if (lc >= 0) r.close(lc);
  at.query(cg.cfd, in, "child effective, its link closed", BPF_F_QUERY_EFFECTIVE);

  // 6.16+: links take positions too.
  const int l3 = static_cast<int>(at.link_create(s1, cg.pfd, in, kBefore, "skb1 before all"));
  const int l4 = static_cast<int>(at.link_create(s3, cg.pfd, in, kAfter | kId, "skb3 after skb1 (id)", at.id_of(s1)));
  for (auto [flags, rel, label] : {std::tuple<uint32_t, uint32_t, const char*>{kAfter, static_cast<uint32_t>(s1), "after skb1 (fd)"},
                                   {kAfter | kId, at.id_of(s2), "after skb2 (id)"},
                                   {kAfter, static_cast<uint32_t>(s2), "after skb2 (fd)"},
                                   {kBefore | kId, at.id_of(s1), "before skb1 (id)"},
                                   {kBefore, static_cast<uint32_t>(s1), "before skb1 (fd)"}}) {
    const long fd = at.link_create(s3, cg.pfd, in, flags, std::string("skb3 ") + label, rel);
    if (fd >= 0) {
      at.query(cg.pfd, in, std::string("skb3 ") + label);
      r.close(static_cast<int>(fd));
    }
  }
  if (l3 >= 0) {
    bpf_link_info li{};
    uint32_t len = sizeof(li);
    const int saved = errno;
    r.backend().obj_get_info_by_fd(l3, &li, &len);
    errno = saved;
    for (auto [flags, rel, label] :
         {std::tuple<uint32_t, uint32_t, const char*>{kAfter | kLinkFlag, static_cast<uint32_t>(l3), "after link3 (fd)"},
          {kBefore | kLinkFlag | kId, li.id, "before link3 (id)"},
          {kBefore | kLinkFlag, 0, "BPF_F_LINK, no link"},
          {kBefore | kLinkFlag | kId, 0, "BPF_F_LINK, id 0"},
          {kBefore | kLinkFlag, static_cast<uint32_t>(s1), "BPF_F_LINK, a program fd"},
          {kBefore | kLinkFlag, 4000, "BPF_F_LINK, a closed fd"},
          {kLinkFlag, static_cast<uint32_t>(l3), "BPF_F_LINK without before/after"}}) {
      const long fd = at.link_create(s3, cg.pfd, in, flags, std::string("skb3 ") + label, rel);
      if (fd >= 0) {
        at.query(cg.pfd, in, std::string("skb3 ") + label);
        r.close(static_cast<int>(fd));
      }
    }
  }
  at.attach(cg.pfd, s3, in, BPF_F_ALLOW_MULTI | kAfter | kId, "skb3 after skb1 (id)", 0, at.id_of(s1));
  at.query(cg.pfd, in, "skb3 attached after skb1");
  at.detach(cg.pfd, s3, in, "skb3");
  const int l5 = static_cast<int>(at.link_create(sock, cg.pfd, BPF_CGROUP_INET_SOCK_CREATE, kPreorder, "sock, preorder"));
  at.query(cg.pfd, in, "positioned links");
  const uint64_t rev = at.revision(cg.pfd, in);
  {
    const long fd = at.link_create(s1, cg.pfd, in, 0, "with a stale revision", 0, rev - 1);
    if (fd >= 0) r.close(static_cast<int>(fd));
  }
  for (int l : {l3, l4, l5})
    if (l >= 0) r.close(l);
  at.detach(cg.pfd, s2, in, "skb2");
  at.query(cg.pfd, in, "emptied");
  r.close(l1);
  if (file >= 0) close(file);
}

}  // namespace bpfemu::conformance

namespace bpfemu::conformance {

// A cgroup removed with programs and a link attached: the kernel detaches
// them (a moment later, from a work queue), and the link stays with no cgroup.
SCENARIO("COMMON", "attach", "cgroup_removed") {
  Attach at(r);
  Cgroups cg("removed");
  if (!cg.ok()) return;
  const uint32_t in = BPF_CGROUP_INET_INGRESS;
  const int s1 = at.load(BPF_PROG_TYPE_CGROUP_SKB, 0, "skb1");
  const int s2 = at.load(BPF_PROG_TYPE_CGROUP_SKB, 0, "skb2");
  const int gone = cg.make("gone");
  if (s1 < 0 || s2 < 0 || gone < 0) return;
  const std::string path = cg.extra.back();
  const int link = static_cast<int>(at.link_create(s1, gone, in, 0, "skb1 on the doomed cgroup"));
  at.attach(gone, s2, in, BPF_F_ALLOW_MULTI, "skb2 on the doomed cgroup");
  at.query(gone, in, "doomed");
  if (link < 0) return;
  const uint64_t ino = inode_of(gone);
  close(gone);
  r.note("rmdir", rmdir(path.c_str()));
  bpf_link_info info{};
  for (int i = 0; i < 100; ++i) {
    at.revision(cg.pfd, in);  // any cgroup call (the emulator notices the removal then)
    uint32_t len = sizeof(info);
    const int saved = errno;
    r.backend().obj_get_info_by_fd(link, &info, &len);
    errno = saved;
    if (info.cgroup.cgroup_id != ino) break;
    usleep(10000);
  }
  r.note("link's cgroup_id once the cgroup is gone", static_cast<long>(info.cgroup.cgroup_id));
  union bpf_attr u;
  memset(&u, 0, sizeof(u));
  u.link_update.link_fd = static_cast<uint32_t>(link);
  u.link_update.new_prog_fd = static_cast<uint32_t>(s2);
  r.raw("link_update after the cgroup went", BPF_LINK_UPDATE, &u, sizeof(u));
  union bpf_attr d;
  memset(&d, 0, sizeof(d));
  d.link_detach.link_fd = static_cast<uint32_t>(link);
  r.raw("link_detach after the cgroup went", BPF_LINK_DETACH, &d, sizeof(d));
  r.close(link);
}

}  // namespace bpfemu::conformance

namespace bpfemu::conformance {
namespace {

constexpr uint32_t kTcxIngress = 46, kTcxEgress = 47;

// tcx on the loopback device (ifindex 1): programs that pass every packet.
class Tcx {
 public:
  explicit Tcx(Recorder& r) : r_(r) {}
  int load(uint32_t type, const std::string& name) { return load_named(r_, type, 0, 0, name, &progs_, &ids_); }
  uint32_t id_of(int fd) { return ids_[fd]; }
  long attach(int prog, uint32_t type, uint32_t flags, const std::string& label, int replace = 0,
              uint32_t relative = 0, uint64_t revision = 0, uint32_t ifindex = 1) {
    AttachAttr a{};
    a.target_fd = ifindex;
    a.attach_bpf_fd = static_cast<uint32_t>(prog);
    a.attach_type = type;
    a.attach_flags = flags;
    a.replace_bpf_fd = static_cast<uint32_t>(replace);
    a.relative = relative;
    a.expected_revision = revision;
    return r_.raw("attach: " + label, BPF_PROG_ATTACH, &a, sizeof(a));
  }
  long detach(int prog, uint32_t type, uint32_t flags, const std::string& label, uint32_t relative = 0,
              uint64_t revision = 0, uint32_t ifindex = 1) {
    AttachAttr a{};
    a.target_fd = ifindex;
    a.attach_bpf_fd = static_cast<uint32_t>(prog);
    a.attach_type = type;
    a.attach_flags = flags;
    a.relative = relative;
    a.expected_revision = revision;
    return r_.raw("detach: " + label, BPF_PROG_DETACH, &a, sizeof(a));
  }
  long query(uint32_t type, const std::string& label, uint32_t cap = 16, uint32_t ifindex = 1, uint32_t qflags = 0,
             uint32_t in_flags = 0) {
    std::vector<uint32_t> ids(cap + 1, 0xAAAAAAAAu), links(cap + 1, 0xAAAAAAAAu), pf(cap + 1, 0xAAAAAAAAu);
    QueryAttr q{};
    q.target_fd = ifindex;
    q.attach_type = type;
    q.query_flags = qflags;
    q.attach_flags = in_flags;
    q.prog_ids = reinterpret_cast<uintptr_t>(ids.data());
    q.prog_cnt = cap;
    q.link_ids = reinterpret_cast<uintptr_t>(links.data());
    q.prog_attach_flags = reinterpret_cast<uintptr_t>(pf.data());
    const long r = r_.raw("query: " + label, BPF_PROG_QUERY, &q, sizeof(q));
    r_.note(label + ": attach_flags", q.attach_flags);
    r_.note(label + ": count", q.prog_cnt);
    r_.note(label + ": revision", static_cast<long>(q.revision));
    std::string seen;
    for (uint32_t i = 0; i <= cap && ids[i] != 0xAAAAAAAAu; ++i)
      seen += (i ? "," : "") + name(progs_, ids[i]) + "/" + name(links_, links[i]) + "/" + std::to_string(pf[i]);
    r_.note(label + ": programs/links/flags " + seen, 0);
    return r;
  }
  uint64_t revision(uint32_t type) {
    QueryAttr q{};
    q.target_fd = 1;
    q.attach_type = type;
    const int saved = errno;
    r_.backend().bpf(BPF_PROG_QUERY, &q, sizeof(q));
    errno = saved;
    return q.revision;
  }
  int link_create(int prog, uint32_t type, uint32_t flags, const std::string& label, uint32_t relative = 0,
                  uint64_t revision = 0, uint32_t ifindex = 1) {
    LinkCreateAttr a{};
    a.prog_fd = static_cast<uint32_t>(prog);
    a.target_fd = ifindex;
    a.attach_type = type;
    a.flags = flags;
    a.relative = relative;
    a.expected_revision = revision;
    const int fd = static_cast<int>(r_.raw("link_create: " + label, BPF_LINK_CREATE, &a, sizeof(a), true));
    if (fd >= 0) {
      bpf_link_info info{};
      uint32_t len = sizeof(info);
      const int saved = errno;
      if (r_.backend().obj_get_info_by_fd(fd, &info, &len) == 0) {
        links_[info.id] = "link:" + label;
        link_ids_[fd] = info.id;
      }
      errno = saved;
    }
    return fd;
  }
  uint32_t link_id_of(int fd) { return link_ids_[fd]; }
  void link_info(int link, const std::string& label) {
    bpf_link_info info{};
    uint32_t len = sizeof(info);
    r_.note(label + ": link info", r_.backend().obj_get_info_by_fd(link, &info, &len));
    r_.note(label + ": type", info.type);
    r_.note(label + ": program " + name(progs_, info.prog_id), 0);
    uint32_t tcx[2];  // bpf_link_info.tcx (ifindex, attach_type), past the 6.1 header
    memcpy(tcx, reinterpret_cast<const uint8_t*>(&info) + 16, sizeof(tcx));
    r_.note(label + ": ifindex", tcx[0]);
    r_.note(label + ": attach_type", tcx[1]);
    r_.fdinfo_line(link, "link_type");
    r_.fdinfo_line(link, "ifindex");
    r_.fdinfo_line(link, "attach_type");
  }

 private:
  static std::string name(const std::map<uint32_t, std::string>& m, uint32_t id) {
    auto it = m.find(id);
    return it != m.end() ? it->second : (id == 0 ? "0" : "?");
  }
  Recorder& r_;
  std::map<uint32_t, std::string> progs_, links_;
  std::map<int, uint32_t> ids_, link_ids_;
};

}  // namespace

// tcx (6.6+): BPF_PROG_ATTACH / BPF_PROG_DETACH / BPF_PROG_QUERY and links
// with the mprog rules. On 6.1 the attach types do not exist (EINVAL).
SCENARIO("COMMON", "attach", "tcx") {
  Tcx t(r);
  const uint32_t in = kTcxIngress, out = kTcxEgress;
  const int tc1 = t.load(BPF_PROG_TYPE_SCHED_CLS, "tc1");
  const int tc2 = t.load(BPF_PROG_TYPE_SCHED_CLS, "tc2");
  const int tc3 = t.load(BPF_PROG_TYPE_SCHED_CLS, "tc3");
  const int tc4 = t.load(BPF_PROG_TYPE_SCHED_CLS, "tc4");
  const int tc5 = t.load(BPF_PROG_TYPE_SCHED_CLS, "tc5");
  const int tc6 = t.load(BPF_PROG_TYPE_SCHED_CLS, "tc6");
  const int xdp = t.load(BPF_PROG_TYPE_XDP, "xdp");
  const int skb = t.load(BPF_PROG_TYPE_CGROUP_SKB, "skb");
  if (tc1 < 0 || tc2 < 0 || tc3 < 0 || tc4 < 0 || tc5 < 0 || tc6 < 0 || xdp < 0 || skb < 0) return;
  t.query(in, "nothing attached");
  t.query(in, "no such device", 16, 999999);
  t.attach(xdp, in, 0, "an XDP program");
  t.attach(skb, in, 0, "a cgroup program");
  t.attach(tc1, in, 0, "no such device", 0, 0, 0, 999999);
  t.attach(tc1, in, BPF_F_ALLOW_MULTI, "BPF_F_ALLOW_MULTI");
  t.attach(tc1, in, 1U << 10, "unknown flag");
  t.detach(tc1, in, 0, "nothing attached");

  t.attach(tc1, in, 0, "tc1");
  t.query(in, "tc1");
  t.attach(tc1, in, 0, "tc1 again");
  t.attach(tc2, in, kBefore, "tc2 before all");
  t.attach(tc3, in, kAfter, "tc3 after tc2 (fd)", 0, static_cast<uint32_t>(tc2));
  t.query(in, "tc2 tc3 tc1");
  t.detach(tc3, in, 0, "tc3");
  t.attach(tc3, in, kBefore | kId, "tc3 before tc1 (id)", 0, t.id_of(tc1));
  t.query(in, "tc2 tc3 tc1 again");
  t.attach(tc4, in, kReplace, "tc4 replaces tc2", tc2);
  t.attach(tc4, in, kReplace, "tc4 replaces tc2 again", tc2);
  t.attach(tc2, in, kReplace, "tc2 replaces tc5 (not attached)", tc5);
  t.attach(tc2, in, kReplace | kBefore, "tc2 replaces tc3, before tc1", tc3, static_cast<uint32_t>(tc1));
  t.attach(tc5, in, kReplace | kBefore, "tc5 replaces tc2, before tc1 (disagree)", tc2, static_cast<uint32_t>(tc1));
  t.query(in, "after replaces");
  t.detach(tc5, in, 0, "tc5 out again");
  t.attach(tc6, in, kReplace | kBefore, "tc6 replaces tc1, before tc4 (disagree)", tc1, static_cast<uint32_t>(tc4));
  t.attach(tc5, in, kBefore | kAfter, "before and after");
  t.attach(tc5, in, kId, "BPF_F_ID alone", 0, t.id_of(tc1));
  t.attach(tc5, in, kBefore | kId, "id 0", 0, 0);
  t.attach(tc5, in, kBefore, "relative to one not attached", 0, static_cast<uint32_t>(tc6));
  t.attach(tc5, in, kBefore, "relative to an XDP program", 0, static_cast<uint32_t>(xdp));
  t.attach(tc5, in, kBefore | kLinkFlag, "BPF_F_LINK with a program fd", 0, static_cast<uint32_t>(tc1));
  t.attach(tc5, in, 0, "relative fd without before/after", 0, static_cast<uint32_t>(tc1));
  const uint64_t rev = t.revision(in);
  t.attach(tc5, in, 0, "a stale revision", 0, 0, rev - 1);
  t.attach(tc5, in, 0, "the revision", 0, 0, rev);
  t.query(in, "room for 1", 1);
  t.query(in, "effective flag", 16, 1, BPF_F_QUERY_EFFECTIVE);
  t.query(in, "attach_flags given", 16, 1, 0, 1);
  t.detach(tc5, in, 0, "tc5");

  // Links in the same list.
  const int l1 = t.link_create(tc5, in, 0, "tc5");
  if (l1 < 0) return;
  t.link_info(l1, "link1");
  t.query(in, "with a link");
  t.detach(tc5, in, 0, "tc5, linked");
  t.detach(0, in, 0, "the last one (linked), no fd");
  const int l2 = t.link_create(tc6, in, kBefore | kLinkFlag, "tc6 before link1", static_cast<uint32_t>(l1));
  const int l3 = t.link_create(tc6, in, 0, "tc6 again");
  if (l3 >= 0) r.close(l3);
  t.link_create(xdp, in, 0, "an XDP program");
  t.link_create(tc1, in, 0, "no such device", 0, 0, 999999);
  t.link_create(tc1, in, 1U << 10, "unknown flag");
  t.query(in, "two links");
  union bpf_attr u;
  memset(&u, 0, sizeof(u));
  u.link_update.link_fd = static_cast<uint32_t>(l1);
  u.link_update.new_prog_fd = static_cast<uint32_t>(tc1);
  r.raw("link_update to a program in the list", BPF_LINK_UPDATE, &u, sizeof(u));
  u.link_update.new_prog_fd = static_cast<uint32_t>(xdp);
  r.raw("link_update to an XDP program", BPF_LINK_UPDATE, &u, sizeof(u));
  u.link_update.new_prog_fd = static_cast<uint32_t>(tc5);
  r.raw("link_update to its own program", BPF_LINK_UPDATE, &u, sizeof(u));
  t.detach(tc1, in, 0, "tc1");
  u.link_update.new_prog_fd = static_cast<uint32_t>(tc1);
  r.raw("link_update to tc1", BPF_LINK_UPDATE, &u, sizeof(u));
  t.link_info(l1, "link1 updated");
  t.query(in, "after update");
  t.detach(0, in, kBefore, "the first one, no fd");
  union bpf_attr d;
  memset(&d, 0, sizeof(d));
  d.link_detach.link_fd = static_cast<uint32_t>(l1);
  r.raw("link_detach", BPF_LINK_DETACH, &d, sizeof(d));
  t.link_info(l1, "link1 detached");
  r.raw("link_update after detach", BPF_LINK_UPDATE, &u, sizeof(u));
  t.query(in, "after link detach");
  if (l2 >= 0) r.close(l2);
  t.query(in, "after closing link2");
  t.detach(0, in, kAfter, "the last one, no fd");
  t.detach(0, in, 0, "the last one");
  t.query(in, "emptied");
  t.attach(tc1, in, 0, "tc1 once emptied");
  t.query(in, "a new list");
  t.detach(tc1, in, 0, "tc1");
  t.attach(tc2, out, 0, "tc2 egress");
  t.query(out, "egress");
  t.query(in, "ingress");
  t.detach(tc2, out, 0, "tc2 egress");
  r.close(l1);
}

}  // namespace bpfemu::conformance

namespace bpfemu::conformance {

// BPF_PROG_QUERY of every attach type on a cgroup fd, as `bpftool cgroup
// show` asks (it stops at the first error other than EINVAL), and the
// queries of the other hooks on the fds they take: a network namespace, a
// map (not a sockmap: the emulator has none), a device.
SCENARIO("COMMON", "attach", "query_every_attach_type") {
  Attach at(r);
  Cgroups cg("query");
  if (!cg.ok()) return;
  for (uint32_t type = 0; type < 60; ++type) at.query(cg.pfd, type, "cgroup, attach type " + std::to_string(type));
  const int netns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  const int array = r.create(BPF_MAP_TYPE_ARRAY, 4, 4, 1);
  for (uint32_t type : {uint32_t{BPF_FLOW_DISSECTOR}, uint32_t{BPF_SK_LOOKUP}, uint32_t{BPF_SK_MSG_VERDICT},
                        uint32_t{BPF_SK_SKB_STREAM_PARSER}, uint32_t{BPF_SK_SKB_VERDICT}, uint32_t{BPF_LIRC_MODE2},
                        uint32_t{BPF_LSM_CGROUP}, 54u, 55u}) {
    const std::string t = " " + std::to_string(type);
    if (netns >= 0) at.query(netns, type, "netns," + t);
    if (array >= 0) at.query(array, type, "array map," + t);
    at.query(4000, type, "closed fd," + t);
    at.query(1, type, "fd 1," + t);
    at.query(0, type, "fd 0," + t);
    if (array >= 0) at.query(array, type, "array map, effective," + t, BPF_F_QUERY_EFFECTIVE);
    at.query(cg.pfd, type, "cgroup, no room," + t, 0, 0);
    at.query(cg.pfd, type, "cgroup, with prog_attach_flags," + t, 0, 8, true);
  }
  if (netns >= 0) close(netns);
}

}  // namespace bpfemu::conformance
