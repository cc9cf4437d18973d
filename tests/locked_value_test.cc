// bpfemu::testing::LockedValueType, as a user's test would use it: the BTF it
// makes gives HASH and ARRAY maps whose values hold a struct bpf_spin_lock,
// on the emulator and on the kernel alike.
#include "bpfemu/testing.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "bpfemu/backend.h"

namespace {

struct Counter {
  uint64_t hits;
  uint32_t lock;  // struct bpf_spin_lock
  uint32_t misses;
};

class LockedValueTest : public bpfemu::testing::BackendTest {};

TEST_P(LockedValueTest, MapsTakeBpfFLockAndReadTheLockAsZero) {
  bpfemu::Backend& b = backend();
  const bpfemu::testing::LockedValueType type(sizeof(Counter), offsetof(Counter, lock));
  const int btf = type.load(b);
  ASSERT_GE(btf, 0) << strerror(-btf);
  for (uint32_t map_type : {BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_ARRAY}) {
    const bpfemu::MapCreateOpts o = type.create_opts(btf);
    const int fd = b.map_create(map_type, "counters", 4, sizeof(Counter), 4, &o);
    ASSERT_GE(fd, 0) << strerror(-fd);
    const uint32_t key = 1;
    const Counter in{10, 0xffffffff, 3};
    ASSERT_EQ(b.map_update_elem(fd, &key, &in, BPF_F_LOCK), 0);
    Counter out{};
    ASSERT_EQ(b.map_lookup_elem_flags(fd, &key, &out, BPF_F_LOCK), 0);
    EXPECT_EQ(out.hits, 10u);
    EXPECT_EQ(out.lock, 0u);  // never the caller's bytes, never the lock's state
    EXPECT_EQ(out.misses, 3u);
    EXPECT_EQ(b.map_freeze(fd), -524);  // ENOTSUPP: values with special fields
    ASSERT_EQ(b.close(fd), 0);
  }
  // The same value size without the lock in its type: no BPF_F_LOCK.
  const int plain = b.map_create(BPF_MAP_TYPE_HASH, "plain", 4, sizeof(Counter), 4, nullptr);
  ASSERT_GE(plain, 0);
  const uint32_t key = 1;
  const Counter in{1, 0, 1};
  EXPECT_EQ(b.map_update_elem(plain, &key, &in, BPF_F_LOCK), -EINVAL);
  ASSERT_EQ(b.close(plain), 0);
  ASSERT_EQ(b.close(btf), 0);
}

BPFEMU_INSTANTIATE_BACKEND_TEST(LockedValueTest);

}  // namespace
