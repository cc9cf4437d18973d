#include "conformance/prog_side.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

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

class KernelProgSide final : public ProgSide {
 public:
  ~KernelProgSide() override {
    for (auto& [fd, loaded] : loaded_) bpf_object__close(loaded.obj);
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
    LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = "prog_ops");
    bpf_object* obj = bpf_object__open_mem(v4 ? kProgOpsV4 : kProgOpsV8, v4 ? kProgOpsV4Size : kProgOpsV8Size, &opts);
    if (obj == nullptr) return -errno;
    bpf_map* map = bpf_object__find_map_by_name(obj, "target");
    int err = map != nullptr ? bpf_map__reuse_fd(map, fd) : -ENOENT;
    if (err == 0) err = bpf_object__load(obj);
    if (err != 0) {
      bpf_object__close(obj);
      return err;
    }
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

  std::map<int, Loaded> loaded_;
};

}  // namespace

std::unique_ptr<ProgSide> ProgSide::for_backend(Backend& backend) {
  if (backend.name() == "kernel") return std::make_unique<KernelProgSide>();
  return std::make_unique<EmuProgSide>();
}

}  // namespace bpfemu::conformance
