// The copies of values with special fields other than locks and timers
// (kptrs, bpf_refcount, list heads: ValueRecord's other fields), and the
// digests behind map hashes and program tags.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>

#include "core/value_lock.h"
#include "emu/digest.h"

namespace {

using bpfemu::emu::ValueRecord;

// A 40-byte value: a kptr at 8 (8 bytes), a bpf_refcount at 16 (4 bytes), a
// list head at 24 (16 bytes).
ValueRecord record() {
  ValueRecord rec{};
  rec.other_count = 3;
  rec.other_offs[0] = 8;
  rec.other_sizes[0] = 8;
  rec.other_offs[1] = 16;
  rec.other_sizes[1] = 4;
  rec.other_refcounts = 1u << 1;
  rec.other_offs[2] = 24;
  rec.other_sizes[2] = 16;
  return rec;
}

TEST(ValueFields, CopyOutZeroesFieldsAndShowsRefcountAsOne) {
  const ValueRecord rec = record();
  uint8_t map_value[40], out[40];
  memset(map_value, 0x5a, sizeof(map_value));
  memset(out, 0xee, sizeof(out));
  bpfemu::emu::value_copy_out(rec, out, map_value, sizeof(out), false);
  for (uint32_t i = 0; i < 40; ++i) {
    uint8_t want = 0x5a;
    if ((i >= 8 && i < 20) || i >= 24) want = 0;
    if (i == 16) want = 1;  // little-endian u32 1
    EXPECT_EQ(out[i], want) << "byte " << i;
  }
}

TEST(ValueFields, CopyInLeavesFieldsAlone) {
  const ValueRecord rec = record();
  uint8_t map_value[40], in[40];
  memset(map_value, 0x11, sizeof(map_value));
  memset(in, 0xab, sizeof(in));
  bpfemu::emu::value_copy_in(rec, map_value, in, sizeof(in), false);
  for (uint32_t i = 0; i < 40; ++i) {
    const bool field = (i >= 8 && i < 20) || i >= 24;
    EXPECT_EQ(map_value[i], field ? 0x11 : 0xab) << "byte " << i;
  }
}

TEST(ValueFields, PerCpuSlotPaddingIsCopiedAroundFields) {
  // value_size 12 with a kptr at 0: a per-CPU slot of 16 bytes, padding included.
  ValueRecord rec{};
  rec.other_count = 1;
  rec.other_sizes[0] = 8;
  uint8_t slot[16], out[16];
  memset(slot, 0x77, sizeof(slot));
  bpfemu::emu::value_copy_out(rec, out, slot, sizeof(out), false);
  for (uint32_t i = 0; i < 16; ++i) EXPECT_EQ(out[i], i < 8 ? 0 : 0x77) << "byte " << i;
}

std::string hex(const uint8_t* p, size_t n) {
  std::string s;
  char b[3];
  for (size_t i = 0; i < n; ++i) {
    snprintf(b, sizeof(b), "%02x", p[i]);
    s += b;
  }
  return s;
}

// The FIPS 180 example digests of "abc".
TEST(Digest, Sha256AndSha1OfAbc) {
  uint8_t d256[bpfemu::emu::kSha256Size], d1[bpfemu::emu::kSha1Size];
  bpfemu::emu::sha256("abc", 3, d256);
  bpfemu::emu::sha1("abc", 3, d1);
  EXPECT_EQ(hex(d256, sizeof(d256)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hex(d1, sizeof(d1)), "a9993e364706816aba3e25717850c26c9cd0d89d");
}

}  // namespace
