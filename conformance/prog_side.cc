#include "conformance/prog_side.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>

#include "bpfemu/prog.h"

namespace bpfemu::conformance {

// Embedded BPF objects (generated from bpf/prog_ops.bpf.c at build time).
extern const unsigned char kProgOpsV4[];
extern const unsigned long kProgOpsV4Size;
extern const unsigned char kProgOpsV8[];
extern const unsigned long kProgOpsV8Size;
extern const unsigned char kProgKeyless[];
extern const unsigned long kProgKeylessSize;

namespace {

class EmuProgSide final : public ProgSide {
 public:
  long lookup(int fd, uint32_t key, void* value_out, uint32_t value_size) override {
    void* v = prog::MapRef(fd).lookup(&key);
    if (v == nullptr) return -ENOENT;
    memcpy(value_out, v, value_size);
    return 0;
  }
  long update(int fd, uint32_t key, const void* value, uint32_t, uint64_t flags) override {
    return prog::MapRef(fd).update(&key, value, flags);
  }
  long remove(int fd, uint32_t key) override { return prog::MapRef(fd).remove(&key); }
  long for_each(int fd, uint32_t stop_at, uint64_t flags, uint32_t* visited) override {
    struct Walk {
      uint32_t stop_at;
      uint32_t seen;
    } w{stop_at, 0};
    long r = prog::MapRef(fd).for_each(
        [](const prog::MapRef&, const void*, void*, void* ctx) -> long {
          auto* walk = static_cast<Walk*>(ctx);
          return ++walk->seen == walk->stop_at ? 1 : 0;
        },
        &w, flags);
    *visited = w.seen;
    return r;
  }
  long push(int fd, const void* value, uint32_t, uint64_t flags) override {
    return prog::MapRef(fd).push(value, flags);
  }
  long pop(int fd, void* value, uint32_t) override { return prog::MapRef(fd).pop(value); }
  long peek(int fd, void* value, uint32_t) override { return prog::MapRef(fd).peek(value); }
};

// Mirrors struct prog_args in bpf/prog_ops.bpf.c (VALUE_SIZE 8 is the larger).
template <size_t V>
struct ProgArgs {
  uint32_t op;
  uint32_t stop_at;
  uint64_t flags;
  int64_t ret;
  uint32_t key;
  uint32_t visited;
  uint8_t value[V];
};

// Mirrors struct keyless_args in bpf/prog_keyless.bpf.c.
struct KeylessArgs {
  uint32_t op;  // 0 peek, 1 push, 2 pop
  uint32_t pad;
  uint64_t flags;
  int64_t ret;
  uint8_t value[ProgSide::kMaxKeylessValue];
};

// Opens an embedded object, rebinds its map `target` to fd, and loads it (only
// the program `only` when given): the object, or nullptr with *err.
bpf_object* load_bound(const unsigned char* elf, unsigned long size, const char* name, int fd, const char* only,
                       long* err) {
  LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = name);
  bpf_object* obj = bpf_object__open_mem(elf, size, &opts);
  if (obj == nullptr) {
    *err = -errno;
    return nullptr;
  }
  if (only != nullptr) {
    bpf_program* prog = nullptr;
    bpf_object__for_each_program(prog, obj) bpf_program__set_autoload(prog, strcmp(bpf_program__name(prog), only) == 0);
  }
  bpf_map* map = bpf_object__find_map_by_name(obj, "target");
  int e = map != nullptr ? bpf_map__reuse_fd(map, fd) : -ENOENT;
  if (e == 0) e = bpf_object__load(obj);
  if (e != 0) {
    bpf_object__close(obj);
    *err = e;
    return nullptr;
  }
  return obj;
}

class KernelProgSide final : public ProgSide {
 public:
  ~KernelProgSide() override {
    for (auto& [fd, loaded] : loaded_) bpf_object__close(loaded.obj);
    for (auto& [fd, loaded] : keyless_) bpf_object__close(loaded.obj);
  }

  long lookup(int fd, uint32_t key, void* value_out, uint32_t value_size) override {
    return run(fd, 0, key, nullptr, value_out, value_size, 0, 0, nullptr);
  }
  long update(int fd, uint32_t key, const void* value, uint32_t value_size, uint64_t flags) override {
    return run(fd, 1, key, value, nullptr, value_size, flags, 0, nullptr);
  }
  long remove(int fd, uint32_t key) override { return run(fd, 2, key, nullptr, nullptr, 0, 0, 0, nullptr); }
  long for_each(int fd, uint32_t stop_at, uint64_t flags, uint32_t* visited) override {
    return run(fd, 3, 0, nullptr, nullptr, 0, flags, stop_at, visited);
  }
  long push(int fd, const void* value, uint32_t value_size, uint64_t flags) override {
    return run_keyless(fd, 1, const_cast<void*>(value), value_size, flags);
  }
  long pop(int fd, void* value, uint32_t value_size) override { return run_keyless(fd, 2, value, value_size, 0); }
  long peek(int fd, void* value, uint32_t value_size) override { return run_keyless(fd, 0, value, value_size, 0); }

 private:
  struct Loaded {
    bpf_object* obj = nullptr;
    int prog_fd = -1;
    uint32_t value_size = 0;
  };

  // Loads the program with `target` rebound to fd (once per map).
  long load(int fd, Loaded* out) {
    if (auto it = loaded_.find(fd); it != loaded_.end()) {
      *out = it->second;
      return 0;
    }
    bpf_map_info info{};
    uint32_t len = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0) return -errno;
    if (info.key_size != 4 || (info.value_size != 4 && info.value_size != 8)) return -EOPNOTSUPP;
    const bool v4 = info.value_size == 4;
    long err = 0;
    bpf_object* obj = load_bound(v4 ? kProgOpsV4 : kProgOpsV8, v4 ? kProgOpsV4Size : kProgOpsV8Size, "prog_ops", fd,
                                 nullptr, &err);
    if (obj == nullptr) return err;
    Loaded l{obj, bpf_program__fd(bpf_object__find_program_by_name(obj, "prog_op")), info.value_size};
    loaded_[fd] = l;
    *out = l;
    return 0;
  }

  long run(int fd, uint32_t op, uint32_t key, const void* value_in, void* value_out, uint32_t value_size,
           uint64_t flags, uint32_t stop_at, uint32_t* visited) {
    Loaded l;
    if (long err = load(fd, &l); err != 0) return err;
    ProgArgs<8> args{};
    args.op = op;
    args.stop_at = stop_at;
    args.flags = flags;
    args.key = key;
    if (value_in != nullptr) memcpy(args.value, value_in, std::min<uint32_t>(value_size, l.value_size));
    const size_t size = offsetof(ProgArgs<8>, value) + l.value_size;
    LIBBPF_OPTS(bpf_test_run_opts, topts, .ctx_in = &args, .ctx_size_in = static_cast<uint32_t>(size));
    if (bpf_prog_test_run_opts(l.prog_fd, &topts) != 0) return -errno;
    if (value_out != nullptr) memcpy(value_out, args.value, std::min<uint32_t>(value_size, l.value_size));
    if (visited != nullptr) *visited = args.visited;
    return args.ret;
  }

  struct LoadedKeyless {
    bpf_object* obj = nullptr;
    int prog_fd = -1;
    int args_fd = -1;
  };

  // Loads prog_keyless with `target` rebound to fd and only the program the
  // map's type allows (once per map).
  long load_keyless(int fd, LoadedKeyless* out) {
    if (auto it = keyless_.find(fd); it != keyless_.end()) {
      *out = it->second;
      return 0;
    }
    bpf_map_info info{};
    uint32_t len = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0) return -errno;
    if (info.value_size > kMaxKeylessValue) return -EOPNOTSUPP;
    const char* wanted = info.type == BPF_MAP_TYPE_BLOOM_FILTER ? "bloom_op" : "qs_op";
    long err = 0;
    bpf_object* obj = load_bound(kProgKeyless, kProgKeylessSize, "prog_keyless", fd, wanted, &err);
    if (obj == nullptr) return err;
    LoadedKeyless l{obj, bpf_program__fd(bpf_object__find_program_by_name(obj, wanted)),
                    bpf_map__fd(bpf_object__find_map_by_name(obj, "args"))};
    keyless_[fd] = l;
    *out = l;
    return 0;
  }

  long run_keyless(int fd, uint32_t op, void* value, uint32_t value_size, uint64_t flags) {
    LoadedKeyless l;
    if (long err = load_keyless(fd, &l); err != 0) return err;
    KeylessArgs a{};
    a.op = op;
    a.flags = flags;
    memcpy(a.value, value, std::min(value_size, kMaxKeylessValue));
    const uint32_t zero = 0;
    if (bpf_map_update_elem(l.args_fd, &zero, &a, BPF_ANY) != 0) return -errno;
    LIBBPF_OPTS(bpf_test_run_opts, topts);
    if (bpf_prog_test_run_opts(l.prog_fd, &topts) != 0) return -errno;
    if (bpf_map_lookup_elem(l.args_fd, &zero, &a) != 0) return -errno;
    memcpy(value, a.value, std::min(value_size, kMaxKeylessValue));
    return a.ret;
  }

  std::map<int, Loaded> loaded_;
  std::map<int, LoadedKeyless> keyless_;
};

}  // namespace

std::unique_ptr<ProgSide> ProgSide::for_backend(Backend& backend) {
  if (!backend.emulated()) return std::make_unique<KernelProgSide>();
  return std::make_unique<EmuProgSide>();
}

}  // namespace bpfemu::conformance
