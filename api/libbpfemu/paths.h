// Path handling shared by the pin/get calls and the libc interposers.
#pragma once

#include <string>

namespace bpfemu::dropin {

// The absolute form of (dirfd, path) as the kernel's path walk would start it:
// an absolute path as it is; a relative one joined to dirfd's directory (the
// cwd for AT_FDCWD). Returns 0 or -errno (EBADF, ENOTDIR for a bad dirfd).
// No normalisation of "." or ".." is done.
int absolute_path(int dirfd, const char* path, std::string* out);

// True when `path` names /sys/fs/bpf or something below it (textual check).
bool is_sys_fs_bpf(const std::string& path);

// Where (dirfd, path) lives on the emulated bpffs, when it names something under
// /sys/fs/bpf; false for every other path (those are left to libc untouched).
bool emulated_path(int dirfd, const char* path, std::string* out);

}  // namespace bpfemu::dropin
