#include "emu/objects.h"
#include "emu/timer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <pthread.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "core/log.h"
#include "core/map_ops.h"
#include "core/scope.h"
#include "emu/fd_ops.h"
#include "emu/btf.h"
#include "emu/prog_attach.h"
#include "emu/iter.h"
#include "emu/link.h"
#include "emu/local_obj.h"
#include "emu/perf_event.h"
#include "maptypes/families.h"
#include "emu/program.h"

namespace bpfemu::emu {

std::array<fd_table::Slot, fd_table::kChunkSize> fd_table::g_first{};
std::array<std::atomic<fd_table::Slot*>, fd_table::kChunks> fd_table::g_chunks{fd_table::g_first.data()};

namespace {

using fd_table::Slot;

void arm_exit_handler();

// Guards the views index and view creation/destruction; fd table writes
// happen under it too (readers of the table take no lock).
std::mutex g_mu;

// A fork while another thread holds g_mu would leave the child's copy locked.
struct ForkSafety {
  ForkSafety() {
    pthread_atfork([] { g_mu.lock(); }, [] { g_mu.unlock(); }, [] { g_mu.unlock(); });
  }
} g_fork_safety;

using ViewKey = std::tuple<Store*, ObjKind, uint32_t>;
std::map<ViewKey, Object*>& views() {
  static auto* m = new std::map<ViewKey, Object*>();  // outlives static destructors: handles may close late
  return *m;
}

Slot* slot_for(int fd, bool create) {
  if (fd < 0) return nullptr;
  if (Slot* s = fd_table::find(fd); s != nullptr || !create) return s;
  const size_t chunk = static_cast<size_t>(fd) >> fd_table::kChunkBits;
  if (chunk >= fd_table::kChunks) return nullptr;  // beyond the table: not a handle
  Slot* c = nullptr;
  auto* fresh = new Slot[fd_table::kChunkSize];
  if (!fd_table::g_chunks[chunk].compare_exchange_strong(c, fresh, std::memory_order_acq_rel)) {
    delete[] fresh;
  } else {
    c = fresh;
  }
  return &c[static_cast<size_t>(fd) & (fd_table::kChunkSize - 1)];
}

// Makes the kind's view class over a mapped region. Caller holds g_mu.
Object* make_view(ObjKind kind, Region&& region, int* err) {
  switch (kind) {
    case ObjKind::kMap: {
      const auto* hdr = region.at<MapHeader>(region.size() - kHeaderPage);
      const maptypes::MapOps* ops = maptypes::ops_for_type(hdr->attr.map_type);
      if (ops == nullptr) {
        *err = -EINVAL;
        return nullptr;
      }
      auto* m = new Map(ops->variant_for(hdr->attr), std::move(region));
      maptypes::bind_view(*m);
      return m;
    }
    case ObjKind::kBtf:
      return new Btf(std::move(region));
    case ObjKind::kProg:
      return new Program(std::move(region));
    case ObjKind::kLink:
      return new Link(std::move(region));
    case ObjKind::kPerfEvent:
      return new PerfEvent(std::move(region));
    default:
      *err = -EINVAL;
      return nullptr;
  }
}

// Caller holds g_mu.
Object* view_locked(Store& store, ObjKind kind, uint32_t id, int* err) {
  auto& all = views();
  if (auto it = all.find({&store, kind, id}); it != all.end()) return it->second;
  Region region;
  if (int e = store.attach(kind, id, &region); e != 0) {
    *err = e;
    return nullptr;
  }
  Object* obj = make_view(kind, std::move(region), err);
  if (obj == nullptr) return nullptr;
  obj->set_store(&store);
  all[{&store, kind, id}] = obj;
  return obj;
}

// Caller holds g_mu. True when fd could be recorded.
bool install_locked(int fd, Object* obj, uint8_t access) {
  Slot* s = slot_for(fd, true);
  if (s == nullptr) return false;
  if (Object* prev = s->take(); prev != nullptr) prev->handles.fetch_sub(1);  // a stale entry
  s->set(obj, obj->kind(), access);
  obj->handles.fetch_add(1);
  return true;
}

// What to free once g_mu is released.
struct Released {
  Store* store = nullptr;
  ObjKind kind = ObjKind::kNone;
  uint32_t id = 0;
};

// Caller holds g_mu. Drops the view when this process holds nothing of it
// any more; says what the caller should try to free.
Released release_locked(Object* obj) {
  if (obj->handles.load() > 0 || obj->local_refs.load() > 0) return {};
  Released r{obj->store(), obj->kind(), obj->id()};
  // This process holds the map no more (the kernel's map_release_uref): its timers go.
  if (obj->kind() == ObjKind::kMap) timers_forget_map(static_cast<Map*>(obj));
  views().erase({obj->store(), obj->kind(), obj->id()});
  delete obj;
  return r;
}

void finish_release(const Released& r) {
  if (r.store != nullptr) r.store->collect(r.kind, r.id);
}

// The store directory and kind of a handle path "<dir>/.bpfemu/<kind>/<id>[.r|.w]".
bool parse_handle_path(const std::string& path, std::string* dir) {
  const size_t kind_slash = path.rfind('/');
  if (kind_slash == std::string::npos || kind_slash == 0) return false;
  const size_t dir_slash = path.rfind('/', kind_slash - 1);
  if (dir_slash == std::string::npos) return false;
  *dir = path.substr(0, dir_slash);
  return dir->size() >= 8 && dir->compare(dir->size() - 8, 8, "/.bpfemu") == 0;
}

// The slow path of object_from_fd: a handle this process has not recorded.
Object* adopt_fd(int fd, ObjKind* kind, uint8_t* access, int* err) {
  const int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || (flags & O_PATH) != 0) {  // the kernel's fdget() skips O_PATH files
    *err = -EBADF;
    return nullptr;
  }
  char link[64];
  char target[PATH_MAX];
  snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
  const ssize_t n = readlink(link, target, sizeof(target) - 1);
  std::string dir;
  if (n <= 0 || !parse_handle_path(std::string(target, static_cast<size_t>(n)), &dir)) {
    *err = -EINVAL;
    return nullptr;
  }
  Store* store = Store::for_dir(dir);
  uint32_t id = 0;
  uint8_t acc = 0;
  if (store == nullptr || store->identify_fd(fd, kind, &id, &acc) != 0) {
    *err = -EINVAL;
    return nullptr;
  }
  arm_exit_handler();
  std::lock_guard<std::mutex> lock(g_mu);
  int e = -EINVAL;
  Object* obj = view_locked(*store, *kind, id, &e);
  if (obj == nullptr || !install_locked(fd, obj, acc)) {
    if (obj != nullptr) (void)release_locked(obj);
    *err = e == -ENOENT ? -EINVAL : e;
    return nullptr;
  }
  *access = acc;
  return obj;
}

// At exit this process lets go of its handles, as the kernel does when it
// closes a dying process's files, so that objects nothing else holds are freed
// now rather than by the next process that happens to look (a process that
// dies without exiting leaves that to the next get_next_id or sweep).
void close_all_at_exit() {
  EmulatorScope scope;
  for (size_t chunk = 0; chunk < fd_table::kChunks; ++chunk) {
    Slot* c = fd_table::g_chunks[chunk].load(std::memory_order_acquire);
    if (c == nullptr) continue;
    for (size_t i = 0; i < fd_table::kChunkSize; ++i)
      if (!c[i].empty()) sys_close(static_cast<int>((chunk << fd_table::kChunkBits) | i));
  }
}

// The kind's header of the object whose data file is data_fd (the last page).
template <class Header>
bool read_kind_header(int data_fd, Header* hdr) {
  struct stat st {};
  return fstat(data_fd, &st) == 0 && st.st_size >= static_cast<off_t>(kHeaderPage) &&
         pread(data_fd, hdr, sizeof(*hdr), st.st_size - static_cast<off_t>(kHeaderPage)) ==
             static_cast<ssize_t>(sizeof(*hdr));
}

// Freeing an object drops the references it held (the store calls this).
void release_refs(Store& store, ObjKind kind, int data_fd) {
  if (kind == ObjKind::kMap) {
    MapHeader hdr;
    if (!read_kind_header(data_fd, &hdr)) return;
    if (hdr.attr.map_type == BPF_MAP_TYPE_PROG_ARRAY || hdr.attr.map_type == BPF_MAP_TYPE_PERF_EVENT_ARRAY) {
      std::vector<uint8_t> slots(uint64_t{hdr.attr.max_entries} * 4);
      if (pread(data_fd, slots.data(), slots.size(), 0) == static_cast<ssize_t>(slots.size()))
        maptypes::fd_array_release(hdr.attr.map_type, slots.data(), hdr.attr.max_entries);
    }
    if (hdr.attr.map_type == BPF_MAP_TYPE_ARRAY_OF_MAPS || hdr.attr.map_type == BPF_MAP_TYPE_HASH_OF_MAPS) {
      std::vector<uint8_t> data(hdr.obj.data_size);
      if (pread(data_fd, data.data(), data.size(), 0) == static_cast<ssize_t>(data.size()))
        maptypes::map_in_map_release(hdr, data.data(), data.size());
    }
    if (hdr.attr.map_type == BPF_MAP_TYPE_DEVMAP || hdr.attr.map_type == BPF_MAP_TYPE_DEVMAP_HASH ||
        hdr.attr.map_type == BPF_MAP_TYPE_CPUMAP) {
      std::vector<uint8_t> data(hdr.obj.data_size);
      if (pread(data_fd, data.data(), data.size(), 0) == static_cast<ssize_t>(data.size()))
        maptypes::devmap_release(hdr, data.data(), data.size());
    }
    // The objects its kptr fields hold (those this process made) go with it.
    if (hdr.attr.record.other_kptrs != 0 || hdr.attr.record.other_graphs != 0) kptrs_forget_map(&store, hdr.obj.id);
    // A map holds its BTF (MapAttr::btf_fd keeps the BTF object's id).
    if (hdr.attr.btf_fd != 0) drop_object_ref(store, ObjKind::kBtf, hdr.attr.btf_fd);
  } else if (kind == ObjKind::kLink) {
    LinkHeader hdr{};
    if (!read_kind_header(data_fd, &hdr)) return;
    if (hdr.perf_event_id != 0) {  // a perf link detaches its program from the event, then lets the event go
      int err = 0;
      if (Object* ev = view_of(store, ObjKind::kPerfEvent, hdr.perf_event_id, &err); ev != nullptr)
        perf_event_detach_prog(*static_cast<PerfEvent*>(ev), hdr.prog_id);
      drop_object_ref(store, ObjKind::kPerfEvent, hdr.perf_event_id);
    }
    if (hdr.type == BPF_LINK_TYPE_CGROUP && hdr.cgroup_id != 0)  // bpf_cgroup_link_release
      cgroup_link_remove(store, hdr.cgroup_id, hdr.attach_type, hdr.obj.id);
    if (hdr.type == kLinkTypeTcx && hdr.ifindex != 0)  // tcx_link_release
      tcx_link_remove(store, hdr.ifindex, hdr.attach_type, hdr.obj.id, hdr.prog_id);
    if (hdr.type == BPF_LINK_TYPE_ITER && hdr.iter_map_id != 0)  // a bpf_map_elem link holds its map
      drop_object_ref(store, ObjKind::kMap, hdr.iter_map_id);
    if (hdr.prog_id != 0) drop_object_ref(store, ObjKind::kProg, hdr.prog_id);
  } else if (kind == ObjKind::kPerfEvent) {
    PerfEventHeader hdr{};
    if (read_kind_header(data_fd, &hdr) && hdr.prog_id.load() != 0)
      drop_object_ref(store, ObjKind::kProg, hdr.prog_id.load());
  } else if (kind == ObjKind::kProg) {
    ProgHeader hdr{};
    if (!read_kind_header(data_fd, &hdr)) return;
    for (uint32_t i = 0; i < hdr.nr_map_ids && i < kMaxUsedMaps; ++i) drop_object_ref(store, ObjKind::kMap, hdr.map_ids[i]);
    if (hdr.btf_id != 0) drop_object_ref(store, ObjKind::kBtf, hdr.btf_id);
  }
}

// map_release_uref: a PROG_ARRAY that no process holds any more (no fd, no
// pin) is emptied, so that a program it holds which uses the array (a tail
// call into its own array) does not keep both alive for good.
void release_uref(Store& store, ObjKind kind, uint32_t id) {
  if (kind != ObjKind::kMap) return;
  int err = 0;
  Object* obj = view_of(store, kind, id, &err);
  if (obj == nullptr) return;
  auto* map = static_cast<Map*>(obj);
  if (map->attr().map_type != BPF_MAP_TYPE_PROG_ARRAY) return;
  obj->local_refs.fetch_add(1);  // dropping the programs may free the map: keep the view meanwhile
  bool dropped = false;
  for (uint32_t i = 0; i < map->attr().max_entries; ++i) dropped |= map->ops().delete_elem(*map, &i) == 0;
  obj->local_refs.fetch_sub(1);
  // Free it now if those programs were its last holders (an empty array comes
  // back here with nothing to drop, so this ends).
  if (dropped) collect_object(store, kind, id);
}

// fd_objects() for the map families: program fds stored in prog arrays, map
// fds in maps of maps.
int fd_object_get(int ufd, maptypes::ObjRef* ref) {
  ObjKind kind = ObjKind::kNone;
  uint8_t access = 0;
  int err = -EBADF;
  Object* obj = object_from_fd(ufd, &kind, &access, &err);
  if (obj == nullptr) return err;
  obj->obj_header().krefs.fetch_add(1);
  ref->kind = kind;
  ref->id = obj->id();
  ref->prog_type = kind == ObjKind::kProg ? static_cast<Program*>(obj)->header().prog_type : 0;
  ref->expected_attach_type = kind == ObjKind::kProg ? static_cast<Program*>(obj)->header().expected_attach_type : 0;
  return 0;
}

void fd_object_put(const maptypes::ObjRef& ref) {
  int err = 0;
  if (Store* store = Store::current(&err)) drop_object_ref(*store, ref.kind, ref.id);
}

Map* fd_object_map(uint32_t id) {
  int err = 0;
  Store* store = Store::current(&err);
  Object* obj = store != nullptr ? view_of(*store, ObjKind::kMap, id, &err) : nullptr;
  return obj != nullptr && obj->kind() == ObjKind::kMap ? static_cast<Map*>(obj) : nullptr;
}

const maptypes::FdObjects kFdObjects{fd_object_get, fd_object_put, fd_object_map};

void arm_exit_handler() {
  static std::once_flag once;
  std::call_once(once, [] {
    maptypes::set_fd_objects(kFdObjects);
    install_poll_notifier();
    Store::set_release_refs([](Store& store, ObjKind kind, uint32_t, int data_fd) { release_refs(store, kind, data_fd); });
    Store::set_release_uref(release_uref);
    atexit(close_all_at_exit);
  });
}

}  // namespace

void init_obj_header(ObjHeader& hdr, ObjKind kind, uint32_t header_size, uint64_t data_size) {
  struct timespec ts {};
  clock_gettime(CLOCK_BOOTTIME, &ts);
  hdr.magic = ObjHeader::kMagic;
  hdr.header_size = header_size;
  hdr.kind = kind;
  hdr.owner_uid = getuid();
  hdr.data_size = data_size;
  hdr.created_ns = static_cast<uint64_t>(ts.tv_sec) * 1000000000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

void drop_object_ref(Store& store, ObjKind kind, uint32_t id) {
  int err = 0;
  Object* obj = view_of(store, kind, id, &err);
  if (obj == nullptr) return;
  obj->obj_header().krefs.fetch_sub(1);
  collect_object(store, kind, id);
}

int publish_object(Store& store, std::unique_ptr<Object> obj, uint8_t access) {
  arm_exit_handler();
  int fd = store.publish(*obj, access);
  if (fd < 0) return fd;
  std::lock_guard<std::mutex> lock(g_mu);
  Object* o = obj.release();
  o->set_store(&store);
  views()[{&store, o->kind(), o->id()}] = o;
  if (!install_locked(fd, o, access)) {
    ::close(fd);
    (void)release_locked(o);
    return -EMFILE;
  }
  return fd;
}

int open_fd(Object& obj, uint8_t access) {
  int fd = obj.store()->open_handle(obj.kind(), obj.id(), access);
  if (fd < 0) return fd;
  std::lock_guard<std::mutex> lock(g_mu);
  if (!install_locked(fd, &obj, access)) {
    ::close(fd);
    return -EMFILE;
  }
  return fd;
}

Object* view_of(Store& store, ObjKind kind, uint32_t id, int* err) {
  std::lock_guard<std::mutex> lock(g_mu);
  return view_locked(store, kind, id, err);
}

int open_object(Store& store, ObjKind kind, uint32_t id, uint8_t access) {
  arm_exit_handler();
  int fd = store.open_handle(kind, id, access);
  if (fd < 0) return fd;
  std::lock_guard<std::mutex> lock(g_mu);
  int err = -ENOENT;
  Object* obj = view_locked(store, kind, id, &err);
  if (obj == nullptr || !install_locked(fd, obj, access)) {
    ::close(fd);
    if (obj != nullptr) (void)release_locked(obj);
    return obj == nullptr ? err : -EMFILE;
  }
  return fd;
}

Object* object_from_fd(int fd, ObjKind* kind, uint8_t* access, int* err) {
  if (Slot* s = fd_table::find(fd); s != nullptr) {
    if (Object* obj = s->load(kind, access); obj != nullptr) [[likely]]
      return obj;
  }
  return adopt_fd(fd, kind, access, err);
}

namespace {

// The map behind fd as `resolve` finds the object; -EINVAL when it is another kind.
Map* map_of(int fd, Object* (*resolve)(int, ObjKind*, uint8_t*, int*), uint8_t* access, int* err) {
  ObjKind kind = ObjKind::kNone;
  uint8_t acc = 0;
  int e = -EINVAL;
  Object* obj = resolve(fd, &kind, &acc, &e);
  if (obj == nullptr || kind != ObjKind::kMap) {
    if (err != nullptr) *err = obj == nullptr ? e : -EINVAL;
    return nullptr;
  }
  if (access != nullptr) *access = acc;
  return static_cast<Map*>(obj);
}

}  // namespace

Map* map_from_fd(int fd, uint8_t* access, int* err) {
  uint8_t acc = 0;
  if (Map* m = fd_table::known(fd, &acc); m != nullptr) [[likely]] {
    if (access != nullptr) *access = acc;
    return m;
  }
  return map_of(fd, object_from_fd, access, err);
}

namespace {

// True when fd is still the handle file the fd table recorded for obj.
bool still_names(int fd, const Object& obj, uint8_t access) {
  EmulatorScope scope;  // the real file underneath, past the fstat/stat interposers
  struct stat have {};
  if (fstat(fd, &have) != 0) return false;
  if (obj.store() == nullptr) return true;
  struct stat named {};
  return stat(obj.store()->handle_path(obj.kind(), obj.id(), access).c_str(), &named) == 0 &&
         named.st_dev == have.st_dev && named.st_ino == have.st_ino;
}

}  // namespace

Object* object_from_fd_checked(int fd, ObjKind* kind, uint8_t* access, int* err) {
  if (Slot* s = fd_table::find(fd); s != nullptr) {
    if (Object* obj = s->load(kind, access); obj != nullptr) {
      if (still_names(fd, *obj, *access)) return obj;
      note_closed_range(static_cast<unsigned>(fd), static_cast<unsigned>(fd));  // closed behind libc's back
    }
  }
  return adopt_fd(fd, kind, access, err);
}

Map* map_from_fd_checked(int fd, uint8_t* access, int* err) { return map_of(fd, object_from_fd_checked, access, err); }

bool is_bpf_fd(int fd) {
  Slot* s = slot_for(fd, false);
  return s != nullptr && !s->empty();
}

bool fd_object(int fd, ObjKind* kind, Object** obj, uint8_t* access) {
  Slot* s = slot_for(fd, false);
  if (s == nullptr) return false;
  *obj = s->load(kind, access);
  return *obj != nullptr;
}

uint64_t storage_bytes(int fd) {
  ObjKind kind = ObjKind::kNone;
  uint8_t access = 0;
  int err = 0;
  Object* obj = object_from_fd(fd, &kind, &access, &err);
  struct stat st {};
  if (obj == nullptr || fstat(obj->region().fd(), &st) != 0) return 0;
  const uint64_t b = static_cast<uint64_t>(st.st_blocks) * 512;
  return b >= kHeaderPage ? b - kHeaderPage : b;
}

int live_view_count(ObjKind kind) {
  std::lock_guard<std::mutex> lock(g_mu);
  int n = 0;
  for (const auto& [key, obj] : views())
    if (std::get<1>(key) == kind) ++n;
  return n;
}

int sys_close(int fd) {
  iter_forget(fd);  // an iterator fd is no handle, but holds its program
  Released r;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    Slot* s = slot_for(fd, false);
    Object* obj = s != nullptr ? s->take() : nullptr;
    const int rc = ::close(fd) == 0 ? 0 : -errno;
    if (obj == nullptr) return rc;
    obj->handles.fetch_sub(1);
    r = release_locked(obj);
    if (rc != 0) return rc;
  }
  finish_release(r);
  return 0;
}

void note_dup(int old_fd, int new_fd) {
  if (old_fd == new_fd) return;
  Released r;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    Slot* from = slot_for(old_fd, false);
    ObjKind kind = ObjKind::kNone;
    uint8_t access = 0;
    Object* obj = from != nullptr ? from->load(&kind, &access) : nullptr;
    Slot* to = slot_for(new_fd, obj != nullptr);
    // dup2/dup3 onto a handle closed that handle.
    if (Object* prev = to != nullptr ? to->take() : nullptr; prev != nullptr) {
      prev->handles.fetch_sub(1);
      if (prev != obj) r = release_locked(prev);
    }
    if (obj != nullptr) (void)install_locked(new_fd, obj, access);  // beyond the table: stays unknown
  }
  finish_release(r);
}

void note_closed_range(unsigned first, unsigned last) {
  for (unsigned fd = first; fd <= last && fd <= INT_MAX; ++fd) {
    Slot* s = slot_for(static_cast<int>(fd), false);
    if (s == nullptr) {
      // Skip a whole chunk that was never made.
      const unsigned next_chunk = ((fd >> fd_table::kChunkBits) + 1) << fd_table::kChunkBits;
      if (next_chunk == 0 || next_chunk - 1 >= last || (fd >> fd_table::kChunkBits) >= fd_table::kChunks) break;
      fd = next_chunk - 1;
      continue;
    }
    if (s->empty()) continue;
    Released r;
    {
      std::lock_guard<std::mutex> lock(g_mu);
      Object* obj = s->take();
      if (obj == nullptr) continue;
      obj->handles.fetch_sub(1);
      r = release_locked(obj);
    }
    finish_release(r);
  }
}

void collect_object(Store& store, ObjKind kind, uint32_t id) {
  {
    std::lock_guard<std::mutex> lock(g_mu);
    auto& all = views();
    if (auto it = all.find({&store, kind, id}); it != all.end() && it->second->handles.load() > 0) return;
  }
  store.collect(kind, id);
  // The view of an object just freed goes too: made by view_of to drop a
  // reference (no fd of this process on it), it holds the data file's fd and
  // mapping, which would otherwise stay open for the life of the process.
  std::lock_guard<std::mutex> lock(g_mu);
  auto& all = views();
  if (auto it = all.find({&store, kind, id}); it != all.end() && it->second->obj_header().dead.load() != 0)
    (void)release_locked(it->second);
}

}  // namespace bpfemu::emu
