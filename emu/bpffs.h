// The emulated bpf filesystem.
//
// What programs see at /sys/fs/bpf lives in one real directory, the emulated
// bpffs root: $BPFEMU_BPFFS if set, else <shm>/bpfemu-<uid> (no root needed;
// /dev/shm is a tmpfs, so nothing touches disk). Pins are hard links to an
// object's handle file (emu/store.h), directories are real directories, and
// symlinks are real symlinks whose targets are read in the emulated namespace.
// Paths are resolved as the VFS resolves them -- relative to the cwd or a
// directory fd, ".", "..", repeated slashes and symlinks -- before deciding
// whether they are on the bpffs; a path already inside the root is on it too.
// Nothing is ever created outside the root.
#pragma once

#include <cstdint>
#include <string>

namespace bpfemu::emu {

// The root directory's path (it need not exist yet).
const std::string& bpffs_root();
// Creates the root (mode 0700) when it does not exist: 0 or -errno.
int ensure_bpffs_root();
// Re-reads BPFEMU_BPFFS (tests switch roots between cases).
void reset_bpffs_root();

// A path resolved as the kernel's path walk would.
struct ResolvedPath {
  std::string real;  // where it is on the real filesystem (inside the root when on_bpffs)
  bool on_bpffs = false;
  bool exists = false;  // the final component exists (lstat succeeded)
};

// Resolves (dirfd, path) -- dirfd AT_FDCWD or a directory fd, path a string in
// emulator memory -- following symlinks in every component but the last
// (follow_last: in the last one too). 0, or -errno as the VFS answers: ENOENT
// (empty path, a missing directory on the way), ENOTDIR, ENAMETOOLONG (a
// component over NAME_MAX), ELOOP, EBADF (bad dirfd).
int resolve_path(int dirfd, const char* path, bool follow_last, ResolvedPath* out);

// The cheap check the libc interposers make on every path they see: where
// (dirfd, path) lives when it is on the emulated bpffs (textual resolution of
// ".", ".." and slashes against the cwd or dirfd), false for every other path.
bool bpffs_path(int dirfd, const char* path, std::string* real);

// True when `real` (an absolute, normalised real path) is the root or inside it.
bool inside_root(const std::string& real);
// The path a program would use for `real` (inside the root): /sys/fs/bpf/...
std::string emulated_name(const std::string& real);

// rm of a pin: unlinks the emulated path and frees the object when that was
// its last reference. 0 or -errno.
int bpffs_unpin(const char* path);

}  // namespace bpfemu::emu
