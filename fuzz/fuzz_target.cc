// bpfemu-fuzz: decodes the input into a sequence of map commands on the
// emulator's Backend and checks every answer against the reference model
// (model.h). Syscall-level rules that come before a map family is reached
// (bad fd, access mode, frozen, flags the command refuses, key pointer) are
// checked here, in the kernel's order; the family's own rules in the model.
// Any difference, or a change to the canary maps, aborts with a description.
#include <linux/bpf.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>

#include "bpfemu/emu_backend.h"
#include "fuzz/harness.h"
#include "fuzz/input.h"
#include "fuzz/model.h"

namespace bpfemu::fuzz {
namespace {

constexpr uint32_t kTypes[] = {
    BPF_MAP_TYPE_HASH,         BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_PERCPU_HASH, BPF_MAP_TYPE_PERCPU_ARRAY,
    BPF_MAP_TYPE_LRU_HASH,     BPF_MAP_TYPE_LRU_PERCPU_HASH, BPF_MAP_TYPE_LPM_TRIE, BPF_MAP_TYPE_QUEUE,
    BPF_MAP_TYPE_STACK,        BPF_MAP_TYPE_BLOOM_FILTER};
constexpr uint32_t kExtraCreateFlags[] = {0,           BPF_F_RDONLY,        BPF_F_WRONLY,    BPF_F_ZERO_SEED,
                                          BPF_F_NO_PREALLOC, BPF_F_NO_COMMON_LRU, BPF_F_MMAPABLE, 1U << 20};
constexpr uint64_t kElemFlags[] = {BPF_ANY, BPF_NOEXIST, BPF_EXIST, 3, BPF_F_LOCK, BPF_F_LOCK | BPF_EXIST, 8,
                                   1ULL << 32};
constexpr size_t kMaxHandles = 10;
constexpr int kPins = 4;

// The map the current op addresses, for the report.
char g_context[128];

[[noreturn]] void mismatch(const char* op, int rc, const char* detail = "") {
  fprintf(stderr, "bpfemu-fuzz: MISMATCH in %s: emulator answered %d (%s) %s [%s]\n", op, rc,
          rc < 0 ? strerror(-rc) : "ok", detail, g_context);
  abort();
}

void expect(bool ok, const char* op, int rc, const char* detail = "") {
  if (!ok) mismatch(op, rc, detail);
}

// The key pointer passed for `key`: an empty key (key_size 0) must still be a
// non-NULL pointer when the op means to pass one.
const void* key_ptr(const Bytes* key) {
  static const uint8_t some_bytes[8] = {};
  if (!key) return nullptr;
  return key->empty() ? some_bytes : key->data();
}

// One fd and what it may do; several fds may share one model map.
struct Handle {
  int fd = -1;
  std::shared_ptr<ModelMap> map;
  bool can_read = true;
  bool can_write = true;
};

class Session {
 public:
  explicit Session(Input& in) : in_(in), root_(private_bpffs()) {
    ncpus_ = b_.num_possible_cpus();
    make_canaries();
  }
  ~Session() {
    check_canaries();
    for (auto& h : handles_) b_.close(h.fd);
    for (auto& [path, map] : pins_) expect(b_.obj_unpin(path.c_str()) == 0, "final unpin", -1);
    b_.close(canary_hash_);
    b_.close(canary_array_);
    // The next input starts from an empty bpffs: nothing but the emulator's own state left.
    for (auto& entry : std::filesystem::directory_iterator(root_))
      if (entry.path().filename() != ".bpfemu") mismatch("cleanup", 0, entry.path().c_str());
  }

  void run() {
    for (int steps = 0; !in_.done() && steps < 200; steps++) step();
  }

 private:
  void step();
  void op_create();
  void op_update();
  void op_lookup();
  void op_delete();
  void op_next_key();
  void op_walk();
  void op_lookup_and_delete();
  void op_update_batch();
  void op_delete_batch();
  void op_lookup_batch(bool and_delete);
  void op_freeze();
  void op_pin();
  void op_get();
  void op_unpin();
  void op_close();
  void op_info();

  // A handle of the session, or nullptr for a fd that is not one (bad_fd_).
  Handle* pick();
  int bad_fd_ = -1;
  static bool keyed(const ModelMap& m) { return m.config().key_size != 0; }
  Bytes make_key(const ModelMap& m, bool for_write);
  Bytes make_value(const ModelMap& m);
  // The key pointer to pass: usually a key, sometimes the wrong kind of NULL.
  const Bytes* key_arg(const ModelMap& m, const Bytes& key, bool* wrong) {
    const bool flip = (in_.u8() & 15) == 0;
    const bool null = keyed(m) == flip;
    *wrong = flip;
    return null ? nullptr : &key;
  }
  // EPERM when the fd may not do what the command needs (a frozen map's fds cannot write).
  static bool denied(const Handle& h, bool read, bool write) {
    return (read && !h.can_read) || (write && (!h.can_write || h.map->frozen()));
  }
  std::string pin_path() { return "/sys/fs/bpf/p" + std::to_string(in_.u8() % kPins); }
  void check_info(const Handle& h);
  void make_canaries();
  void check_canaries();

  Input& in_;
  std::string root_;
  EmuBackend b_;
  int ncpus_ = 1;
  std::vector<Handle> handles_;
  std::map<std::string, std::shared_ptr<ModelMap>> pins_;
  int canary_hash_ = -1;
  int canary_array_ = -1;
};

void Session::step() {
  switch (in_.u8() % 17) {
    case 0: return op_create();
    case 1:
    case 2: return op_update();
    case 3: return op_lookup();
    case 4: return op_delete();
    case 5: return op_next_key();
    case 6: return op_walk();
    case 7: return op_lookup_and_delete();
    case 8: return op_update_batch();
    case 9: return op_delete_batch();
    case 10: return op_lookup_batch(in_.u8() & 1);
    case 11: return op_freeze();
    case 12: return op_pin();
    case 13: return op_get();
    case 14: return op_unpin();
    case 15: return op_close();
    case 16: return op_info();
  }
}

Handle* Session::pick() {
  if (handles_.empty() && (in_.u8() & 1)) op_create();
  const size_t i = in_.u8() % (handles_.size() + 1);
  if (i < handles_.size()) {
    const MapConfig& c = handles_[i].map->config();
    snprintf(g_context, sizeof g_context, "map type %u key %u value %u max %u flags %#x, %zu elements", c.type,
             c.key_size, c.value_size, c.max_entries, c.map_flags, handles_[i].map->size());
    return &handles_[i];
  }
  snprintf(g_context, sizeof g_context, "no map");
  bad_fd_ = (in_.u8() & 1) ? -1 : 0x7ffffff0;
  return nullptr;
}

Bytes Session::make_key(const ModelMap& m, bool for_write) {
  const MapConfig& c = m.config();
  Bytes k(c.key_size, 0);
  switch (m.family()) {
    case Family::Array: {
      const uint32_t index = in_.u8() % (c.max_entries + 2);
      memcpy(k.data(), &index, 4);
      break;
    }
    case Family::Lpm: {
      const uint32_t max_bits = (c.key_size - 4) * 8;
      const uint32_t bits = in_.u8() % (max_bits + 2);
      memcpy(k.data(), &bits, 4);
      for (size_t i = 4; i < k.size() && i < 6; i++) k[i] = in_.u8();
      if (for_write) k = lpm_canonical(k);  // the model keys LPM elements by their prefix only
      break;
    }
    default:
      if (!k.empty()) k[0] = in_.u8() % 12;  // few distinct keys, so they collide
  }
  return k;
}

Bytes Session::make_value(const ModelMap& m) {
  Bytes v(m.value_bytes());
  const uint8_t seed = m.family() == Family::Bloom ? in_.u8() % 6 : in_.u8();
  for (size_t i = 0; i < v.size(); i++) v[i] = uint8_t(seed + i);
  return v;
}

void Session::op_create() {
  if (handles_.size() >= kMaxHandles) return;
  MapConfig c;
  c.type = kTypes[in_.u8() % std::size(kTypes)];
  const Family fam = family_of(c.type);
  // Mostly a valid shape for the type, sometimes an arbitrary small one.
  c.key_size = fam == Family::Lpm ? 8 : (fam == Family::Hash || fam == Family::Array) ? 4 : 0;
  c.value_size = 4 + 4 * (in_.u8() % 3);
  c.max_entries = 1 + in_.u8() % 8;
  c.map_flags = fam == Family::Lpm ? BPF_F_NO_PREALLOC : 0;
  c.map_extra = fam == Family::Bloom ? in_.u8() % 4 : 0;
  const uint8_t variant = in_.u8();
  if ((variant & 3) == 0) {
    constexpr uint32_t sizes[] = {0, 1, 3, 4, 5, 8, 12, 16};
    c.key_size = sizes[in_.u8() % 8];
    c.value_size = sizes[in_.u8() % 8];
    c.max_entries = in_.u8() % 4;
    c.map_extra = in_.u8() % 3 == 0 ? 16 : c.map_extra;
  }
  if (variant & 4) c.map_flags |= kExtraCreateFlags[in_.u8() % std::size(kExtraCreateFlags)];
  if (variant & 8) c.map_flags &= ~uint32_t(BPF_F_NO_PREALLOC);

  MapCreateOpts opts;
  opts.map_flags = c.map_flags;
  opts.map_extra = c.map_extra;
  const int rc = b_.map_create(c.type, "fz", c.key_size, c.value_size, c.max_entries, &opts);
  const int expected = expected_create(c);
  char detail[160];
  snprintf(detail, sizeof detail, "(type %u key %u value %u max %u flags %#x extra %llu; expected %d)", c.type,
           c.key_size, c.value_size, c.max_entries, c.map_flags, (unsigned long long)c.map_extra, expected);
  if (expected != 0) return expect(rc == expected, "map_create", rc, detail);
  expect(rc >= 0, "map_create", rc, detail);
  handles_.push_back(Handle{rc, std::make_shared<ModelMap>(c, ncpus_), !(c.map_flags & BPF_F_WRONLY),
                            !(c.map_flags & BPF_F_RDONLY)});
  check_info(handles_.back());
}

void Session::op_update() {
  Handle* h = pick();
  const uint64_t flags = kElemFlags[in_.u8() % std::size(kElemFlags)];
  if (!h) return expect(b_.map_update_elem(bad_fd_, "k", "v", flags) == -EBADF, "update(bad fd)", -1);
  ModelMap& m = *h->map;
  const Bytes key = make_key(m, true), value = make_value(m);
  bool wrong_key;
  const Bytes* k = key_arg(m, key, &wrong_key);
  const int rc = b_.map_update_elem(h->fd, key_ptr(k), value.data(), flags);
  // map_update_elem(): access, then BPF_F_LOCK without a spin lock, then copying the key.
  if (denied(*h, false, true)) return expect(rc == -EPERM, "update", rc, "(no write access)");
  if (flags & BPF_F_LOCK) return expect(rc == -EINVAL, "update", rc, "(BPF_F_LOCK)");
  if (wrong_key) return expect(rc == (keyed(m) ? -EFAULT : -EINVAL), "update", rc, "(key pointer)");
  expect(m.update(k, value, flags, rc), "update", rc);
}

void Session::op_lookup() {
  Handle* h = pick();
  const uint64_t flags = (in_.u8() & 7) ? 0 : kElemFlags[in_.u8() % std::size(kElemFlags)];
  Bytes out(h ? h->map->value_bytes() : 8, 0xAA);
  if (!h) {
    const int rc = b_.map_lookup_elem_flags(bad_fd_, "k", out.data(), flags);
    return expect(rc == ((flags & ~BPF_F_LOCK) ? -EINVAL : -EBADF), "lookup(bad fd)", rc);
  }
  ModelMap& m = *h->map;
  const Bytes key = make_key(m, false);
  const Bytes sent = m.family() == Family::Bloom ? make_value(m) : out;
  out = sent;
  bool wrong_key;
  const Bytes* k = key_arg(m, key, &wrong_key);
  const int rc = b_.map_lookup_elem_flags(h->fd, key_ptr(k), out.data(), flags);
  // map_lookup_elem(): unknown flags before the fd, then access, BPF_F_LOCK, the key.
  if (flags & ~BPF_F_LOCK) return expect(rc == -EINVAL, "lookup", rc, "(flags)");
  if (denied(*h, true, false)) return expect(rc == -EPERM, "lookup", rc, "(no read access)");
  if (flags & BPF_F_LOCK) return expect(rc == -EINVAL, "lookup", rc, "(BPF_F_LOCK)");
  if (wrong_key) return expect(rc == (keyed(m) ? -EFAULT : -EINVAL), "lookup", rc, "(key pointer)");
  expect(m.lookup(k, sent, rc, out), "lookup", rc);
}

void Session::op_delete() {
  Handle* h = pick();
  const uint64_t flags = (in_.u8() & 7) ? 0 : BPF_F_LOCK;
  if (!h) {
    const int rc = b_.map_delete_elem_flags(bad_fd_, "k", flags);
    return expect(rc == -EBADF || (flags && rc == -EINVAL), "delete(bad fd)", rc);
  }
  ModelMap& m = *h->map;
  const Bytes key = make_key(m, false);
  bool wrong_key;
  const Bytes* k = key_arg(m, key, &wrong_key);
  const int rc = b_.map_delete_elem_flags(h->fd, key_ptr(k), flags);
  if (denied(*h, false, true)) return expect(rc == -EPERM || (flags && rc == -EINVAL), "delete", rc, "(access)");
  if (flags) return expect(rc == -EINVAL, "delete", rc, "(BPF_F_LOCK)");
  if (wrong_key) return expect(rc == (keyed(m) ? -EFAULT : -EINVAL), "delete", rc, "(key pointer)");
  expect(m.remove(k, rc), "delete", rc);
}

void Session::op_next_key() {
  Handle* h = pick();
  Bytes out(h ? std::max<uint32_t>(h->map->config().key_size, 1) : 8, 0xAA);
  if (!h) return expect(b_.map_get_next_key(bad_fd_, nullptr, out.data()) == -EBADF, "next_key(bad fd)", -1);
  ModelMap& m = *h->map;
  const Bytes key = make_key(m, false);
  const bool from_start = (in_.u8() & 3) == 0;
  const Bytes* k = (from_start || !keyed(m)) && (in_.u8() & 7) ? nullptr : &key;
  const int rc = b_.map_get_next_key(h->fd, key_ptr(k), out.data());
  if (denied(*h, true, false)) return expect(rc == -EPERM, "next_key", rc, "(no read access)");
  if (k && !keyed(m)) return expect(rc == -EINVAL, "next_key", rc, "(key on a keyless map)");
  expect(m.next_key(k, rc, out), "next_key", rc);
}

// A whole get_next_key iteration, each key looked up: every element once.
void Session::op_walk() {
  Handle* h = pick();
  if (!h || !keyed(*h->map) || denied(*h, true, false)) return;
  ModelMap& m = *h->map;
  std::map<Bytes, Bytes> seen;
  Bytes cur, next(m.config().key_size);
  for (uint32_t steps = 0;; steps++) {
    const int rc = b_.map_get_next_key(h->fd, cur.empty() ? nullptr : cur.data(), next.data());
    if (rc == -ENOENT) break;
    expect(rc == 0 && steps <= m.config().max_entries, "walk: get_next_key", rc);
    Bytes value(m.value_bytes());
    const int lrc = b_.map_lookup_elem(h->fd, next.data(), value.data());
    expect(lrc == 0, "walk: lookup of a key get_next_key returned", lrc);
    expect(seen.emplace(next, value).second, "walk", rc, "(a key returned twice)");
    cur = next;
  }
  expect(m.full_walk(seen, true), "walk", 0, "(elements differ from the model)");
}

void Session::op_lookup_and_delete() {
  Handle* h = pick();
  const uint64_t flags = (in_.u8() & 7) ? 0 : kElemFlags[in_.u8() % std::size(kElemFlags)];
  Bytes out(h ? h->map->value_bytes() : 8, 0xAA);
  if (!h) {
    const int rc = b_.map_lookup_and_delete_elem_flags(bad_fd_, "k", out.data(), flags);
    return expect(rc == ((flags & ~BPF_F_LOCK) ? -EINVAL : -EBADF), "lookup_and_delete(bad fd)", rc);
  }
  ModelMap& m = *h->map;
  const Bytes key = make_key(m, false);
  bool wrong_key;
  const Bytes* k = key_arg(m, key, &wrong_key);
  const int rc = b_.map_lookup_and_delete_elem_flags(h->fd, key_ptr(k), out.data(), flags);
  // map_lookup_and_delete_elem(): unknown flags, access (read and write), any
  // flag on QUEUE/STACK, BPF_F_LOCK, the key, then the type.
  if (flags & ~BPF_F_LOCK) return expect(rc == -EINVAL, "lookup_and_delete", rc, "(flags)");
  if (denied(*h, true, true)) return expect(rc == -EPERM, "lookup_and_delete", rc, "(access)");
  if (flags) return expect(rc == -EINVAL, "lookup_and_delete", rc, "(BPF_F_LOCK)");
  if (wrong_key) return expect(rc == (keyed(m) ? -EFAULT : -EINVAL), "lookup_and_delete", rc, "(key pointer)");
  expect(m.lookup_and_delete(k, flags, rc, out), "lookup_and_delete", rc);
}

void Session::op_update_batch() {
  Handle* h = pick();
  if (!h || !(h->map->family() == Family::Hash || h->map->family() == Family::Array)) return;
  ModelMap& m = *h->map;
  const uint32_t n = 1 + in_.u8() % 4;
  std::vector<Bytes> keys, values;
  Bytes key_buf, value_buf;
  for (uint32_t i = 0; i < n; i++) {
    keys.push_back(make_key(m, true));
    values.push_back(make_value(m));
    key_buf.insert(key_buf.end(), keys.back().begin(), keys.back().end());
    value_buf.insert(value_buf.end(), values.back().begin(), values.back().end());
  }
  BatchOpts opts;
  opts.elem_flags = (in_.u8() & 7) ? 0 : kElemFlags[in_.u8() % std::size(kElemFlags)];
  uint32_t count = n;
  const int rc = b_.map_update_batch(h->fd, key_buf.data(), value_buf.data(), &count, &opts);
  if (denied(*h, false, true)) return expect(rc == -EPERM, "update_batch", rc, "(access)");
  if (opts.elem_flags) return expect(rc == -EINVAL, "update_batch", rc, "(elem_flags)");
  // generic_map_update_batch(): one update per element, stopping at the first
  // error; count says how many succeeded.
  expect(count <= n && (rc != 0 || count == n), "update_batch", rc, "(count)");
  for (uint32_t i = 0; i < count; i++) expect(m.update(&keys[i], values[i], BPF_ANY, 0), "update_batch", 0);
  if (rc != 0) expect(count < n && m.update(&keys[count], values[count], BPF_ANY, rc), "update_batch", rc);
}

void Session::op_delete_batch() {
  Handle* h = pick();
  if (!h || !(h->map->family() == Family::Hash || h->map->family() == Family::Array)) return;
  ModelMap& m = *h->map;
  const uint32_t n = 1 + in_.u8() % 4;
  std::vector<Bytes> keys;
  Bytes key_buf;
  for (uint32_t i = 0; i < n; i++) {
    keys.push_back(make_key(m, false));
    key_buf.insert(key_buf.end(), keys.back().begin(), keys.back().end());
  }
  BatchOpts opts;
  opts.elem_flags = (in_.u8() & 7) ? 0 : 8;
  uint32_t count = n;
  const int rc = b_.map_delete_batch(h->fd, key_buf.data(), &count, &opts);
  if (denied(*h, false, true)) return expect(rc == -EPERM, "delete_batch", rc, "(access)");
  if (m.family() == Family::Array) return expect(rc == -kENOTSUPP, "delete_batch", rc, "(ARRAY)");
  if (opts.elem_flags) return expect(rc == -EINVAL, "delete_batch", rc, "(elem_flags)");
  expect(count <= n && (rc != 0 || count == n), "delete_batch", rc, "(count)");
  for (uint32_t i = 0; i < count; i++) expect(m.remove(&keys[i], 0), "delete_batch", 0);
  if (rc != 0) expect(count < n && m.remove(&keys[count], rc), "delete_batch", rc);
}

// A whole lookup (or lookup-and-delete) batch iteration: every element once.
void Session::op_lookup_batch(bool and_delete) {
  Handle* h = pick();
  if (!h || !(h->map->family() == Family::Hash || h->map->family() == Family::Array)) return;
  ModelMap& m = *h->map;
  const uint32_t ks = m.config().key_size, vs = m.value_bytes(), max = m.config().max_entries;
  Bytes keys(size_t(ks) * max), values(size_t(vs) * max);
  uint64_t in_token = 0, out_token = 0;
  std::map<Bytes, Bytes> seen;
  const char* op = and_delete ? "lookup_and_delete_batch" : "lookup_batch";
  for (int calls = 0;; calls++) {
    uint32_t count = max;
    const int rc = and_delete ? b_.map_lookup_and_delete_batch(h->fd, calls ? &in_token : nullptr, &out_token,
                                                                keys.data(), values.data(), &count, nullptr)
                              : b_.map_lookup_batch(h->fd, calls ? &in_token : nullptr, &out_token, keys.data(),
                                                    values.data(), &count, nullptr);
    if (calls == 0 && denied(*h, true, and_delete)) return expect(rc == -EPERM, op, rc, "(access)");
    if (calls == 0 && and_delete && m.family() == Family::Array)
      return expect(rc == -kENOTSUPP, op, rc, "(ARRAY)");
    expect((rc == 0 || rc == -ENOENT) && count <= max && calls <= int(max) + 1, op, rc);
    for (uint32_t i = 0; i < count; i++) {
      Bytes k(keys.begin() + i * ks, keys.begin() + (i + 1) * ks);
      Bytes v(values.begin() + i * vs, values.begin() + (i + 1) * vs);
      expect(seen.emplace(k, v).second, op, rc, "(a key returned twice)");
    }
    if (rc == -ENOENT) break;
    in_token = out_token;
  }
  expect(m.full_walk(seen, true), op, 0, "(elements differ from the model)");
  if (and_delete) m.forget(seen);
}

void Session::op_freeze() {
  Handle* h = pick();
  if (!h) return expect(b_.map_freeze(bad_fd_) == -EBADF, "freeze(bad fd)", -1);
  const int rc = b_.map_freeze(h->fd);
  expect(h->map->freeze(rc, h->can_write), "freeze", rc);
}

void Session::op_pin() {
  Handle* h = pick();
  const std::string path = pin_path();
  const int rc = b_.obj_pin(h ? h->fd : bad_fd_, path.c_str());
  // bpf_obj_pin(): a fd that is no BPF object is EINVAL (bpf_fd_probe_obj), even -1.
  if (!h) return expect(rc == -EINVAL, "pin(bad fd)", rc);
  if (pins_.count(path)) return expect(rc == -EEXIST, "pin", rc, "(path exists)");
  expect(rc == 0, "pin", rc);
  pins_[path] = h->map;
}

void Session::op_get() {
  const std::string path = pin_path();
  constexpr uint32_t modes[] = {0, BPF_F_RDONLY, BPF_F_WRONLY, BPF_F_RDONLY | BPF_F_WRONLY, 1U << 2};
  ObjOpts opts;
  opts.file_flags = modes[in_.u8() % std::size(modes)];
  const int rc = b_.obj_get_opts(path.c_str(), &opts);
  if (opts.file_flags == (BPF_F_RDONLY | BPF_F_WRONLY) || (opts.file_flags & ~(BPF_F_RDONLY | BPF_F_WRONLY)))
    return expect(rc == -EINVAL, "obj_get", rc, "(file_flags)");
  auto pin = pins_.find(path);
  if (pin == pins_.end()) return expect(rc == -ENOENT, "obj_get", rc, "(no pin)");
  expect(rc >= 0, "obj_get", rc);
  Handle h{rc, pin->second, !(opts.file_flags & BPF_F_WRONLY), !(opts.file_flags & BPF_F_RDONLY)};
  check_info(h);
  if (handles_.size() >= kMaxHandles) {
    b_.close(rc);
    return;
  }
  handles_.push_back(h);
}

void Session::op_unpin() {
  const std::string path = pin_path();
  const int rc = b_.obj_unpin(path.c_str());
  if (!pins_.erase(path)) return expect(rc == -ENOENT, "unpin", rc, "(no pin)");
  expect(rc == 0, "unpin", rc);
}

void Session::op_close() {
  if (handles_.empty()) return;
  const size_t i = in_.u8() % handles_.size();
  expect(b_.close(handles_[i].fd) == 0, "close", -1);
  handles_.erase(handles_.begin() + i);
}

void Session::op_info() {
  Handle* h = pick();
  if (h) check_info(*h);
}

void Session::check_info(const Handle& h) {
  MapInfo info{};
  uint32_t len = sizeof info;
  const int rc = b_.obj_get_info_by_fd(h.fd, &info, &len);
  const MapConfig& c = h.map->config();
  // The kernel keeps the access flags with the fd, not the map (bpf_map_flags_retain_permanent).
  const uint32_t kept_flags = c.map_flags & ~uint32_t(BPF_F_RDONLY | BPF_F_WRONLY);
  char detail[200];
  snprintf(detail, sizeof detail, "(type %u/%u key %u/%u value %u/%u max %u/%u flags %#x/%#x extra %llu/%llu)",
           info.type, c.type, info.key_size, c.key_size, info.value_size, c.value_size, info.max_entries,
           c.max_entries, info.map_flags, kept_flags, (unsigned long long)info.map_extra,
           (unsigned long long)c.map_extra);
  expect(rc == 0 && info.type == c.type && info.key_size == c.key_size && info.value_size == c.value_size &&
             info.max_entries == c.max_entries && info.map_flags == kept_flags && info.map_extra == c.map_extra,
         "obj_get_info_by_fd", rc, detail);
}

// Two maps no op addresses; their bytes must be the same after every input.
void Session::make_canaries() {
  canary_hash_ = b_.map_create(BPF_MAP_TYPE_HASH, "canary_h", 4, 8, 4, nullptr);
  canary_array_ = b_.map_create(BPF_MAP_TYPE_ARRAY, "canary_a", 4, 8, 2, nullptr);
  if (canary_hash_ < 0 || canary_array_ < 0) mismatch("canary create", -1);
  for (uint32_t k = 0; k < 3; k++) {
    const uint64_t v = 0x1111111111111111ULL * (k + 1);
    if (b_.map_update_elem(canary_hash_, &k, &v, BPF_ANY) != 0) mismatch("canary update", -1);
    if (k < 2 && b_.map_update_elem(canary_array_, &k, &v, BPF_ANY) != 0) mismatch("canary update", -1);
  }
}

void Session::check_canaries() {
  uint32_t count = 0;
  for (uint32_t k = 0, next, *cur = nullptr; b_.map_get_next_key(canary_hash_, cur, &next) == 0; cur = &k) {
    k = next;
    expect(++count <= 3, "canary hash", 0, "(extra keys)");
  }
  expect(count == 3, "canary hash", 0, "(missing keys)");
  for (uint32_t k = 0; k < 3; k++) {
    uint64_t v = 0;
    expect(b_.map_lookup_elem(canary_hash_, &k, &v) == 0 && v == 0x1111111111111111ULL * (k + 1), "canary hash",
           0, "(value changed)");
    if (k < 2)
      expect(b_.map_lookup_elem(canary_array_, &k, &v) == 0 && v == 0x1111111111111111ULL * (k + 1),
             "canary array", 0, "(value changed)");
  }
}

}  // namespace
}  // namespace bpfemu::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  bpfemu::fuzz::Input in(data, size);
  bpfemu::fuzz::Session session(in);
  session.run();
  return 0;
}
