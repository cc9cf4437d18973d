// The open-addressing HASH layout (maptypes/hashtab_flat.cc, random-seed HASH
// maps). Conformance runs compare it with the kernel op by op; these tests
// cover what those runs do not reach: long churn through tombstones, value
// pointers staying put, and untorn values under concurrent writers.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <map>
#include <random>
#include <thread>
#include <vector>

#include "bpfemu/emu_backend.h"
#include "bpfemu/prog.h"

namespace {

size_t walk_count(bpfemu::Backend& b, int fd) {
  size_t n = 0;
  uint32_t cur = 0, next = 0;
  const void* prev = nullptr;
  while (b.map_get_next_key(fd, prev, &next) == 0) {
    ++n;
    cur = next;
    prev = &cur;
  }
  return n;
}

// Random inserts, updates and deletes against a std::map model, many times the
// table's size, so every slot turns over through tombstones again and again.
TEST(FlatHash, LongChurnMatchesAModel) {
  constexpr uint32_t kMax = 64;
  bpfemu::EmuBackend b;
  int fd = b.map_create(BPF_MAP_TYPE_HASH, "churn", 4, 8, kMax, nullptr);
  ASSERT_GE(fd, 0);
  std::map<uint32_t, uint64_t> model;
  std::mt19937 rng(7);
  for (int step = 0; step < 200000; ++step) {
    const uint32_t k = rng() % 400;
    const uint64_t v = rng();
    const auto it = model.find(k);
    switch (rng() % 3) {
      case 0: {  // BPF_NOEXIST insert
        int want = it != model.end() ? -EEXIST : model.size() == kMax ? -E2BIG : 0;
        ASSERT_EQ(b.map_update_elem(fd, &k, &v, BPF_NOEXIST), want) << "step " << step;
        if (want == 0) model[k] = v;
        break;
      }
      case 1: {  // BPF_EXIST update
        int want = it == model.end() ? -ENOENT : 0;
        ASSERT_EQ(b.map_update_elem(fd, &k, &v, BPF_EXIST), want) << "step " << step;
        if (want == 0) it->second = v;
        break;
      }
      default: {
        int want = it == model.end() ? -ENOENT : 0;
        ASSERT_EQ(b.map_delete_elem(fd, &k), want) << "step " << step;
        if (want == 0) model.erase(it);
      }
    }
    if (step % 5000 == 0) {
      for (uint32_t q = 0; q < 400; ++q) {
        uint64_t out = 0;
        auto m = model.find(q);
        ASSERT_EQ(b.map_lookup_elem(fd, &q, &out), m == model.end() ? -ENOENT : 0) << "key " << q;
        if (m != model.end()) {
          ASSERT_EQ(out, m->second);
        }
      }
      ASSERT_EQ(walk_count(b, fd), model.size());
    }
  }
  b.close(fd);
}

// Writers on every core, each with its own keys but sharing stripes and probe
// paths (a small table, full to the brim): every thread's model must match the
// map at the end, and no insert may see E2BIG while its own keys fit.
TEST(FlatHash, ConcurrentWritersKeepEveryThreadsModel) {
  constexpr int kThreads = 4;
  constexpr uint32_t kKeysPerThread = 40;
  bpfemu::EmuBackend b;
  int fd = b.map_create(BPF_MAP_TYPE_HASH, "stripes", 4, 8, kThreads * kKeysPerThread, nullptr);
  ASSERT_GE(fd, 0);
  std::vector<std::map<uint32_t, uint64_t>> models(kThreads);
  std::atomic<int> errors{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t)
    ts.emplace_back([&, t] {
      std::mt19937 rng(100 + t);
      auto& model = models[t];
      for (int step = 0; step < 20000; ++step) {
        const uint32_t k = static_cast<uint32_t>(t) * kKeysPerThread + rng() % kKeysPerThread;
        const uint64_t v = rng();
        if (rng() % 2 == 0) {
          if (b.map_update_elem(fd, &k, &v, BPF_ANY) != 0) ++errors;
          model[k] = v;
        } else {
          const int want = model.count(k) != 0 ? 0 : -ENOENT;
          if (b.map_delete_elem(fd, &k) != want) ++errors;
          model.erase(k);
        }
      }
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(errors.load(), 0);
  size_t expected = 0;
  for (const auto& model : models) {
    expected += model.size();
    for (const auto& [k, v] : model) {
      uint64_t out = 0;
      ASSERT_EQ(b.map_lookup_elem(fd, &k, &out), 0) << k;
      EXPECT_EQ(out, v);
    }
  }
  EXPECT_EQ(walk_count(b, fd), expected);
  b.close(fd);
}

// A program's value pointer stays on its key while other keys come and go.
TEST(FlatHash, ValuePointersStayPut) {
  bpfemu::EmuBackend b;
  int fd = b.map_create(BPF_MAP_TYPE_HASH, "ptr", 4, 8, 32, nullptr);
  ASSERT_GE(fd, 0);
  bpfemu::prog::MapRef map(fd);
  const uint32_t key = 5;
  const uint64_t five = 5;
  ASSERT_EQ(map.update(&key, &five, BPF_ANY), 0);
  auto* p = static_cast<uint64_t*>(map.lookup(&key));
  ASSERT_NE(p, nullptr);
  for (uint32_t round = 0; round < 100; ++round)
    for (uint32_t k = 100; k < 131; ++k) {
      uint64_t v = k;
      ASSERT_EQ(map.update(&k, &v, BPF_ANY), 0);
      ASSERT_EQ(map.remove(&k), 0);
    }
  EXPECT_EQ(map.lookup(&key), p);
  *p = 55;  // a program writing through the pointer
  uint64_t out = 0;
  ASSERT_EQ(b.map_lookup_elem(fd, &key, &out), 0);
  EXPECT_EQ(out, 55u);
  b.close(fd);
}

// Lookups through both APIs, for key sizes with a fast path (4, 8) and without
// (12), in maps small enough that many homes sit near the end of the table
// (the fast path leaves those to the full probe) and big enough to have long
// probe runs, the biggest with the denser slot count of tables past
// kCacheResidentBytes. 8- and 12-byte keys share their first four bytes in groups, so a
// near match on those alone must not be taken for the key.
TEST(FlatHash, EveryKeyIsFoundInItsOwnSlot) {
  for (uint32_t key_size : {4u, 8u, 12u}) {
    for (uint32_t max : {1u, 2u, 3u, 5u, 64u, 5000u, 100000u}) {
      SCOPED_TRACE(testing::Message() << "key_size " << key_size << ", max_entries " << max);
      bpfemu::EmuBackend b;
      int fd = b.map_create(BPF_MAP_TYPE_HASH, "keys", key_size, 8, max, nullptr);
      ASSERT_GE(fd, 0);
      bpfemu::prog::MapRef ref(fd);
      const auto key_of = [&](uint32_t i) {
        std::vector<uint8_t> k(key_size, 0);
        const uint32_t first = key_size == 4 ? i : i / 4;  // groups of four share it
        memcpy(k.data(), &first, 4);
        if (key_size > 4) memcpy(k.data() + 4, &i, 4);
        return k;
      };
      for (uint32_t i = 0; i < max; ++i) {
        const uint64_t v = 1000 + i;
        ASSERT_EQ(b.map_update_elem(fd, key_of(i).data(), &v, BPF_NOEXIST), 0) << i;
      }
      const auto check = [&](uint32_t i, bool present) {
        const auto k = key_of(i);
        uint64_t out = 0;
        ASSERT_EQ(b.map_lookup_elem(fd, k.data(), &out), present ? 0 : -ENOENT) << i;
        auto* p = static_cast<const uint64_t*>(ref.lookup(k.data()));
        ASSERT_EQ(p != nullptr, present) << i;
        if (present) {
          EXPECT_EQ(out, 1000 + i);
          EXPECT_EQ(*p, 1000 + i);
        }
      };
      for (uint32_t i = 0; i < max + 8; ++i) check(i, i < max);
      for (uint32_t i = 0; i < max; i += 2) ASSERT_EQ(b.map_delete_elem(fd, key_of(i).data()), 0) << i;
      for (uint32_t i = 0; i < max; ++i) check(i, i % 2 == 1);
      b.close(fd);
    }
  }
}

// Readers never see a value half written, a key that is present go missing,
// or a deleted key's value under another key; with 4-byte keys (meta and key
// read in one load) and 8-byte keys (the rest of the key checked by seqlock).
template <class Key>
void readers_see_whole_values_under_writers() {
  struct Value {
    uint64_t w[4];
  };
  constexpr uint32_t kKeys = 16;
  const auto key_of = [](uint32_t k) { return static_cast<Key>(k) * static_cast<Key>(0x100000001ULL); };
  bpfemu::EmuBackend b;
  int fd = b.map_create(BPF_MAP_TYPE_HASH, "torn", sizeof(Key), sizeof(Value), 2 * kKeys, nullptr);
  ASSERT_GE(fd, 0);
  // Keys below kKeys stay present (only rewritten); the others come and go.
  for (uint32_t k = 0; k < kKeys; ++k) {
    Value v{{k, k, k, k}};
    const Key key = key_of(k);
    ASSERT_EQ(b.map_update_elem(fd, &key, &v, BPF_ANY), 0);
  }
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> bad{0};
  std::vector<std::thread> ts;
  for (int w = 0; w < 2; ++w)
    ts.emplace_back([&, w] {
      for (uint64_t i = 1; !stop.load(std::memory_order_relaxed); ++i) {
        uint32_t k = static_cast<uint32_t>((i * 7 + w) % (2 * kKeys));
        const Key key = key_of(k);
        uint64_t tag = (i << 8) | k;
        Value v{{tag, tag, tag, tag}};
        b.map_update_elem(fd, &key, &v, BPF_ANY);
        if (k >= kKeys) b.map_delete_elem(fd, &key);
      }
    });
  ts.emplace_back([&] {
    for (int i = 0; i < 200000; ++i) {
      uint32_t k = static_cast<uint32_t>(i % (2 * kKeys));
      const Key key = key_of(k);
      Value v{};
      int r = b.map_lookup_elem(fd, &key, &v);
      if (k < kKeys && r != 0) ++bad;
      if (r == 0 && (v.w[0] != v.w[1] || v.w[1] != v.w[2] || v.w[2] != v.w[3] || (v.w[0] & 0xff) != k)) ++bad;
    }
    stop = true;
  });
  for (auto& t : ts) t.join();
  EXPECT_EQ(bad.load(), 0u);
  b.close(fd);
}

TEST(FlatHash, ReadersSeeWholeValuesUnderWriters) {
  readers_see_whole_values_under_writers<uint32_t>();
  readers_see_whole_values_under_writers<uint64_t>();
}

// 16-byte slots (4-byte key, value of at most 8 bytes): a rewrite of a present
// key swaps the value in without a lock and a lookup reads the slot in one
// load. In a small full table where keys come and go (and reuse each other's
// slots) while they are rewritten, a value must never land under another key
// (the low half of every value is its key), and keys that stay must never go
// missing.
void rewrites_in_place_stay_on_their_key(uint32_t value_size) {
  constexpr uint32_t kStable = 24, kChurn = 24;
  bpfemu::EmuBackend b;
  int fd = b.map_create(BPF_MAP_TYPE_HASH, "inplace", 4, value_size, kStable + kChurn / 2 + 1, nullptr);
  ASSERT_GE(fd, 0);
  const auto value_of = [&](uint32_t key, uint64_t tag) { return value_size == 8 ? key | tag << 32 : key; };
  const auto key_in = [&](uint64_t v) { return static_cast<uint32_t>(v); };
  for (uint32_t k = 0; k < kStable; ++k) {
    const uint64_t v = value_of(k, 0);
    ASSERT_EQ(b.map_update_elem(fd, &k, &v, BPF_NOEXIST), 0);
  }
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> bad{0}, rewrites{0};
  std::vector<std::thread> ts;
  ts.emplace_back([&] {  // rewrites of every key, syscall side and program side
    bpfemu::prog::MapRef ref(fd);
    for (uint64_t i = 1; !stop.load(std::memory_order_relaxed); ++i) {
      const uint32_t k = static_cast<uint32_t>(i % (kStable + kChurn));
      const uint64_t v = value_of(k, i);
      const long r = i % 2 ? b.map_update_elem(fd, &k, &v, BPF_EXIST) : ref.update(&k, &v, BPF_EXIST);
      if (r != 0 && (k < kStable || r != -ENOENT)) ++bad;
      rewrites += r == 0;
    }
  });
  ts.emplace_back([&] {  // keys that come and go, each present for a while
    for (uint64_t i = 1; !stop.load(std::memory_order_relaxed); ++i) {
      const uint32_t k = kStable + static_cast<uint32_t>(i % kChurn);
      const uint32_t gone = kStable + static_cast<uint32_t>((i + kChurn / 2) % kChurn);
      const uint64_t v = value_of(k, i);
      b.map_delete_elem(fd, &gone);  // then its slot is free for the insert
      b.map_update_elem(fd, &k, &v, BPF_NOEXIST);
    }
  });
  ts.emplace_back([&] {
    bpfemu::prog::MapRef ref(fd);
    for (int i = 0; i < 1000000; ++i) {
      const uint32_t k = static_cast<uint32_t>(i % (kStable + kChurn));
      uint64_t v = 0;
      const int r = b.map_lookup_elem(fd, &k, &v);
      if (k < kStable && r != 0) ++bad;
      if (r == 0 && key_in(v) != k) ++bad;
      if (const auto* p = static_cast<const uint32_t*>(ref.lookup(&k)); k < kStable && p == nullptr) ++bad;
    }
    stop = true;
  });
  for (auto& t : ts) t.join();
  EXPECT_EQ(bad.load(), 0u);
  EXPECT_GT(rewrites.load(), 0u);
  for (uint32_t k = 0; k < kStable + kChurn; ++k) {
    uint64_t v = 0;
    const int r = b.map_lookup_elem(fd, &k, &v);
    if (k < kStable) {
      ASSERT_EQ(r, 0) << k;
    }
    if (r == 0) {
      EXPECT_EQ(key_in(v), k);
    }
  }
  b.close(fd);
}

TEST(FlatHash, RewritesInPlaceStayOnTheirKey) {
  rewrites_in_place_stay_on_their_key(8);
  rewrites_in_place_stay_on_their_key(4);
}

// A lookup_and_delete racing lock-free rewrites of its key returns the last
// rewrite that succeeded: a rewrite that reported success is never lost. One
// key goes through many generations (insert, rewrites, lookup_and_delete);
// the rewriter pauses between them, so that the last value it wrote in a
// generation is known when the generation's lookup_and_delete is checked.
// Also through the batch form, which takes the same path per element.
void lookup_and_delete_returns_last_rewrite(bool batch) {
  bpfemu::EmuBackend b;
  int fd = b.map_create(BPF_MAP_TYPE_HASH, "lad", 4, 8, 4, nullptr);
  ASSERT_GE(fd, 0);
  const uint32_t key = 7;
  std::atomic<int> phase{0};       // odd: the rewriter may write; even: it must stop
  std::atomic<int> stopped_at{0};  // the even phase the rewriter has seen
  std::atomic<uint64_t> last_ok{0};
  std::thread rewriter([&] {
    uint64_t v = 0;
    for (;;) {
      const int p = phase.load(std::memory_order_acquire);
      if (p < 0) return;
      if (p % 2 == 0) {
        stopped_at.store(p, std::memory_order_release);
        continue;
      }
      ++v;
      if (b.map_update_elem(fd, &key, &v, BPF_EXIST) == 0) last_ok.store(v, std::memory_order_relaxed);
    }
  });
  int lost = 0;
  for (int gen = 0; gen < 5000; ++gen) {
    const uint64_t zero = 0;
    ASSERT_EQ(b.map_update_elem(fd, &key, &zero, BPF_NOEXIST), 0);
    last_ok.store(0, std::memory_order_relaxed);
    phase.store(2 * gen + 1, std::memory_order_release);
    for (int spin = 0; spin < 200 && last_ok.load(std::memory_order_relaxed) == 0; ++spin) {
    }
    uint64_t got = ~0ULL;
    if (batch) {
      uint32_t k = 0, count = 1, out = 0;
      bpfemu::BatchOpts opts;
      const int r = b.map_lookup_and_delete_batch(fd, nullptr, &out, &k, &got, &count, &opts);
      ASSERT_TRUE(r == 0 || r == -ENOENT) << r;
      ASSERT_EQ(count, 1u);
    } else {
      ASSERT_EQ(b.map_lookup_and_delete_elem(fd, &key, &got), 0);
    }
    phase.store(2 * gen + 2, std::memory_order_release);
    while (stopped_at.load(std::memory_order_acquire) != 2 * gen + 2) {
    }
    lost += got != last_ok.load(std::memory_order_relaxed);
  }
  phase.store(-1);
  rewriter.join();
  EXPECT_EQ(lost, 0);
  b.close(fd);
}

TEST(FlatHash, LookupAndDeleteReturnsTheLastRewrite) {
  lookup_and_delete_returns_last_rewrite(false);
  lookup_and_delete_returns_last_rewrite(true);
}

// lookup_and_delete in batches of one drains the map, each key exactly once.
TEST(FlatHash, BatchesOfOneDrainEveryKey) {
  bpfemu::EmuBackend b;
  int fd = b.map_create(BPF_MAP_TYPE_HASH, "drain", 4, 8, 100, nullptr);
  ASSERT_GE(fd, 0);
  for (uint32_t k = 0; k < 100; ++k) {
    uint64_t v = k * 3;
    ASSERT_EQ(b.map_update_elem(fd, &k, &v, BPF_ANY), 0);
  }
  std::vector<bool> seen(100);
  uint32_t token = 0;
  bool first = true;
  for (int calls = 0; calls < 1000; ++calls) {
    uint32_t key = 0, count = 1, out = 0;
    uint64_t value = 0;
    bpfemu::BatchOpts opts;
    int r = b.map_lookup_and_delete_batch(fd, first ? nullptr : &token, &out, &key, &value, &count, &opts);
    ASSERT_TRUE(r == 0 || r == -ENOENT) << r;
    if (count == 1) {
      ASSERT_LT(key, 100u);
      EXPECT_FALSE(seen[key]);
      EXPECT_EQ(value, key * 3ull);
      seen[key] = true;
    }
    if (r == -ENOENT) break;
    token = out;
    first = false;
  }
  for (uint32_t k = 0; k < 100; ++k) EXPECT_TRUE(seen[k]) << k;
  EXPECT_EQ(walk_count(b, fd), 0u);
  b.close(fd);
}

// Random-looking u32 keys (murmur3's finaliser, a bijection), which the
// table's multiplicative hash does not spread evenly the way it spreads runs
// of consecutive keys: long runs of slots, so lookups, rewrites and misses
// reach the windowed scan past the eight slots from home and the full probe.
uint32_t scattered(uint32_t i) {
  i ^= i >> 16;
  i *= 0x85ebca6bu;
  i ^= i >> 13;
  i *= 0xc2b2ae35u;
  return i ^ (i >> 16);
}

TEST(FlatHash, RandomKeysInAFullMapAreFoundAndMissesAreNot) {
  for (uint32_t max : {64u, 5000u, 100000u}) {
    SCOPED_TRACE(testing::Message() << "max_entries " << max);
    bpfemu::EmuBackend b;
    int fd = b.map_create(BPF_MAP_TYPE_HASH, "scattered", 4, 8, max, nullptr);
    ASSERT_GE(fd, 0);
    bpfemu::prog::MapRef ref(fd);
    for (uint32_t i = 0; i < max; ++i) {
      const uint32_t k = scattered(i);
      const uint64_t v = i;
      ASSERT_EQ(b.map_update_elem(fd, &k, &v, BPF_NOEXIST), 0) << i;
    }
    const uint32_t extra = scattered(max);
    const uint64_t one = 1;
    EXPECT_EQ(b.map_update_elem(fd, &extra, &one, BPF_ANY), -E2BIG);
    // Present keys found (both APIs), rewritten with BPF_EXIST; indices past
    // max are keys that were never inserted.
    const auto check = [&](uint64_t add, auto present) {
      for (uint32_t i = 0; i < max + max / 2; ++i) {
        const uint32_t k = scattered(i);
        uint64_t out = 0;
        const bool in = present(i);
        ASSERT_EQ(b.map_lookup_elem(fd, &k, &out), in ? 0 : -ENOENT) << i;
        auto* p = static_cast<const uint64_t*>(ref.lookup(&k));
        ASSERT_EQ(p != nullptr, in) << i;
        if (!in) {
          const uint64_t v = 7;
          ASSERT_EQ(b.map_update_elem(fd, &k, &v, BPF_EXIST), -ENOENT) << i;
          continue;
        }
        ASSERT_EQ(out, i + add) << i;
        ASSERT_EQ(*p, i + add) << i;
        const uint64_t v = i + add + 1;
        ASSERT_EQ(b.map_update_elem(fd, &k, &v, BPF_EXIST), 0) << i;
        ASSERT_EQ(b.map_update_elem(fd, &k, &v, BPF_NOEXIST), -EEXIST) << i;
      }
    };
    check(0, [&](uint32_t i) { return i < max; });
    // Every third key deleted: tombstones inside the runs.
    for (uint32_t i = 0; i < max; i += 3) {
      const uint32_t k = scattered(i);
      ASSERT_EQ(b.map_delete_elem(fd, &k), 0) << i;
    }
    check(1, [&](uint32_t i) { return i < max && i % 3 != 0; });
    b.close(fd);
  }
}

// Lookups of keys that stay present never miss while other keys sharing their
// runs are inserted and deleted (slots turning BUSY, TOMB and EMPTY under the
// readers' scans), in a table of random-looking keys big enough for the
// sparser slot count (long runs). Both writers also rewrite the same few
// present keys, so that some rewrites lose their compare-and-swap races and
// take the locked path, which marks the key's own slot BUSY meanwhile.
TEST(FlatHash, PresentKeysNeverMissUnderChurnInTheirRuns) {
  constexpr uint32_t kMax = 60000, kStay = 52000, kChurn = 8000, kHot = 64;
  bpfemu::EmuBackend b;
  int fd = b.map_create(BPF_MAP_TYPE_HASH, "churn", 4, 8, kMax, nullptr);
  ASSERT_GE(fd, 0);
  for (uint32_t i = 0; i < kStay; ++i) {
    const uint32_t k = scattered(i);
    const uint64_t v = k;
    ASSERT_EQ(b.map_update_elem(fd, &k, &v, BPF_ANY), 0);
  }
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> bad{0};
  std::vector<std::thread> ts;
  for (uint32_t w = 0; w < 2; ++w)
    ts.emplace_back([&, w] {
      for (uint32_t i = 0; !stop.load(std::memory_order_relaxed); ++i) {
        const uint32_t k = scattered(kStay + (i * 2 + w) % kChurn);
        const uint64_t v = k;
        b.map_update_elem(fd, &k, &v, BPF_ANY);
        if (i % 3 != 0) b.map_delete_elem(fd, &k);
        const uint32_t hot = scattered(i % kHot);
        const uint64_t same = hot;
        if (b.map_update_elem(fd, &hot, &same, BPF_ANY) != 0) ++bad;
      }
    });
  ts.emplace_back([&] {
    bpfemu::prog::MapRef ref(fd);
    for (int round = 0; round < 8; ++round) {
      for (uint32_t i = 0; i < kStay; ++i) {
        const uint32_t k = scattered(i);
        uint64_t out = 0;
        if (b.map_lookup_elem(fd, &k, &out) != 0 || out != k) ++bad;
        // Program-side: only that the key is there. Reading through the
        // pointer would race the writers' rewrites of hot keys, as a BPF
        // program's read does (the value itself is checked above).
        if (ref.lookup(&k) == nullptr) ++bad;
        const uint64_t v = k;
        if (b.map_update_elem(fd, &k, &v, BPF_EXIST) != 0) ++bad;
      }
    }
    stop = true;
  });
  for (auto& t : ts) t.join();
  EXPECT_EQ(bad.load(), 0u);
  b.close(fd);
}

}  // namespace
