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

  static std::unique_ptr<ProgSide> for_backend(Backend& backend);
};

}  // namespace bpfemu::conformance
