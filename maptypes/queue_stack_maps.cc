// QUEUE and STACK, after kernel/bpf/queue_stack_maps.c.
//
// Region layout: a ring of max_entries + 1 slots of value_size bytes each from
// offset 0 (slot i at i * value_size, as the kernel's elements[]); one slot
// always stays free so that a full ring (head + 1 == tail) differs from an
// empty one (head == tail). Pushes write at head; a queue takes from tail, a
// stack from head - 1. Head, tail and the lock live in the header's family
// state, as indices, so every process attached to the map sees the same ring.
//
// Every op holds the lock, as the kernel does (its rqspinlock answers EBUSY
// only on a deadlock or timeout inside the kernel, which cannot happen here).
// Each op's shared writes are single index stores made after the slot copy, so
// a process dying while holding the lock leaves a consistent ring and the next
// locker needs no repair.
#include <climits>
#include <cstring>

#include "core/profile.h"
#include "maptypes/families.h"

namespace bpfemu::maptypes {
namespace {

constexpr uint32_t kCreateFlags = BPF_F_NUMA_NODE | BPF_F_RDONLY | BPF_F_WRONLY | BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG;
// KMALLOC_MAX_SIZE with 4 KiB pages and MAX_PAGE_ORDER 10.
constexpr uint64_t kKmallocMax = uint64_t{1} << 22;

struct QsState {
  emu::SpinLock lock;
  uint32_t head;  // the slot the next push writes
  uint32_t tail;  // the oldest element
  uint32_t size;  // slots: max_entries + 1
};

class QueueStackOps : public MapOps {
 public:
  explicit QueueStackOps(bool stack) : stack_(stack) {}

  int alloc_check(MapAttr& attr, const CreateEnv&) const override {
    const uint32_t prog_rw = BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG;
    if (attr.max_entries == 0 || attr.key_size != 0 || attr.value_size == 0 || (attr.map_flags & ~kCreateFlags) ||
        (attr.map_flags & prog_rw) == prog_rw)
      return -EINVAL;
    // 6.12's source also refuses max_entries >= U32_MAX / value_size (E2BIG);
    // 6.18 does not: a ring of up to 2^32 slots is allocated if memory allows.
    if (attr.value_size > kKmallocMax) return -E2BIG;
    return 0;
  }

  int64_t data_size(const MapAttr& attr, const CreateEnv&) const override {
    const uint64_t bytes = (uint64_t{attr.max_entries} + 1) * attr.value_size;
    // The kernel allocates the whole ring at create time.
    if (!emu::fits_in_memory(bytes)) return -ENOMEM;
    return static_cast<int64_t>(bytes);
  }

  int init(Map& map) const override {
    // Kept in u32 like the kernel's: max_entries U32_MAX wraps it to 0, which
    // makes the ring always full (and BPF_EXIST pushes vanish), as there.
    map.state<QsState>().size = map.attr().max_entries + 1;
    return 0;
  }

  // queue_stack_map_mem_usage.
  uint64_t mem_usage(const Map& map) const override {
    return struct_sizes(map.profile()).bpf_queue_stack + (uint64_t{map.attr().max_entries} + 1) * map.attr().value_size;
  }

  // The syscall layer turns a lookup into a peek, an update into a push and a
  // lookup_and_delete into a pop; key is always null here.
  int lookup(Map& map, const void*, void* value, uint64_t) const override { return get(map, value, false); }
  int update(Map& map, const void*, const void* value, uint64_t flags) const override {
    return push(map, value, flags);
  }
  int lookup_and_delete(Map& map, const void*, void* value, uint64_t) const override {
    return get(map, value, true);
  }
  int delete_elem(Map&, const void*) const override { return -EINVAL; }
  int get_next_key(Map&, const void*, void*) const override { return -EINVAL; }

  // Programs reach these maps only through push/pop/peek (the verifier refuses
  // the other helpers); prog_lookup/update/delete keep the defaults, which are
  // what the kernel's callbacks answer.
  long prog_push(Map& map, const void* value, uint64_t flags) const override { return push(map, value, flags); }
  long prog_pop(Map& map, void* value) const override { return get(map, value, true); }
  long prog_peek(Map& map, void* value) const override { return get(map, value, false); }

 private:
  static uint8_t* slot(const Map& map, uint32_t i) { return map.data() + uint64_t{i} * map.attr().value_size; }

  int push(Map& map, const void* value, uint64_t flags) const {
    // BPF_EXIST makes room by dropping the oldest element; no other flag exists.
    if ((flags & BPF_NOEXIST) || flags > BPF_EXIST) return -EINVAL;
    QsState& st = map.state<QsState>();
    emu::SpinGuard guard(st.lock);
    uint32_t next = st.head + 1 >= st.size ? 0 : st.head + 1;
    if (next == st.tail) {
      if (flags != BPF_EXIST) return -E2BIG;
      st.tail = st.tail + 1 >= st.size ? 0 : st.tail + 1;
    }
    memcpy(slot(map, st.head), value, map.attr().value_size);
    st.head = next;
    return 0;
  }

  // Peek (take = false) or pop: the queue's oldest element or the stack's
  // newest. An empty map zeroes the value (a program sees the zeros).
  int get(Map& map, void* value, bool take) const {
    QsState& st = map.state<QsState>();
    emu::SpinGuard guard(st.lock);
    if (st.head == st.tail) {
      memset(value, 0, map.attr().value_size);
      return -ENOENT;
    }
    if (stack_) {
      const uint32_t top = st.head == 0 ? st.size - 1 : st.head - 1;
      memcpy(value, slot(map, top), map.attr().value_size);
      if (take) st.head = top;
    } else {
      memcpy(value, slot(map, st.tail), map.attr().value_size);
      if (take) st.tail = st.tail + 1 >= st.size ? 0 : st.tail + 1;
    }
    return 0;
  }

  bool stack_;
};

const QueueStackOps kQueue(false);
const QueueStackOps kStack(true);

}  // namespace

const MapOps& kQueueOps = kQueue;
const MapOps& kStackOps = kStack;

}  // namespace bpfemu::maptypes
