// The emulated bpf filesystem.
//
// Pins live as hard links to a map's region file inside one directory, the
// emulated bpffs root: $BPFEMU_BPFFS if set, else /dev/shm/bpfemu-<uid> (no root
// needed; /dev/shm is a tmpfs, so map files never touch disk). Paths under
// /sys/fs/bpf are translated into that root, so unmodified programs that pin at
// /sys/fs/bpf/x work; paths already inside the root are taken as they are.
#pragma once

#include <cstdint>
#include <string>

namespace bpfemu::emu {

// The root directory (created on first use, mode 0700).
const std::string& bpffs_root();
// Re-reads BPFEMU_BPFFS (tests switch roots between cases).
void reset_bpffs_root();

// Translates a user path to the emulated path. Returns false when the path is not
// on the emulated bpffs (the kernel's answer is EPERM for pins there).
bool bpffs_translate(const char* path, std::string* out);

}  // namespace bpfemu::emu

namespace bpfemu::emu {
// A fresh map id from a counter shared by all of this user's processes
// (/dev/shm/bpfemu-<uid>.ids, beside the default root, never inside a root where
// it would look like a pin), so a pinned map has one id in every process.
// 0 when that file cannot be used; the caller then uses per-process ids.
uint32_t bpffs_alloc_id();
}  // namespace bpfemu::emu

namespace bpfemu::emu {
// unlink(2) of a pin path on the emulated bpffs (what rm does to a real pin).
int bpffs_unlink(const char* path);
}  // namespace bpfemu::emu
