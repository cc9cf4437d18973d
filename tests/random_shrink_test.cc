// The randomized differential runner's shrinker and replay, without a kernel:
// a predicate that "differs" when a particular op pair is present, and two
// emulator backends, one of them with a planted bug.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <set>

#include "bpfemu/emu_backend.h"
#include "conformance/random.h"

namespace bpfemu::conformance::randomized {
namespace {

MapConfig small_hash_config(int ncpus) {
  MapConfig c;
  c.type = BPF_MAP_TYPE_HASH;
  c.type_name = "HASH";
  c.key_size = 4;
  c.value_size = 8;
  c.max_entries = 4;
  c.flags = BPF_F_ZERO_SEED;
  c.ncpus = ncpus;
  c.ordered = true;
  for (uint32_t k = 0; k < 12; ++k) c.keys.push_back(u32(k));
  return c;
}

size_t index_of_id(const std::vector<Op>& ops, uint32_t id) {
  for (size_t i = 0; i < ops.size(); ++i)
    if (ops[i].id == id) return i;
  return ops.size();
}

TEST(RandomShrink, ReducesToTheOpPairThatDiffers) {
  EmuBackend emu;
  const MapConfig cfg = small_hash_config(emu.num_possible_cpus());
  const std::vector<Op> ops = generate_ops(cfg, 42, 2000);
  constexpr uint32_t kA = 300, kB = 1700;
  // "Differs" exactly when op kA is present and op kB comes after it; the
  // difference shows at kB, so the failing prefix ends there.
  FailsFn fails = [&](const std::vector<Op>& cand) -> std::optional<size_t> {
    size_t a = index_of_id(cand, kA), b = index_of_id(cand, kB);
    if (a < b && b < cand.size()) return b + 1;
    return std::nullopt;
  };
  ShrinkStats st;
  std::vector<Op> min = shrink(ops, fails, default_variants, {}, &st);
  ASSERT_EQ(min.size(), 2u);
  EXPECT_EQ(min[0].id, kA);
  EXPECT_EQ(min[1].id, kB);
  EXPECT_TRUE(st.reproduced);
  EXPECT_FALSE(st.budget_exhausted);
  EXPECT_LT(st.runs, 400u);
  // Nothing in the predicate depends on flags or values: they end up simplest.
  for (const Op& op : min) {
    if (op.kind == OpKind::Update) {
      EXPECT_EQ(op.flags, uint64_t{BPF_ANY});
      if (op.value) {
        EXPECT_EQ(*op.value, Bytes(op.value->size(), 0));
      }
    }
    if (op.kind == OpKind::Lookup || op.kind == OpKind::Delete || op.kind == OpKind::LookupAndDelete) {
      EXPECT_EQ(op.flags, 0u);
    }
    if (op.kind == OpKind::UpdateBatch || op.kind == OpKind::DeleteBatch) {
      EXPECT_TRUE(op.keys.empty());
    }
  }
}

TEST(RandomShrink, BudgetAndNonReproducingInput) {
  EmuBackend emu;
  const MapConfig cfg = small_hash_config(emu.num_possible_cpus());
  const std::vector<Op> ops = generate_ops(cfg, 7, 100);
  ShrinkStats st;
  std::vector<Op> same = shrink(ops, [](const std::vector<Op>&) { return std::nullopt; }, default_variants, {}, &st);
  EXPECT_EQ(same.size(), ops.size());
  EXPECT_FALSE(st.reproduced);

  ShrinkOptions tiny;
  tiny.max_runs = 3;
  std::vector<Op> partly = shrink(
      ops, [](const std::vector<Op>& c) -> std::optional<size_t> { return c.size(); }, default_variants, tiny, &st);
  EXPECT_TRUE(st.budget_exhausted);
  EXPECT_LE(st.runs, 3u);
  EXPECT_LT(partly.size(), ops.size());
}

// An EmuBackend with a planted bug: once a map saw update(key, BPF_NOEXIST), a
// lookup of that key fails with E2BIG.
class BuggyBackend final : public Backend {
 public:
  std::string_view name() const override { return "buggy"; }
  std::string describe() const override { return "buggy emu"; }
  bool emulated() const override { return true; }
  int map_create(uint32_t t, const char* n, uint32_t ks, uint32_t vs, uint32_t max, const MapCreateOpts* o) override {
    int fd = e_.map_create(t, n, ks, vs, max, o);
    if (fd >= 0) poisoned_[fd].clear();
    return fd;
  }
  int map_update_elem(int fd, const void* key, const void* value, uint64_t flags) override {
    if (key && flags == BPF_NOEXIST) poisoned_[fd].insert(key_of(key));
    return e_.map_update_elem(fd, key, value, flags);
  }
  int map_lookup_elem(int fd, const void* key, void* value) override { return map_lookup_elem_flags(fd, key, value, 0); }
  int map_lookup_elem_flags(int fd, const void* key, void* value, uint64_t flags) override {
    if (key && poisoned_[fd].count(key_of(key))) {
      errno = E2BIG;
      return -E2BIG;
    }
    return e_.map_lookup_elem_flags(fd, key, value, flags);
  }
  int map_lookup_and_delete_elem(int fd, const void* k, void* v) override { return e_.map_lookup_and_delete_elem(fd, k, v); }
  int map_lookup_and_delete_elem_flags(int fd, const void* k, void* v, uint64_t f) override {
    return e_.map_lookup_and_delete_elem_flags(fd, k, v, f);
  }
  int map_delete_elem(int fd, const void* k) override { return e_.map_delete_elem(fd, k); }
  int map_delete_elem_flags(int fd, const void* k, uint64_t f) override { return e_.map_delete_elem_flags(fd, k, f); }
  int map_get_next_key(int fd, const void* k, void* n) override { return e_.map_get_next_key(fd, k, n); }
  int map_freeze(int fd) override { return e_.map_freeze(fd); }
  int map_lookup_batch(int fd, void* in, void* out, void* k, void* v, uint32_t* c, const BatchOpts* o) override {
    return e_.map_lookup_batch(fd, in, out, k, v, c, o);
  }
  int map_lookup_and_delete_batch(int fd, void* in, void* out, void* k, void* v, uint32_t* c,
                                  const BatchOpts* o) override {
    return e_.map_lookup_and_delete_batch(fd, in, out, k, v, c, o);
  }
  int map_update_batch(int fd, const void* k, const void* v, uint32_t* c, const BatchOpts* o) override {
    return e_.map_update_batch(fd, k, v, c, o);
  }
  int map_delete_batch(int fd, const void* k, uint32_t* c, const BatchOpts* o) override {
    return e_.map_delete_batch(fd, k, c, o);
  }
  int obj_pin(int fd, const char* p) override { return e_.obj_pin(fd, p); }
  int obj_get(const char* p) override { return e_.obj_get(p); }
  int obj_get_opts(const char* p, const ObjOpts* o) override { return e_.obj_get_opts(p, o); }
  int map_get_fd_by_id(uint32_t id) override { return e_.map_get_fd_by_id(id); }
  int map_get_next_id(uint32_t s, uint32_t* n) override { return e_.map_get_next_id(s, n); }
  int obj_get_info_by_fd(int fd, void* i, uint32_t* l) override { return e_.obj_get_info_by_fd(fd, i, l); }
  int obj_unpin(const char* p) override { return e_.obj_unpin(p); }
  void* map_mmap(int fd, size_t n, int prot, int flags, off_t off) override {
    return e_.map_mmap(fd, n, prot, flags, off);
  }
  int map_munmap(void* a, size_t n) override { return e_.map_munmap(a, n); }
  long bpf(int cmd, void* attr, unsigned size) override { return e_.bpf(cmd, attr, size); }
  int close(int fd) override { return e_.close(fd); }
  int num_possible_cpus() override { return e_.num_possible_cpus(); }

 private:
  static uint32_t key_of(const void* k) {
    uint32_t v;
    memcpy(&v, k, 4);
    return v;
  }
  EmuBackend e_;
  std::map<int, std::set<uint32_t>> poisoned_;
};

TEST(RandomShrink, FindsAndShrinksAPlantedBug) {
  EmuBackend emu;
  BuggyBackend buggy;
  const MapConfig cfg = small_hash_config(emu.num_possible_cpus());
  const std::vector<Op> ops = generate_ops(cfg, 3, 3000);

  // The same backend twice agrees with itself.
  EXPECT_FALSE(run_lockstep(emu, emu, cfg, ops).differs);

  LockstepResult res = run_lockstep(emu, buggy, cfg, ops);
  ASSERT_TRUE(res.differs);
  ASSERT_GT(res.ops_run, 0u);
  EXPECT_NE(res.detail.find("E2BIG"), std::string::npos) << res.detail;

  std::vector<Op> prefix(ops.begin(), ops.begin() + static_cast<long>(res.ops_run));
  FailsFn fails = [&](const std::vector<Op>& cand) -> std::optional<size_t> {
    LockstepResult r = run_lockstep(emu, buggy, cfg, cand);
    if (!r.differs) return std::nullopt;
    return r.ops_run;
  };
  ShrinkStats st;
  std::vector<Op> min = shrink(prefix, fails, default_variants, {}, &st);
  ASSERT_EQ(min.size(), 2u) << emit_scenario(cfg, min, "x", {});
  EXPECT_EQ(min[0].kind, OpKind::Update);
  EXPECT_EQ(min[0].flags, uint64_t{BPF_NOEXIST});
  ASSERT_TRUE(min[0].key.has_value());
  if (min[0].value) {
    EXPECT_EQ(*min[0].value, Bytes(8, 0));
  }
  EXPECT_EQ(min[1].kind, OpKind::Lookup);
  EXPECT_EQ(min[1].key, min[0].key);
  EXPECT_EQ(min[1].flags, 0u);
  EXPECT_TRUE(run_lockstep(emu, buggy, cfg, min).differs);

  uint32_t k;
  memcpy(&k, min[0].key->data(), 4);
  const std::string code = emit_scenario(cfg, min, "planted", {"a comment"});
  EXPECT_NE(code.find("// a comment\nSCENARIO(\"HASH\", \"random_repro\", \"planted\") {\n"), std::string::npos) << code;
  EXPECT_NE(code.find("  int fd = r.create(BPF_MAP_TYPE_HASH, 4, 8, 4, BPF_F_ZERO_SEED);\n"), std::string::npos)
      << code;
  const std::string value = min[0].value ? "u64(0)" : "std::nullopt";
  EXPECT_NE(code.find("  r.update(fd, u32(" + std::to_string(k) + "), " + value + ", BPF_NOEXIST);\n"), std::string::npos)
      << code;
  EXPECT_NE(code.find("  r.lookup(fd, u32(" + std::to_string(k) + "), 0, 8);\n}\n"), std::string::npos) << code;
}

TEST(RandomShrink, GeneratorIsDeterministic) {
  EmuBackend emu;
  const int ncpus = emu.num_possible_cpus();
  for (const std::string& t : supported_types()) {
    const uint32_t type = map_type_from_name(t.c_str());
    MapConfig a = random_config(type, 11, ncpus), b = random_config(type, 11, ncpus);
    EXPECT_EQ(a.describe(), b.describe()) << t;
    std::string ea, eb;
    for (const Op& op : generate_ops(a, 11, 300)) ea += emit_op(a, op) + "\n";
    for (const Op& op : generate_ops(b, 11, 300)) eb += emit_op(b, op) + "\n";
    EXPECT_EQ(ea, eb) << t;
    std::string ec;
    for (const Op& op : generate_ops(a, 12, 300)) ec += emit_op(a, op) + "\n";
    EXPECT_NE(ea, ec) << t;
    // Every generated configuration is valid: the map can be created.
    EXPECT_EQ(run_single(emu, a, {}), 1u);
    Recorder r(emu);
    EXPECT_GE(r.create(a.type, a.key_size, a.value_size, a.max_entries, a.flags), 0) << t << " " << a.describe();
  }
}

TEST(RandomShrink, ParseSeeds) {
  std::vector<uint64_t> s;
  ASSERT_TRUE(parse_seeds("1..3", &s));
  EXPECT_EQ(s, (std::vector<uint64_t>{1, 2, 3}));
  ASSERT_TRUE(parse_seeds("7,2..3,9", &s));
  EXPECT_EQ(s, (std::vector<uint64_t>{7, 2, 3, 9}));
  EXPECT_FALSE(parse_seeds("", &s));
  EXPECT_FALSE(parse_seeds("3..1", &s));
  EXPECT_FALSE(parse_seeds("x", &s));
}

}  // namespace
}  // namespace bpfemu::conformance::randomized
