// A test that pins a map at a fixed path must remove the pin itself, or its
// next run finds the path taken (EEXIST). Backend::obj_unpin reaches the
// emulated bpffs without LD_PRELOAD, so the test cleans up through the same
// Backend it tests. The emulator half keeps the bpffs root in effect
// (private_bpffs() false): ctest runs it twice in a row, in two processes, on
// one BPFEMU_BPFFS root (tests/CMakeLists.txt), and both runs must pass.
#include "bpfemu/testing.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdint>
#include <string>

#include "bpfemu/backend.h"

namespace {

class PinAgainTest : public bpfemu::testing::BackendTest {
 protected:
  bool private_bpffs() const override { return false; }
};

TEST_P(PinAgainTest, PinUnpinAndPinAgain) {
  bpfemu::Backend& b = backend();
  const std::string path = pin_path("bpfemu_pin_again");
  const int fd = b.map_create(BPF_MAP_TYPE_HASH, "pin_again", sizeof(uint32_t), sizeof(uint64_t), 4, nullptr);
  ASSERT_GE(fd, 0) << strerror(errno);
  const uint32_t key = 7;
  const uint64_t value = 42;
  ASSERT_EQ(b.map_update_elem(fd, &key, &value, BPF_NOEXIST), 0);

  // A leftover pin from an earlier run that did not clean up fails here.
  ASSERT_EQ(b.obj_pin(fd, path.c_str()), 0) << path << ": " << strerror(errno);
  EXPECT_EQ(b.obj_pin(fd, path.c_str()), -EEXIST);
  EXPECT_EQ(errno, EEXIST);

  // The pin names the same map.
  const int again = b.obj_get(path.c_str());
  ASSERT_GE(again, 0) << strerror(errno);
  uint64_t out = 0;
  ASSERT_EQ(b.map_lookup_elem(again, &key, &out), 0);
  EXPECT_EQ(out, value);
  ASSERT_EQ(b.close(again), 0);

  // Unpinned, the path is gone, and can be pinned again.
  ASSERT_EQ(b.obj_unpin(path.c_str()), 0);
  EXPECT_EQ(b.obj_get(path.c_str()), -ENOENT);
  EXPECT_EQ(b.obj_unpin(path.c_str()), -ENOENT);
  ASSERT_EQ(b.obj_pin(fd, path.c_str()), 0);
  ASSERT_EQ(b.obj_unpin(path.c_str()), 0);
  ASSERT_EQ(b.close(fd), 0);
}

// The last reference going with the unpin frees the map: its id no longer opens.
TEST_P(PinAgainTest, UnpinDropsThePinsReference) {
  bpfemu::Backend& b = backend();
  const std::string path = pin_path("bpfemu_pin_only_ref");
  const int fd = b.map_create(BPF_MAP_TYPE_ARRAY, "pin_only", sizeof(uint32_t), sizeof(uint64_t), 1, nullptr);
  ASSERT_GE(fd, 0) << strerror(errno);
  bpf_map_info info{};
  uint32_t len = sizeof(info);
  ASSERT_EQ(b.obj_get_info_by_fd(fd, &info, &len), 0);
  ASSERT_EQ(b.obj_pin(fd, path.c_str()), 0) << path << ": " << strerror(errno);
  ASSERT_EQ(b.close(fd), 0);

  const int by_id = b.map_get_fd_by_id(info.id);  // the pin alone keeps it
  ASSERT_GE(by_id, 0) << strerror(errno);
  ASSERT_EQ(b.close(by_id), 0);
  ASSERT_EQ(b.obj_unpin(path.c_str()), 0);
  // The kernel frees the map after an RCU grace period; the emulator at once.
  if (b.emulated()) {
    EXPECT_EQ(b.map_get_fd_by_id(info.id), -ENOENT);
  }
}

BPFEMU_INSTANTIATE_BACKEND_TEST(PinAgainTest);

}  // namespace
