// QUEUE and STACK on their own: ring wrap-around, BPF_EXIST eviction order,
// program-side helpers on the same ring, memlock, and two processes sharing a
// map through fork without losing or duplicating elements. (Every rule is also
// compared with the kernel by conformance/scenarios_queue_stack.cc.)
#include <sys/wait.h>
#include <unistd.h>

#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "bpfemu/emu_backend.h"
#include "bpfemu/prog.h"
#include "core/host.h"
#include "emu/fd_ops.h"

namespace {

class QueueStackTest : public ::testing::Test {
 protected:
  int make(uint32_t type, uint32_t value_size, uint32_t max_entries) {
    int fd = b_.map_create(type, "qs", 0, value_size, max_entries, nullptr);
    EXPECT_GE(fd, 0);
    fds_.push_back(fd);
    return fd;
  }
  void TearDown() override {
    for (int fd : fds_) EXPECT_EQ(b_.close(fd), 0);
  }
  int push(int fd, uint64_t v, uint64_t flags = BPF_ANY) { return b_.map_update_elem(fd, nullptr, &v, flags); }
  // The popped value, or -errno as a negative number.
  int64_t pop(int fd) {
    uint64_t v = 0;
    int r = b_.map_lookup_and_delete_elem(fd, nullptr, &v);
    return r == 0 ? static_cast<int64_t>(v) : r;
  }
  int64_t peek(int fd) {
    uint64_t v = 0;
    int r = b_.map_lookup_elem(fd, nullptr, &v);
    return r == 0 ? static_cast<int64_t>(v) : r;
  }

  bpfemu::EmuBackend b_;
  std::vector<int> fds_;
};

TEST_F(QueueStackTest, QueueRingWrapsAroundInOrder) {
  int fd = make(BPF_MAP_TYPE_QUEUE, 8, 3);
  uint64_t next_in = 1, next_out = 1;
  // 4 slots; 2 pushes and 2 pops per round walk head and tail around it many times.
  for (int round = 0; round < 50; ++round) {
    ASSERT_EQ(push(fd, next_in++), 0);
    ASSERT_EQ(push(fd, next_in++), 0);
    ASSERT_EQ(peek(fd), static_cast<int64_t>(next_out));
    ASSERT_EQ(pop(fd), static_cast<int64_t>(next_out++));
    ASSERT_EQ(pop(fd), static_cast<int64_t>(next_out++));
    ASSERT_EQ(pop(fd), -ENOENT);
  }
  for (int i = 0; i < 3; ++i) ASSERT_EQ(push(fd, next_in++), 0);
  EXPECT_EQ(push(fd, next_in), -E2BIG);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(pop(fd), static_cast<int64_t>(next_out++));
  EXPECT_EQ(peek(fd), -ENOENT);
}

TEST_F(QueueStackTest, StackRingWrapsAroundNewestFirst) {
  int fd = make(BPF_MAP_TYPE_STACK, 8, 3);
  // Pushing after pops moves head back and forth across slot 0.
  for (uint64_t round = 0; round < 50; ++round) {
    ASSERT_EQ(push(fd, round * 10 + 1), 0);
    ASSERT_EQ(push(fd, round * 10 + 2), 0);
    ASSERT_EQ(peek(fd), static_cast<int64_t>(round * 10 + 2));
    ASSERT_EQ(pop(fd), static_cast<int64_t>(round * 10 + 2));
    ASSERT_EQ(pop(fd), static_cast<int64_t>(round * 10 + 1));
    ASSERT_EQ(pop(fd), -ENOENT);
  }
}

// A full queue drops its next pop; a full stack drops its bottom element.
TEST_F(QueueStackTest, ExistEvictsTheOldest) {
  int q = make(BPF_MAP_TYPE_QUEUE, 8, 3);
  int s = make(BPF_MAP_TYPE_STACK, 8, 3);
  for (int fd : {q, s}) {
    for (uint64_t v = 1; v <= 3; ++v) ASSERT_EQ(push(fd, v), 0);
    EXPECT_EQ(push(fd, 4), -E2BIG);
    EXPECT_EQ(push(fd, 4, BPF_EXIST), 0);
    EXPECT_EQ(push(fd, 5, BPF_EXIST), 0);
  }
  EXPECT_EQ(pop(q), 3);
  EXPECT_EQ(pop(q), 4);
  EXPECT_EQ(pop(q), 5);
  EXPECT_EQ(pop(q), -ENOENT);
  EXPECT_EQ(pop(s), 5);
  EXPECT_EQ(pop(s), 4);
  EXPECT_EQ(pop(s), 3);
  EXPECT_EQ(pop(s), -ENOENT);
}

TEST_F(QueueStackTest, FlagsKeysAndUnsupportedOps) {
  int fd = make(BPF_MAP_TYPE_QUEUE, 8, 2);
  uint64_t v = 7;
  uint32_t key = 0;
  EXPECT_EQ(push(fd, 1, BPF_NOEXIST), -EINVAL);
  EXPECT_EQ(push(fd, 1, BPF_F_LOCK), -EINVAL);
  EXPECT_EQ(push(fd, 1, 3), -EINVAL);
  EXPECT_EQ(b_.map_update_elem(fd, &key, &v, BPF_ANY), -EINVAL);
  EXPECT_EQ(b_.map_lookup_elem(fd, &key, &v), -EINVAL);
  EXPECT_EQ(b_.map_delete_elem(fd, nullptr), -EINVAL);
  EXPECT_EQ(b_.map_get_next_key(fd, nullptr, &key), -EINVAL);
  EXPECT_EQ(b_.map_lookup_and_delete_elem_flags(fd, nullptr, &v, BPF_F_LOCK), -EINVAL);
  EXPECT_EQ(b_.map_lookup_and_delete_elem_flags(fd, nullptr, &v, 1), -EINVAL);
  EXPECT_EQ(b_.map_lookup_elem(fd, nullptr, &v), -ENOENT);
  EXPECT_EQ(v, 7u);  // a failed peek copies nothing out
}

TEST_F(QueueStackTest, CreateRules) {
  bpfemu::MapCreateOpts o;
  EXPECT_EQ(b_.map_create(BPF_MAP_TYPE_QUEUE, "q", 4, 8, 4, nullptr), -EINVAL);
  EXPECT_EQ(b_.map_create(BPF_MAP_TYPE_QUEUE, "q", 0, 0, 4, nullptr), -EINVAL);
  EXPECT_EQ(b_.map_create(BPF_MAP_TYPE_STACK, "q", 0, 8, 0, nullptr), -EINVAL);
  EXPECT_EQ(b_.map_create(BPF_MAP_TYPE_STACK, "q", 0, (1U << 22) + 1, 1, nullptr), -E2BIG);
  o.map_flags = BPF_F_ZERO_SEED;
  EXPECT_EQ(b_.map_create(BPF_MAP_TYPE_QUEUE, "q", 0, 8, 4, &o), -EINVAL);
  o.map_flags = BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG;
  EXPECT_EQ(b_.map_create(BPF_MAP_TYPE_QUEUE, "q", 0, 8, 4, &o), -EINVAL);
  o.map_flags = 0;
  o.map_extra = 1;
  EXPECT_EQ(b_.map_create(BPF_MAP_TYPE_QUEUE, "q", 0, 8, 4, &o), -EINVAL);
}

// queue_stack_map_mem_usage: sizeof(struct bpf_queue_stack) (312 in the 6.18
// profile's built-in sizes, which a host without BTF gets) plus (max_entries + 1)
// slots.
TEST_F(QueueStackTest, MemlockIsTheKernelsMemUsage) {
  bpfemu::FakeHost no_btf;
  bpfemu::ScopedHost host(no_btf);
  int fd = make(BPF_MAP_TYPE_STACK, 3, 1000);
  std::string text;
  ASSERT_TRUE(bpfemu::emu::fdinfo_text(fd, &text));
  EXPECT_NE(text.find("memlock:\t" + std::to_string(312 + 1001 * 3) + "\n"), std::string::npos) << text;
}

TEST_F(QueueStackTest, ProgramHelpersShareTheRing) {
  int fd = make(BPF_MAP_TYPE_QUEUE, 8, 2);
  bpfemu::prog::MapRef m(fd);
  ASSERT_TRUE(m.valid());
  uint64_t v = 0xAAAAAAAAAAAAAAAA;
  EXPECT_EQ(m.pop(&v), -ENOENT);
  EXPECT_EQ(v, 0u);  // an empty map zeroes the program's buffer
  uint64_t one = 1, two = 2, three = 3;
  EXPECT_EQ(m.push(&one, BPF_ANY), 0);
  EXPECT_EQ(push(fd, 2), 0);
  EXPECT_EQ(m.push(&three, BPF_ANY), -E2BIG);
  EXPECT_EQ(m.push(&three, BPF_EXIST), 0);
  EXPECT_EQ(m.push(&two, BPF_NOEXIST), -EINVAL);
  EXPECT_EQ(m.peek(&v), 0);
  EXPECT_EQ(v, 2u);
  EXPECT_EQ(pop(fd), 2);
  EXPECT_EQ(m.pop(&v), 0);
  EXPECT_EQ(v, 3u);
  EXPECT_EQ(m.peek(&v), -ENOENT);
  EXPECT_EQ(v, 0u);
  uint32_t key = 0;
  EXPECT_EQ(m.lookup(&key), nullptr);
  EXPECT_EQ(m.update(&key, &v, BPF_ANY), -EINVAL);
  EXPECT_EQ(m.remove(&key), -EINVAL);
}

// Values tagged with their producer (high bits) and sequence number (low bits).
constexpr uint64_t kPerProducer = 100000;
constexpr uint64_t tag(uint64_t producer, uint64_t seq) { return producer << 32 | seq; }

// Pushes this producer's values and pops after every third push and whenever
// the ring is full (so neither process waits on the other), recording what it
// popped. Returns false on an unexpected error.
bool produce_and_consume(bpfemu::Backend& b, int fd, uint64_t producer, std::vector<uint64_t>* popped) {
  uint64_t pushed = 0;
  while (pushed < kPerProducer) {
    uint64_t v = tag(producer, pushed);
    int r = b.map_update_elem(fd, nullptr, &v, BPF_ANY);
    if (r != 0 && r != -E2BIG) return false;
    if (r == 0) ++pushed;
    if (r == -E2BIG || pushed % 3 == 0) {
      uint64_t out = 0;
      r = b.map_lookup_and_delete_elem(fd, nullptr, &out);
      if (r == 0) popped->push_back(out);
      else if (r != -ENOENT) return false;
    }
  }
  return true;
}

// Parent and child push 100000 values each and both pop concurrently; the child
// reports what it popped through a pipe. Every value comes out exactly once,
// and a queue keeps each producer's values in order.
void two_processes(bpfemu::Backend& b, int fd, bool fifo) {
  int pipefd[2];
  ASSERT_EQ(pipe(pipefd), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(pipefd[0]);
    std::vector<uint64_t> popped;
    bool ok = produce_and_consume(b, fd, 1, &popped);
    const size_t n = popped.size();
    ok = ok && write(pipefd[1], &n, sizeof(n)) == sizeof(n);
    for (size_t done = 0; ok && done < n * 8;) {
      ssize_t w = write(pipefd[1], reinterpret_cast<const char*>(popped.data()) + done, n * 8 - done);
      ok = w > 0;
      done += ok ? static_cast<size_t>(w) : 0;
    }
    _exit(ok ? 0 : 1);
  }
  close(pipefd[1]);
  std::vector<uint64_t> mine;
  EXPECT_TRUE(produce_and_consume(b, fd, 2, &mine));
  // Read the child's list before waiting: it does not fit in the pipe.
  size_t n = 0;
  ASSERT_EQ(read(pipefd[0], &n, sizeof(n)), static_cast<ssize_t>(sizeof(n)));
  std::vector<uint64_t> theirs(n);
  for (size_t got = 0; got < n * 8;) {
    ssize_t r = read(pipefd[0], reinterpret_cast<char*>(theirs.data()) + got, n * 8 - got);
    ASSERT_GT(r, 0);
    got += static_cast<size_t>(r);
  }
  close(pipefd[0]);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
  std::vector<uint64_t> rest;
  for (;;) {
    uint64_t out = 0;
    int r = b.map_lookup_and_delete_elem(fd, nullptr, &out);
    if (r == -ENOENT) break;
    ASSERT_EQ(r, 0);
    rest.push_back(out);
  }
  std::set<uint64_t> all;
  for (const auto* list : {&mine, &theirs, &rest})
    for (uint64_t v : *list) EXPECT_TRUE(all.insert(v).second) << "popped twice: " << std::hex << v;
  EXPECT_EQ(all.size(), 2 * kPerProducer);
  for (uint64_t p : {1u, 2u})
    for (uint64_t i = 0; i < kPerProducer; ++i) ASSERT_TRUE(all.count(tag(p, i))) << p << " " << i << " lost";
  if (!fifo) return;
  // Each consumer saw each producer's values in increasing order.
  for (const auto* list : {&mine, &theirs, &rest}) {
    uint64_t last[3] = {0, 0, 0};
    bool seen[3] = {false, false, false};
    for (uint64_t v : *list) {
      const uint64_t p = v >> 32, seq = v & 0xFFFFFFFF;
      ASSERT_TRUE(!seen[p] || seq > last[p]);
      seen[p] = true;
      last[p] = seq;
    }
  }
}

TEST_F(QueueStackTest, ForkedProcessesShareAQueue) { two_processes(b_, make(BPF_MAP_TYPE_QUEUE, 8, 16), true); }

TEST_F(QueueStackTest, ForkedProcessesShareAStack) { two_processes(b_, make(BPF_MAP_TYPE_STACK, 8, 16), false); }

}  // namespace
