// Program-side map operations for conformance scenarios: what a BPF program's
// helper calls return. The same BPF objects (conformance/bpf/*.bpf.c, built once
// with clang and embedded) are opened with libbpf, their map `target` rebound
// to the scenario's map, loaded, and run once per operation with
// BPF_PROG_TEST_RUN -- on the kernel, or on the emulator with libbpf's bpf(2)
// routed to it (api/libbpfemu/route.h). Only the route differs.
#pragma once

#include <cstdint>
#include <memory>

#include "bpfemu/backend.h"

namespace bpfemu::conformance {

class ProgSide {
 public:
  virtual ~ProgSide() = default;
  // bpf_map_lookup_elem (the value copied out), _update_elem and _delete_elem.
  // Maps with 4-byte keys and 4- or 8-byte values (bpf/prog_ops.bpf.c), or
  // LPM_TRIE maps with kLpmKeySize-byte keys ({u32 prefixlen; u8 data[4]}) and
  // 8-byte values (bpf/prog_lpm.bpf.c); other maps answer -EOPNOTSUPP.
  static constexpr uint32_t kLpmKeySize = 8;
  virtual long lookup(int fd, const void* key, uint32_t key_size, void* value_out, uint32_t value_size) = 0;
  virtual long update(int fd, const void* key, uint32_t key_size, const void* value, uint32_t value_size,
                      uint64_t flags) = 0;
  virtual long remove(int fd, const void* key, uint32_t key_size) = 0;

  // bpf_for_each_map_elem with a callback that counts the elements it is given
  // and stops at the stop_at-th (0: never); with delete_each it first deletes
  // the element it is given (bpf_map_delete_elem on the callback's map and key).
  struct Walk {
    uint32_t visited = 0;     // callbacks made
    uint32_t deleted = 0;     // deletes that returned 0
    int64_t delete_err = 0;   // the last failed delete's result (0: none failed)
  };
  virtual long for_each(int fd, uint32_t stop_at, uint64_t flags, bool delete_each, Walk* walk) = 0;

  // bpf_map_push_elem / bpf_map_pop_elem / bpf_map_peek_elem on a QUEUE, STACK or
  // (push, peek) BLOOM_FILTER with values of at most kMaxKeylessValue bytes.
  // value holds value_size bytes: read by a push and by a bloom filter's peek,
  // written by a pop and a queue's or stack's peek (zeroed when empty).
  static constexpr uint32_t kMaxKeylessValue = 64;
  virtual long push(int fd, const void* value, uint32_t value_size, uint64_t flags) = 0;
  virtual long pop(int fd, void* value, uint32_t value_size) = 0;
  virtual long peek(int fd, void* value, uint32_t value_size) = 0;

  // Global data (bpf/prog_global.bpf.c): its .bss, .data and .rodata maps are
  // libbpf's own. global_load opens and loads it once, with the .rodata
  // variable `step` set to `step` first (as a skeleton's rodata is); 0 or -errno.
  virtual long global_load(uint64_t step) = 0;
  // The fd of the object's ".bss", ".data" or ".rodata" map (-ENOENT before
  // global_load or for another name). The object owns it: do not close it.
  virtual int global_map_fd(const char* section) = 0;
  // One run with `add`: the run's result, the program's return value, and the
  // four u64 it leaves in its context (runs, last add, total, step).
  virtual long global_run(uint64_t add, uint32_t* retval, uint64_t out[4]) = 0;

  // bpf/prog_timer.bpf.c: the bpf_timer helpers' results, in its order (its
  // own HASH map; loaded, run once, closed). 0 or -errno (load or run).
  static constexpr int kTimerCodes = 20;
  virtual long timer_codes(int64_t rc[kTimerCodes]) = 0;

  // bpf/prog_wq.bpf.c: the bpf_wq kfuncs' results, in its order (its own
  // HASH map; loaded, run once, closed). 0 or -errno (load or run).
  static constexpr int kWqCodes = 14;
  virtual long wq_codes(int64_t rc[kWqCodes]) = 0;

  // bpf/prog_map_in_map.bpf.c: an ARRAY_OF_MAPS and a HASH_OF_MAPS whose
  // slots libbpf fills with two ARRAY maps (inner_a, inner_b). mim_load opens
  // and loads it once: 0 or -errno. mim_map_fd: the fd of one of its maps
  // (owned by the object). mim_run: one run; outer 0 the array of maps, 1 the
  // hash of maps; op 0 looks `key` up in the map at `slot` (*value out), 1
  // updates it with *value, 2 deletes it. Returns the run's -errno, or 0 with
  // *ret the helper's result (kMimNoInnerMap: the outer lookup found nothing).
  static constexpr long kMimNoInnerMap = -1000;
  virtual long mim_load() = 0;
  // bpf/prog_iter.bpf.c: iterator programs. iter_load opens and loads it
  // once: 0 or -errno. iter_prog_fd: one of its programs (owned by the object).
  virtual long iter_load() = 0;
  virtual int iter_prog_fd(const char* name) = 0;
  virtual int mim_map_fd(const char* name) = 0;
  virtual long mim_run(uint32_t outer, uint32_t op, uint32_t slot, uint32_t key, uint64_t* value, int64_t* ret) = 0;

  // bpf/prog_kptr.bpf.c: local kptrs in an ARRAY (`stash`) and a HASH
  // (`hstash`). kptr_load opens and loads it once (its value's kptr fields
  // tagged first): 0 or -errno. kptr_map_fd: the fd of one of its maps (owned
  // by the object). kptr_run: one run of program `prog` with key and arg:
  // the run's -errno, or 0 with *retval and out[4] as the program left them.
  virtual long kptr_load() = 0;
  virtual int kptr_map_fd(const char* name) = 0;
  virtual long kptr_run(const char* prog, uint32_t key, int64_t arg, uint32_t* retval, int64_t out[4]) = 0;

  // bpf/prog_graph.bpf.c: lists and rbtrees of local kptrs in an ARRAY
  // (`garr`) and a HASH (`ghash`). graph_load opens and loads it once: 0 or
  // -errno. graph_map_fd: the fd of one of its maps (owned by the object).
  // graph_run: one run of program `prog` with op, key and arg: the run's
  // -errno, or 0 with *retval and out[4] as the program left them.
  // graph_unload closes the object (its maps go with the last reference).
  virtual long graph_load() = 0;
  virtual int graph_map_fd(const char* name) = 0;
  virtual long graph_run(const char* prog, uint32_t op, uint32_t key, int64_t arg, uint32_t* retval,
                         int64_t out[4]) = 0;
  virtual void graph_unload() = 0;

  static std::unique_ptr<ProgSide> for_backend(Backend& backend);
};

}  // namespace bpfemu::conformance
