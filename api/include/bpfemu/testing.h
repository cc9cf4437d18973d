// bpfemu::testing — GoogleTest helpers (header only; link GTest and bpfemu::api).
//
//   class MyTest : public bpfemu::testing::BackendTest {};
//   TEST_P(MyTest, Works) {
//     bpfemu::Backend& b = backend();
//     int fd = b.map_create(BPF_MAP_TYPE_HASH, "m", 4, 8, 16, nullptr);
//     ASSERT_GE(fd, 0);
//     ASSERT_EQ(b.obj_pin(fd, pin_path("m").c_str()), 0);
//     ...
//   }
//   BPFEMU_INSTANTIATE_BACKEND_TEST(MyTest);  // runs as MyTest.Works/emu and /kernel
//
// Each test gets its backend, a private bpffs directory (bpffs_dir(),
// pin_path()) removed afterwards with everything pinned in it, and the
// emulator's controls put back to their defaults when it ends. The kernel half
// is skipped, with the reason, where bpf() is not permitted or /sys/fs/bpf is
// not a bpf filesystem.
#pragma once

#include <gtest/gtest.h>
#include <linux/magic.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "bpfemu/backend.h"
#include "bpfemu/controls.h"
#include "bpfemu/programs.h"
#include "bpfemu/faults.h"

namespace bpfemu::testing {

// Puts every emulator control back to its default: CPU count, the calling
// thread's CPU, kernel profile, injected faults, the failure log (on again
// when BPFEMU_LOG asks for it) and the bpffs root (BPFEMU_BPFFS or default).
inline void reset_controls() {
  set_possible_cpus(0);
  set_thread_cpu(-1);
  set_active_profile("host");
  clear_faults();
  const char* log = getenv("BPFEMU_LOG");
  set_log(log != nullptr && *log != '\0' && strcmp(log, "0") != 0);
  set_bpffs_root("");
  set_prandom_seed(0);
  take_trace();  // output a test's programs printed and nobody read
}

// Parameter: the backend's name, "emu" or "kernel".
class BackendTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string why;
    backend_ = make_backend(GetParam(), &why);
    if (!backend_) GTEST_SKIP() << "backend '" << GetParam() << "' unavailable: " << why;
    if (backend_->emulated()) {
      if (!private_bpffs()) return;  // the root in effect, cleaned by the test itself
      // A tmpfs like the default root; its store (<root>/.bpfemu) goes with it.
      std::string tmpl = (access("/dev/shm", W_OK) == 0 ? std::string("/dev/shm")
                                                         : std::filesystem::temp_directory_path().string()) +
                         "/bpfemu-test-XXXXXX";
      ASSERT_NE(mkdtemp(tmpl.data()), nullptr) << "mkdtemp " << tmpl << ": " << strerror(errno);
      real_dir_ = tmpl;
      set_bpffs_root(real_dir_);
      return;
    }
    struct statfs fs {};
    if (statfs("/sys/fs/bpf", &fs) != 0 || fs.f_type != BPF_FS_MAGIC)
      GTEST_SKIP() << "/sys/fs/bpf is not a bpf filesystem here (mount -t bpf bpf /sys/fs/bpf)";
    static std::atomic<unsigned> seq{0};
    for (;;) {
      std::string dir = "/sys/fs/bpf/bpfemu-test-" + std::to_string(getpid()) + "-" + std::to_string(seq++);
      if (mkdir(dir.c_str(), 0700) == 0) {
        real_dir_ = dir;
        dir_ = dir;
        return;
      }
      ASSERT_EQ(errno, EEXIST) << "mkdir " << dir << ": " << strerror(errno);
    }
  }

  void TearDown() override {
    if (!real_dir_.empty()) remove_pins(real_dir_);
    reset_controls();
  }

  // False: on the emulator, keep the bpffs root in effect (BPFEMU_BPFFS) and
  // remove nothing, so a test can show that it cleans up after itself across
  // runs. The kernel always gets a fresh directory.
  virtual bool private_bpffs() const { return true; }

  Backend& backend() { return *backend_; }
  // The test's bpffs directory, as programs name it.
  const std::string& bpffs_dir() const { return dir_; }
  std::string pin_path(const std::string& name) const { return dir_ + "/" + name; }

 private:
  // Unpins through the backend (the emulator frees what only the pin kept),
  // then removes the directories.
  void remove_pins(const std::string& dir) {
    std::error_code ec;
    std::vector<std::string> pins;
    for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (it->path().filename() == ".bpfemu") {
        it.disable_recursion_pending();  // the emulator's store, not pins
        continue;
      }
      if (!it->is_directory(ec) || it->is_symlink(ec)) pins.push_back(it->path().string());
    }
    for (const auto& p : pins) EXPECT_EQ(backend_->obj_unpin(p.c_str()), 0) << "unpin " << p;
    std::filesystem::remove_all(dir, ec);
    EXPECT_FALSE(ec) << "removing " << dir << ": " << ec.message();
  }

  std::unique_ptr<Backend> backend_;
  std::string dir_ = "/sys/fs/bpf";
  std::string real_dir_;  // what TearDown removes (empty: nothing)
};

// "emu" and "kernel" as test-name suffixes.
inline std::string backend_param_name(const ::testing::TestParamInfo<std::string>& info) { return info.param; }

}  // namespace bpfemu::testing

// Runs every TEST_P of `suite` (a BackendTest) on both backends.
#define BPFEMU_INSTANTIATE_BACKEND_TEST(suite)                                            \
  INSTANTIATE_TEST_SUITE_P(Backends, suite, ::testing::Values("emu", "kernel"), \
                           ::bpfemu::testing::backend_param_name)
