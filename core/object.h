// The kernel's BPF object kinds (map, program, BTF, link), and the perf events
// BPF programs write to, as this process sees one of them.
//
// Every object keeps its whole state in one Region (a shared, file-backed
// memory region, see region.h): the kind's data first, then one header page
// whose first part, ObjHeader, is the same for every kind. An Object is only a
// per-process view of that region; several processes hold views of the same
// object, and everything mutable lives in the region. Which objects exist, their
// ids, handles and reference counts are the store's business (emu/store.h).
#pragma once

#include <unistd.h>

#include <atomic>
#include <cstdint>

#include "core/region.h"

namespace bpfemu::emu {

// kPerfEvent is no BPF object (the bpf commands refuse its fds) but shares the
// machinery: a handle, a shared header, references from PERF_EVENT_ARRAY slots.
enum class ObjKind : uint8_t { kNone = 0, kMap = 1, kProg = 2, kBtf = 3, kLink = 4, kPerfEvent = 5 };
inline constexpr unsigned kObjKindCount = 6;
// "map", "prog", "btf", "link", "perf_event" ("?" for kNone).
const char* obj_kind_name(ObjKind kind);

inline constexpr size_t kHeaderPage = 4096;

// The start of every object's header page.
struct ObjHeader {
  // Format version of the store's files: a number that goes up whenever a
  // layout another build could misread changes, so such objects are refused
  // (not a BPF object) instead of misread.
  static constexpr uint64_t kMagic = 0x3670616d75656662ULL;  // "bfeumap6"

  uint64_t magic;
  uint32_t header_size;  // of the kind's whole header (this one included)
  ObjKind kind;
  uint8_t pad_[3];
  uint32_t id;
  uint32_t owner_uid;
  // Set, before its names go, by the process that frees the object: a handle
  // opened concurrently sees it and gives up (ENOENT).
  std::atomic<uint32_t> dead;
  // References held by other objects (map-in-map and prog-array slots,
  // programs using maps, links holding programs, maps holding their BTF).
  std::atomic<uint32_t> krefs;
  // Writable shared mappings of the data (freeze is refused while any exists).
  std::atomic<uint32_t> writable_mmaps;
  uint32_t pad2_;
  uint64_t data_size;   // bytes of the kind's data area at offset 0
  uint64_t created_ns;  // CLOCK_BOOTTIME when it was made (a program's load_time)
};

class Store;

// A per-process view of one object. Kinds derive from it; the fd table tags
// its entries with the kind, so code that knows the kind may downcast.
class Object {
 public:
  Object(ObjKind kind, Region&& region);
  virtual ~Object() {
    if (const int fd = wake_fd_.load(std::memory_order_relaxed); fd >= 0) ::close(fd);
  }
  Object(const Object&) = delete;
  Object& operator=(const Object&) = delete;

  ObjKind kind() const { return kind_; }
  uint32_t id() const { return ohdr_->id; }
  ObjHeader& obj_header() const { return *ohdr_; }
  Region& region() { return region_; }
  const Region& region() const { return region_; }
  uint8_t* data() const { return region_.base(); }
  // The store that names the object (set when it is published or attached).
  Store* store() const { return store_; }
  void set_store(Store* s) { store_ = s; }

  // Handles (fds) this process holds on the object; the view goes at zero
  // unless something else in this process still uses it (local_refs).
  std::atomic<int> handles{0};
  std::atomic<int> local_refs{0};

  // This process's end of the channel that wakes the object's pollers (-1
  // until one is opened; emu/fd_ops.cc). Kept by the view so it closes with it.
  int wake_fd() const { return wake_fd_.load(std::memory_order_acquire); }
  // Installs fd unless another thread got there first: the fd in use (the
  // loser's is closed).
  int adopt_wake_fd(int fd) {
    int expected = -1;
    if (wake_fd_.compare_exchange_strong(expected, fd, std::memory_order_acq_rel)) return fd;
    ::close(fd);
    return expected;
  }

 private:
  std::atomic<int> wake_fd_{-1};
  ObjKind kind_;
  Region region_;
  ObjHeader* ohdr_;
  Store* store_ = nullptr;
};

}  // namespace bpfemu::emu
