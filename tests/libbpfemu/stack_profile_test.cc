// A profiler's kprobe (bpf/stack_profile.bpf.c) run without root: the test
// gives the emulator the kernel and user stacks of the "sample"
// (bpfemu_set_stack), fires the probed function, and reads what the program
// filed: stack ids as the kernel numbers them (jhash2 of the frames, masked by
// the bucket count), the frames behind each id through the syscall side, hit
// counts per (pid, kernel id, user id), and bpf_get_stack's copy. Linked with
// libbpfemu before libbpf, as bpf_object_test.cc is.
#include <errno.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>

#include "bpfemu/programs.h"
#include "maptypes/jhash.h"
#include "stack_profile.skel.h"

namespace {

constexpr uint32_t kFrames = 16;   // the stack map's value: 16 u64 frames
constexpr uint32_t kBuckets = 64;  // max_entries, a power of two already

struct StackKey {
  uint32_t pid;
  int32_t kernel_id;
  int32_t user_id;
};

// The id the kernel files these frames under.
int32_t kernel_stack_id(const std::vector<uint64_t>& ips) {
  return static_cast<int32_t>(bpfemu::maptypes::jhash(ips.data(), static_cast<uint32_t>(ips.size() * 8), 0) &
                              (kBuckets - 1));
}

class StackProfile : public ::testing::Test {
 protected:
  void SetUp() override {
    skel_ = stack_profile__open_and_load();
    ASSERT_NE(skel_, nullptr) << strerror(errno);
    ASSERT_EQ(stack_profile__attach(skel_), 0) << strerror(errno);
  }
  void TearDown() override {
    bpfemu_set_stack(nullptr, 0, nullptr, 0);
    stack_profile__destroy(skel_);
  }

  void sample(const std::vector<uint64_t>& kernel, const std::vector<uint64_t>& user) {
    bpfemu_set_stack(kernel.data(), static_cast<uint32_t>(kernel.size()), user.data(),
                     static_cast<uint32_t>(user.size()));
    const uint64_t args[2] = {0, 0};
    ASSERT_EQ(bpfemu_function_fire("do_unlinkat", args, 2, 0, -1), 1);
  }

  // The frames filed under id (zero-padded to the value), or an empty vector
  // with errno when the lookup fails.
  std::vector<uint64_t> frames(int32_t id) {
    std::vector<uint64_t> v(kFrames);
    const uint32_t key = static_cast<uint32_t>(id);
    if (bpf_map__lookup_elem(skel_->maps.stacks, &key, sizeof(key), v.data(), v.size() * 8, 0) != 0) return {};
    return v;
  }

  uint64_t hits(const StackKey& k) {
    uint64_t n = 0;
    return bpf_map__lookup_elem(skel_->maps.counts, &k, sizeof(k), &n, sizeof(n), 0) == 0 ? n : 0;
  }

  static std::vector<uint64_t> padded(std::vector<uint64_t> v) {
    v.resize(kFrames, 0);
    return v;
  }

  stack_profile* skel_ = nullptr;
};

// Without stacks given, both walks find no frame: bpf_get_stackid answers
// -EFAULT, bpf_get_stack too once it is asked to skip a frame.
TEST_F(StackProfile, NoStackGivenGivesTheKernelsAnswerForAnEmptyWalk) {
  sample({}, {});
  const StackKey k{static_cast<uint32_t>(getpid()), -EFAULT, -EFAULT};
  EXPECT_EQ(hits(k), 1u);
  EXPECT_EQ(skel_->bss->last_stack_bytes, -EFAULT);
  uint32_t next = 0;
  EXPECT_EQ(bpf_map__get_next_key(skel_->maps.stacks, nullptr, &next, sizeof(next)), -ENOENT) << "nothing filed";
}

TEST_F(StackProfile, SameStacksCountUnderOneIdAndTheFramesReadBack) {
  const std::vector<uint64_t> kernel = {0xffffffff81001000, 0xffffffff81002000, 0xffffffff81003000};
  const std::vector<uint64_t> user = {0x401000, 0x402000};
  sample(kernel, user);
  sample(kernel, user);
  const StackKey k{static_cast<uint32_t>(getpid()), kernel_stack_id(kernel), kernel_stack_id(user)};
  ASSERT_NE(k.kernel_id, k.user_id) << "pick frames whose ids differ";
  EXPECT_EQ(hits(k), 2u);
  EXPECT_EQ(frames(k.kernel_id), padded(kernel));
  EXPECT_EQ(frames(k.user_id), padded(user));
  // bpf_get_stack skipped the innermost frame and zeroed the rest of its buffer.
  EXPECT_EQ(skel_->bss->last_stack_bytes, 16);
  EXPECT_EQ(skel_->bss->last_stack[0], kernel[1]);
  EXPECT_EQ(skel_->bss->last_stack[1], kernel[2]);
  EXPECT_EQ(skel_->bss->last_stack[2], 0u);
  EXPECT_EQ(skel_->bss->last_stack[3], 0u);
}

// A deeper stack is cut at what the value holds (16 frames), and the id is
// the hash of those frames; lookup_and_delete takes the stack out.
TEST_F(StackProfile, DeepStackIsCutToTheValueAndCanBeTakenOut) {
  std::vector<uint64_t> kernel;
  for (uint64_t i = 0; i < 40; ++i) kernel.push_back(0xffffffff81000000 + i * 0x40);
  sample(kernel, {0x401000});
  const std::vector<uint64_t> kept(kernel.begin(), kernel.begin() + kFrames);
  const int32_t id = kernel_stack_id(kept);
  EXPECT_EQ(hits({static_cast<uint32_t>(getpid()), id, kernel_stack_id({0x401000})}), 1u);
  EXPECT_EQ(frames(id), kept);
  EXPECT_EQ(skel_->bss->last_stack_bytes, 32) << "four frames fit bpf_get_stack's buffer";
  EXPECT_EQ(skel_->bss->last_stack[3], kernel[4]);

  std::vector<uint64_t> out(kFrames);
  const uint32_t key = static_cast<uint32_t>(id);
  ASSERT_EQ(bpf_map_lookup_and_delete_elem(bpf_map__fd(skel_->maps.stacks), &key, out.data()), 0);
  EXPECT_EQ(out, kept);
  EXPECT_TRUE(frames(id).empty());
  EXPECT_EQ(errno, ENOENT);
}

// A different stack hashing to a taken bucket: without BPF_F_REUSE_STACKID the
// kernel answers -EEXIST and keeps the first stack. Stacks are made until two
// share a bucket.
TEST_F(StackProfile, CollidingStackGetsEexistAndTheFirstStays) {
  const std::vector<uint64_t> first = {0xffffffff81000000};
  std::vector<uint64_t> second;
  for (uint64_t ip = 0xffffffff81000001;; ++ip) {
    if (kernel_stack_id({ip}) == kernel_stack_id(first)) {
      second = {ip};
      break;
    }
  }
  sample(first, {});
  sample(second, {});
  const uint32_t pid = static_cast<uint32_t>(getpid());
  EXPECT_EQ(hits({pid, kernel_stack_id(first), -EFAULT}), 1u);
  EXPECT_EQ(hits({pid, -EEXIST, -EFAULT}), 1u);
  EXPECT_EQ(frames(kernel_stack_id(first)), padded(first));
}

}  // namespace
