// Program-side map operations for conformance scenarios: what a BPF program's
// helper calls return. On the emulator they go through bpfemu/prog.h; on the
// kernel, conformance/bpf/prog_ops.bpf.c is loaded with its map rebound to the
// scenario's map and run once per operation with BPF_PROG_TEST_RUN.
#pragma once

#include <cstdint>
#include <memory>

#include "bpfemu/backend.h"

namespace bpfemu::conformance {

class ProgSide {
 public:
  virtual ~ProgSide() = default;
  // For maps with 4-byte keys and 4- or 8-byte values (what the test program is
  // built for); other maps answer -EOPNOTSUPP.
  virtual long lookup(int fd, uint32_t key, void* value_out, uint32_t value_size) = 0;
  virtual long update(int fd, uint32_t key, const void* value, uint32_t value_size, uint64_t flags) = 0;
  virtual long remove(int fd, uint32_t key) = 0;
  // bpf_for_each_map_elem with a callback that stops at the stop_at-th element
  // (0: never); *visited = callbacks made.
  virtual long for_each(int fd, uint32_t stop_at, uint64_t flags, uint32_t* visited) = 0;
  // bpf_map_push_elem / bpf_map_pop_elem / bpf_map_peek_elem on a QUEUE, STACK or
  // (push, peek) BLOOM_FILTER with values of at most kMaxKeylessValue bytes.
  // value holds value_size bytes: read by a push and by a bloom filter's peek,
  // written by a pop and a queue's or stack's peek (zeroed when empty).
  static constexpr uint32_t kMaxKeylessValue = 64;
  virtual long push(int fd, const void* value, uint32_t value_size, uint64_t flags) = 0;
  virtual long pop(int fd, void* value, uint32_t value_size) = 0;
  virtual long peek(int fd, void* value, uint32_t value_size) = 0;

  static std::unique_ptr<ProgSide> for_backend(Backend& backend);
};

}  // namespace bpfemu::conformance
