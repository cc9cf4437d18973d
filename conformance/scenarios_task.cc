// What a program learns of the task it runs in, from a raw tracepoint
// program's test run (which runs in the calling thread, on the kernel as on
// the emulator): its cgroup v2 id and ancestors, and its pid and tgid in the
// pid namespace it names, with the helpers' answers for a namespace that is not
// the thread's and for a wrong nsdata size; and its task_struct, read at the
// offsets the kernel's BTF gives, through bpf_probe_read_kernel and directly.
#include <bpf/btf.h>
#include <linux/bpf.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "conformance/scenario.h"
#include "emu/insn_builder.h"

namespace bpfemu::conformance {
namespace {

namespace in = insn;

// out[0] = bpf_get_current_cgroup_id(); out[1] = the ancestor at level ctx[2];
// out[2] = bpf_get_ns_current_pid_tgid(ctx[0], ctx[1], buf, ns_size) into an
// 8-byte stack buffer of 0xff bytes, out[3] = that buffer afterwards.
std::vector<bpf_insn> task_ids_prog(int out, int32_t ns_size) {
  std::vector<bpf_insn> p;
  p.push_back(in::movr(BPF_REG_6, BPF_REG_1));
  p.push_back(in::call(BPF_FUNC_get_current_cgroup_id));
  p.push_back(in::movr(BPF_REG_7, BPF_REG_0));
  in::store_slot(p, out, 0, BPF_REG_7);
  p.push_back(in::make(BPF_LDX | BPF_MEM | BPF_DW, BPF_REG_1, BPF_REG_6, 16, 0));
  p.push_back(in::call(BPF_FUNC_get_current_ancestor_cgroup_id));
  p.push_back(in::movr(BPF_REG_7, BPF_REG_0));
  in::store_slot(p, out, 1, BPF_REG_7);
  p.push_back(in::make(BPF_ST | BPF_MEM | BPF_DW, BPF_REG_10, 0, -16, -1));
  p.push_back(in::make(BPF_LDX | BPF_MEM | BPF_DW, BPF_REG_1, BPF_REG_6, 0, 0));
  p.push_back(in::make(BPF_LDX | BPF_MEM | BPF_DW, BPF_REG_2, BPF_REG_6, 8, 0));
  p.push_back(in::movr(BPF_REG_3, BPF_REG_10));
  p.push_back(in::make(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_3, 0, 0, -16));
  p.push_back(in::mov(BPF_REG_4, ns_size));
  p.push_back(in::call(BPF_FUNC_get_ns_current_pid_tgid));
  p.push_back(in::movr(BPF_REG_7, BPF_REG_0));
  in::store_slot(p, out, 2, BPF_REG_7);
  p.push_back(in::make(BPF_LDX | BPF_MEM | BPF_DW, BPF_REG_7, BPF_REG_10, -16, 0));
  in::store_slot(p, out, 3, BPF_REG_7);
  p.push_back(in::mov(BPF_REG_0, 0));
  p.push_back(in::exit());
  return p;
}

// Byte offsets of members of the running kernel's structs (vmlinux BTF).
class KernelLayout {
 public:
  KernelLayout() : btf_(btf__load_vmlinux_btf()) {}
  ~KernelLayout() { btf__free(btf_); }
  KernelLayout(const KernelLayout&) = delete;
  KernelLayout& operator=(const KernelLayout&) = delete;
  // The member's byte offset, or -1 when the struct or member is not there.
  int32_t offset(const char* strct, const char* member) const {
    if (btf_ == nullptr) return -1;
    const int id = btf__find_by_name_kind(btf_, strct, BTF_KIND_STRUCT);
    if (id < 0) return -1;
    const btf_type* t = btf__type_by_id(btf_, id);
    const btf_member* m = btf_members(t);
    for (uint16_t i = 0; i < btf_vlen(t); ++i, ++m)
      if (strcmp(btf__name_by_offset(btf_, m->name_off), member) == 0) {
        const uint32_t bits = btf_member_bit_offset(t, i);
        return bits % 8 == 0 ? static_cast<int32_t>(bits / 8) : -1;
      }
    return -1;
  }

 private:
  btf* btf_;
};

struct TaskOffsets {
  int32_t pid, tgid, comm, real_parent, parent, group_leader, cred, real_cred, uid, euid, fsuid, gid, fsgid;
  bool complete() const {
    for (int32_t o : {pid, tgid, comm, real_parent, parent, group_leader, cred, real_cred, uid, euid, fsuid, gid, fsgid})
      if (o < 0) return false;
    return true;
  }
};

TaskOffsets task_offsets() {
  const KernelLayout k;
  return {k.offset("task_struct", "pid"),          k.offset("task_struct", "tgid"),
          k.offset("task_struct", "comm"),         k.offset("task_struct", "real_parent"),
          k.offset("task_struct", "parent"),       k.offset("task_struct", "group_leader"),
          k.offset("task_struct", "cred"),         k.offset("task_struct", "real_cred"),
          k.offset("cred", "uid"),                 k.offset("cred", "euid"),
          k.offset("cred", "fsuid"),
          k.offset("cred", "gid"),                 k.offset("cred", "fsgid")};
}

// Reads through the task: each read's value (and, through
// bpf_probe_read_kernel, its result) go to consecutive slots of `out`.
class TaskReader {
 public:
  TaskReader(int out, bool direct) : out_(out), direct_(direct) {}
  std::vector<bpf_insn> insns;

  void get_task() {
    insns.push_back(in::call(direct_ ? BPF_FUNC_get_current_task_btf : BPF_FUNC_get_current_task));
    insns.push_back(in::movr(BPF_REG_7, BPF_REG_0));
  }
  // Reads `size` bytes at `base` + off into r8 (base r7: the task, r9: a
  // pointer read before), and records it when `record`.
  void read(uint8_t base, int32_t off, uint8_t size, bool record = true) {
    const uint8_t width = size == 8 ? BPF_DW : size == 4 ? BPF_W : size == 2 ? BPF_H : BPF_B;
    if (direct_) {
      insns.push_back(in::make(BPF_LDX | BPF_MEM | width, BPF_REG_8, base, static_cast<int16_t>(off), 0));
    } else {
      insns.push_back(in::make(BPF_ST | BPF_MEM | BPF_DW, BPF_REG_10, 0, -8, 0));
      insns.push_back(in::movr(BPF_REG_1, BPF_REG_10));
      insns.push_back(in::make(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_1, 0, 0, -8));
      insns.push_back(in::mov(BPF_REG_2, size));
      insns.push_back(in::movr(BPF_REG_3, base));
      insns.push_back(in::make(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_3, 0, 0, off));
      insns.push_back(in::call(BPF_FUNC_probe_read_kernel));
      if (record) {
        insns.push_back(in::movr(BPF_REG_8, BPF_REG_0));
        in::store_slot(insns, out_, slot_++, BPF_REG_8);
      }
      insns.push_back(in::make(BPF_LDX | BPF_MEM | BPF_DW, BPF_REG_8, BPF_REG_10, -8, 0));
    }
    if (record) in::store_slot(insns, out_, slot_++, BPF_REG_8);
  }
  // r9 = the pointer at the task's offset `off`.
  void follow(int32_t off) {
    read(BPF_REG_7, off, 8, false);
    insns.push_back(in::movr(BPF_REG_9, BPF_REG_8));
  }
  // r9 = the pointer at r9's offset `off` (one step along a chain).
  void step(int32_t off) {
    read(BPF_REG_9, off, 8, false);
    insns.push_back(in::movr(BPF_REG_9, BPF_REG_8));
  }
  // Records r9's pointer at `off` minus r9: 0 when it points to itself.
  void points_to_itself(int32_t off) {
    read(BPF_REG_9, off, 8, false);
    insns.push_back(in::make(BPF_ALU64 | BPF_SUB | BPF_X, BPF_REG_8, BPF_REG_9, 0, 0));
    in::store_slot(insns, out_, slot_++, BPF_REG_8);
  }
  // Records whether the pointers at two offsets of the task are equal.
  void same_pointer(int32_t a, int32_t b) {
    read(BPF_REG_7, a, 8, false);
    insns.push_back(in::movr(BPF_REG_9, BPF_REG_8));
    read(BPF_REG_7, b, 8, false);
    insns.push_back(in::make(BPF_ALU64 | BPF_SUB | BPF_X, BPF_REG_8, BPF_REG_9, 0, 0));
    in::store_slot(insns, out_, slot_++, BPF_REG_8);
  }
  void finish() {
    insns.push_back(in::mov(BPF_REG_0, 0));
    insns.push_back(in::exit());
  }
  int32_t slots() const { return slot_; }

 private:
  int out_;
  bool direct_;
  int32_t slot_ = 0;
};

// pid, tgid, comm, the parent's tgid, the group leader's pid, whether
// real_parent == parent and cred == real_cred, and uid/euid/fsuid/gid/fsgid.
std::vector<bpf_insn> task_read_prog(int out, bool direct, const TaskOffsets& o, int32_t* slots) {
  TaskReader t(out, direct);
  t.get_task();
  t.read(BPF_REG_7, o.pid, 4);
  t.read(BPF_REG_7, o.tgid, 4);
  t.read(BPF_REG_7, o.comm, 8);
  t.read(BPF_REG_7, o.comm + 8, 8);
  t.follow(o.real_parent);
  t.read(BPF_REG_9, o.tgid, 4);
  t.follow(o.group_leader);
  t.read(BPF_REG_9, o.pid, 4);
  t.same_pointer(o.real_parent, o.parent);
  t.same_pointer(o.cred, o.real_cred);
  t.follow(o.cred);
  for (int32_t off : {o.uid, o.euid, o.fsuid, o.gid, o.fsgid}) t.read(BPF_REG_9, off, 4);
  t.finish();
  *slots = t.slots();
  return t.insns;
}

// Up the real_parent chain from the parent, as process-tree tools walk it:
// each generation's tgid, and at the top, whether the task reached is its own
// parent (the kernel's first task is) and its comm. Not the
// pids: real_parent is the thread that forked, which /proc does not tell
// (this host's init forks from a thread of its own).
std::vector<bpf_insn> ancestry_prog(int out, bool direct, const TaskOffsets& o, int32_t* slots) {
  constexpr int kGenerations = 12;
  TaskReader t(out, direct);
  t.get_task();
  t.follow(o.real_parent);
  for (int g = 0; g < kGenerations; ++g) {
    t.step(o.real_parent);
    t.read(BPF_REG_9, o.tgid, 4);
  }
  t.points_to_itself(o.real_parent);
  t.points_to_itself(o.group_leader);
  t.read(BPF_REG_9, o.comm, 8);
  t.read(BPF_REG_9, o.comm + 8, 8);
  t.finish();
  *slots = t.slots();
  return t.insns;
}

}  // namespace

// The task a raw tracepoint's test run sees, read as tracing tools read it.
SCENARIO("COMMON", "prog", "current_task_struct") {
  const TaskOffsets o = task_offsets();
  r.note("the kernel's BTF has the task_struct and cred members", o.complete());
  if (!o.complete()) return;
  using Builder = std::vector<bpf_insn> (*)(int, bool, const TaskOffsets&, int32_t*);
  struct Variant {
    std::string what;
    bool direct;
    Builder build;
  };
  std::vector<Variant> variants;
  for (const auto& [name, build] : {std::pair<const char*, Builder>{"", task_read_prog},
                                    std::pair<const char*, Builder>{", the ancestry", ancestry_prog}}) {
    variants.push_back({std::string("bpf_get_current_task + bpf_probe_read_kernel") + name, false, build});
    variants.push_back({std::string("bpf_get_current_task_btf, direct loads") + name, true, build});
  }
  int32_t max_slots = 0;
  for (const Variant& v : variants) {
    int32_t n = 0;
    v.build(-1, v.direct, o, &n);
    max_slots = std::max(max_slots, n);
  }
  const int out = r.create(BPF_MAP_TYPE_ARRAY, 4, 8, static_cast<uint32_t>(max_slots));
  if (out < 0) return;
  for (const Variant& v : variants) {
    int32_t slots = 0;
    const std::vector<bpf_insn> insns = v.build(out, v.direct, o, &slots);
    const int prog = r.load_program(BPF_PROG_TYPE_RAW_TRACEPOINT, insns, v.what + ": load");
    if (prog < 0) continue;
    for (int32_t slot = 0; slot < slots; ++slot) r.update(out, u32(static_cast<uint32_t>(slot)), u64(0xdead));
    // Under a filesystem uid and gid of its own, which only this thread's
    // creds hold (and which keep the capabilities a test run needs).
    const long fsuid = syscall(SYS_setfsuid, 1234), fsgid = syscall(SYS_setfsgid, 4321);
    run_with_args(r, prog, {0}, v.what + ": run");
    syscall(SYS_setfsgid, fsgid);
    syscall(SYS_setfsuid, fsuid);
    for (int32_t slot = 0; slot < slots; ++slot) r.lookup(out, u32(static_cast<uint32_t>(slot)));
    r.close(prog);
  }
  // Both helpers are GPL-only.
  for (int32_t helper : {BPF_FUNC_get_current_task, BPF_FUNC_get_current_task_btf}) {
    const std::vector<bpf_insn> call = {in::call(helper), in::mov(BPF_REG_0, 0), in::exit()};
    const int fd = load_prog(r, BPF_PROG_TYPE_RAW_TRACEPOINT, 0, 0, call,
                             "helper " + std::to_string(helper) + ", MIT license: load", 0, "MIT");
    if (fd >= 0) r.close(fd);
  }
  // A socket filter may ask for either (among the kernel's base helpers, for
  // a loader with CAP_PERFMON).
  for (int32_t helper : {BPF_FUNC_get_current_task, BPF_FUNC_get_current_task_btf}) {
    const std::vector<bpf_insn> call = {in::call(helper), in::mov(BPF_REG_0, 0), in::exit()};
    const int fd = r.load_program(BPF_PROG_TYPE_SOCKET_FILTER, call, "socket filter, helper " + std::to_string(helper));
    if (fd >= 0) r.close(fd);
  }
}

SCENARIO("COMMON", "prog", "current_task_ids") {
  struct stat ns;
  r.note("this thread's pid namespace is readable", stat("/proc/thread-self/ns/pid", &ns) == 0);
  const int out = r.create(BPF_MAP_TYPE_ARRAY, 4, 8, 4);
  if (out < 0) return;
  const int prog = r.load_program(BPF_PROG_TYPE_RAW_TRACEPOINT, task_ids_prog(out, 8), "load");
  const int short_ns = r.load_program(BPF_PROG_TYPE_RAW_TRACEPOINT, task_ids_prog(out, 4), "load, nsdata of 4 bytes");
  if (prog < 0 || short_ns < 0) return;
  const uint64_t dev = ns.st_dev, ino = ns.st_ino;
  struct Case {
    const char* what;
    int fd;
    uint64_t dev, ino, level;
  };
  for (const Case& c : {Case{"own namespace, root cgroup", prog, dev, ino, 0},
                        Case{"ancestor level 1", prog, dev, ino, 1},
                        Case{"ancestor level 64", prog, dev, ino, 64},
                        Case{"ancestor level -1", prog, dev, ino, static_cast<uint64_t>(-1)},
                        Case{"another inode", prog, dev, ino + 1, 0},
                        Case{"another device", prog, dev + 1, ino, 0},
                        Case{"device past 32 bits", prog, dev | (uint64_t{1} << 32), ino, 0},
                        Case{"nsdata of 4 bytes", short_ns, dev, ino, 0}}) {
    for (uint32_t slot = 0; slot < 4; ++slot) r.update(out, u32(slot), u64(0));
    run_with_args(r, c.fd, {c.dev, c.ino, c.level}, c.what);
    for (uint32_t slot = 0; slot < 4; ++slot) r.lookup(out, u32(slot));
  }
}

}  // namespace bpfemu::conformance
