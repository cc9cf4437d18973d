// Delta debugging for randomized differential runs (see random.h).
#include <algorithm>
#include <chrono>
#include <cstring>

#include "conformance/random.h"

namespace bpfemu::conformance::randomized {

namespace {

bool all_zero(const Bytes& b) {
  return std::all_of(b.begin(), b.end(), [](uint8_t x) { return x == 0; });
}

}  // namespace

std::vector<Op> default_variants(const Op& op) {
  std::vector<Op> out;
  auto with = [&](auto&& change) {
    Op v = op;
    change(v);
    out.push_back(std::move(v));
  };
  switch (op.kind) {
    case OpKind::Update:
      if (op.flags != BPF_ANY) with([](Op& v) { v.flags = BPF_ANY; });
      if (op.value && !all_zero(*op.value)) with([](Op& v) { v.value = Bytes(v.value->size(), 0); });
      break;
    case OpKind::ProgUpdate:
      if (op.flags != BPF_ANY) with([](Op& v) { v.flags = BPF_ANY; });
      if (op.value && !all_zero(*op.value)) with([](Op& v) { v.value = Bytes(v.value->size(), 0); });
      break;
    case OpKind::ProgForEach:
    case OpKind::ProgForEachDelete:
      if (op.flags != 0) with([](Op& v) { v.flags = 0; });
      if (op.stop_at != 0) with([](Op& v) { v.stop_at = 0; });
      break;
    case OpKind::ProgPush:
      if (op.flags != BPF_ANY) with([](Op& v) { v.flags = BPF_ANY; });
      break;
    case OpKind::ProgLookup:
    case OpKind::ProgDelete:
    case OpKind::SetCpu:
    case OpKind::ProgPop:
    case OpKind::ProgPeek:
      break;
    case OpKind::Lookup:
    case OpKind::Delete:
    case OpKind::LookupAndDelete:
      if (op.flags != 0) with([](Op& v) { v.flags = 0; });
      break;
    case OpKind::NextKey:
      if (op.key) with([](Op& v) { v.key.reset(); });
      break;
    case OpKind::Walk:
      break;
    case OpKind::LookupBatch:
    case OpKind::BatchWalk:
      if (op.flags != 0) with([](Op& v) { v.flags = 0; });
      if (op.elem_flags != 0) with([](Op& v) { v.elem_flags = 0; });
      if (op.in_batch) with([](Op& v) { v.in_batch.reset(); });
      if (op.do_delete) with([](Op& v) { v.do_delete = false; });
      break;
    case OpKind::UpdateBatch:
    case OpKind::DeleteBatch:
      // Drop one element at a time (the count shrinks with the list).
      for (size_t i = 0; i < op.keys.size(); ++i) {
        with([&](Op& v) {
          v.keys.erase(v.keys.begin() + static_cast<long>(i));
          if (i < v.values.size()) v.values.erase(v.values.begin() + static_cast<long>(i));
          if (v.count > i) --v.count;
          v.count = std::min<uint32_t>(v.count, static_cast<uint32_t>(v.keys.size()));
        });
      }
      if (op.flags != 0) with([](Op& v) { v.flags = 0; });
      if (op.elem_flags != 0) with([](Op& v) { v.elem_flags = 0; });
      if (std::any_of(op.values.begin(), op.values.end(), [](const Bytes& b) { return !all_zero(b); }))
        with([](Op& v) {
          for (auto& b : v.values) b.assign(b.size(), 0);
        });
      break;
  }
  return out;
}

VariantsFn variants_for(const MapConfig& cfg) {
  return [cfg](const Op& op) {
    std::vector<Op> out = default_variants(op);
    // A uniform value (0x11 in every byte; per-CPU padding kept zero when the
    // config zeroes it) reads better than random bytes.
    auto uniform_value = [&](const Bytes& v) {
      Bytes u(v.size(), 0x11);
      if (cfg.zero_padding) {
        const size_t stride = (cfg.value_size + 7) & ~size_t{7};
        for (size_t i = 0; i < u.size(); ++i)
          if (i % stride >= cfg.value_size) u[i] = 0;
      }
      return u;
    };
    if ((op.kind == OpKind::Update || op.kind == OpKind::ProgUpdate) && op.value && !all_zero(*op.value) &&
        *op.value != uniform_value(*op.value)) {
      Op v = op;
      v.value = uniform_value(*op.value);
      out.push_back(std::move(v));
    }
    if (op.kind == OpKind::UpdateBatch && op.keys.size() == 1 && op.values.size() == 1 && op.count == 1 && op.flags == 0) {
      Op v = op;
      v.kind = OpKind::Update;
      v.key = op.keys[0];
      v.value = op.values[0];
      v.flags = op.elem_flags;
      v.keys.clear();
      v.values.clear();
      v.count = 0;
      v.elem_flags = 0;
      out.push_back(std::move(v));
    }
    if (op.kind == OpKind::DeleteBatch && op.keys.size() == 1 && op.count == 1 && op.flags == 0 && op.elem_flags == 0) {
      Op v = op;
      v.kind = OpKind::Delete;
      v.key = op.keys[0];
      v.keys.clear();
      v.count = 0;
      out.push_back(std::move(v));
    }
    return out;
  };
}

GlobalVariantsFn global_variants_for(const MapConfig& cfg) {
  return [cfg](const std::vector<Op>& ops) {
    std::vector<std::vector<Op>> out;
    // Rename each 4-byte hash key to the smallest unused u32 (hash/LRU maps only:
    // array indices and LPM keys carry meaning).
    if (!cfg.is_hash() || cfg.key_size != 4) return out;
    std::vector<Bytes> distinct;
    auto note = [&](const Bytes& k) {
      if (k.size() == 4 && std::find(distinct.begin(), distinct.end(), k) == distinct.end()) distinct.push_back(k);
    };
    for (const Op& op : ops) {
      if (op.key) note(*op.key);
      for (const Bytes& k : op.keys) note(k);
    }
    auto small = [](const Bytes& k) {
      uint32_t v;
      memcpy(&v, k.data(), 4);
      return v < 64;
    };
    for (const Bytes& from : distinct) {
      if (small(from)) continue;
      uint32_t to = 1;
      while (std::find(distinct.begin(), distinct.end(), u32(to)) != distinct.end()) ++to;
      const Bytes target = u32(to);
      std::vector<Op> cand = ops;
      for (Op& op : cand) {
        if (op.key && *op.key == from) op.key = target;
        for (Bytes& k : op.keys)
          if (k == from) k = target;
      }
      out.push_back(std::move(cand));
    }
    return out;
  };
}

std::vector<Op> shrink(std::vector<Op> ops, const FailsFn& fails, const VariantsFn& variants,
                       const ShrinkOptions& opts, ShrinkStats* stats, const GlobalVariantsFn& global) {
  ShrinkStats local;
  ShrinkStats& st = stats ? *stats : local;
  st = ShrinkStats{};
  const auto t0 = std::chrono::steady_clock::now();
  auto budget_ok = [&] {
    if (st.runs >= opts.max_runs ||
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() >= opts.max_seconds) {
      st.budget_exhausted = true;
      return false;
    }
    return true;
  };
  // Runs a candidate; on a difference, cuts it to the prefix that shows it.
  auto still_fails = [&](std::vector<Op>& cand) {
    ++st.runs;
    std::optional<size_t> n = fails(cand);
    if (!n) return false;
    if (*n < cand.size()) cand.resize(*n);
    return true;
  };

  {
    std::vector<Op> cand = ops;
    if (!still_fails(cand)) {
      st.reproduced = false;
      return ops;
    }
    ops = std::move(cand);
  }

  bool changed = true;
  while (changed && budget_ok()) {
    changed = false;
    // 1. Remove chunks, from halves down to single ops.
    size_t chunk = std::max<size_t>(ops.size() / 2, 1);
    while (!ops.empty() && budget_ok()) {
      bool removed = false;
      size_t start = 0;
      while (start < ops.size() && budget_ok()) {
        std::vector<Op> cand;
        cand.reserve(ops.size());
        const size_t end = std::min(start + chunk, ops.size());
        cand.insert(cand.end(), ops.begin(), ops.begin() + static_cast<long>(start));
        cand.insert(cand.end(), ops.begin() + static_cast<long>(end), ops.end());
        if (still_fails(cand)) {
          ops = std::move(cand);
          removed = changed = true;  // the same start now names the next chunk
        } else {
          start += chunk;
        }
      }
      if (!removed) {
        if (chunk == 1) break;  // 1-minimal
        chunk = std::max<size_t>(chunk / 2, 1);
      } else {
        chunk = std::min(chunk, std::max<size_t>(ops.size() / 2, 1));
      }
    }
    // 2. Simplify op by op (flags, values, batch elements).
    for (size_t i = 0; i < ops.size() && budget_ok(); ++i) {
      bool took = true;
      while (took && i < ops.size() && budget_ok()) {
        took = false;
        for (Op& v : variants(ops[i])) {
          std::vector<Op> cand = ops;
          cand[i] = std::move(v);
          if (still_fails(cand)) {
            ops = std::move(cand);
            took = changed = true;
            break;
          }
          if (!budget_ok()) break;
        }
      }
    }
    // 3. Whole-sequence simplifications.
    if (global) {
      for (std::vector<Op>& cand : global(ops)) {
        if (!budget_ok()) break;
        if (still_fails(cand)) {
          ops = std::move(cand);
          changed = true;
          break;
        }
      }
    }
  }
  return ops;
}

}  // namespace bpfemu::conformance::randomized
