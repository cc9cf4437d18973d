// What a program learns of the task it runs in, from a raw tracepoint
// program's test run (which runs in the calling thread, on the kernel as on
// the emulator): its cgroup v2 id and ancestors, and its pid and tgid in the
// pid namespace it names, with the helpers' answers for a namespace that is not
// the thread's and for a wrong nsdata size.
#include <linux/bpf.h>
#include <sys/stat.h>

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

}  // namespace

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
