// What a program learns of the task it runs in: its cgroup v2 ids
// (bpf_get_current_cgroup_id, bpf_get_current_ancestor_cgroup_id) and its
// pid and tgid in a pid namespace it names (bpf_get_ns_current_pid_tgid), and
// its task_struct (bpf_get_current_task, bpf_get_current_task_btf).
// The emulator's current task is the calling thread, so the answers are that
// thread's, read from /proc and the cgroup2 mount as the kernel knows them: a
// cgroup's id is its kernfs inode, the root's is 1.
#include "emu/helpers_task.h"

#include <linux/bpf.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "core/libbpf_btf.h"

namespace bpfemu::emu::interp {
namespace {

constexpr uint64_t kRootCgroupId = 1;  // the default hierarchy's root: kernfs inode 1

uint64_t ret(long v) { return static_cast<uint64_t>(v); }

// Where cgroup2 is mounted, or "" when it is not.
std::string cgroup2_mount() {
  FILE* f = fopen("/proc/self/mounts", "re");
  if (f == nullptr) return "";
  char line[4096];
  std::string dir;
  while (dir.empty() && fgets(line, sizeof(line), f) != nullptr) {
    char src[1024], mnt[2048], type[64];
    if (sscanf(line, "%1023s %2047s %63s", src, mnt, type) == 3 && strcmp(type, "cgroup2") == 0) dir = mnt;
  }
  fclose(f);
  return dir;
}

// The calling thread's cgroup in the default hierarchy, as path components
// below the root ("0::/a/b" in /proc/thread-self/cgroup).
std::vector<std::string> cgroup_path() {
  std::vector<std::string> parts;
  FILE* f = fopen("/proc/thread-self/cgroup", "re");
  if (f == nullptr) return parts;
  char line[4096];
  while (fgets(line, sizeof(line), f) != nullptr) {
    if (strncmp(line, "0::/", 4) != 0) continue;
    std::string path(line + 4);
    if (!path.empty() && path.back() == '\n') path.pop_back();
    for (size_t pos = 0; pos < path.size();) {
      const size_t end = path.find('/', pos);
      const std::string part = path.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
      if (!part.empty()) parts.push_back(part);
      pos = end == std::string::npos ? path.size() : end + 1;
    }
    break;
  }
  fclose(f);
  return parts;
}

// The id of the cgroup `level` components down the thread's path (0: the
// root), or 0 when the path is not that deep or the cgroup cannot be found.
uint64_t cgroup_id_at(const std::vector<std::string>& parts, size_t level) {
  if (level > parts.size()) return 0;
  if (level == 0) return kRootCgroupId;
  const std::string mnt = cgroup2_mount();
  if (mnt.empty()) return 0;
  std::string dir = mnt;
  for (size_t i = 0; i < level; ++i) dir += "/" + parts[i];
  struct stat st;
  return stat(dir.c_str(), &st) == 0 ? st.st_ino : 0;
}

// --- the current task_struct ---
//
// The kernel hands a tracing program a pointer to the running task, which the
// program reads with bpf_probe_read_kernel (or directly, from the _btf
// variant), at the offsets libbpf's CO-RE takes from the running kernel's BTF.
// The emulator lays out the same structs from that BTF, zeroed but for what
// /proc says of the thread: pid, tgid, comm, the thread group's leader, the
// parent process (real_parent and parent) and the credentials (cred and
// real_cred: the uids and gids). Every other member reads as zero. The
// parent's parents follow up to init, whose parent is the kernel's first task
// (pid 0, "swapper/0", its own parent), as on the kernel.

struct TaskIdentity {
  int32_t pid = 0, tgid = 0, ppid = -1;  // ppid -1: /proc did not say
  char comm[16] = {};
  uint32_t uids[4] = {}, gids[4] = {};  // real, effective, saved, filesystem
};

// One task as /proc/<dir> describes it ("self/task/<tid>", "self", "<ppid>").
TaskIdentity read_identity(const std::string& dir) {
  TaskIdentity id;
  if (FILE* f = fopen(("/proc/" + dir + "/comm").c_str(), "re")) {
    if (fgets(id.comm, sizeof(id.comm), f) == nullptr) id.comm[0] = '\0';
    fclose(f);
    id.comm[strcspn(id.comm, "\n")] = '\0';
  }
  if (FILE* f = fopen(("/proc/" + dir + "/status").c_str(), "re")) {
    char line[256];
    while (fgets(line, sizeof(line), f) != nullptr) {
      uint32_t* ids = strncmp(line, "Uid:", 4) == 0 ? id.uids : strncmp(line, "Gid:", 4) == 0 ? id.gids : nullptr;
      if (ids != nullptr) sscanf(line + 4, "%u %u %u %u", &ids[0], &ids[1], &ids[2], &ids[3]);
      if (strncmp(line, "Pid:", 4) == 0) sscanf(line + 4, "%d", &id.pid);
      if (strncmp(line, "Tgid:", 5) == 0) sscanf(line + 5, "%d", &id.tgid);
      if (strncmp(line, "PPid:", 5) == 0) sscanf(line + 5, "%d", &id.ppid);
    }
    fclose(f);
  }
  return id;
}

// The kernel's first task (init_task), the idle task of CPU 0: every
// process's ancestor, its own parent, with the root's credentials.
TaskIdentity first_task_identity() {
  TaskIdentity id;
  snprintf(id.comm, sizeof(id.comm), "swapper/0");
  return id;
}

// A struct laid out as the running kernel lays it out.
class KernelStruct {
 public:
  KernelStruct(const VmlinuxTypes& vm, const char* name) : vm_(vm), name_(name) {
    auto it = vm.struct_sizes.find(name);
    bytes_.assign(it == vm.struct_sizes.end() ? 0 : it->second, 0);
  }
  void clear() { std::fill(bytes_.begin(), bytes_.end(), 0); }
  void put(const char* member, const void* v, size_t n) {
    const auto* f = vm_.field(name_, member);
    if (f != nullptr && f->first + std::min<size_t>(n, f->second) <= bytes_.size())
      memcpy(bytes_.data() + f->first, v, std::min<size_t>(n, f->second));
  }
  void put_ptr(const char* member, const KernelStruct* target) {
    const uint64_t p = target == nullptr ? 0 : reinterpret_cast<uint64_t>(target->data());
    put(member, &p, sizeof(p));
  }
  const uint8_t* data() const { return bytes_.data(); }
  size_t size() const { return bytes_.size(); }

 private:
  const VmlinuxTypes& vm_;
  const char* name_;
  std::vector<uint8_t> bytes_;
};

// A task with its cred.
struct TaskNode {
  explicit TaskNode(const VmlinuxTypes& vm) : task(vm, "task_struct"), cred(vm, "cred") {}
  KernelStruct task, cred;
};

// The calling thread's task, its group leader and its parent process's
// ancestry up to the first task, each with its cred; laid out once per thread
// and refreshed on every call (a thread may be renamed or reparented), so the
// addresses stay the same. Above the parent, /proc is read again only when
// the parent changed: a walk of the whole ancestry on every call would cost
// a few file reads per generation.
struct CurrentTask {
  explicit CurrentTask(const VmlinuxTypes& vm) : vm_(vm), self(vm), leader(vm) {}

  void refresh() {
    const long tid = syscall(SYS_gettid);
    const bool is_leader = tid == getpid();
    const pid_t ppid = getppid();
    TaskNode* parent = ancestor(0);
    fill(self, read_identity("self/task/" + std::to_string(tid)), is_leader ? &self : &leader, parent);
    fill(leader, read_identity("self"), &leader, parent);
    const bool walk_up = ppid != last_ppid_ || ancestors_.size() < 2;
    last_ppid_ = ppid;
    pid_t pid = ppid;
    for (size_t level = 0; level < kMaxGenerations; ++level) {
      TaskNode& node = *ancestor(level);
      const TaskIdentity id = pid == 0 ? first_task_identity() : read_identity(std::to_string(pid));
      if (pid == 0 || id.ppid < 0) {  // the first task, or one /proc does not show: the walk ends
        fill(node, id, &node, pid == 0 ? &node : nullptr);
        break;
      }
      fill(node, id, &node, ancestor(level + 1));
      if (!walk_up) break;
      pid = id.ppid;
    }
  }
  template <typename F>
  void for_each(F f) const {
    for (const TaskNode* n : {&self, &leader}) f(*n);
    for (const TaskNode& n : ancestors_) f(n);
  }
  const TaskNode& task() const { return self; }

 private:
  static constexpr size_t kMaxGenerations = 64;  // past it, a NULL parent

  // The node of the parent's ancestor `level` generations up (0: the parent).
  TaskNode* ancestor(size_t level) {
    if (level >= kMaxGenerations) return nullptr;
    while (ancestors_.size() <= level) ancestors_.emplace_back(vm_);
    return &ancestors_[level];
  }
  static void fill(TaskNode& node, const TaskIdentity& id, const TaskNode* group_leader, const TaskNode* parent) {
    KernelStruct& task = node.task;
    KernelStruct& cred = node.cred;
    task.clear();
    task.put("pid", &id.pid, sizeof(id.pid));
    task.put("tgid", &id.tgid, sizeof(id.tgid));
    task.put("comm", id.comm, sizeof(id.comm));
    task.put_ptr("group_leader", group_leader == nullptr ? nullptr : &group_leader->task);
    task.put_ptr("real_parent", parent == nullptr ? nullptr : &parent->task);
    task.put_ptr("parent", parent == nullptr ? nullptr : &parent->task);
    task.put_ptr("cred", &cred);
    task.put_ptr("real_cred", &cred);
    cred.clear();
    const char* uid_fields[] = {"uid", "euid", "suid", "fsuid"};
    const char* gid_fields[] = {"gid", "egid", "sgid", "fsgid"};
    for (int i = 0; i < 4; ++i) {
      cred.put(uid_fields[i], &id.uids[i], sizeof(id.uids[i]));
      cred.put(gid_fields[i], &id.gids[i], sizeof(id.gids[i]));
    }
  }

  const VmlinuxTypes& vm_;
  TaskNode self, leader;
  std::deque<TaskNode> ancestors_;  // a deque: nodes keep their addresses as it grows
  pid_t last_ppid_ = -1;
};

// The thread's task, refreshed; nullptr (the run stopped with the reason)
// when the kernel's BTF cannot be read to lay it out.
const CurrentTask* current_task(HelperCall& c, const char* helper) {
  const VmlinuxTypes* vm = vmlinux_types();
  if (vm == nullptr || vm->field("task_struct", "pid") == nullptr || vm->field("cred", "uid") == nullptr) {
    c.m.fault("%s: the kernel's BTF (/sys/kernel/btf/vmlinux, read with libbpf) is needed to lay out task_struct",
              helper);
    return nullptr;
  }
  thread_local std::unique_ptr<CurrentTask> task;
  if (task == nullptr) task = std::make_unique<CurrentTask>(*vm);
  task->refresh();
  return task.get();
}

}  // namespace

// bpf_get_current_task(): the task as an integer, read with
// bpf_probe_read_kernel.
bool get_current_task(HelperCall& c, uint64_t* r0) {
  const CurrentTask* t = current_task(c, "bpf_get_current_task");
  if (t == nullptr) return false;
  *r0 = reinterpret_cast<uint64_t>(t->task().task.data());
  return true;
}

// bpf_get_current_task_btf(): a BTF pointer, which the program may also load
// from directly, and the tasks and creds it points to.
bool get_current_task_btf(HelperCall& c, uint64_t* r0) {
  const CurrentTask* t = current_task(c, "bpf_get_current_task_btf");
  if (t == nullptr) return false;
  t->for_each([&c](const TaskNode& n) {
    c.env.memory.add(n.task.data(), n.task.size(), false);
    c.env.memory.add(n.cred.data(), n.cred.size(), false);
  });
  *r0 = reinterpret_cast<uint64_t>(t->task().task.data());
  return true;
}

bool get_current_cgroup_id(HelperCall&, uint64_t* r0) {
  const std::vector<std::string> parts = cgroup_path();
  *r0 = cgroup_id_at(parts, parts.size());
  return true;
}

// bpf_get_current_ancestor_cgroup_id(int level): the ancestor at that level
// counted from the root; 0 past the thread's own level or below 0.
bool get_current_ancestor_cgroup_id(HelperCall& c, uint64_t* r0) {
  const auto level = static_cast<int32_t>(c.a[0]);
  *r0 = level < 0 ? 0 : cgroup_id_at(cgroup_path(), static_cast<size_t>(level));
  return true;
}

// bpf_get_ns_current_pid_tgid(dev, ino, nsdata, size): the ids as the pid
// namespace with that nsfs device and inode sees them, when it is the
// thread's own; -EINVAL (nsdata zeroed) for a wrong size, a dev wider than the
// kernel's dev_t or another namespace.
bool get_ns_current_pid_tgid(HelperCall& c, uint64_t* r0) {
  const auto size = static_cast<uint32_t>(c.a[3]);
  if (size != 0 && !c.m.check(c.a[2], size, true, "bpf_get_ns_current_pid_tgid nsdata")) return false;
  auto* out = reinterpret_cast<uint8_t*>(c.a[2]);
  const uint64_t dev = c.a[0], ino = c.a[1];
  struct stat st;
  const bool same_ns = size == sizeof(bpf_pidns_info) && dev <= UINT32_MAX &&
                       stat("/proc/thread-self/ns/pid", &st) == 0 && st.st_dev == dev && st.st_ino == ino;
  if (!same_ns) {
    if (size != 0) memset(out, 0, size);
    *r0 = ret(-EINVAL);
    return true;
  }
  const bpf_pidns_info info{static_cast<uint32_t>(syscall(SYS_gettid)), static_cast<uint32_t>(getpid())};
  memcpy(out, &info, sizeof(info));
  *r0 = 0;
  return true;
}

}  // namespace bpfemu::emu::interp
