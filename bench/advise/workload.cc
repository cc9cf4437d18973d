#include "advise/workload.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

namespace advise {
namespace {

const char* kOpNames[] = {"lookup", "update", "delete", "increment", "lookup_insert"};

// Ops are spread over CPUs in blocks of this many (a block never straddles a
// kernel replay chunk, so each chunk runs on one CPU).
constexpr uint32_t kCpuBlock = 512;

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Pseudo-random bytes that depend only on (index, seed): key r is the same
// bytes wherever it is used.
void key_bytes(uint64_t r, uint64_t seed, uint8_t* out, uint32_t n) {
  for (uint32_t off = 0; off < n; off += 8) {
    uint64_t h = splitmix64(r * 0x100000001b3ULL + seed + off);
    memcpy(out + off, &h, std::min<uint32_t>(8, n - off));
  }
}

std::string trim(const std::string& s) {
  size_t a = s.find_first_not_of(" \t\r");
  if (a == std::string::npos) return "";
  size_t b = s.find_last_not_of(" \t\r");
  return s.substr(a, b - a + 1);
}

bool parse_u32(const std::string& v, uint32_t* out) {
  char* end = nullptr;
  unsigned long long x = strtoull(v.c_str(), &end, 10);
  if (end == v.c_str() || *end != '\0' || x > UINT32_MAX) return false;
  *out = static_cast<uint32_t>(x);
  return true;
}

// "lookup:80, update:15, delete:5" (weights, any scale).
bool parse_mix(const std::string& v, double mix[kOpKinds]) {
  std::fill(mix, mix + kOpKinds, 0.0);
  std::stringstream ss(v);
  std::string item;
  while (std::getline(ss, item, ',')) {
    item = trim(item);
    if (item.empty()) continue;
    size_t colon = item.find(':');
    if (colon == std::string::npos) return false;
    std::string op = trim(item.substr(0, colon));
    double w = atof(item.substr(colon + 1).c_str());
    auto it = std::find(std::begin(kOpNames), std::end(kOpNames), op);
    if (it == std::end(kOpNames) || w < 0) return false;
    mix[it - std::begin(kOpNames)] = w;
  }
  double total = 0;
  for (int k = 0; k < kOpKinds; ++k) total += mix[k];
  return total > 0;
}

// Samples key ranks 0..n-1 by the spec's distribution.
class KeyChooser {
 public:
  KeyChooser(const std::string& dist, uint32_t n, std::mt19937_64& rng) : n_(n), rng_(rng) {
    if (dist.rfind("zipf:", 0) == 0) {
      double s = atof(dist.c_str() + 5);
      cdf_.resize(n);
      double sum = 0;
      for (uint32_t i = 0; i < n; ++i) cdf_[i] = (sum += 1.0 / std::pow(i + 1.0, s));
      for (double& c : cdf_) c /= sum;
    }
    sequential_ = dist == "sequential";
  }
  uint32_t next() {
    if (sequential_) return seq_++ % n_;
    if (cdf_.empty()) return static_cast<uint32_t>(rng_() % n_);
    double u = std::uniform_real_distribution<double>(0, 1)(rng_);
    return static_cast<uint32_t>(std::lower_bound(cdf_.begin(), cdf_.end(), u) - cdf_.begin()) % n_;
  }

 private:
  uint32_t n_;
  std::mt19937_64& rng_;
  std::vector<double> cdf_;
  bool sequential_ = false;
  uint32_t seq_ = 0;
};

// The key of rank r as an update/delete would name it.
void key_of_rank(const Spec& s, uint32_t r, uint8_t* key) {
  if (s.key_kind == KeyKind::kDense) {
    memcpy(key, &r, 4);
  } else if (s.key_kind == KeyKind::kExact) {
    key_bytes(r, s.seed, key, s.key_size);
  } else {
    uint32_t plen = s.prefix_lengths[splitmix64(r ^ s.seed) % s.prefix_lengths.size()];
    memcpy(key, &plen, 4);
    key_bytes(r, s.seed, key + 4, s.key_size - 4);
    mask_prefix(key, s.key_size, plen);
  }
}

bool read_trace(const Spec& spec, Workload* w, std::string* err) {
  std::string path = spec.trace;
  if (!path.empty() && path[0] != '/') {
    size_t slash = spec.path.rfind('/');
    if (slash != std::string::npos) path = spec.path.substr(0, slash + 1) + path;
  }
  std::ifstream in(path);
  if (!in) {
    *err = "cannot open trace " + path;
    return false;
  }
  std::string line;
  int lineno = 0;
  std::vector<uint8_t> key(spec.key_size);
  while (std::getline(in, line)) {
    ++lineno;
    line = trim(line.substr(0, line.find('#')));
    if (line.empty()) continue;
    std::stringstream ss(line);
    std::string op, hex;
    unsigned cpu = 0;
    ss >> op >> cpu >> hex;
    auto it = std::find(std::begin(kOpNames), std::end(kOpNames), op);
    if (it == std::end(kOpNames) || hex.size() != spec.key_size * 2u) {
      *err = path + ":" + std::to_string(lineno) + ": expected '<op> <cpu> <key as " +
             std::to_string(spec.key_size * 2) + " hex digits>'";
      return false;
    }
    for (uint32_t i = 0; i < spec.key_size; ++i) key[i] = static_cast<uint8_t>(std::stoul(hex.substr(i * 2, 2), nullptr, 16));
    w->ops.push_back({static_cast<OpKind>(it - std::begin(kOpNames)), static_cast<uint16_t>(cpu % spec.cpus)});
    w->keys.insert(w->keys.end(), key.begin(), key.end());
    if (w->ops.size() >= spec.ops) break;
  }
  if (w->ops.empty()) {
    *err = path + ": no operations";
    return false;
  }
  return true;
}

}  // namespace

const char* op_name(OpKind k) { return kOpNames[static_cast<int>(k)]; }

void mask_prefix(uint8_t* key, uint32_t key_size, uint32_t prefixlen) {
  uint8_t* data = key + 4;
  for (uint32_t byte = 0; byte < key_size - 4; ++byte) {
    uint32_t bit0 = byte * 8;
    if (bit0 >= prefixlen)
      data[byte] = 0;
    else if (prefixlen - bit0 < 8)
      data[byte] &= static_cast<uint8_t>(0xff00 >> (prefixlen - bit0));
  }
}

bool parse_spec(const std::string& path, Spec* s, std::string* err) {
  std::ifstream in(path);
  if (!in) {
    *err = "cannot open " + path;
    return false;
  }
  s->path = path;
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    line = trim(line.substr(0, line.find('#')));
    if (line.empty()) continue;
    size_t eq = line.find('=');
    auto fail = [&](const std::string& why) {
      *err = path + ":" + std::to_string(lineno) + ": " + why;
      return false;
    };
    if (eq == std::string::npos) return fail("expected key = value");
    std::string k = trim(line.substr(0, eq)), v = trim(line.substr(eq + 1));
    bool ok = true;
    if (k == "name") s->name = v;
    else if (k == "description") s->description = v;
    else if (k == "key_size") ok = parse_u32(v, &s->key_size) && s->key_size > 0 && s->key_size <= 64;
    else if (k == "value_size") ok = parse_u32(v, &s->value_size) && s->value_size > 0 && s->value_size <= 512;
    else if (k == "keys") ok = parse_u32(v, &s->keys) && s->keys > 0;
    else if (k == "capacity") ok = parse_u32(v, &s->capacity);
    else if (k == "ops") ok = parse_u32(v, &s->ops) && s->ops > 0;
    else if (k == "mix") ok = parse_mix(v, s->mix);
    else if (k == "distribution") ok = v == "uniform" || v == "sequential" || (v.rfind("zipf:", 0) == 0 && atof(v.c_str() + 5) > 0), s->distribution = v;
    else if (k == "cpus") ok = parse_u32(v, &s->cpus) && s->cpus > 0;
    else if (k == "side") ok = v == "prog" || v == "syscall", s->side = v == "prog" ? Side::kProg : Side::kSyscall;
    else if (k == "key_kind") {
      ok = v == "exact" || v == "dense" || v == "prefix";
      s->key_kind = v == "dense" ? KeyKind::kDense : v == "prefix" ? KeyKind::kPrefix : KeyKind::kExact;
    } else if (k == "prefix_lengths") {
      std::stringstream ss(v);
      std::string item;
      s->prefix_lengths.clear();
      while (std::getline(ss, item, ',')) {
        uint32_t p = 0;
        ok = ok && parse_u32(trim(item), &p);
        s->prefix_lengths.push_back(p);
      }
    } else if (k == "value_kind") ok = v == "state" || v == "counter", s->counter_values = v == "counter";
    else if (k == "trace") s->trace = v;
    else if (k == "prefill") ok = parse_u32(v, &s->prefill);
    else if (k == "seed") ok = !v.empty(), s->seed = strtoull(v.c_str(), nullptr, 10);
    else return fail("unknown setting '" + k + "'");
    if (!ok) return fail("bad value for " + k + ": '" + v + "'");
  }
  // Whole-spec checks.
  auto fail = [&](const std::string& why) {
    *err = path + ": " + why;
    return false;
  };
  if (s->capacity == 0) s->capacity = s->keys;
  if (s->prefill > s->keys) return fail("prefill larger than keys");
  if (s->key_kind == KeyKind::kDense && s->key_size != 4) return fail("key_kind = dense needs key_size = 4");
  if (s->key_kind == KeyKind::kPrefix) {
    if (s->key_size < 5) return fail("key_kind = prefix needs key_size = 4 + address bytes");
    if (s->prefix_lengths.empty()) return fail("key_kind = prefix needs prefix_lengths");
    for (uint32_t p : s->prefix_lengths)
      if (p > (s->key_size - 4) * 8) return fail("prefix length " + std::to_string(p) + " longer than the address");
    std::sort(s->prefix_lengths.rbegin(), s->prefix_lengths.rend());
    if (s->mix[3] > 0 || s->mix[4] > 0) return fail("increment and lookup_insert need exact or dense keys");
  }
  if (s->mix[3] > 0 && s->value_size < 8) return fail("increment needs value_size >= 8 (a u64 counter)");
  return true;
}

bool build_workload(const Spec& spec, Workload* w, std::string* err) {
  w->spec = spec;
  w->ops.clear();
  w->keys.clear();
  w->n_setup = 0;
  if (!spec.trace.empty()) return read_trace(spec, w, err);
  std::mt19937_64 rng(spec.seed);
  KeyChooser chooser(spec.distribution, spec.keys, rng);
  std::discrete_distribution<int> pick(spec.mix, spec.mix + kOpKinds);
  std::vector<uint8_t> key(spec.key_size);
  const uint32_t addr_bits = spec.key_size > 4 ? (spec.key_size - 4) * 8 : 0;
  w->ops.reserve(spec.ops + spec.prefill);
  w->keys.reserve(size_t{spec.ops + spec.prefill} * spec.key_size);
  // Setup: the `prefill` most popular keys, inserted before anything is timed.
  for (uint32_t r = 0; r < spec.prefill; ++r) {
    key_of_rank(spec, r, key.data());
    w->ops.push_back({OpKind::kUpdate, static_cast<uint16_t>(r % spec.cpus)});
    w->keys.insert(w->keys.end(), key.begin(), key.end());
  }
  w->n_setup = spec.prefill;
  for (uint32_t i = 0; i < spec.ops; ++i) {
    auto kind = static_cast<OpKind>(pick(rng));
    key_of_rank(spec, chooser.next(), key.data());
    if (spec.key_kind == KeyKind::kPrefix && kind == OpKind::kLookup) {
      // Look up one address inside the chosen prefix: random host bits.
      uint32_t plen;
      memcpy(&plen, key.data(), 4);
      for (uint32_t b = 4; b < spec.key_size; ++b) {
        uint8_t r = static_cast<uint8_t>(rng());
        uint32_t bit0 = (b - 4) * 8;
        uint8_t keep = bit0 >= plen ? 0 : plen - bit0 >= 8 ? 0xff : static_cast<uint8_t>(0xff00 >> (plen - bit0));
        key[b] = static_cast<uint8_t>((key[b] & keep) | (r & ~keep));
      }
      memcpy(key.data(), &addr_bits, 4);
    }
    w->ops.push_back({kind, static_cast<uint16_t>((i / kCpuBlock) % spec.cpus)});
    w->keys.insert(w->keys.end(), key.begin(), key.end());
  }
  return true;
}

bool write_trace(const Workload& w, const std::string& path, std::string* err) {
  std::ofstream out(path);
  if (!out) {
    *err = "cannot write " + path;
    return false;
  }
  out << "# bpfemu-advise trace: <op> <cpu> <key hex>; key_size " << w.spec.key_size << "\n";
  static const char* hex = "0123456789abcdef";
  for (size_t i = 0; i < w.ops.size(); ++i) {  // setup ops become plain updates
    out << op_name(w.ops[i].kind) << ' ' << w.ops[i].cpu << ' ';
    const uint8_t* k = w.key(i);
    for (uint32_t b = 0; b < w.spec.key_size; ++b) out << hex[k[b] >> 4] << hex[k[b] & 15];
    out << '\n';
  }
  return static_cast<bool>(out);
}

std::string describe(const Spec& s, const Workload& w) {
  size_t counts[kOpKinds] = {};
  for (size_t i = w.n_setup; i < w.ops.size(); ++i) ++counts[static_cast<int>(w.ops[i].kind)];
  const size_t n = w.ops.size() - w.n_setup;
  std::ostringstream o;
  o << n << " ops (";
  bool first = true;
  for (int k = 0; k < kOpKinds; ++k) {
    if (counts[k] == 0) continue;
    o << (first ? "" : ", ") << kOpNames[k] << ' ' << (100 * counts[k] + n / 2) / n << '%';
    first = false;
  }
  o << ") from " << (s.trace.empty() ? "a generated stream" : "trace " + s.trace);
  if (w.n_setup > 0) o << " after prefilling " << w.n_setup << " keys";
  if (s.trace.empty()) o << ", " << s.keys << ' ' << (s.key_kind == KeyKind::kPrefix ? "prefixes" : "keys") << ' ' << s.distribution;
  o << "; key " << s.key_size << " B, value " << s.value_size << " B, capacity " << s.capacity << ", " << s.cpus
    << " CPU" << (s.cpus > 1 ? "s" : "") << ", " << (s.side == Side::kProg ? "program side" : "syscall side");
  return o.str();
}

}  // namespace advise
