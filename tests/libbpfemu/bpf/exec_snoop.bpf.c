// What an execsnoop-style tool reads of the task that runs it, written as such
// tools write it: CO-RE reads through bpf_get_current_task() and direct loads
// through bpf_get_current_task_btf(), against local struct definitions that
// libbpf relocates to the running kernel's layout (no vmlinux.h); and a line
// formatted with BPF_SNPRINTF (bpf_snprintf, its format in .rodata).
// exec_snoop_test.cc fires it on the emulator.
#include <linux/bpf.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

typedef struct {
  unsigned int val;
} kuid_t;

struct cred {
  kuid_t uid;
  kuid_t euid;
} __attribute__((preserve_access_index));

struct task_struct {
  int pid;
  int tgid;
  char comm[16];
  struct task_struct *real_parent;
  struct task_struct *group_leader;
  const struct cred *cred;
} __attribute__((preserve_access_index));

// Shared with exec_snoop_test.cc.
struct exec_event {
  int pid, tgid, ppid, leader_pid;
  unsigned int uid, euid;
  char comm[16];
  int btf_pid, btf_tgid, btf_ppid;
  char btf_comm[16];
  char line[48];  // "comm[tgid] ppid N", by BPF_SNPRINTF
  long line_len;
  int gppid;        // the parent's parent
  int top_pid;      // the task at the top of the real_parent chain
  char top_comm[16];
};

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 4096);
} events SEC(".maps");

SEC("raw_tp/sched_process_exec")
int on_exec(void *ctx) {
  struct exec_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
  if (!e) return 0;
  struct task_struct *task = (struct task_struct *)bpf_get_current_task();
  e->pid = BPF_CORE_READ(task, pid);
  e->tgid = BPF_CORE_READ(task, tgid);
  e->ppid = BPF_CORE_READ(task, real_parent, tgid);
  e->leader_pid = BPF_CORE_READ(task, group_leader, pid);
  e->uid = BPF_CORE_READ(task, cred, uid.val);
  e->euid = BPF_CORE_READ(task, cred, euid.val);
  BPF_CORE_READ_STR_INTO(&e->comm, task, comm);

  struct task_struct *t = bpf_get_current_task_btf();
  e->btf_pid = t->pid;
  e->btf_tgid = t->tgid;
  e->btf_ppid = t->real_parent->tgid;
  __builtin_memcpy(e->btf_comm, t->comm, sizeof(e->btf_comm));
  // The process tree as far up as it goes: the kernel's first task is its
  // own parent.
  e->gppid = BPF_CORE_READ(task, real_parent, real_parent, tgid);
  struct task_struct *top = t;
  for (int i = 0; i < 64 && top->real_parent != top; i++) top = top->real_parent;
  e->top_pid = top->pid;
  __builtin_memcpy(e->top_comm, top->comm, sizeof(e->top_comm));
  e->line_len = BPF_SNPRINTF(e->line, sizeof(e->line), "%s[%d] ppid %d", e->comm, e->tgid, e->ppid);
  bpf_ringbuf_submit(e, 0);
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
