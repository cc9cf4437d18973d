// A process killed while it holds the LRU's list locks (maptypes/bpf_lru_repair.cc):
// the next taker of each lock rebuilds that lock's lists, so every node is on
// exactly one list again (a node a dead thief was carrying between CPUs is lost,
// never linked twice), counts and types agree, and the LRU keeps working for every
// CPU. The crash points make "killed here" reproducible: a forked child dies at the
// chosen point, as if SIGKILLed, with its locks held.
#include "tests/lru_fake_htab.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ostream>
#include <string>

#include "bpfemu/faults.h"

namespace bpfemu::maptypes {
namespace {

using namespace lru_test;

// Runs op in a child that dies (status 137) the nth time it passes crash point `site`.
void die_at(const std::string& site, uint64_t nth, const std::function<void()>& op) {
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    arm_crash_point(site.c_str(), nth);
    op();
    _exit(0);  // the site was not reached
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 137) << site << " #" << nth << " was not reached";
}

uint32_t nodes_in_transit(FakeHtab& h, uint32_t n) {
  uint32_t k = 0;
  for (uint32_t i = 0; i < n; ++i) k += h.at(i)->node.list_type() == LruListType::kInTransit;
  return k;
}

struct Crash {
  const char* site;
  uint64_t nth;
  bool percpu;
  bool steal;  // make the child steal from another CPU (everything in the table refuses eviction)
};

void PrintTo(const Crash& c, std::ostream* os) {
  *os << (c.percpu ? "percpu " : "common ") << c.site << " #" << c.nth;
}

class LruKilledHolder : public ::testing::TestWithParam<Crash> {};

constexpr uint32_t kN = 32, kCpus = 2;

// Updates keys from..from+count, alternating CPUs.
void churn(FakeHtab& h, uint32_t from, uint32_t count) {
  for (uint32_t k = from; k < from + count; ++k) {
    if (h.update(k, static_cast<int>(k % kCpus)) != 0) return;
    if (k % 5 == 0) h.lookup(k - 3);
    if (k % 7 == 0) (void)h.erase(k - 1);
  }
}

TEST_P(LruKilledHolder, NextTakerRepairsTheLists) {
  const Crash c = GetParam();
  Fixture h(kN, kCpus, c.percpu);
  churn(*h, 1, 24);
  for (int round = 0; round < 2; ++round) {
    die_at(c.site, c.nth, [&] {
      if (c.steal) {
        h->refuse = [](uint32_t) { return true; };
        (void)h->update(1000, 1);  // cpu1 takes a batch into its local free list
        for (uint32_t k = 2000; k < 2000 + 3 * kN; ++k) (void)h->update(k, 0);  // cpu0 runs dry, steals
      } else {
        churn(*h, 100 + 500 * round, 5 * kN);
      }
    });
    // Whatever the dead child left: every node but those in transit is on exactly
    // one list of the right type, with the right counts.
    const uint32_t lost = nodes_in_transit(*h, kN);
    EXPECT_LE(lost, c.steal ? round + 1u : 0u);  // one per interrupted steal
    check_invariants(*h->lru, kN - lost, c.percpu);
  }
  // The LRU still works on every CPU, and still holds together afterwards.
  churn(*h, 10000, 8 * kN);
  const uint32_t lost = nodes_in_transit(*h, kN);
  check_invariants(*h->lru, kN - lost, c.percpu);
  EXPECT_LE(h->keys().size(), kN);
  EXPECT_EQ(h->update(99999, 0), 0);
}

INSTANTIATE_TEST_SUITE_P(
    CrashPoints, LruKilledHolder,
    ::testing::Values(Crash{"lru.list.moving", 1, false, false}, Crash{"lru.list.moving", 9, false, false},
                      Crash{"lru.list.moving", 40, false, false}, Crash{"lru.free.typed", 1, false, false},
                      Crash{"lru.free.typed", 6, false, false}, Crash{"lru.flush.moving", 2, false, false},
                      Crash{"lru.steal.taken", 1, false, true}, Crash{"lru.list.moving", 1, true, false},
                      Crash{"lru.list.moving", 11, true, false}, Crash{"lru.free.typed", 2, true, false}),
    [](const auto& info) {
      std::string name = std::string(info.param.percpu ? "percpu_" : "common_") + info.param.site + "_" +
                         std::to_string(info.param.nth);
      for (char& ch : name)
        if (ch == '.') ch = '_';
      return name;
    });

}  // namespace
}  // namespace bpfemu::maptypes
