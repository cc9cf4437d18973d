// Internal to the attach code (emu/prog_attach.cc, emu/cgroup_attach.cc,
// emu/tcx_attach.cc): the shared attach table (its layout in the store's
// file, its locking, lookup and creation of hooks), the lookups and helpers
// every list kind uses, and each hook kind's entry points for the
// BPF_PROG_ATTACH/DETACH/QUERY dispatch.
#pragma once

#include <linux/bpf.h>
#include <sys/file.h>
#include <sys/types.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <span>

#include "emu/prog_attach.h"

namespace bpfemu::emu {

class Program;
class Store;

// uapi values past the 6.1 header this build may be compiled against.
constexpr uint32_t kFReplace = 1U << 2;
constexpr uint32_t kFBefore = 1U << 3;
constexpr uint32_t kFAfter = 1U << 4;
constexpr uint32_t kFId = 1U << 5;
constexpr uint32_t kFPreorder = 1U << 6;
constexpr uint32_t kFLink = 1U << 13;
constexpr uint32_t kOverride = BPF_F_ALLOW_OVERRIDE;
constexpr uint32_t kMulti = BPF_F_ALLOW_MULTI;
constexpr uint32_t kQueryEffective = 1U << 0;
constexpr uint32_t kMaxProgs = 64;  // BPF_CGROUP_MAX_PROGS
// A new cgroup's revision of each list (cgroup_bpf_inherit starts them at 1).
constexpr uint64_t kFirstRevision = 1;

// The shared file: one record per (cgroup, attach type) attached to, and per
// (device, tcx direction). A cgroup's record stays while the cgroup lives, as
// the kernel keeps its revisions that long.
struct Item {
  uint32_t prog_id;  // the program (a link's current program for link items)
  uint32_t link_id;  // 0: attached with BPF_PROG_ATTACH
  uint32_t flags;    // BPF_F_PREORDER
  uint32_t pad;
};
struct Hook {
  uint64_t cgroup;  // 0: free record
  uint32_t attach_type;
  uint32_t flags;  // BPF_F_ALLOW_OVERRIDE / BPF_F_ALLOW_MULTI of the list, 0 when empty
  uint64_t revision;
  uint32_t count;
  uint32_t pad;
  Item items[kMaxProgs];
  // The cgroup's directory when it was last attached to: once no directory
  // with this inode is there, the cgroup is gone and so are its attachments.
  char path[256];
};
constexpr uint32_t kHooks = 4096;
struct TableFile {
  static constexpr uint64_t kMagic = 0x3170746163656662ULL;  // "bfecatp1"
  uint64_t magic;
  uint64_t pad;
  Hook hooks[kHooks];
};

class Table {
 public:
  Table(TableFile* f, int fd, ino_t ino) : file_(f), fd_(fd), ino_(ino) {}
  ino_t ino() const { return ino_; }
  Hook* find(uint64_t cgroup, uint32_t attach_type);
  Hook* find_or_make(uint64_t cgroup, uint32_t attach_type);
  std::span<Hook> hooks() { return file_->hooks; }
  int fd() const { return fd_; }
  std::mutex mu;

 private:
  TableFile* file_;
  int fd_;
  ino_t ino_;
};

// The store's table, mapped once per process: nullptr with *err set when it
// cannot be opened, sized or mapped, or another layout wrote it.
Table* table_of(Store& store, int* err);

// The table, held: this process's threads by the mutex, other processes by
// an exclusive flock (dropped by the kernel if the holder dies).
class Locked {
 public:
  explicit Locked(Table& t) : t_(t), lock_(t.mu) {
    while (flock(t_.fd(), LOCK_EX) != 0 && errno == EINTR) {
    }
  }
  ~Locked() { flock(t_.fd(), LOCK_UN); }
  Table* operator->() { return &t_; }

 private:
  Table& t_;
  std::unique_lock<std::mutex> lock_;
};

inline uint64_t revision_of(Hook* h) { return h != nullptr ? h->revision : kFirstRevision; }
inline uint32_t count_of(Hook* h) { return h != nullptr ? h->count : 0; }
inline uint32_t flags_of(Hook* h) { return h != nullptr ? h->flags : 0; }

// The program behind fd whose type must be `type` (bpf_prog_get_type): EBADF
// for no BPF object, EINVAL for another kind or type.
Program* prog_of_type(uint32_t fd, uint32_t type, int* err);

// What a relative fd or id names, looked up before the table is locked (the
// lookup may let go of a stale fd's object, whose release takes the lock);
// err is reported where the kernel would look it up.
struct Anchor {
  int err = 0;
  uint32_t prog = 0;
  uint32_t link = 0;
};

// Writes v at offset off of the caller's attr: 0 or -EFAULT.
int put32(void* uattr, size_t off, uint32_t v);

// The cgroup halves of the syscalls (emu/cgroup_attach.cc), after
// emu/prog_attach.cc checked the attach type and flags (and, to attach, the
// program).
long cgroup_prog_attach(Program& prog, const ProgAttachAttr& a);
long cgroup_prog_detach(const ProgAttachAttr& a, uint32_t ptype);
// The fields of BPF_PROG_QUERY's attr that a cgroup query reads.
struct QueryAttr {
  uint32_t target_fd, attach_type, query_flags, prog_cnt;
  uint64_t prog_ids, prog_attach_flags;
};
long cgroup_prog_query(void* uattr, const QueryAttr& q);

// The tcx halves (emu/tcx_attach.cc).
bool is_tcx(uint32_t attach_type);
long tcx_prog_attach(Program& prog, const ProgAttachAttr& a);
long tcx_prog_detach(Program* prog, const ProgAttachAttr& a);
long tcx_prog_query(void* uattr, const uint8_t* attr);

}  // namespace bpfemu::emu
