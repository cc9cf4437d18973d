// Cross-process behaviour of the emulator through the libbpf drop-in.
//
// Separate processes (mp_helper, linked with libbpfemu; the pinning examples,
// built against the real libbpf and run with LD_PRELOAD) share maps only through
// pins on the emulated bpffs, like programs on a real kernel. This driver starts
// them, talks to them over pipes, and checks what each one sees. It also starts
// copies of itself (--atomic-child) that update a pinned map through the
// program-side API (bpfemu/prog.h), as BPF programs would.
//
// No root needed. When run as root, the example programs are run as "nobody" to
// show exactly that.
#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "bpfemu/emu_backend.h"
#include "bpfemu/prog.h"
#include "emu/bpffs.h"
#include "core/cpu.h"
#include "emu/kernel.h"

namespace {

namespace fs = std::filesystem;

constexpr int kTimeoutMs = 20000;
std::string g_self;  // this executable, for --atomic-child

// A child process with its stdin and stdout on pipes.
class Proc {
 public:
  // argv[0] is the program path. `env` entries (NAME=value) are added to ours.
  // uid/gid >= 0: drop to them before exec (used when running as root).
  explicit Proc(const std::vector<std::string>& argv, const std::vector<std::string>& env = {}, int uid = -1) {
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) abort();
    // Our environment, with `env` replacing same-named entries.
    std::vector<std::string> envs;
    for (char** e = environ; *e != nullptr; ++e) {
      std::string cur(*e);
      bool replaced = false;
      for (const std::string& o : env) replaced |= cur.compare(0, o.find('=') + 1, o, 0, o.find('=') + 1) == 0;
      if (!replaced) envs.push_back(cur);
    }
    for (const std::string& e : env) envs.push_back(e);
    std::vector<char*> cargv, cenv;
    for (const std::string& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
    cargv.push_back(nullptr);
    for (const std::string& e : envs) cenv.push_back(const_cast<char*>(e.c_str()));
    cenv.push_back(nullptr);
    pid_ = fork();
    if (pid_ == 0) {
      dup2(in[0], 0);
      dup2(out[1], 1);
      if (uid >= 0 && (setgroups(0, nullptr) != 0 || setgid(uid) != 0 || setuid(uid) != 0)) _exit(126);
      execve(cargv[0], cargv.data(), cenv.data());
      _exit(127);
    }
    close(in[0]);
    close(out[1]);
    to_ = in[1];
    from_ = out[0];
  }
  ~Proc() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      wait();
    }
    if (to_ >= 0) close(to_);
    if (from_ >= 0) close(from_);
  }
  Proc(const Proc&) = delete;
  Proc& operator=(const Proc&) = delete;

  pid_t pid() const { return pid_; }

  void send(const std::string& line) {
    std::string l = line + "\n";
    ASSERT_EQ(write(to_, l.data(), l.size()), static_cast<ssize_t>(l.size()));
  }
  // One output line without its newline; "<timeout>" or "<eof>" otherwise.
  std::string read_line(int timeout_ms = kTimeoutMs) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
      if (size_t nl = buf_.find('\n'); nl != std::string::npos) {
        std::string line = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        return line;
      }
      int left = static_cast<int>(
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count());
      if (left <= 0) return "<timeout>";
      pollfd p{from_, POLLIN, 0};
      if (poll(&p, 1, left) <= 0) continue;
      char tmp[4096];
      ssize_t n = read(from_, tmp, sizeof(tmp));
      if (n <= 0) return buf_.empty() ? "<eof>" : std::exchange(buf_, std::string());
      buf_.append(tmp, static_cast<size_t>(n));
    }
  }
  // Sends a command and returns its one-line answer.
  std::string call(const std::string& line, int timeout_ms = kTimeoutMs) {
    send(line);
    return read_line(timeout_ms);
  }
  // Everything the child prints until it exits.
  std::string read_all() {
    std::string all;
    for (std::string l = read_line(); l != "<eof>" && l != "<timeout>"; l = read_line()) all += l + "\n";
    return all;
  }
  // Waits for exit; returns the wait status.
  int wait() {
    int status = 0;
    if (pid_ > 0) waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }
  void kill_now() {
    kill(pid_, SIGKILL);
    wait();
  }

 private:
  pid_t pid_ = -1;
  int to_ = -1;
  int from_ = -1;
  std::string buf_;
};

class MultiProcess : public ::testing::Test {
 protected:
  void SetUp() override {
    // A private emulated bpffs per test, on tmpfs (/dev/shm) so memory use is
    // visible through statvfs.
    char tmpl[] = "/dev/shm/bpfemu-mp-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    base_ = tmpl;
    root_ = base_ + "/bpffs";
    setenv("BPFEMU_BPFFS", root_.c_str(), 1);
    bpfemu::emu::reset_bpffs_root();
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(base_, ec);
  }

  Proc helper() { return Proc({MP_HELPER}); }

  std::string base_, root_;
  bpfemu::EmuBackend b_;
};

// ---- the pinning examples: loader, then printer, as separate processes ----

const char kLoaderOut[] =
    "loader: created ARRAY map my_array (100 entries), set key 1 = 1, pinned at /sys/fs/bpf/my_array\n";
const char kPrinterOut[] =
    "printer: /sys/fs/bpf/my_array is map 'my_array' (type 2, key_size 4, value_size 4, max_entries 100)\n"
    "printer: key 1 = 1\n";

TEST_F(MultiProcess, ExamplesBuiltAgainstLibbpfRunPreloaded) {
  if (!PRELOAD_TESTS) GTEST_SKIP() << "sanitizer build: an instrumented libbpfemu.so cannot be preloaded";
  // As root, prove no privilege is needed: run them as nobody on a root that
  // nobody owns.
  const bool root = geteuid() == 0;
  std::string r = root_;
  if (root) {
    r = base_ + "/nobody/bpffs";
    fs::create_directory(base_ + "/nobody");
    ASSERT_EQ(chown((base_ + "/nobody").c_str(), 65534, 65534), 0);
    ASSERT_EQ(chmod(base_.c_str(), 0755), 0);
  }
  std::vector<std::string> env = {std::string("LD_PRELOAD=") + DROPIN_SO, "BPFEMU_BPFFS=" + r};
  const int uid = root ? 65534 : -1;
  {
    Proc loader({EXAMPLE_LOADER}, env, uid);
    EXPECT_EQ(loader.read_all(), kLoaderOut);
    EXPECT_EQ(loader.wait(), 0);
  }
  EXPECT_TRUE(fs::exists(r + "/my_array"));  // the pin outlives its creator
  {
    Proc printer({EXAMPLE_PRINTER}, env, uid);
    EXPECT_EQ(printer.read_all(), kPrinterOut);
    EXPECT_EQ(printer.wait(), 0);
  }
  // A second loader finds the pin taken, as on the kernel.
  Proc again({EXAMPLE_LOADER}, env, uid);
  again.read_all();
  EXPECT_NE(again.wait(), 0);
}

TEST_F(MultiProcess, ExamplesLinkedWithLibbpfemu) {
  {
    Proc loader({EXAMPLE_LOADER_LINKED});
    EXPECT_EQ(loader.read_all(), kLoaderOut);
    EXPECT_EQ(loader.wait(), 0);
  }
  Proc printer({EXAMPLE_PRINTER_LINKED});
  EXPECT_EQ(printer.read_all(), kPrinterOut);
  EXPECT_EQ(printer.wait(), 0);
}

// ---- one map, several processes ----

class SharedMap : public MultiProcess, public ::testing::WithParamInterface<uint32_t> {};

TEST_P(SharedMap, UpdatesAreSeenByEveryProcessWhileTheyRun) {
  const std::string pin = "/sys/fs/bpf/shared";
  Proc a = helper(), b = helper();
  ASSERT_EQ(a.call("create " + std::to_string(GetParam()) + " 16"), "ok");
  ASSERT_EQ(a.call("pin " + pin), "ok");
  ASSERT_EQ(a.call("set 1 10"), "ok");
  ASSERT_EQ(b.call("get " + pin), "ok");
  EXPECT_EQ(b.call("lookup 1"), "ok 10");
  ASSERT_EQ(a.call("set 2 20"), "ok");
  EXPECT_EQ(b.call("lookup 2"), "ok 20");
  ASSERT_EQ(b.call("set 3 30"), "ok");
  EXPECT_EQ(a.call("lookup 3"), "ok 30");
  // One map, one id, in every process.
  std::string id = a.call("id");
  EXPECT_EQ(b.call("id"), id);

  // This process (the C++ API over the same emulator) sees it too.
  int fd = b_.obj_get(pin.c_str());
  ASSERT_GE(fd, 0);
  uint32_t k = 3;
  uint64_t v = 0;
  EXPECT_EQ(b_.map_lookup_elem(fd, &k, &v), 0);
  EXPECT_EQ(v, 30u);
  v = 31;
  EXPECT_EQ(b_.map_update_elem(fd, &k, &v, BPF_ANY), 0);
  EXPECT_EQ(a.call("lookup 3"), "ok 31");
  b_.close(fd);

  // The creator leaves; the map stays (pinned, and b holds it).
  a.send("quit");
  EXPECT_EQ(a.wait(), 0);
  EXPECT_EQ(b.call("lookup 1"), "ok 10");
}

INSTANTIATE_TEST_SUITE_P(Types, SharedMap,
                         ::testing::Values(BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_LRU_HASH),
                         [](const auto& info) {
                           return std::string(info.param == BPF_MAP_TYPE_HASH    ? "Hash"
                                              : info.param == BPF_MAP_TYPE_ARRAY ? "Array"
                                                                                 : "LruHash");
                         });

class SharedPerCpuMap : public MultiProcess, public ::testing::WithParamInterface<uint32_t> {};

TEST_P(SharedPerCpuMap, EveryCpuSlotIsShared) {
  const int ncpus = bpfemu::possible_cpus();
  const std::string pin = "/sys/fs/bpf/pcpu";
  Proc a = helper(), b = helper();
  ASSERT_EQ(a.call("create " + std::to_string(GetParam()) + " 4"), "ok");
  ASSERT_EQ(a.call("pin " + pin), "ok");
  std::string vals;
  for (int c = 0; c < ncpus; ++c) vals += " " + std::to_string(100 + c);
  ASSERT_EQ(a.call("pset 0" + vals), "ok");
  ASSERT_EQ(b.call("get " + pin), "ok");
  EXPECT_EQ(b.call("plookup 0"), "ok" + vals);
  std::string vals2;
  for (int c = 0; c < ncpus; ++c) vals2 += " " + std::to_string(7 * c + 1);
  ASSERT_EQ(b.call("pset 0" + vals2), "ok");
  EXPECT_EQ(a.call("plookup 0"), "ok" + vals2);
}

INSTANTIATE_TEST_SUITE_P(Types, SharedPerCpuMap,
                         ::testing::Values(BPF_MAP_TYPE_PERCPU_ARRAY, BPF_MAP_TYPE_PERCPU_HASH),
                         [](const auto& info) {
                           return std::string(info.param == BPF_MAP_TYPE_PERCPU_ARRAY ? "PercpuArray"
                                                                                      : "PercpuHash");
                         });

// tmpfs bytes in use under the test's root (the region files live there).
uint64_t tmpfs_used(const std::string& path) {
  struct statvfs st {};
  if (statvfs(path.c_str(), &st) != 0) return 0;
  return static_cast<uint64_t>(st.f_blocks - st.f_bfree) * st.f_frsize;
}

TEST_F(MultiProcess, MapLivesWhilePinnedOrOpenAndIsFreedAfter) {
  constexpr uint64_t kBytes = 64ull << 20;  // 16384 values of 4 KiB
  const std::string pin = "/sys/fs/bpf/big";
  uint64_t before = tmpfs_used(base_);
  {
    Proc a = helper();
    ASSERT_EQ(a.call("create 2 16384 4096"), "ok");
    ASSERT_EQ(a.call("fill 16384 171"), "ok");
    ASSERT_EQ(a.call("pin " + pin), "ok");
    a.send("quit");
    EXPECT_EQ(a.wait(), 0);
  }
  // Creator gone, memory still there: the pin holds it.
  EXPECT_GE(tmpfs_used(base_), before + kBytes - (8u << 20));
  Proc b = helper();
  ASSERT_EQ(b.call("get " + pin), "ok");
  EXPECT_EQ(b.call("lookup 5"), "ok " + std::to_string(0xababababababababull));
  // Unpinned, but b's fd keeps it.
  ASSERT_EQ(bpfemu::emu::bpffs_unpin(pin.c_str()), 0);
  EXPECT_EQ(b_.obj_get(pin.c_str()), -ENOENT);
  EXPECT_EQ(b.call("lookup 16383"), "ok " + std::to_string(0xababababababababull));
  EXPECT_GE(tmpfs_used(base_), before + kBytes - (8u << 20));
  // Last fd gone: freed.
  b.send("quit");
  EXPECT_EQ(b.wait(), 0);
  EXPECT_LT(tmpfs_used(base_), before + (8u << 20));
}

// Ids are the user's, as the kernel's are the system's: a map one process made
// is listed and opened by id in another, and goes away with the process that
// held its last reference, even when that process is killed.
TEST_F(MultiProcess, IdsAreSharedAndDieWithTheirLastHolder) {
  Proc a = helper();
  ASSERT_EQ(a.call("create 1 16"), "ok");
  ASSERT_EQ(a.call("set 3 33"), "ok");
  const std::string id_line = a.call("id");
  ASSERT_EQ(id_line.compare(0, 3, "ok "), 0) << id_line;
  const uint32_t id = static_cast<uint32_t>(std::stoul(id_line.substr(3)));
  uint32_t next = 0;
  ASSERT_EQ(b_.map_get_next_id(id - 1, &next), 0);
  EXPECT_EQ(next, id);  // listed here, made there
  const int fd = b_.map_get_fd_by_id(id);
  ASSERT_GE(fd, 0);
  uint32_t k = 3;
  uint64_t v = 0;
  EXPECT_EQ(b_.map_lookup_elem(fd, &k, &v), 0);
  EXPECT_EQ(v, 33u);
  // Our fd keeps it after its creator is killed ...
  a.kill_now();
  EXPECT_EQ(b_.map_get_next_id(id - 1, &next), 0);
  EXPECT_EQ(next, id);
  // ... and nothing does after we close it.
  ASSERT_EQ(b_.close(fd), 0);
  EXPECT_EQ(b_.map_get_fd_by_id(id), -ENOENT);
  // A killed holder of the last reference: the next id walk frees it.
  Proc c = helper();
  ASSERT_EQ(c.call("create 1 16"), "ok");
  const std::string c_id = c.call("id");
  ASSERT_EQ(c_id.compare(0, 3, "ok "), 0) << c_id;
  const uint32_t id2 = static_cast<uint32_t>(std::stoul(c_id.substr(3)));
  c.kill_now();
  next = 0;
  const int r = b_.map_get_next_id(id2 - 1, &next);
  EXPECT_TRUE(r == -ENOENT || next != id2) << "map " << id2 << " outlived the process that held it";
  EXPECT_EQ(b_.map_get_fd_by_id(id2), -ENOENT);
  EXPECT_FALSE(fs::exists(root_ + "/.bpfemu/map/" + std::to_string(id2) + ".d"));
}

TEST_F(MultiProcess, TwoWritersEachIncrementTheirOwnKey) {
  constexpr int kN = 200000;
  // Four buckets for two keys: both writers go through shared bucket locks.
  for (const char* type : {"1", "2"}) {  // HASH, ARRAY
    SCOPED_TRACE(type);
    const std::string pin = std::string("/sys/fs/bpf/incr") + type;
    Proc a = helper(), b = helper();
    ASSERT_EQ(a.call(std::string("create ") + type + " 4"), "ok");
    ASSERT_EQ(a.call("pin " + pin), "ok");
    ASSERT_EQ(b.call("get " + pin), "ok");
    a.send("incr 1 " + std::to_string(kN));
    b.send("incr 2 " + std::to_string(kN));
    EXPECT_EQ(a.read_line(), "ok " + std::to_string(kN));
    EXPECT_EQ(b.read_line(), "ok " + std::to_string(kN));
    EXPECT_EQ(b.call("lookup 1"), "ok " + std::to_string(kN));
    EXPECT_EQ(a.call("lookup 2"), "ok " + std::to_string(kN));
  }
}

// ---- program-side atomics across processes ----

// Child: n atomic increments of key 0's value (the given CPU's slot), through a
// pointer from the program-side lookup, on the pinned map.
int atomic_child(const char* pin, long n, int cpu) {
  bpfemu::EmuBackend b;
  int fd = b.obj_get(pin);
  if (fd < 0) return 2;
  bpfemu::ScopedCpu on(cpu);
  uint32_t k = 0;
  auto* p = static_cast<uint64_t*>(bpfemu::prog::map_lookup_elem(fd, &k));
  if (p == nullptr) return 3;
  for (long i = 0; i < n; ++i) __atomic_fetch_add(p, 1, __ATOMIC_SEQ_CST);
  return 0;
}

TEST_F(MultiProcess, ProgramSideAtomicIncrementsFromTwoProcesses) {
  constexpr long kN = 2000000;
  const int ncpus = bpfemu::possible_cpus();
  for (uint32_t type : {BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_PERCPU_ARRAY}) {
    SCOPED_TRACE(type);
    const std::string pin = "/sys/fs/bpf/atomic" + std::to_string(type);
    int fd = b_.map_create(type, "atomic", 4, 8, 1, nullptr);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(b_.obj_pin(fd, pin.c_str()), 0);
    {
      // Two processes; for the per-CPU map each also on its own CPU slot plus
      // both on slot 0 when there is only one CPU.
      Proc c1({g_self, "--atomic-child", pin, std::to_string(kN), "0"});
      Proc c2({g_self, "--atomic-child", pin, std::to_string(kN), std::to_string(1 % ncpus)});
      EXPECT_EQ(c1.wait(), 0);
      EXPECT_EQ(c2.wait(), 0);
    }
    uint32_t k = 0;
    std::vector<uint64_t> v(ncpus, 0);
    ASSERT_EQ(b_.map_lookup_elem(fd, &k, v.data()), 0);
    if (type == BPF_MAP_TYPE_ARRAY) {
      EXPECT_EQ(v[0], 2u * kN);
    } else if (ncpus == 1) {
      EXPECT_EQ(v[0], 2u * kN);
    } else {
      EXPECT_EQ(v[0], static_cast<uint64_t>(kN));
      EXPECT_EQ(v[1], static_cast<uint64_t>(kN));
    }
    b_.close(fd);
  }
}

// ---- a writer killed mid-run ----

// Lets a hammering helper run for `ms` while draining its progress lines (a
// full pipe would park it in write(), never inside the map), then kills it and
// returns the last update it reported as committed.
uint64_t run_then_kill(Proc& p, int ms) {
  uint64_t last = 0;
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < end) {
    std::string l = p.read_line(1);
    if (l.rfind("c ", 0) == 0) last = std::stoull(l.substr(2));
  }
  kill(p.pid(), SIGKILL);
  for (std::string l = p.read_line(2000); l.rfind("c ", 0) == 0; l = p.read_line(2000))
    last = std::stoull(l.substr(2));
  return last;
}

class KilledWriter : public MultiProcess, public ::testing::WithParamInterface<uint32_t> {};

TEST_P(KilledWriter, LosesNoCommittedUpdateAndOthersCarryOn) {
  const std::string pin = "/sys/fs/bpf/crash";
  constexpr int kKeys = 32;
  Proc owner = helper();
  // 32 keys; for HASH in 32 buckets, so every writer below shares bucket locks
  // with the others.
  // LRU maps get room to spare: an update there takes a fresh node and may evict
  // when free nodes run short, and eviction is not what this test is about.
  const bool lru = GetParam() == BPF_MAP_TYPE_LRU_HASH || GetParam() == BPF_MAP_TYPE_LRU_PERCPU_HASH;
  ASSERT_EQ(owner.call("create " + std::to_string(GetParam()) + (lru ? " 4096" : " 32")), "ok");
  ASSERT_EQ(owner.call("pin " + pin), "ok");
  for (int k = 0; k < kKeys; ++k) ASSERT_EQ(owner.call("set " + std::to_string(k) + " 0"), "ok");

  // A writer that stays alive the whole time.
  Proc steady = helper();
  ASSERT_EQ(steady.call("get " + pin), "ok");
  steady.send("hammer 31");

  std::mt19937 rng(12345);
  for (int round = 0; round < 8; ++round) {
    SCOPED_TRACE(round);
    const uint32_t key = static_cast<uint32_t>(round);
    Proc victim = helper();
    ASSERT_EQ(victim.call("get " + pin), "ok");
    victim.send("hammer " + std::to_string(key));
    // Let it run a little, then kill it wherever it is.
    uint64_t last = run_then_kill(victim, 20 + static_cast<int>(rng() % 60));
    victim.wait();  // reaped: its pid is gone, so its locks can be broken
    ASSERT_GT(last, 0u);

    // Every committed update is there (later ones may be too: reports come
    // every 64 updates).
    Proc check = helper();
    ASSERT_EQ(check.call("get " + pin), "ok");
    std::string got = check.call("lookup " + std::to_string(key));
    ASSERT_EQ(got.rfind("ok ", 0), 0u) << got;
    uint64_t v = std::stoull(got.substr(3));
    EXPECT_GE(v, last);
    EXPECT_LE(v, last + 64);
    // Other processes can still lock and update every key.
    for (int k = round + 1; k < kKeys - 1; ++k)
      ASSERT_EQ(check.call("incr " + std::to_string(k) + " 10"), "ok " + std::to_string(10 * (round + 1)))
          << "key " << k;
    EXPECT_EQ(check.call("count"), "ok " + std::to_string(kKeys));
  }
  // The steady writer kept going through all of it.
  std::string progress = steady.read_line();
  EXPECT_EQ(progress.rfind("c ", 0), 0u) << progress;
  steady.kill_now();
  EXPECT_EQ(owner.call("count"), "ok " + std::to_string(kKeys));
}

INSTANTIATE_TEST_SUITE_P(Types, KilledWriter, ::testing::Values(BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_PERCPU_ARRAY),
                         [](const auto& info) {
                           return std::string(info.param == BPF_MAP_TYPE_ARRAY ? "Array" : "PercpuArray");
                         });
// Hash maps: a writer killed inside a bucket's write section leaves the seqlock
// odd and possibly a replaced key linked twice; the next writer to take over the
// dead writer's lock repairs both (Htab::repair_bucket). LRU maps: killed inside
// the LRU's list locks, the lists are rebuilt by the next taker (bpf_lru_repair.cc).
INSTANTIATE_TEST_SUITE_P(HashTypes, KilledWriter,
                         ::testing::Values(BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_PERCPU_HASH, BPF_MAP_TYPE_LRU_HASH,
                                           BPF_MAP_TYPE_LRU_PERCPU_HASH),
                         [](const auto& info) {
                           switch (info.param) {
                             case BPF_MAP_TYPE_HASH: return std::string("Hash");
                             case BPF_MAP_TYPE_PERCPU_HASH: return std::string("PercpuHash");
                             case BPF_MAP_TYPE_LRU_HASH: return std::string("LruHash");
                             default: return std::string("LruPercpuHash");
                           }
                         });

}  // namespace

int main(int argc, char** argv) {
  if (argc == 5 && strcmp(argv[1], "--atomic-child") == 0)
    return atomic_child(argv[2], std::atol(argv[3]), std::atoi(argv[4]));
  g_self = fs::canonical("/proc/self/exe").string();
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
