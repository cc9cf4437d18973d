// STACK_TRACE, after kernel/bpf/stackmap.c.
//
// Region layout: n_buckets u32 bucket slots (max_entries rounded up to a power
// of two), then max_entries elements of a 16-byte header and value_size bytes
// of stack (the kernel's preallocated stack_map_bucket pool). A slot holds the
// element index + 1, or 0 when empty; free elements are chained through
// their headers from the family state's free_head.
//
// bpf_get_stackid files a stack under jhash2(ips) & (n_buckets - 1), as the
// kernel does, so ids coincide with the kernel's for the same ips. Every op
// holds the map's lock. Its shared writes are single stores (a slot, the free
// head) made after the element they publish is complete; a process that dies
// holding the lock can only leak elements, and the next locker that takes the
// lock over rebuilds the free chain from the slots.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <vector>

#include "core/profile.h"
#include "maptypes/families.h"
#include "maptypes/jhash.h"

namespace bpfemu::maptypes {
namespace {

constexpr uint32_t kCreateFlags = BPF_F_NUMA_NODE | BPF_F_RDONLY | BPF_F_WRONLY | BPF_F_STACK_BUILD_ID;
constexpr uint32_t kBuildIdSize = 32;  // sizeof(struct bpf_stack_build_id)
constexpr uint32_t kNone = UINT32_MAX;

struct StackState {
  emu::SpinLock lock;
  uint32_t n_buckets;
  uint32_t free_head;  // element index, or kNone
};

struct ElemHeader {
  uint32_t hash;
  uint32_t nr;         // frames stored
  uint32_t next_free;  // while free: the next free element, or kNone
  uint32_t unused;
};
static_assert(sizeof(ElemHeader) == 16);

uint64_t buckets_for(uint32_t max_entries) {
  uint64_t n = 1;
  while (n < max_entries) n <<= 1;
  return n;
}

uint64_t slots_bytes(uint64_t n_buckets) { return (n_buckets * sizeof(uint32_t) + 15) / 16 * 16; }

class StackTraceOps : public MapOps {
 public:
  int alloc_check(MapAttr& attr, const CreateEnv&) const override {
    const uint32_t v = attr.value_size;
    if ((attr.map_flags & ~kCreateFlags) || attr.max_entries == 0 || attr.key_size != 4 || v < 8 || v % 8)
      return -EINVAL;
    const uint32_t frame = (attr.map_flags & BPF_F_STACK_BUILD_ID) ? kBuildIdSize : 8;
    if (v % frame || v / frame > stack_map_max_frames()) return -EINVAL;
    if (attr.max_entries > (uint32_t{1} << 31)) return -E2BIG;
    return 0;
  }

  int64_t data_size(const MapAttr& attr, const CreateEnv&) const override {
    const uint64_t bytes =
        slots_bytes(buckets_for(attr.max_entries)) + uint64_t{attr.max_entries} * (sizeof(ElemHeader) + attr.value_size);
    if (!emu::fits_in_memory(bytes)) return -ENOMEM;
    return static_cast<int64_t>(bytes);
  }

  int init(Map& map) const override {
    StackState& st = map.state<StackState>();
    st.n_buckets = static_cast<uint32_t>(buckets_for(map.attr().max_entries));
    rebuild_free_chain(map);
    return 0;
  }

  // stack_map_mem_usage.
  uint64_t mem_usage(const Map& map) const override {
    const KernelStructSizes s = struct_sizes(map.profile());
    return s.bpf_stack_map + uint64_t{map.state<StackState>().n_buckets} * sizeof(void*) +
           uint64_t{map.attr().max_entries} * (s.stack_map_bucket + map.attr().value_size);
  }

  int lookup(Map& map, const void* key, void* value, uint64_t) const override { return extract(map, key, value, false); }
  int lookup_and_delete(Map& map, const void* key, void* value, uint64_t) const override {
    if (!map.profile().stackmap_lookup_and_delete) return -kENOTSUPP;
    return extract(map, key, value, true);
  }
  int update(Map&, const void*, const void*, uint64_t) const override { return -EINVAL; }

  int delete_elem(Map& map, const void* key) const override {
    const uint32_t id = load_u32(key);
    Locked l(map);
    if (id >= l.st.n_buckets) return -E2BIG;
    const uint32_t e = slots(map)[id];
    if (e == 0) return -ENOENT;
    slots(map)[id] = 0;
    push_free(map, e - 1);
    return 0;
  }

  int get_next_key(Map& map, const void* key, void* next_key) const override {
    Locked l(map);
    const uint32_t* s = slots(map);
    uint32_t id = 0;
    if (key != nullptr) {
      id = load_u32(key);
      id = id >= l.st.n_buckets || s[id] == 0 ? 0 : id + 1;
    }
    while (id < l.st.n_buckets && s[id] == 0) ++id;
    if (id >= l.st.n_buckets) return -ENOENT;
    memcpy(next_key, &id, sizeof(id));
    return 0;
  }

  long prog_delete(Map& map, const void* key) const override { return delete_elem(map, key); }

  // __bpf_get_stackid. A build-id map files each frame as the kernel does when
  // it cannot read the task's mappings: status BPF_STACK_BUILD_ID_IP, the ip,
  // a zero build id (the bucket is taken before the comparison there).
  long get_stackid(Map& map, const uint64_t* ips, uint32_t nr, uint64_t flags) const override {
    const uint32_t skip = flags & BPF_F_SKIP_FIELD_MASK;
    const bool build_id = map.attr().map_flags & BPF_F_STACK_BUILD_ID;
    const uint32_t frame = build_id ? kBuildIdSize : 8;
    // The callchain is walked no deeper than this (get_perf_callchain's max_stack).
    nr = std::min(nr, std::min(map.attr().value_size / frame + skip, stack_map_max_frames()));
    if (nr <= skip) return -EFAULT;
    const uint32_t trace_nr = nr - skip;
    const uint64_t* frames = ips + skip;
    const uint32_t hash = jhash(frames, trace_nr * 8, 0);
    std::vector<uint8_t> filed(uint64_t{trace_nr} * frame);
    if (build_id) {
      for (uint32_t i = 0; i < trace_nr; ++i) {
        bpf_stack_build_id b{};
        b.status = BPF_STACK_BUILD_ID_IP;
        b.ip = frames[i];
        memcpy(filed.data() + uint64_t{i} * frame, &b, sizeof(b));
      }
    } else {
      memcpy(filed.data(), frames, filed.size());
    }
    Locked l(map);
    const uint32_t id = hash & (l.st.n_buckets - 1);
    uint32_t* s = slots(map);
    const uint32_t old = s[id];
    const bool hash_matches = old != 0 && header(map, old - 1).hash == hash;
    if (hash_matches && (flags & BPF_F_FAST_STACK_CMP)) return id;
    auto same = [&] {
      return hash_matches && header(map, old - 1).nr == trace_nr &&
             memcmp(stack(map, old - 1), filed.data(), filed.size()) == 0;
    };
    if (!build_id) {
      if (same()) return id;
      if (old != 0 && !(flags & BPF_F_REUSE_STACKID)) return -EEXIST;
    }
    const uint32_t e = l.st.free_head;
    if (e == kNone) return -ENOMEM;
    if (build_id && (same() || (old != 0 && !(flags & BPF_F_REUSE_STACKID))))
      return same() ? static_cast<long>(id) : -EEXIST;  // the popped element stays free
    l.st.free_head = header(map, e).next_free;
    ElemHeader& h = header(map, e);
    h.hash = hash;
    h.nr = trace_nr;
    memcpy(stack(map, e), filed.data(), filed.size());
    s[id] = e + 1;
    if (old != 0) push_free(map, old - 1);
    return id;
  }

 private:
  // Holds the map's lock; repairs the free chain when it took the lock over
  // from a process that died holding it.
  struct Locked {
    explicit Locked(Map& map) : st(map.state<StackState>()) {
      if (st.lock.lock_recovering()) rebuild_free_chain(map);
    }
    ~Locked() { st.lock.unlock(); }
    StackState& st;
  };

  static uint32_t* slots(const Map& map) { return reinterpret_cast<uint32_t*>(map.data()); }
  static uint8_t* elem(const Map& map, uint32_t e) {
    return map.data() + slots_bytes(map.state<StackState>().n_buckets) +
           uint64_t{e} * (sizeof(ElemHeader) + map.attr().value_size);
  }
  static ElemHeader& header(const Map& map, uint32_t e) { return *reinterpret_cast<ElemHeader*>(elem(map, e)); }
  static uint8_t* stack(const Map& map, uint32_t e) { return elem(map, e) + sizeof(ElemHeader); }

  static void push_free(Map& map, uint32_t e) {
    StackState& st = map.state<StackState>();
    header(map, e).next_free = st.free_head;
    st.free_head = e;
  }

  // Every element no slot holds goes on the free chain.
  static void rebuild_free_chain(Map& map) {
    StackState& st = map.state<StackState>();
    std::vector<bool> used(map.attr().max_entries, false);
    for (uint32_t id = 0; id < st.n_buckets; ++id)
      if (const uint32_t e = slots(map)[id]; e != 0 && e <= used.size()) used[e - 1] = true;
    st.free_head = kNone;
    for (uint32_t e = map.attr().max_entries; e-- > 0;)
      if (!used[e]) push_free(map, e);
  }

  // bpf_stackmap_extract: the stack, zero-padded to value_size.
  static int extract(Map& map, const void* key, void* value, bool remove) {
    const uint32_t id = load_u32(key);
    Locked l(map);
    if (id >= l.st.n_buckets) return -ENOENT;
    const uint32_t e = slots(map)[id];
    if (e == 0) return -ENOENT;
    const uint32_t frame = (map.attr().map_flags & BPF_F_STACK_BUILD_ID) ? kBuildIdSize : 8;
    const uint64_t len = uint64_t{header(map, e - 1).nr} * frame;
    memcpy(value, stack(map, e - 1), len);
    memset(static_cast<uint8_t*>(value) + len, 0, map.attr().value_size - len);
    if (remove) {
      slots(map)[id] = 0;
      push_free(map, e - 1);
    }
    return 0;
  }

  static uint32_t load_u32(const void* p) {
    uint32_t v;
    memcpy(&v, p, sizeof(v));
    return v;
  }
};

const StackTraceOps kStackTrace;

}  // namespace

// sysctl kernel.perf_event_max_stack: the deepest stack a map or helper takes.
uint32_t stack_map_max_frames() {
  static const uint32_t frames = [] {
    unsigned v = 127;  // PERF_MAX_STACK_DEPTH, the default
    if (FILE* f = std::fopen("/proc/sys/kernel/perf_event_max_stack", "r")) {
      if (std::fscanf(f, "%u", &v) != 1) v = 127;
      std::fclose(f);
    }
    return static_cast<uint32_t>(v);
  }();
  return frames;
}

const MapOps& kStackTraceOps = kStackTrace;

}  // namespace bpfemu::maptypes
