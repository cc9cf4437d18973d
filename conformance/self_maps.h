// Where this process's code lies in its binary: what a uprobe on one of its
// own functions is attached at. Shared by the conformance scenarios and the
// libbpf object tests that probe their own binary.
#pragma once

#include <cstdint>
#include <cstdio>

namespace bpfemu::conformance {

// The offset in its file of the code at addr, from /proc/self/maps; 0 when
// no mapping holds it.
inline uint64_t file_offset_of(const void* addr) {
  FILE* f = fopen("/proc/self/maps", "re");
  if (f == nullptr) return 0;
  char line[4096];
  const auto a = reinterpret_cast<uint64_t>(addr);
  uint64_t found = 0;
  while (found == 0 && fgets(line, sizeof(line), f) != nullptr) {
    unsigned long long start = 0, end = 0, off = 0;
    if (sscanf(line, "%llx-%llx %*s %llx", &start, &end, &off) == 3 && a >= start && a < end) found = a - start + off;
  }
  fclose(f);
  return found;
}

}  // namespace bpfemu::conformance
