// Program-side API: pointers into values, per-CPU slots, LRU reference bits,
// bpf_for_each_map_elem return codes.
#include <gtest/gtest.h>

#include "tests/emu_test_support.h"

#include <sys/mman.h>
#include <unistd.h>
#include <sys/wait.h>
#include <signal.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <vector>

#include "bpfemu/emu_backend.h"
#include "bpfemu/prog.h"
#include "emu/bpffs.h"
#include "core/cpu.h"

namespace {

using bpfemu::EmuBackend;
using bpfemu::prog::MapRef;

class ProgApiTest : public bpfemu::testsupport::PrivateBpffsTest {
 protected:
  EmuBackend b_;
};

TEST_F(ProgApiTest, LookupReturnsPointerIntoTheValue) {
  int fd = b_.map_create(BPF_MAP_TYPE_HASH, "h", 4, 8, 16, nullptr);
  MapRef map(fd);
  ASSERT_TRUE(map.valid());
  uint32_t k = 3;
  uint64_t v = 10;
  ASSERT_EQ(map.update(&k, &v, BPF_ANY), 0);
  auto* p = static_cast<uint64_t*>(map.lookup(&k));
  ASSERT_NE(p, nullptr);
  __atomic_fetch_add(p, 5, __ATOMIC_RELAXED);  // what a BPF program does
  uint64_t out = 0;
  EXPECT_EQ(b_.map_lookup_elem(fd, &k, &out), 0);
  EXPECT_EQ(out, 15u);
  uint32_t missing = 4;
  EXPECT_EQ(map.lookup(&missing), nullptr);
  b_.close(fd);
}

TEST_F(ProgApiTest, PerCpuUpdateTouchesOnlyTheCurrentCpu) {
  bpfemu::set_possible_cpus(2);
  int fd = b_.map_create(BPF_MAP_TYPE_PERCPU_HASH, "pch", 4, 4, 4, nullptr);
  MapRef map(fd);
  uint32_t k = 1, v = 7;
  {
    bpfemu::ScopedCpu cpu(1);
    ASSERT_EQ(map.update(&k, &v, BPF_ANY), 0);
    EXPECT_EQ(*static_cast<uint32_t*>(map.lookup(&k)), 7u);
  }
  uint64_t all[2] = {~0ULL, ~0ULL};
  ASSERT_EQ(b_.map_lookup_elem(fd, &k, all), 0);
  EXPECT_EQ(all[0], 0u);  // other CPUs' slots of a new element are zeroed
  EXPECT_EQ(all[1], 7u);
  b_.close(fd);
  bpfemu::set_possible_cpus(0);
}

// The possible-CPU count may grow after a map was made (a test changing it);
// the map keeps its own count, so a thread on a CPU beyond it must still land
// inside the map (on CPU id modulo the map's count), never past its end.
TEST_F(ProgApiTest, CpusBeyondAMapsCountStayInsideTheMap) {
  bpfemu::set_possible_cpus(2);
  int arr = b_.map_create(BPF_MAP_TYPE_PERCPU_ARRAY, "pca", 4, 8, 1, nullptr);
  int hash = b_.map_create(BPF_MAP_TYPE_PERCPU_HASH, "pch", 4, 8, 2, nullptr);
  int lru = b_.map_create(BPF_MAP_TYPE_LRU_PERCPU_HASH, "lru", 4, 8, 4, nullptr);
  ASSERT_GE(arr, 0);
  ASSERT_GE(hash, 0);
  ASSERT_GE(lru, 0);
  bpfemu::set_possible_cpus(8);
  {
    bpfemu::ScopedCpu cpu(7);  // map CPU 7 % 2 = 1
    const uint32_t k = 0;
    const uint64_t v = 77;
    for (int fd : {arr, hash, lru}) {
      MapRef map(fd);
      ASSERT_EQ(map.update(&k, &v, BPF_ANY), 0) << fd;
      auto* p = static_cast<uint64_t*>(map.lookup(&k));
      ASSERT_NE(p, nullptr) << fd;
      EXPECT_EQ(*p, 77u);
      uint64_t all[2] = {~0ULL, ~0ULL};
      ASSERT_EQ(b_.map_lookup_elem(fd, &k, all), 0);
      EXPECT_EQ(all[1], 77u) << fd;
    }
  }
  bpfemu::set_possible_cpus(0);
  for (int fd : {arr, hash, lru}) b_.close(fd);
}

TEST_F(ProgApiTest, ProgramLookupProtectsLruEntriesFromEviction) {
  bpfemu::set_possible_cpus(1);
  bpfemu::ScopedCpu cpu(0);
  bpfemu::MapCreateOpts o;
  o.map_flags = BPF_F_NO_COMMON_LRU;  // one list, batch of 4: easy to reason about
  int fd = b_.map_create(BPF_MAP_TYPE_LRU_HASH, "lru", 4, 4, 8, &o);
  MapRef map(fd);
  for (uint32_t k = 0; k < 8; ++k) ASSERT_EQ(map.update(&k, &k, BPF_ANY), 0);
  // Keys 0..3 are the oldest; a program touches 0 and 1, setting their ref bits.
  for (uint32_t k = 0; k < 2; ++k) ASSERT_NE(map.lookup(&k), nullptr);
  for (uint32_t k = 8; k < 10; ++k) ASSERT_EQ(map.update(&k, &k, BPF_ANY), 0);
  uint32_t out;
  uint32_t k0 = 0, k1 = 1, k2 = 2;
  EXPECT_EQ(b_.map_lookup_elem(fd, &k0, &out), 0);      // referenced: survived
  EXPECT_EQ(b_.map_lookup_elem(fd, &k1, &out), 0);
  EXPECT_EQ(b_.map_lookup_elem(fd, &k2, &out), -ENOENT);  // unreferenced: evicted
  b_.close(fd);
  bpfemu::set_possible_cpus(0);
}

struct Acc {
  int seen = 0;
  int stop_at = -1;
};

long count_until(const MapRef&, const void*, void*, void* ctx) {
  auto* acc = static_cast<Acc*>(ctx);
  return ++acc->seen == acc->stop_at ? 1 : 0;
}

TEST_F(ProgApiTest, ForEachCountsTheStoppingElement) {
  int fd = b_.map_create(BPF_MAP_TYPE_ARRAY, "a", 4, 4, 10, nullptr);
  MapRef map(fd);
  Acc all;
  EXPECT_EQ(map.for_each(count_until, &all), 10);
  Acc stop;
  stop.stop_at = 3;
  EXPECT_EQ(map.for_each(count_until, &stop), 3);
  EXPECT_EQ(map.for_each(count_until, &stop, 1), -EINVAL);  // flags must be 0
  b_.close(fd);
}

}  // namespace

namespace {

// A ring buffer through the C++ program-side API, read back as a consumer
// reads it: a record that crosses the end of the ring is whole (the records
// are mapped twice), headers carry the kernel's length bits, and a reservation
// that would lap the consumer fails.
TEST_F(ProgApiTest, RingBufferRecordsWrapAroundTheEndContiguously) {
  constexpr uint32_t kSize = 4096;
  const int fd = b_.map_create(BPF_MAP_TYPE_RINGBUF, "rb", 0, 0, kSize, nullptr);
  ASSERT_GE(fd, 0);
  MapRef rb(fd);
  ASSERT_TRUE(rb.valid());
  auto* cons = static_cast<uint64_t*>(b_.map_mmap(fd, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, 0));
  ASSERT_NE(cons, MAP_FAILED);
  auto* prod = static_cast<const uint64_t*>(b_.map_mmap(fd, 4096 + 2 * kSize, PROT_READ, MAP_SHARED, 4096));
  ASSERT_NE(prod, MAP_FAILED);
  const auto* data = reinterpret_cast<const uint8_t*>(prod) + 4096;

  std::vector<uint8_t> big(2000);
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<uint8_t>(i * 13);
  EXPECT_EQ(rb.ringbuf_output(big.data(), big.size()), 0);
  EXPECT_EQ(rb.ringbuf_output(big.data(), big.size()), 0);
  EXPECT_EQ(rb.ringbuf_output(big.data(), 100), -EAGAIN) << "4016 of 4096 bytes in use";
  EXPECT_EQ(rb.ringbuf_output(big.data(), 8, 4), -EINVAL);
  EXPECT_EQ(rb.ringbuf_query(BPF_RB_AVAIL_DATA), 4016u);
  *cons = 4016;  // everything consumed
  auto* rec = static_cast<uint8_t*>(rb.ringbuf_reserve(big.size()));
  ASSERT_NE(rec, nullptr);
  memcpy(rec, big.data(), big.size());  // runs past the ring's end into its mirror
  uint32_t hdr_len = 0;
  memcpy(&hdr_len, data + 4016, 4);
  EXPECT_EQ(hdr_len, 2000u | (1U << 31)) << "busy until submitted";
  rb.ringbuf_submit(rec);
  memcpy(&hdr_len, data + 4016, 4);
  EXPECT_EQ(hdr_len, 2000u);
  EXPECT_EQ(memcmp(data + 4024, big.data(), big.size()), 0) << "the consumer reads the record whole";
  EXPECT_EQ(data[(4024 + 100) % kSize], big[100]) << "the part past the end sits at the ring's start";
  EXPECT_EQ(prod[0], 4016u + 2008u);
  void* dropped = rb.ringbuf_reserve(16);
  ASSERT_NE(dropped, nullptr);
  rb.ringbuf_discard(dropped);
  memcpy(&hdr_len, data + (4016 + 2008) % kSize, 4);
  EXPECT_EQ(hdr_len, 16u | (1U << 30));
  EXPECT_EQ(rb.ringbuf_query(BPF_RB_RING_SIZE), kSize);
  EXPECT_EQ(b_.map_munmap(const_cast<uint64_t*>(prod), 4096 + 2 * kSize), 0);
  EXPECT_EQ(b_.map_munmap(cons, 4096), 0);
}

// A kernel program cannot die between bpf_ringbuf_reserve and submit; a process
// here can. Its record must not stall the ring for good: while its holder
// lives it stays BUSY; once the holder is gone, the next producer discards it,
// so the consumer skips it and reads what came after.
TEST_F(ProgApiTest, RingBufferRecordOfADeadProducerIsDiscarded) {
  constexpr uint32_t kSize = 4096;
  const int fd = b_.map_create(BPF_MAP_TYPE_RINGBUF, "rb", 0, 0, kSize, nullptr);
  ASSERT_GE(fd, 0);
  MapRef rb(fd);
  ASSERT_TRUE(rb.valid());
  auto* prod = static_cast<const uint64_t*>(b_.map_mmap(fd, 4096 + 2 * kSize, PROT_READ, MAP_SHARED, 4096));
  ASSERT_NE(prod, MAP_FAILED);
  const auto* data = reinterpret_cast<const uint8_t*>(prod) + 4096;
  auto header = [&](uint64_t pos) {
    uint32_t len = 0;
    memcpy(&len, data + pos, 4);
    return len;
  };

  int ready[2], go[2];
  ASSERT_EQ(pipe(ready), 0);
  ASSERT_EQ(pipe(go), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    void* rec = MapRef(fd).ringbuf_reserve(100);
    const char c = rec != nullptr ? 'r' : 'x';
    if (write(ready[1], &c, 1) != 1) _exit(2);
    char wait = 0;
    (void)read(go[0], &wait, 1);  // killed while it holds the record
    _exit(3);
  }
  char c = 0;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  ASSERT_EQ(c, 'r');
  const uint32_t payload = 0xabcd;
  ASSERT_EQ(rb.ringbuf_output(&payload, sizeof(payload)), 0);
  EXPECT_EQ(header(0), 100u | (1U << 31)) << "a live holder keeps its record";
  ASSERT_EQ(kill(child, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status));

  ASSERT_EQ(rb.ringbuf_output(&payload, sizeof(payload)), 0);
  EXPECT_EQ(header(0), 100u | (1U << 30)) << "discarded, no longer busy";
  EXPECT_EQ(header(112), 4u) << "the record after it is readable";
  uint32_t got = 0;
  memcpy(&got, data + 120, 4);
  EXPECT_EQ(got, payload);
  EXPECT_EQ(prod[0], 112u + 16 + 16);
  for (int p : {ready[0], ready[1], go[0], go[1]}) close(p);
  EXPECT_EQ(b_.map_munmap(const_cast<uint64_t*>(prod), 4096 + 2 * kSize), 0);
}

}  // namespace
