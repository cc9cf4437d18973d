// Whether the calling thread is running emulator code. The emulator itself
// calls close(), open(), mmap() ... on its own files; libbpfemu's libc
// interposers must pass those straight through, so every way into the
// emulator that does not come through an interposer (exit handlers, fork
// handlers) marks itself with an EmulatorScope too.
#pragma once

namespace bpfemu::emu {

inline thread_local int t_emulator_depth = 0;

inline bool in_emulator() { return t_emulator_depth > 0; }

class EmulatorScope {
 public:
  EmulatorScope() { ++t_emulator_depth; }
  ~EmulatorScope() { --t_emulator_depth; }
  EmulatorScope(const EmulatorScope&) = delete;
  EmulatorScope& operator=(const EmulatorScope&) = delete;
};

}  // namespace bpfemu::emu
