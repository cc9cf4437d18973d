// Where libbpfemu's syscall() sends bpf(2) (and perf_event_open of BPF-output
// events): to the emulator or to the kernel.
//
// A process using libbpfemu normally wants every bpf(2) emulated, and that is
// the default. A process that compares the two (the conformance runner) links
// the interposers too, but wants libbpf to reach the real kernel except where it
// asks otherwise: it sets the process default to the kernel and opens an
// EmuRoute scope around the libbpf calls meant for the emulator. The choice is
// per thread (a scope covers only the thread that opened it) and concerns only
// the calls that make objects: __NR_bpf, and __NR_perf_event_open of the
// BPF-output events the emulator models. The fd interposers (close, dup, mmap
// ...) act on emulator handles whatever the route, so kernel fds pass through
// them untouched.
//
// Internal to the project: not part of libbpfemu's exported symbols.
#pragma once

#include <cstdint>

namespace bpfemu::dropin {

enum class BpfRoute : int8_t { kEmulator, kKernel };

// The route of threads that are in no scope (initially kEmulator).
void set_default_bpf_route(BpfRoute route);
// Whether bpf(2) made now by this thread goes to the emulator.
bool bpf_routed_to_emulator();

// Sends this thread's bpf(2) calls along `route` until destroyed (scopes nest).
class BpfRouteScope {
 public:
  explicit BpfRouteScope(BpfRoute route);
  ~BpfRouteScope();
  BpfRouteScope(const BpfRouteScope&) = delete;
  BpfRouteScope& operator=(const BpfRouteScope&) = delete;

 private:
  int8_t saved_;
};

struct EmuRoute : BpfRouteScope {
  EmuRoute() : BpfRouteScope(BpfRoute::kEmulator) {}
};
struct KernelRoute : BpfRouteScope {
  KernelRoute() : BpfRouteScope(BpfRoute::kKernel) {}
};

}  // namespace bpfemu::dropin
