#include "common.h"

#include <cstddef>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <tuple>

#include "bpfemu/emu_backend.h"
#include "bpfemu/kernel_backend.h"
#include "core/cpu.h"
#include "emu/bpf_syscall.h"

namespace bench {

const std::vector<TypeInfo>& all_types() {
  static const std::vector<TypeInfo> types = {
      {BPF_MAP_TYPE_HASH, "HASH", true, false, false, false},
      {BPF_MAP_TYPE_PERCPU_HASH, "PERCPU_HASH", true, true, false, false},
      {BPF_MAP_TYPE_LRU_HASH, "LRU_HASH", true, false, true, false},
      {BPF_MAP_TYPE_LRU_PERCPU_HASH, "LRU_PERCPU_HASH", true, true, true, false},
      {BPF_MAP_TYPE_ARRAY, "ARRAY", false, false, false, false},
      {BPF_MAP_TYPE_PERCPU_ARRAY, "PERCPU_ARRAY", false, true, false, false},
      {BPF_MAP_TYPE_LPM_TRIE, "LPM_TRIE", true, false, false, true},
  };
  return types;
}

const std::vector<TypeInfo>& queue_types() {
  static const std::vector<TypeInfo> types = {
      {BPF_MAP_TYPE_QUEUE, "QUEUE", false, false, false, false},
      {BPF_MAP_TYPE_STACK, "STACK", false, false, false, false},
  };
  return types;
}

const std::vector<uint32_t>& all_sizes() {
  static const std::vector<uint32_t> sizes = {1000, 100000, 1000000};
  return sizes;
}

int host_cpus() { return bpfemu::host_possible_cpus(); }

uint32_t stride_for(uint32_t n) {
  if (n <= 2) return 1;
  uint32_t s = static_cast<uint32_t>(n * 0.6180339887) | 1U;
  while (std::gcd(s, n) != 1) s += 2;
  return s % n == 0 ? 1 : s;
}

namespace {

// The emulator reached the way libbpf reaches it under libbpfemu: its
// bpf_map_lookup_elem/_update_elem fill a zeroed union bpf_attr up to the
// command's last field and make the bpf(2) call, which the emulated syscall
// answers (attr copy, CHECK_ATTR, dispatch). The rest is EmuBackend's.
class EmuSyscallBackend final : public bpfemu::EmuBackend {
 public:
  std::string_view name() const override { return "emu_syscall"; }
  int map_lookup_elem(int fd, const void* key, void* value) override {
    const size_t attr_sz = offsetof(bpfemu::emu::BpfAttr, elem.flags) + sizeof(uint64_t);
    bpfemu::emu::BpfAttr attr;
    memset(&attr, 0, attr_sz);
    attr.elem.map_fd = static_cast<uint32_t>(fd);
    attr.elem.key = reinterpret_cast<uintptr_t>(key);
    attr.elem.value = reinterpret_cast<uintptr_t>(value);
    return done(bpfemu::emu::bpf_syscall(BPF_MAP_LOOKUP_ELEM, &attr, attr_sz));
  }
  int map_update_elem(int fd, const void* key, const void* value, uint64_t flags) override {
    const size_t attr_sz = offsetof(bpfemu::emu::BpfAttr, elem.flags) + sizeof(uint64_t);
    bpfemu::emu::BpfAttr attr;
    memset(&attr, 0, attr_sz);
    attr.elem.map_fd = static_cast<uint32_t>(fd);
    attr.elem.key = reinterpret_cast<uintptr_t>(key);
    attr.elem.value = reinterpret_cast<uintptr_t>(value);
    attr.elem.flags = flags;
    return done(bpfemu::emu::bpf_syscall(BPF_MAP_UPDATE_ELEM, &attr, attr_sz));
  }

 private:
  static int done(long r) {
    if (r < 0) errno = static_cast<int>(-r);
    return static_cast<int>(r);
  }
};

}  // namespace

bpfemu::Backend* backend(const std::string& name, std::string* why) {
  static bpfemu::EmuBackend emu;
  static EmuSyscallBackend emu_syscall;
  if (name == "emu") return &emu;
  if (name == "emu_syscall") return &emu_syscall;
  static std::once_flag once;
  static std::unique_ptr<bpfemu::Backend> kernel;
  static std::string kernel_why;
  std::call_once(once, [] { kernel = bpfemu::make_backend("kernel", &kernel_why); });
  if (name == "kernel" && kernel != nullptr) return kernel.get();
  if (why != nullptr) *why = name == "kernel" ? "kernel backend unavailable: " + kernel_why : "unknown backend " + name;
  return nullptr;
}

int fill_keys(bpfemu::Backend& be, int fd, const TypeInfo& t, uint32_t from, uint32_t to, KeySet key_set) {
  const uint32_t ncpus = static_cast<uint32_t>(be.num_possible_cpus());
  const uint32_t vbytes = t.percpu ? ncpus * kValueSize : kValueSize;
  const uint32_t ks = key_size_of(t);
  // Batches of 4096 keep the kernel fill of a 1M map to a few hundred syscalls.
  constexpr uint32_t kChunk = 4096;
  std::vector<uint8_t> keys(size_t{kChunk} * ks), values(size_t{kChunk} * vbytes);
  KeyBuf kb;
  for (uint32_t base = from; base < to; base += kChunk) {
    uint32_t n = std::min(kChunk, to - base);
    for (uint32_t i = 0; i < n; ++i) {
      memcpy(&keys[size_t{i} * ks], kb.set(t, base + i, key_set), ks);
      uint64_t v = base + i;
      for (uint32_t c = 0; c < vbytes / kValueSize; ++c) memcpy(&values[size_t{i} * vbytes + c * kValueSize], &v, 8);
    }
    uint32_t count = n;
    bpfemu::BatchOpts opts;
    if (be.map_update_batch(fd, keys.data(), values.data(), &count, &opts) == 0 && count == n) continue;
    // No batch support for this type (or a partial batch): one by one.
    for (uint32_t i = 0; i < n; ++i) {
      int r = be.map_update_elem(fd, &keys[size_t{i} * ks], &values[size_t{i} * vbytes], BPF_ANY);
      if (r != 0) return r;
    }
  }
  return 0;
}

int make_map(bpfemu::Backend& be, const TypeInfo& t, uint32_t entries, uint32_t fill, std::string* why,
             KeySet keys) {
  bpfemu::MapCreateOpts opts;
  if (t.lpm) opts.map_flags = BPF_F_NO_PREALLOC;  // required by LPM_TRIE
  int fd = be.map_create(t.type, "bench", is_queue(t) ? 0 : key_size_of(t), kValueSize, entries, &opts);
  if (fd < 0) {
    if (why != nullptr) *why = std::string("map_create ") + t.name + " failed: " + strerror(-fd);
    return fd;
  }
  if (is_queue(t)) {
    // Half full: room for a batch of pushes and elements for a batch of pops.
    for (uint64_t v = 0; v < entries / 2; ++v) {
      if (int r = be.map_update_elem(fd, nullptr, &v, BPF_ANY); r != 0) {
        if (why != nullptr) *why = std::string("push failed: ") + strerror(-r);
        be.close(fd);
        return r;
      }
    }
    return fd;
  }
  if (int r = fill_keys(be, fd, t, 0, fill, keys); r != 0) {
    if (why != nullptr) *why = std::string("fill failed: ") + strerror(-r);
    be.close(fd);
    return r;
  }
  return fd;
}

MapFixture* filled_map(const std::string& backend_name, const TypeInfo& t, uint32_t entries, std::string* why,
                       const char* tag, KeySet keys) {
  static std::mutex mu;
  static std::map<std::tuple<std::string, uint32_t, uint32_t, std::string, KeySet>, std::unique_ptr<MapFixture>> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto key = std::make_tuple(backend_name, t.type, entries, std::string(tag), keys);
  if (auto it = cache.find(key); it != cache.end()) return it->second.get();
  bpfemu::Backend* be = backend(backend_name, why);
  if (be == nullptr) return nullptr;
  // Arrays need no fill to have every element; fill anyway so values match.
  int fd = make_map(*be, t, entries, entries, why, keys);
  if (fd < 0) return nullptr;
  auto f = std::make_unique<MapFixture>();
  f->backend = be;
  f->type = &t;
  f->fd = fd;
  f->entries = entries;
  f->value_bytes = t.percpu ? static_cast<uint32_t>(be->num_possible_cpus()) * kValueSize : kValueSize;
  f->keys = keys;
  return (cache[key] = std::move(f)).get();
}

void skip(benchmark::State& state, const std::string& why) {
  state.SkipWithError(why.c_str());
  for (auto _ : state) {
  }
}

std::string bench_name(const char* op, const char* type, const char* backend, uint32_t entries) {
  return std::string(op) + "/" + type + "/" + backend + "/" + std::to_string(entries);
}

}  // namespace bench
