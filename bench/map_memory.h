// Bytes a map really uses, for the memory benchmark and the advisor.
#pragma once

#include <cstdint>

namespace bench {

// Emulator: allocated blocks of the map's sparse region file (the map fd is that
// file), minus the header page touched at create.
uint64_t emu_map_bytes(int fd);
// Kernel: the map's own accounting, `memlock:` of /proc/self/fdinfo/<fd>.
uint64_t kernel_map_bytes(int fd);

}  // namespace bench
