// struct bpf_spin_lock in map values: the lock really serialises. Several
// processes (fork) and several threads in each take one value's lock at once
// through BPF programs (bpf_spin_lock/bpf_spin_unlock, run with
// BPF_PROG_TEST_RUN), through the C++ program API (prog::MapRef::spin_lock)
// and through BPF_F_LOCK syscalls; no increment is lost and no reader ever
// sees half an update. Run under TSan by CI's sanitizer build. Then the
// misuses the verifier would refuse, and a lock whose holder died.
#include <gtest/gtest.h>

#include "tests/emu_test_support.h"
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <thread>
#include <vector>

#include "bpfemu/emu_backend.h"
#include "bpfemu/prog.h"
#include "bpfemu/testing.h"
#include "core/arch.h"

namespace {

// Both values of the test map. Every writer keeps a == b == c, so a reader
// that sees them differ saw a torn value.
struct Counter {
  uint64_t a;
  uint32_t lock;  // struct bpf_spin_lock
  uint32_t pad;
  uint64_t b;
  uint64_t c;
};
constexpr uint32_t kLockOff = offsetof(Counter, lock);
constexpr uint32_t kCounter = 0;   // incremented under the lock
constexpr uint32_t kSnapshot = 1;  // overwritten whole with BPF_F_LOCK

#if BPFEMU_TSAN
constexpr int kRounds = 300;
#else
constexpr int kRounds = 3000;
#endif
constexpr int kThreads = 3;
constexpr int kProcesses = 2;

bpf_insn ins(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  bpf_insn i{};
  i.code = code;
  i.dst_reg = dst;
  i.src_reg = src;
  i.off = off;
  i.imm = imm;
  return i;
}
bpf_insn mov(uint8_t dst, int32_t imm) { return ins(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm); }
bpf_insn movr(uint8_t dst, uint8_t src) { return ins(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0); }
bpf_insn add(uint8_t dst, int32_t imm) { return ins(BPF_ALU64 | BPF_ADD | BPF_K, dst, 0, 0, imm); }
bpf_insn call(int32_t helper) { return ins(BPF_JMP | BPF_CALL, 0, 0, 0, helper); }
bpf_insn exit_insn() { return ins(BPF_JMP | BPF_EXIT, 0, 0, 0, 0); }
bpf_insn ldx(uint8_t dst, uint8_t src, int16_t off) { return ins(BPF_LDX | BPF_DW | BPF_MEM, dst, src, off, 0); }
bpf_insn stx(uint8_t dst, uint8_t src, int16_t off) { return ins(BPF_STX | BPF_DW | BPF_MEM, dst, src, off, 0); }

// r6 = &value[key]; a program without one exits with 2.
void lookup(std::vector<bpf_insn>& p, int map, uint32_t key) {
  p.push_back(ins(BPF_ST | BPF_W | BPF_MEM, BPF_REG_10, 0, -4, static_cast<int32_t>(key)));
  p.push_back(ins(BPF_LD | BPF_DW | BPF_IMM, BPF_REG_1, BPF_PSEUDO_MAP_FD, 0, map));
  p.push_back(ins(0, 0, 0, 0, 0));
  p.push_back(movr(BPF_REG_2, BPF_REG_10));
  p.push_back(add(BPF_REG_2, -4));
  p.push_back(call(BPF_FUNC_map_lookup_elem));
  p.push_back(ins(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_0, 0, 2, 0));
  p.push_back(mov(BPF_REG_0, 2));
  p.push_back(exit_insn());
  p.push_back(movr(BPF_REG_6, BPF_REG_0));
}
void lock_r6(std::vector<bpf_insn>& p, int32_t helper) {
  p.push_back(movr(BPF_REG_1, BPF_REG_6));
  p.push_back(add(BPF_REG_1, kLockOff));
  p.push_back(call(helper));
}

// Under the counter's lock: a, b and c each += 1. Returns 0.
std::vector<bpf_insn> increment_prog(int map) {
  std::vector<bpf_insn> p;
  lookup(p, map, kCounter);
  lock_r6(p, BPF_FUNC_spin_lock);
  for (int16_t off : {int16_t{offsetof(Counter, a)}, int16_t{offsetof(Counter, b)}, int16_t{offsetof(Counter, c)}}) {
    p.push_back(ldx(BPF_REG_1, BPF_REG_6, off));
    p.push_back(add(BPF_REG_1, 1));
    p.push_back(stx(BPF_REG_6, BPF_REG_1, off));
  }
  lock_r6(p, BPF_FUNC_spin_unlock);
  p.push_back(mov(BPF_REG_0, 0));
  p.push_back(exit_insn());
  return p;
}

// Under the snapshot's lock: returns 1 when a, b and c differ, else 0.
std::vector<bpf_insn> check_prog(int map) {
  std::vector<bpf_insn> p;
  lookup(p, map, kSnapshot);
  lock_r6(p, BPF_FUNC_spin_lock);
  p.push_back(ldx(BPF_REG_7, BPF_REG_6, offsetof(Counter, a)));
  p.push_back(ldx(BPF_REG_8, BPF_REG_6, offsetof(Counter, b)));
  p.push_back(ldx(BPF_REG_9, BPF_REG_6, offsetof(Counter, c)));
  lock_r6(p, BPF_FUNC_spin_unlock);
  p.push_back(mov(BPF_REG_0, 1));
  p.push_back(ins(BPF_JMP | BPF_JNE | BPF_X, BPF_REG_7, BPF_REG_8, 2, 0));
  p.push_back(ins(BPF_JMP | BPF_JNE | BPF_X, BPF_REG_8, BPF_REG_9, 1, 0));
  p.push_back(mov(BPF_REG_0, 0));
  p.push_back(exit_insn());
  return p;
}

class SpinLockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bpfemu::testing::reset_controls();
    btf_ = type_.load(b_);
    ASSERT_GE(btf_, 0) << strerror(-btf_);
    const bpfemu::MapCreateOpts o = type_.create_opts(btf_);
    fd_ = b_.map_create(BPF_MAP_TYPE_ARRAY, "counters", 4, sizeof(Counter), 2, &o);
    ASSERT_GE(fd_, 0) << strerror(-fd_);
  }
  void TearDown() override {
    for (int fd : progs_) b_.close(fd);
    if (fd_ >= 0) b_.close(fd_);
    if (btf_ >= 0) b_.close(btf_);
  }

  int load(const std::vector<bpf_insn>& insns) {
    const int fd = bpfemu::testsupport::load_xdp(b_, insns);
    EXPECT_GE(fd, 0) << strerror(-fd);
    if (fd >= 0) progs_.push_back(fd);
    return fd;
  }
  // One BPF_PROG_TEST_RUN: the syscall's result, and the program's in *retval.
  long run(int prog, uint32_t* retval) { return bpfemu::testsupport::run_on_zero_packet(b_, prog, retval); }
  Counter read(uint32_t key, uint64_t flags = BPF_F_LOCK) {
    Counter c{};
    EXPECT_EQ(b_.map_lookup_elem_flags(fd_, &key, &c, flags), 0);
    return c;
  }

  // The mixed load one thread (or one child process) puts on both values;
  // the number of torn values it saw.
  int hammer(int increment, int check, int seed) {
    int torn = 0;
    bpfemu::prog::MapRef ref(fd_);
    uint32_t retval = 0;
    for (int i = 0; i < kRounds; ++i) {
      // The counter: once by a program, once by C++ code under the lock.
      if (run(increment, &retval) != 0 || retval != 0) ++torn;
      uint32_t key = kCounter;
      auto* v = static_cast<Counter*>(ref.lookup(&key));
      if (v == nullptr || ref.spin_lock(&v->lock) != 0) {
        ++torn;
      } else {
        ++v->a, ++v->b, ++v->c;
        if (ref.spin_unlock(&v->lock) != 0) ++torn;
      }
      // The snapshot: a whole new value, then reads through the syscall and a program.
      const uint64_t n = static_cast<uint64_t>(seed) * 1000000 + i;
      Counter w{n, 0xffffffff, 0, n, n};
      key = kSnapshot;
      if (b_.map_update_elem(fd_, &key, &w, BPF_F_LOCK) != 0) ++torn;
      const Counter s = read(kSnapshot);
      if (s.a != s.b || s.b != s.c || s.lock != 0) ++torn;
      const Counter c = read(kCounter);
      if (c.a != c.b || c.b != c.c) ++torn;
      if (run(check, &retval) != 0 || retval != 0) ++torn;
    }
    return torn;
  }

  bpfemu::EmuBackend b_;
  bpfemu::testing::LockedValueType type_{sizeof(Counter), kLockOff};
  int btf_ = -1;
  int fd_ = -1;
  std::vector<int> progs_;
};

TEST_F(SpinLockTest, ThreadsAndProcessesLoseNoIncrementAndSeeNoTornValue) {
  const int increment = load(increment_prog(fd_));
  const int check = load(check_prog(fd_));
  ASSERT_GE(increment, 0);
  ASSERT_GE(check, 0);
  // The children first, while this process has one thread (TSan and fork).
  std::vector<pid_t> children;
  for (int p = 0; p < kProcesses; ++p) {
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) _exit(hammer(increment, check, 100 + p) == 0 ? 0 : 1);
    children.push_back(pid);
  }
  std::atomic<int> torn{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) threads.emplace_back([&, t] { torn += hammer(increment, check, t + 1); });
  for (auto& t : threads) t.join();
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "a child saw a torn value or a failed call";
  }
  EXPECT_EQ(torn.load(), 0);
  const Counter c = read(kCounter, 0);
  const uint64_t expected = 2ULL * kRounds * (kThreads + kProcesses);
  EXPECT_EQ(c.a, expected);
  EXPECT_EQ(c.b, expected);
  EXPECT_EQ(c.c, expected);
  EXPECT_EQ(c.lock, 0u);  // read as zero
}

TEST_F(SpinLockTest, TheCxxApiRefusesWhatTheVerifierWould) {
  bpfemu::prog::MapRef ref(fd_);
  uint32_t key = kCounter;
  auto* v = static_cast<Counter*>(ref.lookup(&key));
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(ref.spin_lock(&v->pad), -EINVAL);  // not the lock
  EXPECT_EQ(ref.spin_lock(&key), -EINVAL);     // not in the map at all
  EXPECT_EQ(ref.spin_unlock(&v->lock), -EPERM);
  ASSERT_EQ(ref.spin_lock(&v->lock), 0);
  EXPECT_EQ(ref.spin_lock(&v->lock), -EDEADLK);
  EXPECT_EQ(ref.spin_unlock(&v->lock), 0);
  EXPECT_EQ(ref.spin_unlock(&v->lock), -EPERM);
  // A map whose value type has no lock has none to take.
  const int plain = b_.map_create(BPF_MAP_TYPE_ARRAY, "plain", 4, sizeof(Counter), 1, nullptr);
  ASSERT_GE(plain, 0);
  bpfemu::prog::MapRef plain_ref(plain);
  auto* p = static_cast<Counter*>(plain_ref.lookup(&key));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(plain_ref.spin_lock(&p->lock), -EINVAL);
  b_.close(plain);
}

TEST_F(SpinLockTest, ARunThatExitsHoldingTheLockFailsAndReleasesIt) {
  std::vector<bpf_insn> p;
  lookup(p, fd_, kCounter);
  lock_r6(p, BPF_FUNC_spin_lock);
  p.push_back(mov(BPF_REG_0, 0));
  p.push_back(exit_insn());
  const int held = load(p);
  ASSERT_GE(held, 0);
  uint32_t retval = 0;
  EXPECT_EQ(run(held, &retval), -EINVAL);
  // Released: the syscall side and another program take it again at once.
  const Counter c = read(kCounter);
  EXPECT_EQ(c.lock, 0u);
  const int increment = load(increment_prog(fd_));
  ASSERT_GE(increment, 0);
  EXPECT_EQ(run(increment, &retval), 0);
  EXPECT_EQ(retval, 0u);
}

TEST_F(SpinLockTest, ARunThatCallsAHelperHoldingTheLockFaultsAndReleasesIt) {
  std::vector<bpf_insn> p;
  lookup(p, fd_, kCounter);
  lock_r6(p, BPF_FUNC_spin_lock);
  p.push_back(call(BPF_FUNC_ktime_get_ns));
  lock_r6(p, BPF_FUNC_spin_unlock);
  p.push_back(mov(BPF_REG_0, 0));
  p.push_back(exit_insn());
  const int prog = load(p);
  ASSERT_GE(prog, 0);
  uint32_t retval = 0;
  EXPECT_EQ(run(prog, &retval), -EFAULT);
  bpfemu::prog::MapRef ref(fd_);
  uint32_t key = kCounter;
  auto* v = static_cast<Counter*>(ref.lookup(&key));
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(ref.spin_lock(&v->lock), 0);
  EXPECT_EQ(ref.spin_unlock(&v->lock), 0);
}

TEST_F(SpinLockTest, ALockWhoseHolderDiedIsTakenOver) {
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    bpfemu::prog::MapRef ref(fd_);
    uint32_t key = kCounter;
    auto* v = static_cast<Counter*>(ref.lookup(&key));
    _exit(v != nullptr && ref.spin_lock(&v->lock) == 0 ? 0 : 1);  // dies holding it
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  Counter w{7, 0, 0, 7, 7};
  uint32_t key = kCounter;
  EXPECT_EQ(b_.map_update_elem(fd_, &key, &w, BPF_F_LOCK), 0);
  const Counter c = read(kCounter);
  EXPECT_EQ(c.a, 7u);
  EXPECT_EQ(c.lock, 0u);
}

TEST_F(SpinLockTest, HashValuesLockInPlace) {
  // A HASH map: BPF_F_LOCK rewrites the element a program holds a pointer to.
  const bpfemu::MapCreateOpts o = type_.create_opts(btf_);
  const int hash = b_.map_create(BPF_MAP_TYPE_HASH, "h", 4, sizeof(Counter), 4, &o);
  ASSERT_GE(hash, 0) << strerror(-hash);
  uint32_t key = 5;
  Counter w{1, 0, 0, 1, 1};
  ASSERT_EQ(b_.map_update_elem(hash, &key, &w, BPF_NOEXIST | BPF_F_LOCK), 0);
  bpfemu::prog::MapRef ref(hash);
  auto* v = static_cast<Counter*>(ref.lookup(&key));
  ASSERT_NE(v, nullptr);
  w = Counter{2, 0, 0, 2, 2};
  ASSERT_EQ(b_.map_update_elem(hash, &key, &w, BPF_EXIST | BPF_F_LOCK), 0);
  ASSERT_EQ(ref.spin_lock(&v->lock), 0);
  EXPECT_EQ(v->a, 2u);
  EXPECT_EQ(ref.spin_unlock(&v->lock), 0);
  EXPECT_EQ(ref.spin_lock(&w.lock), -EINVAL);  // stack memory, not the map's
  b_.close(hash);
}

}  // namespace
