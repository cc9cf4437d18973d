// The error model (docs/errors.md): every call answers the kernel's errno as
// -errno and in errno, on both backends; on the emulator BPFEMU_LOG (or
// set_log) adds one stderr line per failing call saying why.
#include "bpfemu/testing.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdint>
#include <string>

#include "bpfemu/backend.h"
#include "bpfemu/controls.h"

namespace {

class ErrorModelTest : public bpfemu::testing::BackendTest {};

TEST_P(ErrorModelTest, KernelErrnoAsReturnValueAndErrno) {
  bpfemu::Backend& b = backend();
  errno = 0;
  EXPECT_EQ(b.map_create(BPF_MAP_TYPE_HASH, "bad-name", 4, 8, 16, nullptr), -EINVAL);
  EXPECT_EQ(errno, EINVAL);

  const int fd = b.map_create(BPF_MAP_TYPE_HASH, "ok", 4, 8, 16, nullptr);
  ASSERT_GE(fd, 0) << strerror(errno);
  const uint32_t key = 1;
  uint64_t value = 0;
  errno = 0;
  EXPECT_EQ(b.map_lookup_elem(fd, &key, &value), -ENOENT);
  EXPECT_EQ(errno, ENOENT);
  EXPECT_EQ(b.map_update_elem(fd, &key, &value, BPF_EXIST), -ENOENT);
  EXPECT_EQ(b.map_update_elem(fd, &key, &value, 42), -EINVAL);  // unknown flags
  ASSERT_EQ(b.close(fd), 0);
}

// BPFEMU_LOG is the emulator's: this suite runs on the emulator only.
class LogTest : public bpfemu::testing::BackendTest {};

TEST_P(LogTest, LogSaysWhyOnTheEmulator) {
  bpfemu::Backend& b = backend();
  ASSERT_TRUE(b.emulated());
  bpfemu::set_log(true);  // the fixture turns it off again
  ::testing::internal::CaptureStderr();
  const int bad_name = b.map_create(BPF_MAP_TYPE_HASH, "bad-name", 4, 8, 16, nullptr);
  const int sockmap = b.map_create(BPF_MAP_TYPE_SOCKMAP, "sm", 4, 4, 4, nullptr);
  const std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(bad_name, -EINVAL);
  EXPECT_EQ(sockmap, -EINVAL);
  EXPECT_NE(log.find("bpfemu: map_create: map_name has a character other than [A-Za-z0-9_.] (0x2d) (EINVAL)"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("map type SOCKMAP (15) is not emulated yet (EINVAL)"), std::string::npos) << log;
}

BPFEMU_INSTANTIATE_BACKEND_TEST(ErrorModelTest);
INSTANTIATE_TEST_SUITE_P(EmuOnly, LogTest, ::testing::Values("emu"), bpfemu::testing::backend_param_name);

}  // namespace
