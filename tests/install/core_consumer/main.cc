// An array map through EmuBackend: enough to show that bpfemu::core links and
// runs on its own.
#include <bpfemu/emu_backend.h>

#include <cstdint>
#include <cstdio>

int main() {
  bpfemu::EmuBackend b;
  const int fd = b.map_create(BPF_MAP_TYPE_ARRAY, "core", sizeof(uint32_t), sizeof(uint64_t), 1, nullptr);
  if (fd < 0) return 1;
  const uint32_t key = 0;
  const uint64_t value = 7;
  uint64_t out = 0;
  if (b.map_update_elem(fd, &key, &value, BPF_ANY) != 0) return 2;
  if (b.map_lookup_elem(fd, &key, &out) != 0 || out != value) return 3;
  if (b.close(fd) != 0) return 4;
  std::puts("core consumer ok");
  return 0;
}
