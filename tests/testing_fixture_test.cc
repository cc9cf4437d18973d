// bpfemu::testing::BackendTest itself: a private, empty bpffs directory per
// test, and reset_controls() putting every emulator control back.
#include "bpfemu/testing.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <string>

#include "bpfemu/backend.h"
#include "bpfemu/controls.h"
#include "bpfemu/emu_backend.h"
#include "bpfemu/faults.h"

namespace {

class FixtureTest : public bpfemu::testing::BackendTest {};

TEST_P(FixtureTest, BpffsDirectoryIsPrivateAndEmpty) {
  bpfemu::Backend& b = backend();
  if (b.emulated()) {
    EXPECT_EQ(bpffs_dir(), "/sys/fs/bpf");
    const std::string root = bpfemu::bpffs_root_dir();
    EXPECT_NE(root.find("/bpfemu-test-"), std::string::npos) << root;
    for (const auto& e : std::filesystem::directory_iterator(root))
      EXPECT_EQ(e.path().filename(), ".bpfemu") << "left in a fresh root: " << e.path();
  } else {
    EXPECT_NE(bpffs_dir().find("/sys/fs/bpf/bpfemu-test-"), std::string::npos) << bpffs_dir();
    EXPECT_TRUE(std::filesystem::is_empty(bpffs_dir()));
  }
  // Pins and directories made here are the fixture's to remove.
  const int fd = b.map_create(BPF_MAP_TYPE_ARRAY, "fixture", 4, 8, 1, nullptr);
  ASSERT_GE(fd, 0) << strerror(errno);
  ASSERT_EQ(b.obj_pin(fd, pin_path("left_behind").c_str()), 0) << strerror(errno);
  ASSERT_EQ(b.close(fd), 0);
}

BPFEMU_INSTANTIATE_BACKEND_TEST(FixtureTest);

// reset_controls() is what TearDown runs after every test. The controls are
// the emulator's, so this runs on the emulator only.
class ResetControlsTest : public bpfemu::testing::BackendTest {};

TEST_P(ResetControlsTest, PutsEveryControlBack) {
  bpfemu::Backend& b = backend();
  ASSERT_TRUE(b.emulated());
  const int cpus = b.num_possible_cpus();
  const std::string described = b.describe();
  const std::string root = bpfemu::bpffs_root_dir();
  bpfemu::set_possible_cpus(cpus + 2);
  ASSERT_EQ(b.num_possible_cpus(), cpus + 2);
  ASSERT_TRUE(bpfemu::set_active_profile("6.1"));
  ASSERT_EQ(b.describe(), "emulator (profile 6.1)");
  bpfemu::inject_fault(bpfemu::FaultSite::kMapCreate, 1, ENOMEM);
  bpfemu::set_bpffs_root("/nonexistent/bpfemu-reset-test");
  ASSERT_EQ(bpfemu::bpffs_root_dir(), "/nonexistent/bpfemu-reset-test");

  bpfemu::testing::reset_controls();
  EXPECT_EQ(b.num_possible_cpus(), cpus);
  EXPECT_EQ(b.describe(), described);
  EXPECT_NE(bpfemu::bpffs_root_dir(), "/nonexistent/bpfemu-reset-test");
  bpfemu::set_bpffs_root(root);  // back to this test's private root for the map below
  const int fd = b.map_create(BPF_MAP_TYPE_ARRAY, "reset", 4, 8, 1, nullptr);  // the fault is gone
  ASSERT_GE(fd, 0) << strerror(errno);
  EXPECT_EQ(b.close(fd), 0);
}

INSTANTIATE_TEST_SUITE_P(EmuOnly, ResetControlsTest, ::testing::Values("emu"),
                         bpfemu::testing::backend_param_name);

}  // namespace
