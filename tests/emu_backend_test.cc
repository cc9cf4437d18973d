#include <gtest/gtest.h>

#include "bpfemu/emu_backend.h"

TEST(EmuBackend, CreateUpdateLookup) {
  bpfemu::EmuBackend b;
  int fd = b.map_create(BPF_MAP_TYPE_HASH, "t", 4, 8, 4, nullptr);
  ASSERT_GE(fd, 3);
  uint32_t k = 1;
  uint64_t v = 42, out = 0;
  EXPECT_EQ(b.map_update_elem(fd, &k, &v, BPF_ANY), 0);
  EXPECT_EQ(b.map_lookup_elem(fd, &k, &out), 0);
  EXPECT_EQ(out, 42u);
  EXPECT_EQ(b.close(fd), 0);
}
