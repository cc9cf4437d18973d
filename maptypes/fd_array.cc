// PROG_ARRAY and PERF_EVENT_ARRAY, after the fd-array half of
// kernel/bpf/arraymap.c.
//
// Region layout: slot i is a u32 at i * 4 holding the id of the object stored
// there (0: empty): a program, or a perf event. The slot holds a kernel
// reference on it (fd_objects()). For a PROG_ARRAY the family state keeps the
// one program type every program in the array, and every program using it,
// must have (bpf_prog_map_compatible: taken from the first one).
#include <atomic>
#include <climits>
#include <cstring>

#include "core/profile.h"
#include "maptypes/families.h"

namespace bpfemu::maptypes {
namespace {

constexpr uint32_t kCreateFlags = BPF_F_NUMA_NODE | BPF_F_RDONLY | BPF_F_WRONLY;
constexpr uint64_t kPage = 4096;

struct ProgArrayState {
  std::atomic<uint32_t> owner_type;  // 0 until the first program sets it
};

std::atomic<uint32_t>* slot(const Map& map, uint32_t i) {
  return reinterpret_cast<std::atomic<uint32_t>*>(map.data() + uint64_t{i} * 4);
}

uint32_t index_of(const void* key) {
  uint32_t i;
  memcpy(&i, key, sizeof(i));
  return i;
}

class FdArrayOps : public MapOps {
 public:
  explicit FdArrayOps(emu::ObjKind holds) : holds_(holds) {}

  int alloc_check(MapAttr& attr, const CreateEnv&) const override {
    // fd_array_map_alloc_check, then array_map_alloc_check (which lets perf
    // event arrays keep their elements past the last user fd).
    if (attr.value_size != sizeof(uint32_t) || (attr.map_flags & (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG)))
      return -EINVAL;
    const uint32_t allowed = kCreateFlags | (holds_ == emu::ObjKind::kPerfEvent ? BPF_F_PRESERVE_ELEMS : 0);
    if (attr.max_entries == 0 || attr.key_size != 4 || (attr.map_flags & ~allowed)) return -EINVAL;
    return 0;
  }

  int64_t data_size(const MapAttr& attr, const CreateEnv&) const override {
    return static_cast<int64_t>((uint64_t{attr.max_entries} * 4 + kPage - 1) & ~(kPage - 1));
  }

  int init(Map&) const override { return 0; }  // all slots empty

  // array_map_mem_usage: the array and one pointer per slot.
  uint64_t mem_usage(const Map& map) const override {
    return struct_sizes(map.profile()).bpf_array + uint64_t{map.attr().max_entries} * sizeof(void*);
  }

  // bpf_fd_array_map_lookup_elem: the program's id. Perf event arrays have no
  // syscall lookup (fd_array_map_lookup_elem's ENOTSUPP reaches user space).
  int lookup(Map& map, const void* key, void* value, uint64_t) const override {
    if (holds_ != emu::ObjKind::kProg) return -kENOTSUPP;
    const uint32_t i = index_of(key);
    if (i >= map.attr().max_entries) return -ENOENT;
    const uint32_t id = slot(map, i)->load(std::memory_order_acquire);
    if (id == 0) return -ENOENT;
    memcpy(value, &id, sizeof(id));
    return 0;
  }

  // bpf_fd_array_map_update_elem: the value is the caller's program or perf
  // event fd (perf_event_get answers EBADF for any other file).
  int update(Map& map, const void* key, const void* value, uint64_t flags) const override {
    if (flags != BPF_ANY) return -EINVAL;
    const uint32_t i = index_of(key);
    if (i >= map.attr().max_entries) return -E2BIG;
    int ufd;
    memcpy(&ufd, value, sizeof(ufd));
    ObjRef ref;
    if (int e = fd_objects().get(ufd, &ref); e != 0) return e;
    if (ref.kind != holds_) {
      fd_objects().put(ref);
      return holds_ == emu::ObjKind::kPerfEvent ? -EBADF : -EINVAL;
    }
    if (holds_ == emu::ObjKind::kProg && prog_compatible(map, ref.prog_type) != 0) {
      fd_objects().put(ref);
      return -EINVAL;
    }
    put(slot(map, i)->exchange(ref.id, std::memory_order_acq_rel));
    return 0;
  }

  // fd_array_map_delete_elem.
  int delete_elem(Map& map, const void* key) const override {
    const uint32_t i = index_of(key);
    if (i >= map.attr().max_entries) return -E2BIG;
    const uint32_t old = slot(map, i)->exchange(0, std::memory_order_acq_rel);
    if (old == 0) return -ENOENT;
    put(old);
    return 0;
  }

  int get_next_key(Map& map, const void* key, void* next_key) const override {
    return array_get_next_key(map, key, next_key);
  }

  uint32_t tail_call_target(const Map& map, uint32_t index) const override {
    return holds_ == emu::ObjKind::kProg ? fd_slot(map, index) : 0;
  }
  uint32_t fd_slot(const Map& map, uint32_t index) const override {
    return index < map.attr().max_entries ? slot(map, index)->load(std::memory_order_acquire) : 0;
  }

  int prog_compatible(Map& map, uint32_t prog_type) const override {
    if (holds_ != emu::ObjKind::kProg) return 0;
    auto& owner = map.state<ProgArrayState>().owner_type;
    uint32_t expected = 0;
    if (owner.compare_exchange_strong(expected, prog_type)) return 0;
    return expected == prog_type ? 0 : -EINVAL;
  }

 private:
  void put(uint32_t id) const {
    if (id != 0) fd_objects().put(ObjRef{holds_, id, 0});
  }
  emu::ObjKind holds_;
};

const FdArrayOps kProgArray(emu::ObjKind::kProg);
const FdArrayOps kPerfEventArray(emu::ObjKind::kPerfEvent);

}  // namespace

const MapOps& kProgArrayOps = kProgArray;
const MapOps& kPerfEventArrayOps = kPerfEventArray;

void fd_array_release(uint32_t map_type, const uint8_t* slots, uint32_t max_entries) {
  const emu::ObjKind kind = map_type == BPF_MAP_TYPE_PERF_EVENT_ARRAY ? emu::ObjKind::kPerfEvent : emu::ObjKind::kProg;
  for (uint32_t i = 0; i < max_entries; ++i) {
    uint32_t id;
    memcpy(&id, slots + uint64_t{i} * 4, sizeof(id));
    if (id != 0) fd_objects().put(ObjRef{kind, id, 0});
  }
}

}  // namespace bpfemu::maptypes
