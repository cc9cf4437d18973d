// A map dumped through a BPF iterator (bpf/map_dump.bpf.c), as a tool would:
// the skeleton loads, bpf_program__attach_iter links the program to the map,
// bpf_iter_create makes the fd, and read() returns what the program printed;
// no root needed. Linked with libbpfemu before libbpf.
#include <errno.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>

#include "map_dump.skel.h"

namespace {

class MapDump : public ::testing::Test {
 protected:
  void SetUp() override {
    skel_ = map_dump__open_and_load();
    ASSERT_NE(skel_, nullptr) << strerror(errno);
    for (uint32_t k : {3U, 10U, 42U}) {
      const uint64_t v = k * 2;
      ASSERT_EQ(bpf_map__update_elem(skel_->maps.counts, &k, sizeof(k), &v, sizeof(v), BPF_ANY), 0);
    }
    union bpf_iter_link_info info = {};
    info.map.map_fd = static_cast<uint32_t>(bpf_map__fd(skel_->maps.counts));
    LIBBPF_OPTS(bpf_iter_attach_opts, opts, .link_info = &info, .link_info_len = sizeof(info));
    link_ = bpf_program__attach_iter(skel_->progs.dump_counts, &opts);
    ASSERT_NE(link_, nullptr) << strerror(errno);
  }
  void TearDown() override {
    bpf_link__destroy(link_);
    map_dump__destroy(skel_);
  }

  // One iterator, read to its end `chunk` bytes at a time.
  std::string dump(size_t chunk) {
    const int fd = bpf_iter_create(bpf_link__fd(link_));
    EXPECT_GE(fd, 0) << strerror(errno);
    if (fd < 0) return "";
    std::string out;
    std::vector<char> buf(chunk);
    for (;;) {
      const ssize_t n = read(fd, buf.data(), buf.size());
      EXPECT_GE(n, 0) << strerror(errno);
      if (n <= 0) break;
      out.append(buf.data(), static_cast<size_t>(n));
    }
    EXPECT_EQ(close(fd), 0);
    return out;
  }

  static std::vector<std::string> lines(const std::string& text) {
    std::vector<std::string> v;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) v.push_back(l);
    return v;
  }

  map_dump* skel_ = nullptr;
  bpf_link* link_ = nullptr;
};

TEST_F(MapDump, PrintsEveryElementThenTheEnd) {
  std::vector<std::string> got = lines(dump(4096));
  ASSERT_EQ(got.size(), 5U);
  EXPECT_EQ(got.front(), "key value");
  EXPECT_EQ(got.back(), "3 of 64");
  std::vector<std::string> elems(got.begin() + 1, got.end() - 1);
  std::sort(elems.begin(), elems.end());
  EXPECT_EQ(elems, (std::vector<std::string>{"10 20", "3 6", "42 84"}));
  EXPECT_EQ(skel_->bss->shown, 3U);
}

TEST_F(MapDump, WritesThroughTheValuePointer) {
  ASSERT_FALSE(dump(4096).empty());
  for (uint32_t k : {3U, 10U, 42U}) {
    uint64_t v = 0;
    ASSERT_EQ(bpf_map__lookup_elem(skel_->maps.counts, &k, sizeof(k), &v, sizeof(v), 0), 0);
    EXPECT_EQ(v, k * 2 + 1);
  }
}

TEST_F(MapDump, SmallReadsGiveTheSameBytes) {
  const std::string whole = dump(4096);
  skel_->bss->shown = 0;
  // The second walk sees the values the first one incremented.
  std::string expect = whole;
  for (const char* from : {" 6\n", " 20\n", " 84\n"}) {
    const size_t at = expect.find(from);
    ASSERT_NE(at, std::string::npos);
    std::string to = std::string(" ") + std::to_string(std::stoul(from + 1) + 1) + "\n";
    expect.replace(at, strlen(from), to);
  }
  EXPECT_EQ(dump(1), expect);
}

TEST_F(MapDump, ProgramMayDeleteTheElementItIsGiven) {
  for (uint32_t k = 100; k < 120; ++k) {
    const uint64_t v = k;
    ASSERT_EQ(bpf_map__update_elem(skel_->maps.counts, &k, sizeof(k), &v, sizeof(v), BPF_ANY), 0);
  }
  union bpf_iter_link_info info = {};
  info.map.map_fd = static_cast<uint32_t>(bpf_map__fd(skel_->maps.counts));
  LIBBPF_OPTS(bpf_iter_attach_opts, opts, .link_info = &info, .link_info_len = sizeof(info));
  bpf_link* link = bpf_program__attach_iter(skel_->progs.drop_odd, &opts);
  ASSERT_NE(link, nullptr) << strerror(errno);
  const int fd = bpf_iter_create(bpf_link__fd(link));
  ASSERT_GE(fd, 0) << strerror(errno);
  std::string out;
  char buf[64];
  for (ssize_t n; (n = read(fd, buf, sizeof(buf))) > 0;) out.append(buf, static_cast<size_t>(n));
  EXPECT_EQ(close(fd), 0);
  bpf_link__destroy(link);
  // Every element once, though the odd ones went as they were shown.
  std::vector<std::string> got = lines(out);
  std::sort(got.begin(), got.end());
  std::vector<std::string> want;
  for (uint32_t k : {3U, 10U, 42U}) want.push_back(std::to_string(k));
  for (uint32_t k = 100; k < 120; ++k) want.push_back(std::to_string(k));
  std::sort(want.begin(), want.end());
  EXPECT_EQ(got, want);
  for (uint32_t k : {3U, 10U, 42U, 101U, 102U}) {
    uint64_t v = 0;
    EXPECT_EQ(bpf_map__lookup_elem(skel_->maps.counts, &k, sizeof(k), &v, sizeof(v), 0) == 0, k % 2 == 0) << k;
  }
}

TEST_F(MapDump, IterCreateChecksItsArguments) {
  EXPECT_EQ(bpf_iter_create(bpf_map__fd(skel_->maps.counts)), -EINVAL);
  LIBBPF_OPTS(bpf_link_create_opts, opts);
  EXPECT_EQ(bpf_link_create(bpf_program__fd(skel_->progs.dump_counts), 0, BPF_TRACE_ITER, &opts), -EBADF);
  // The iterator's fd is read-only, as the kernel's.
  const int fd = bpf_iter_create(bpf_link__fd(link_));
  ASSERT_GE(fd, 0) << strerror(errno);
  EXPECT_EQ(write(fd, "x", 1), -1);
  EXPECT_EQ(errno, EBADF);
  EXPECT_EQ(close(fd), 0);
}

}  // namespace
