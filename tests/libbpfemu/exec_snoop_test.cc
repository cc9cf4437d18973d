// An execsnoop-style program (bpf/exec_snoop.bpf.c) run without root: it reads
// the current task with CO-RE (bpf_get_current_task and BPF_CORE_READ, and
// direct loads from bpf_get_current_task_btf) and sends what it read through a
// ring buffer. The test fires its raw tracepoint from the main thread and from
// a named thread and compares the event with what the process knows of
// itself, and the line it formats with BPF_SNPRINTF. Linked with libbpfemu before libbpf, as bpf_object_test.cc is.
#include <errno.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <bpf/libbpf.h>
#include <gtest/gtest.h>

#include "bpfemu/programs.h"
#include "exec_snoop.skel.h"

namespace {

struct ExecEvent {  // struct exec_event in bpf/exec_snoop.bpf.c
  int pid, tgid, ppid, leader_pid;
  unsigned int uid, euid;
  char comm[16];
  int btf_pid, btf_tgid, btf_ppid;
  char btf_comm[16];
  char line[48];
  long line_len;
  int gppid, top_pid;
  char top_comm[16];
};

int collect(void* ctx, void* data, size_t size) {
  auto* out = static_cast<std::vector<ExecEvent>*>(ctx);
  if (size != sizeof(ExecEvent)) return -EINVAL;
  out->push_back(*static_cast<const ExecEvent*>(data));
  return 0;
}

class ExecSnoop : public ::testing::Test {
 protected:
  void SetUp() override {
    skel_ = exec_snoop__open_and_load();
    ASSERT_NE(skel_, nullptr) << strerror(errno);
    ASSERT_EQ(exec_snoop__attach(skel_), 0) << strerror(errno);
    ring_ = ring_buffer__new(bpf_map__fd(skel_->maps.events), collect, &events_, nullptr);
    ASSERT_NE(ring_, nullptr) << strerror(errno);
  }
  void TearDown() override {
    ring_buffer__free(ring_);
    exec_snoop__destroy(skel_);
  }

  // Fires the tracepoint in the calling thread: 0, or how it failed.
  static int fire() {
    const uint64_t args[3] = {0, 0, 0};
    return bpfemu_raw_tracepoint_fire("sched_process_exec", args, 3, -1) == 1 ? 0 : -1;
  }
  std::vector<ExecEvent> drain() {
    events_.clear();
    EXPECT_GE(ring_buffer__consume(ring_), 0);
    return events_;
  }

  exec_snoop* skel_ = nullptr;
  ring_buffer* ring_ = nullptr;
  std::vector<ExecEvent> events_;
};

// The parent of process `pid` as /proc/<pid>/status says, or -1.
int parent_of(int pid) {
  FILE* f = fopen(("/proc/" + std::to_string(pid) + "/status").c_str(), "re");
  if (f == nullptr) return -1;
  char line[256];
  int ppid = -1;
  while (fgets(line, sizeof(line), f) != nullptr)
    if (sscanf(line, "PPid: %d", &ppid) == 1) break;
  fclose(f);
  return ppid;
}

std::string thread_name() {
  char name[16] = {};
  return prctl(PR_GET_NAME, name) == 0 ? name : "";
}

TEST_F(ExecSnoop, MainThreadSeesItsProcessParentAndCreds) {
  ASSERT_EQ(fire(), 0);
  const std::vector<ExecEvent> ev = drain();
  ASSERT_EQ(ev.size(), 1u);
  const ExecEvent& e = ev[0];
  EXPECT_EQ(e.pid, static_cast<int>(syscall(SYS_gettid)));
  EXPECT_EQ(e.tgid, getpid());
  EXPECT_EQ(e.ppid, getppid());
  EXPECT_EQ(e.leader_pid, getpid());
  EXPECT_EQ(e.uid, getuid());
  EXPECT_EQ(e.euid, geteuid());
  EXPECT_STREQ(e.comm, thread_name().c_str());
  EXPECT_EQ(e.btf_pid, e.pid);
  EXPECT_EQ(e.btf_tgid, e.tgid);
  EXPECT_EQ(e.btf_ppid, getppid());
  EXPECT_STREQ(e.btf_comm, e.comm);
  const std::string line = std::string(e.comm) + "[" + std::to_string(getpid()) + "] ppid " + std::to_string(getppid());
  EXPECT_EQ(e.line, line);
  EXPECT_EQ(e.line_len, static_cast<long>(line.size() + 1)) << "bpf_snprintf counts the NUL";
  const int gppid = parent_of(getppid());
  ASSERT_GE(gppid, 0) << "/proc/" << getppid() << "/status has no PPid";
  EXPECT_EQ(e.gppid, gppid);
  EXPECT_EQ(e.top_pid, 0) << "the chain ends at the kernel's first task";
  EXPECT_STREQ(e.top_comm, "swapper/0");
}

// Another thread is its own task (its tid, its name) in the same thread group,
// whose leader is the main thread.
TEST_F(ExecSnoop, NamedThreadIsItsOwnTaskInTheGroup) {
  int fired = -1;
  long tid = 0;
  std::thread worker([&] {
    pthread_setname_np(pthread_self(), "exec-worker");
    tid = syscall(SYS_gettid);
    fired = fire();
  });
  worker.join();
  ASSERT_EQ(fired, 0);
  const std::vector<ExecEvent> ev = drain();
  ASSERT_EQ(ev.size(), 1u);
  const ExecEvent& e = ev[0];
  EXPECT_EQ(e.pid, static_cast<int>(tid));
  EXPECT_NE(e.pid, getpid());
  EXPECT_EQ(e.tgid, getpid());
  EXPECT_EQ(e.leader_pid, getpid());
  EXPECT_EQ(e.ppid, getppid());
  EXPECT_STREQ(e.comm, "exec-worker");
  EXPECT_STREQ(e.btf_comm, "exec-worker");
  EXPECT_EQ(e.btf_pid, e.pid);
}

// A rename shows in the next event: the task is read afresh on each call.
TEST_F(ExecSnoop, RenameShowsInTheNextEvent) {
  const std::string before = thread_name();
  ASSERT_EQ(prctl(PR_SET_NAME, "renamed-main"), 0);
  const int fired = fire();
  ASSERT_EQ(prctl(PR_SET_NAME, before.c_str()), 0);
  ASSERT_EQ(fired, 0);
  const std::vector<ExecEvent> ev = drain();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_STREQ(ev[0].comm, "renamed-main");
}

}  // namespace
