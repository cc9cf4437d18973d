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

#if __has_include(<bpf/btf.h>)
#include <bpf/btf.h>  // LockedValueType
#endif
#include <gtest/gtest.h>
#include <linux/bpf.h>
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
#include "bpfemu/clock.h"
#include "bpfemu/controls.h"
#include "bpfemu/programs.h"
#include "bpfemu/faults.h"

namespace bpfemu::testing {

// Puts every emulator control back to its default: CPU count, the calling
// thread's CPU, kernel profile, injected faults, the failure log (on again
// when BPFEMU_LOG asks for it), the bpffs root (BPFEMU_BPFFS or default), the
// thread's emulated stacks (none) and the clock (bpfemu/clock.h: real time
// again).
inline void reset_controls() {
  set_possible_cpus(0);
  set_thread_cpu(-1);
  set_active_profile("host");
  clear_faults();
  const char* log = getenv("BPFEMU_LOG");
  set_log(log != nullptr && *log != '\0' && strcmp(log, "0") != 0);
  set_bpffs_root("");
  set_prandom_seed(0);
  set_stack(nullptr, 0, nullptr, 0);
  take_trace();  // output a test's programs printed and nobody read
  Clock::resume();  // real time again
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

#if __has_include(<bpf/btf.h>)
// The BTF of a map whose values hold a struct bpf_spin_lock, made with
// libbpf's BTF writer so that a test needs no .bpf.o: BPF_F_LOCK and
// bpf_spin_lock work only on maps created with such a value type.
//
//   struct Counter { uint64_t hits; uint32_t lock; uint32_t misses; };  // lock: the bpf_spin_lock's 4 bytes
//   bpfemu::testing::LockedValueType t(sizeof(Counter), offsetof(Counter, lock));
//   const int btf = t.load(backend());  // BPF_BTF_LOAD: the BTF's fd, or -errno
//   bpfemu::MapCreateOpts o = t.create_opts(btf);
//   int fd = backend().map_create(BPF_MAP_TYPE_HASH, "counters", 4, sizeof(Counter), 64, &o);
//
// The value is a struct of value_size bytes: plain bytes around the lock at
// lock_offset (a multiple of 4). The key is a 4-byte integer (what ARRAY maps
// need), or key_size plain bytes. Needs libbpf's headers (libbpf-dev) and
// libbpf at link time (bpfemu::api brings it).
class LockedValueType {
 public:
  LockedValueType(uint32_t value_size, uint32_t lock_offset, uint32_t key_size = 4) {
    btf* b = btf__new_empty();
    const int u8 = btf__add_int(b, "u8", 1, 0);
    const int u32 = btf__add_int(b, "u32", 4, 0);
    const int lock = btf__add_struct(b, "bpf_spin_lock", 4);
    btf__add_field(b, "val", u32, 0, 0);
    key_id_ = key_size == 4 ? u32 : btf__add_array(b, u32, u8, key_size);
    const uint32_t after = lock_offset + 4 <= value_size ? value_size - lock_offset - 4 : 0;
    const int before_bytes = lock_offset != 0 ? btf__add_array(b, u32, u8, lock_offset) : 0;
    const int after_bytes = after != 0 ? btf__add_array(b, u32, u8, after) : 0;
    value_id_ = btf__add_struct(b, "locked_value", value_size);
    if (before_bytes > 0) btf__add_field(b, "before", before_bytes, 0, 0);
    btf__add_field(b, "lock", lock, lock_offset * 8, 0);
    if (after_bytes > 0) btf__add_field(b, "after", after_bytes, (lock_offset + 4) * 8, 0);
    uint32_t size = 0;
    const auto* raw = static_cast<const uint8_t*>(btf__raw_data(b, &size));
    if (raw != nullptr) blob_.assign(raw, raw + size);
    btf__free(b);
  }

  const std::vector<uint8_t>& blob() const { return blob_; }
  uint32_t key_type_id() const { return static_cast<uint32_t>(key_id_); }
  uint32_t value_type_id() const { return static_cast<uint32_t>(value_id_); }

  // BPF_BTF_LOAD of the blob through `b`: the BTF object's fd, or -errno.
  int load(Backend& b) const {
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.btf = reinterpret_cast<uint64_t>(blob_.data());
    a.btf_size = static_cast<uint32_t>(blob_.size());
    return static_cast<int>(b.bpf(BPF_BTF_LOAD, &a, sizeof(a)));
  }
  // Create options naming the BTF (loaded: its fd) and the key and value types.
  MapCreateOpts create_opts(int btf_fd, uint32_t map_flags = 0) const {
    MapCreateOpts o;
    o.btf_fd = static_cast<uint32_t>(btf_fd);
    o.btf_key_type_id = key_type_id();
    o.btf_value_type_id = value_type_id();
    o.map_flags = map_flags;
    return o;
  }

 private:
  std::vector<uint8_t> blob_;
  int key_id_ = 0;
  int value_id_ = 0;
};
#endif  // <bpf/btf.h>: libbpf's BTF writer (libbpf-dev)

// "emu" and "kernel" as test-name suffixes.
inline std::string backend_param_name(const ::testing::TestParamInfo<std::string>& info) { return info.param; }

}  // namespace bpfemu::testing

// Runs every TEST_P of `suite` (a BackendTest) on both backends.
#define BPFEMU_INSTANTIATE_BACKEND_TEST(suite)                                            \
  INSTANTIATE_TEST_SUITE_P(Backends, suite, ::testing::Values("emu", "kernel"), \
                           ::bpfemu::testing::backend_param_name)
