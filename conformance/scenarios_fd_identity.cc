// What an fd number names after it was closed or replaced, through libc and
// behind libc's back (raw close/dup2 syscalls), and a map after a writer
// process was SIGKILLed in the middle of its updates. The kernel resolves every
// fd afresh and cannot be caught half-way through an update; the emulator must
// answer the same.
#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "conformance/scenario.h"

#include <linux/bpf.h>

namespace bpfemu::conformance {
namespace {

// max_entries of the map behind fd, or the call's -errno.
long max_entries_of(Recorder& r, int fd) {
  bpf_map_info info{};
  uint32_t len = sizeof(info);
  errno = 0;
  const int rc = r.backend().obj_get_info_by_fd(fd, &info, &len);
  return rc == 0 ? static_cast<long>(info.max_entries) : -errno;
}

long freeze(Recorder& r, int fd) {
  errno = 0;
  return r.backend().map_freeze(fd) == 0 ? 0 : -errno;
}

long lookup1(Recorder& r, int fd) {
  uint32_t k = 0;
  uint64_t v = 0;
  errno = 0;
  return r.backend().map_lookup_elem(fd, &k, &v) == 0 ? static_cast<long>(v) : -errno;
}

int array(Recorder& r, uint32_t max_entries) {
  const int fd = r.create(BPF_MAP_TYPE_ARRAY, 4, 8, max_entries, 0, "fdid");
  uint32_t k = 0;
  uint64_t v = max_entries * 100;
  if (fd >= 0) r.backend().map_update_elem(fd, &k, &v, BPF_ANY);
  return fd;
}

}  // namespace

SCENARIO("COMMON", "fd_identity", "replaced_through_libc") {
  const int a = array(r, 4), b = array(r, 8);
  if (a < 0 || b < 0) return;
  if (dup2(b, a) != a) return r.note("dup2 failed", -errno);
  r.note("libc dup2(b, a): info of a", max_entries_of(r, a));
  r.note("libc dup2(b, a): lookup through a", lookup1(r, a));
  const int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (dup2(null_fd, a) != a) return r.note("dup2 failed", -errno);
  r.note("libc dup2(/dev/null, a): info", max_entries_of(r, a));
  r.note("libc dup2(/dev/null, a): lookup", lookup1(r, a));
  r.note("libc dup2(/dev/null, a): freeze", freeze(r, a));
  close(a);
  r.note("libc close(a): info", max_entries_of(r, a));
  r.note("libc close(a): lookup", lookup1(r, a));
  r.note("libc close(a): freeze", freeze(r, a));
  r.note("b untouched", lookup1(r, b));
  close(null_fd);
  r.close(b);
}

// Raw syscalls bypass libc's wrappers: the commands off the emulator's fast
// path (info, freeze) must still see what the number names now.
SCENARIO("COMMON", "fd_identity", "replaced_by_raw_syscalls") {
  const int a = array(r, 4), b = array(r, 8);
  if (a < 0 || b < 0) return;
  if (syscall(SYS_dup2, b, a) != a) return r.note("raw dup2 failed", -errno);
  r.note("raw dup2(b, a): info of a", max_entries_of(r, a));
  const int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (syscall(SYS_dup2, null_fd, a) != a) return r.note("raw dup2 failed", -errno);
  r.note("raw dup2(/dev/null, a): info", max_entries_of(r, a));
  r.note("raw dup2(/dev/null, a): freeze", freeze(r, a));
  syscall(SYS_close, a);
  r.note("raw close(a): info", max_entries_of(r, a));
  r.note("raw close(a): freeze", freeze(r, a));
  r.note("b untouched", lookup1(r, b));
  close(null_fd);
  r.close(b);
}

// A writer SIGKILLed wherever it happens to be, a few times over: the map
// holds every key with its one possible value and takes updates from the
// others (a hash map's writer was replacing elements, an LRU map's taking
// fresh nodes from the LRU lists).
SCENARIO("COMMON", "fd_identity", "writer_killed_mid_update") {
  for (uint32_t type : {BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_LRU_HASH}) {
    const uint32_t flags = type == BPF_MAP_TYPE_HASH ? BPF_F_ZERO_SEED : 0;
    const int fd = r.create(type, 4, 8, 1024, flags, "killed");
    if (fd < 0) continue;
    constexpr uint32_t kKeys = 64;
    for (uint32_t k = 0; k < kKeys; ++k) {
      const uint64_t v = k;
      r.backend().map_update_elem(fd, &k, &v, BPF_ANY);
    }
    for (int round = 0; round < 3; ++round) {
      const pid_t child = fork();
      if (child == 0) {
        for (uint64_t i = 0;; ++i) {
          const uint32_t k = static_cast<uint32_t>(i % kKeys);
          const uint64_t v = k;  // the same value every time: any moment is a consistent state
          r.backend().map_update_elem(fd, &k, &v, BPF_ANY);
        }
      }
      if (child < 0) return r.note("fork failed", -errno);
      std::this_thread::sleep_for(std::chrono::milliseconds(15 + 10 * round));
      kill(child, SIGKILL);
      int status = 0;
      waitpid(child, &status, 0);
    }
    r.note("type " + std::to_string(type) + ": keys", r.walk_set(fd, 4));
    uint32_t wrong = 0;
    for (uint32_t k = 0; k < kKeys; ++k) {
      uint64_t out = 0;
      if (r.backend().map_lookup_elem(fd, &k, &out) != 0 || out != k) ++wrong;
    }
    r.note("keys with another value or missing", wrong);
    uint32_t k = 7;
    uint64_t v = 700;
    r.note("update after the kills", r.backend().map_update_elem(fd, &k, &v, BPF_ANY));
    r.lookup(fd, u32(7));
    r.close(fd);
  }
}

// Plain file syscalls on a map fd answer as the kernel's anon-inode file does,
// and none of them changes the map (tests/libbpfemu/fd_ops_vs_kernel.sh goes
// through more of them, and other fd kinds).
SCENARIO("COMMON", "fd_identity", "plain_syscalls_on_a_map_fd") {
  const int fd = array(r, 4);
  if (fd < 0) return;
  char buf[16] = {};
  int n = 0;
  struct stat st {};
  auto note = [&](const char* what, long rc) { r.note(what, rc < 0 ? -errno : rc); };
  errno = 0;
  note("read(8)", read(fd, buf, 8));
  note("write(8)", write(fd, buf, 8));
  note("pread", pread(fd, buf, 8, 0));
  note("pwrite", pwrite(fd, buf, 8, 0));
  note("lseek(0, SEEK_SET)", lseek(fd, 0, SEEK_SET));
  note("ftruncate(0)", ftruncate(fd, 0));
  note("fallocate", fallocate(fd, 0, 0, 4096));
  note("fsync", fsync(fd));
  note("ioctl(FIONREAD)", ioctl(fd, FIONREAD, &n));
  // Raw syscalls bypass libbpfemu's interposers: they fail, but a raw write
  // answers EBADF there (the kernel: EINVAL; README, known differences).
  r.note("raw write(8) fails", syscall(SYS_write, fd, buf, 8) < 0);
  note("raw ftruncate(0)", syscall(SYS_ftruncate, fd, 0));
  if (fstat(fd, &st) == 0) {
    r.note("fstat: file type", static_cast<long>(st.st_mode & S_IFMT));
    r.note("fstat: size", static_cast<long>(st.st_size));
  }
  r.note("the map is unchanged", lookup1(r, fd));
  r.close(fd);
}

}  // namespace bpfemu::conformance
