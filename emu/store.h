// Where the emulated kernel's objects live, shared by all of a user's processes.
//
// The store of an emulated bpffs root R is the directory R/.bpfemu (hidden from
// the emulated /sys/fs/bpf). Each object has, in <store>/<kind>/:
//   <id>.d    its data file (the Region every view maps);
//   <id>      its handle file: a 16-byte record naming the object. Every fd the
//             emulator hands out is a read-only open of it (or of <id>.r / <id>.w,
//             the same record for read-only and write-only handles, made when
//             first needed) holding a shared flock. Pins are hard links to <id>.
// So the kernel's reference counting is the real kernel's, on these files: an
// object lives while some process anywhere holds one of its handles (a shared
// flock on one of its handle files: dup, fork, exec and fd passing keep it, a
// process that dies drops it), while a pin names it (link count of <id> above
// one), or while another object references it (ObjHeader::krefs). Whoever
// notices that none of these holds any more (a close, an unpin, an id walk)
// frees it: marks it dead, then removes its names. Handles are read-only opens
// of files that hold no map data, so no plain syscall on one can change a map.
// Ids are the names: per kind, allocated cyclically from a counter in
// <store>/state, visible to every process of the user, as the kernel's ids are
// system-wide.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "core/object.h"

namespace bpfemu::emu {

// Access a handle grants (the kernel's f_mode read/write bits).
inline constexpr uint8_t kCanRead = 1;
inline constexpr uint8_t kCanWrite = 2;
inline constexpr uint8_t kCanReadWrite = kCanRead | kCanWrite;

class Store {
 public:
  // The store of the emulated bpffs root in use now (emu/bpffs.h), made on
  // first use; nullptr with *err set when the root cannot be used.
  static Store* current(int* err);
  // The store whose directory is `dir` (an fd's handle path told us), made on
  // first use; nullptr when it is not a store.
  static Store* for_dir(const std::string& dir);

  const std::string& root() const { return root_; }  // the emulated /sys/fs/bpf
  const std::string& dir() const { return dir_; }    // root()/.bpfemu

  // --- creating ---
  // A fresh zero-filled, still unnamed region of `size` bytes for an object of `kind`.
  int new_region(ObjKind kind, size_t size, Region* out);
  // Names a new object whose header is filled in except for its id: gives it
  // an id, publishes it, and returns its first handle (an fd granting `access`).
  int publish(Object& obj, uint8_t access);

  // --- finding ---
  // A new handle on a live object: an fd, -ENOENT when it is gone.
  int open_handle(ObjKind kind, uint32_t id, uint8_t access);
  // Maps a live object's region (its header names its kind and id).
  int attach(ObjKind kind, uint32_t id, Region* out);
  // The smallest id above start_id of a live object; -ENOENT when none.
  int next_id(ObjKind kind, uint32_t start_id, uint32_t* next);
  // What a handle file names, read from an open fd or a path: 0, or -EINVAL when
  // it is not one of this store's handle files.
  int identify_fd(int fd, ObjKind* kind, uint32_t* id, uint8_t* access);
  int identify_path(const std::string& path, ObjKind* kind, uint32_t* id);

  // --- pins ---
  // A new name for the object at `path` (a path under root()): 0 or -errno.
  int pin(ObjKind kind, uint32_t id, const std::string& path);

  // --- freeing ---
  // Frees the object if nothing references it any more; true when it did (or
  // the object was already gone).
  bool collect(ObjKind kind, uint32_t id);

  // What freeing an object of a kind must also do (drop the references it
  // holds); set once by the layer that knows the kinds.
  using ReleaseRefsFn = void (*)(Store& store, ObjKind kind, uint32_t id, int data_fd);
  static void set_release_refs(ReleaseRefsFn fn);
  // What an object must do when its last user handle and pin are gone while
  // kernel references keep it (the kernel's map_release_uref); called by
  // collect() once it has let go of the object's files.
  using ReleaseUrefFn = void (*)(Store& store, ObjKind kind, uint32_t id);
  static void set_release_uref(ReleaseUrefFn fn);

  // Paths of an object's files.
  std::string data_path(ObjKind kind, uint32_t id) const;
  std::string handle_path(ObjKind kind, uint32_t id, uint8_t access) const;

 private:
  Store(std::string root, std::string dir);
  int init();
  int make_handle_file(ObjKind kind, uint32_t id, uint8_t access, int* fd_out);

  std::string root_;
  std::string dir_;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
};

}  // namespace bpfemu::emu
