#include "map_memory.h"

#include <sys/stat.h>

#include <cstdio>

#include "emu/objects.h"

namespace bench {

uint64_t emu_map_bytes(int fd) { return bpfemu::emu::storage_bytes(fd); }

uint64_t kernel_map_bytes(int fd) {
  char path[64];
  snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
  FILE* f = fopen(path, "re");
  if (f == nullptr) return 0;
  char line[256];
  unsigned long long v = 0;
  while (fgets(line, sizeof(line), f) != nullptr)
    if (sscanf(line, "memlock: %llu", &v) == 1) break;
  fclose(f);
  return v;
}

}  // namespace bench
