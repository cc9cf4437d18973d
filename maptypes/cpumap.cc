// CPUMAP, after kernel/bpf/cpumap.c.
//
// Key i is CPU i. A value is a queue size and, with 8-byte values, an XDP
// program (loaded with expected_attach_type BPF_XDP_CPUMAP) to run on that CPU:
// syscalls store the program by fd and read back its id. The entry holds a
// kernel reference on its program (dropped as for devmaps: devmap_release).
// Programs cannot read entries (the verifier allows only bpf_redirect_map);
// a test run of a redirect reports the verdict and sends nothing.
//
// Layout: slot i is a u64 at i * 8, {qsize, prog id} as the kernel's struct
// bpf_cpumap_val lays them out; qsize 0 marks an empty slot.
#include <atomic>
#include <climits>
#include <cstring>

#include "core/profile.h"
#include "maptypes/families.h"

namespace bpfemu::maptypes {
namespace {

// sizeof(struct bpf_cpu_map) in the 6.18 kernel (its map_mem_usage; read
// off fdinfo's memlock).
constexpr uint64_t kCpuMapSize = 304;
// The kernel's sanity limit on a queue's size.
constexpr uint32_t kMaxQsize = 16384;

uint32_t load_u32(const void* p) {
  uint32_t v;
  memcpy(&v, p, sizeof(v));
  return v;
}

std::atomic<uint64_t>* cpu_slot(const Map& map, uint32_t i) {
  return reinterpret_cast<std::atomic<uint64_t>*>(map.data() + uint64_t{i} * 8);
}

void put_prog(uint32_t id) {
  if (id != 0) fd_objects().put(ObjRef{emu::ObjKind::kProg, id, 0});
}

class CpuMap final : public MapOps {
 public:
  // cpu_map_alloc: no access flags at all; max_entries at most NR_CPUS.
  int alloc_check(MapAttr& attr, const CreateEnv& env) const override {
    if (attr.max_entries == 0 || attr.key_size != 4 || (attr.value_size != 4 && attr.value_size != 8) ||
        (attr.map_flags & ~uint32_t{BPF_F_NUMA_NODE}))
      return -EINVAL;
    if (attr.max_entries > env.profile->nr_cpus_config) return -E2BIG;
    return 0;
  }

  int64_t data_size(const MapAttr& attr, const CreateEnv&) const override {
    return static_cast<int64_t>(uint64_t{attr.max_entries} * 8);
  }
  int init(Map&) const override { return 0; }

  // Queue entries themselves are not counted (as in the kernel).
  uint64_t mem_usage(const Map& map) const override { return kCpuMapSize + uint64_t{map.attr().max_entries} * 8; }

  int lookup(Map& map, const void* key, void* value, uint64_t) const override {
    const void* e = entry(map, load_u32(key));
    if (e == nullptr) return -ENOENT;
    memcpy(value, e, map.attr().value_size);
    return 0;
  }

  // cpu_map_update_elem. A queue size of 0 empties the slot; a program that
  // will not do fails the entry's allocation (ENOMEM).
  int update(Map& map, const void* key, const void* value, uint64_t flags) const override {
    uint32_t v[2] = {0, 0};
    memcpy(v, value, map.attr().value_size);
    const uint32_t cpu = load_u32(key);
    if (flags > BPF_EXIST) return -EINVAL;
    if (cpu >= map.attr().max_entries) return -E2BIG;
    if (flags == BPF_NOEXIST) return -EEXIST;
    if (v[0] > kMaxQsize) return -EOVERFLOW;
    if (cpu >= map.nr_cpus()) return -ENODEV;  // not a possible CPU
    uint64_t e = 0;
    if (v[0] != 0) {
      uint32_t prog_id = 0;
      int prog_fd;
      memcpy(&prog_fd, &v[1], sizeof(prog_fd));
      if (prog_fd > 0) {
        ObjRef ref;
        if (fd_objects().get(prog_fd, &ref) != 0) return -ENOMEM;
        if (ref.kind != emu::ObjKind::kProg || ref.prog_type != BPF_PROG_TYPE_XDP ||
            ref.expected_attach_type != BPF_XDP_CPUMAP) {
          fd_objects().put(ref);
          return -ENOMEM;
        }
        prog_id = ref.id;
      }
      e = v[0] | (uint64_t{prog_id} << 32);
    }
    put_prog(static_cast<uint32_t>(cpu_slot(map, cpu)->exchange(e, std::memory_order_acq_rel) >> 32));
    return 0;
  }

  // cpu_map_delete_elem: an empty slot is no error.
  int delete_elem(Map& map, const void* key) const override {
    const uint32_t cpu = load_u32(key);
    if (cpu >= map.attr().max_entries) return -EINVAL;
    put_prog(static_cast<uint32_t>(cpu_slot(map, cpu)->exchange(0, std::memory_order_acq_rel) >> 32));
    return 0;
  }

  int get_next_key(Map& map, const void* key, void* next_key) const override {
    return array_get_next_key(map, key, next_key);
  }

  // cpu_map_redirect: no broadcast for CPU maps.
  long prog_redirect(Map& map, uint64_t key, uint64_t flags) const override {
    constexpr uint64_t kActionMask = XDP_ABORTED | XDP_DROP | XDP_PASS | XDP_TX;
    if (flags & ~kActionMask) return XDP_ABORTED;
    if (entry(map, static_cast<uint32_t>(key)) == nullptr) return static_cast<long>(flags & kActionMask);
    return XDP_REDIRECT;
  }

 private:
  static const void* entry(const Map& map, uint32_t cpu) {
    if (cpu >= map.attr().max_entries) return nullptr;
    std::atomic<uint64_t>* s = cpu_slot(map, cpu);
    return s->load(std::memory_order_acquire) != 0 ? s : nullptr;
  }
};

const CpuMap kCpuMap;

}  // namespace

const MapOps& kCpuMapOps = kCpuMap;

}  // namespace bpfemu::maptypes
