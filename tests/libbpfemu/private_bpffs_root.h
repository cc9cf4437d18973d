// gtest_discover_tests runs each test of a binary in a process of its own, two
// at a time under ctest -j2, and firing a hook runs what every process using
// the bpffs root attached there. So each test process takes a root of its own
// under the one ctest gives (BPFEMU_BPFFS), before the emulator first looks:
// a raw mkdir, since libc's is interposed and asking where the root is would
// fix it. Used as a namespace-scope initializer.
#pragma once

#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

inline bool take_private_bpffs_root() {
  const char* base = getenv("BPFEMU_BPFFS");
  if (base == nullptr) return false;
  const std::string dir = std::string(base) + "/p" + std::to_string(getpid());
  syscall(SYS_mkdir, base, 0755);
  syscall(SYS_mkdir, dir.c_str(), 0755);
  return setenv("BPFEMU_BPFFS", dir.c_str(), 1) == 0;
}
