#include "conformance/prog_side.h"
#include "conformance/kptr_tag.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <string>

#include "api/libbpfemu/route.h"

namespace bpfemu::conformance {

// Embedded BPF objects (generated from bpf/*.bpf.c at build time).
extern const unsigned char kProgOpsV4[];
extern const unsigned long kProgOpsV4Size;
extern const unsigned char kProgOpsV8[];
extern const unsigned long kProgOpsV8Size;
extern const unsigned char kProgKeyless[];
extern const unsigned long kProgKeylessSize;
extern const unsigned char kProgLpm[];
extern const unsigned long kProgLpmSize;
extern const unsigned char kProgGlobal[];
extern const unsigned long kProgGlobalSize;
extern const unsigned char kProgTimer[];
extern const unsigned long kProgTimerSize;
extern const unsigned char kProgMapInMap[];
extern const unsigned long kProgMapInMapSize;
extern const unsigned char kProgWq[];
extern const unsigned long kProgWqSize;
extern const unsigned char kProgIter[];
extern const unsigned long kProgIterSize;
extern const unsigned char kProgKptr[];
extern const unsigned long kProgKptrSize;
extern const unsigned char kProgGraph[];
extern const unsigned long kProgGraphSize;

namespace {

using dropin::BpfRoute;
using dropin::BpfRouteScope;

// This binary talks to the kernel through libbpf (KernelBackend) and links
// libbpfemu's interposers only so that ProgSide can send libbpf to the
// emulator: bpf(2) goes to the kernel unless a ProgSide on the emulator says
// otherwise.
[[maybe_unused]] const bool kDefaultRouteIsKernel = [] {
  dropin::set_default_bpf_route(BpfRoute::kKernel);
  return true;
}();

// Mirrors struct prog_args in bpf/prog_ops.bpf.c (VALUE_SIZE 8 is the larger).
template <size_t V>
struct ProgArgs {
  uint32_t op;  // 0 lookup, 1 update, 2 delete, 3 for_each, 4 for_each deleting each element
  uint32_t stop_at;
  uint64_t flags;
  int64_t ret;
  uint32_t key;
  uint32_t visited;
  uint32_t deleted;
  uint32_t pad;
  int64_t delete_err;
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

// Mirrors struct lpm_args in bpf/prog_lpm.bpf.c.
struct LpmArgs {
  uint32_t op;  // 0 lookup, 1 update, 2 delete
  uint32_t pad;
  uint64_t flags;
  int64_t ret;
  uint8_t key[ProgSide::kLpmKeySize];
  uint64_t value;
};
static_assert(sizeof(LpmArgs) == 40);

// Mirrors struct global_args in bpf/prog_global.bpf.c.
struct GlobalArgs {
  uint64_t add;
  uint64_t out[4];  // runs, last_add, total, step
};

// Mirrors struct mim_args in bpf/prog_map_in_map.bpf.c.
struct MimArgs {
  uint32_t outer;
  uint32_t op;
  uint32_t slot;
  uint32_t key;
  uint64_t value;
  int64_t ret;
};
static_assert(sizeof(MimArgs) == 32);

// Opens an embedded object, rebinds its map `target` to fd (when fd >= 0), and
// loads it (only the program `only` when given): the object, or nullptr with
// *err.
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
  int e = 0;
  if (fd >= 0) {
    bpf_map* map = bpf_object__find_map_by_name(obj, "target");
    e = map != nullptr ? bpf_map__reuse_fd(map, fd) : -ENOENT;
  }
  if (e == 0) e = bpf_object__load(obj);
  if (e != 0) {
    bpf_object__close(obj);
    *err = e;
    return nullptr;
  }
  return obj;
}

// Mirrors struct kptr_args in bpf/prog_kptr.bpf.c and struct graph_args in
// bpf/prog_graph.bpf.c.
struct KptrArgs {
  uint32_t op, key;
  int64_t arg;
  int64_t out[4];
};
static_assert(sizeof(KptrArgs) == 48);

// One implementation for both backends: libbpf and BPF_PROG_TEST_RUN, with
// libbpf's bpf(2) sent along `route` for everything it does here. (libbpf
// probes kernel features once per process, on whichever side loads first;
// both sides then get the same answers, which is right as long as the
// emulator's profile is the kernel's.)
class LibbpfProgSide final : public ProgSide {
 public:
  explicit LibbpfProgSide(BpfRoute route) : route_(route) {}

  ~LibbpfProgSide() override {
    BpfRouteScope scope(route_);
    for (auto& [id, loaded] : loaded_) bpf_object__close(loaded.obj);
    if (global_ != nullptr) bpf_object__close(global_);
    if (mim_ != nullptr) bpf_object__close(mim_);
    if (kptr_ != nullptr) bpf_object__close(kptr_);
    if (iter_ != nullptr) bpf_object__close(iter_);
    if (graph_ != nullptr) bpf_object__close(graph_);
  }

  long lookup(int fd, const void* key, uint32_t key_size, void* value_out, uint32_t value_size) override {
    BpfRouteScope scope(route_);
    Op op{.code = 0, .key = key, .key_size = key_size, .value_out = value_out, .value_size = value_size};
    return keyed(fd, op);
  }
  long update(int fd, const void* key, uint32_t key_size, const void* value, uint32_t value_size,
              uint64_t flags) override {
    BpfRouteScope scope(route_);
    Op op{.code = 1, .key = key, .key_size = key_size, .value_in = value, .value_size = value_size, .flags = flags};
    return keyed(fd, op);
  }
  long remove(int fd, const void* key, uint32_t key_size) override {
    BpfRouteScope scope(route_);
    Op op{.code = 2, .key = key, .key_size = key_size};
    return keyed(fd, op);
  }
  long for_each(int fd, uint32_t stop_at, uint64_t flags, bool delete_each, Walk* walk) override {
    BpfRouteScope scope(route_);
    const uint32_t zero = 0;
    Op op{.code = delete_each ? 4u : 3u, .key = &zero, .key_size = 4, .flags = flags, .stop_at = stop_at,
          .walk = walk};
    return keyed(fd, op);
  }
  long push(int fd, const void* value, uint32_t value_size, uint64_t flags) override {
    BpfRouteScope scope(route_);
    return run_keyless(fd, 1, const_cast<void*>(value), value_size, flags);
  }
  long pop(int fd, void* value, uint32_t value_size) override {
    BpfRouteScope scope(route_);
    return run_keyless(fd, 2, value, value_size, 0);
  }
  long peek(int fd, void* value, uint32_t value_size) override {
    BpfRouteScope scope(route_);
    return run_keyless(fd, 0, value, value_size, 0);
  }

  long global_load(uint64_t step) override {
    BpfRouteScope scope(route_);
    if (global_ != nullptr) return -EALREADY;
    LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = "prog_global");
    bpf_object* obj = bpf_object__open_mem(kProgGlobal, kProgGlobalSize, &opts);
    if (obj == nullptr) return -errno;
    bpf_map* rodata = find_section(obj, ".rodata");
    int e = rodata != nullptr ? bpf_map__set_initial_value(rodata, &step, sizeof(step)) : -ENOENT;
    if (e == 0) e = bpf_object__load(obj);
    if (e != 0) {
      bpf_object__close(obj);
      return e;
    }
    global_ = obj;
    return 0;
  }

  int global_map_fd(const char* section) override {
    bpf_map* map = global_ != nullptr ? find_section(global_, section) : nullptr;
    return map != nullptr ? bpf_map__fd(map) : -ENOENT;
  }

  long timer_codes(int64_t rc[kTimerCodes]) override {
    BpfRouteScope scope(route_);
    long err = 0;
    bpf_object* obj = load_bound(kProgTimer, kProgTimerSize, "prog_timer", -1, nullptr, &err);
    if (obj == nullptr) return err;
    int64_t args[kTimerCodes] = {};
    LIBBPF_OPTS(bpf_test_run_opts, topts, .ctx_in = args, .ctx_size_in = sizeof(args));
    long r = bpf_prog_test_run_opts(bpf_program__fd(bpf_object__find_program_by_name(obj, "timer_codes")), &topts);
    if (r != 0) r = -errno;
    if (r == 0 && topts.retval != 0) r = -ENOENT;  // an element went missing
    memcpy(rc, args, sizeof(args));
    bpf_object__close(obj);
    return r;
  }

  long wq_codes(int64_t rc[kWqCodes]) override {
    BpfRouteScope scope(route_);
    long err = 0;
    bpf_object* obj = load_bound(kProgWq, kProgWqSize, "prog_wq", -1, nullptr, &err);
    if (obj == nullptr) return err;
    int64_t args[kWqCodes] = {};
    LIBBPF_OPTS(bpf_test_run_opts, topts, .ctx_in = args, .ctx_size_in = sizeof(args));
    long r = bpf_prog_test_run_opts(bpf_program__fd(bpf_object__find_program_by_name(obj, "wq_codes")), &topts);
    if (r != 0) r = -errno;
    if (r == 0 && topts.retval != 0) r = -ENOENT;  // an element went missing
    memcpy(rc, args, sizeof(args));
    bpf_object__close(obj);
    return r;
  }

  long mim_load() override {
    BpfRouteScope scope(route_);
    if (mim_ != nullptr) return -EALREADY;
    long err = 0;
    mim_ = load_bound(kProgMapInMap, kProgMapInMapSize, "prog_mim", -1, nullptr, &err);
    return mim_ != nullptr ? 0 : err;
  }

  int mim_map_fd(const char* name) override {
    bpf_map* map = mim_ != nullptr ? bpf_object__find_map_by_name(mim_, name) : nullptr;
    return map != nullptr ? bpf_map__fd(map) : -ENOENT;
  }

  long mim_run(uint32_t outer, uint32_t op, uint32_t slot, uint32_t key, uint64_t* value, int64_t* ret) override {
    BpfRouteScope scope(route_);
    if (mim_ == nullptr) return -ENOENT;
    MimArgs args{outer, op, slot, key, *value, 0};
    LIBBPF_OPTS(bpf_test_run_opts, topts, .ctx_in = &args, .ctx_size_in = sizeof(args));
    if (bpf_prog_test_run_opts(bpf_program__fd(bpf_object__find_program_by_name(mim_, outer == 0 ? "mim_arr_op" : "mim_hash_op")), &topts) != 0)
      return -errno;
    *value = args.value;
    *ret = args.ret;
    return 0;
  }

  long global_run(uint64_t add, uint32_t* retval, uint64_t out[4]) override {
    BpfRouteScope scope(route_);
    if (global_ == nullptr) return -ENOENT;
    GlobalArgs args{};
    args.add = add;
    LIBBPF_OPTS(bpf_test_run_opts, topts, .ctx_in = &args, .ctx_size_in = sizeof(args));
    if (bpf_prog_test_run_opts(bpf_program__fd(bpf_object__find_program_by_name(global_, "global_op")), &topts) != 0)
      return -errno;
    *retval = topts.retval;
    memcpy(out, args.out, sizeof(args.out));
    return 0;
  }

 private:
  // A keyed operation (prog_ops and prog_lpm): its inputs and where its outputs go.
  struct Op {
    uint32_t code = 0;
    const void* key = nullptr;
    uint32_t key_size = 0;
    const void* value_in = nullptr;
    void* value_out = nullptr;
    uint32_t value_size = 0;
    uint64_t flags = 0;
    uint32_t stop_at = 0;
    Walk* walk = nullptr;
  };

  enum class Kind { kOps, kLpm, kKeyless };
  struct Loaded {
    bpf_object* obj = nullptr;
    Kind kind = Kind::kOps;
    int prog_fd = -1;
    int args_fd = -1;  // kLpm, kKeyless: the `args` array
    uint32_t value_size = 0;
  };

  static bpf_map* find_section(bpf_object* obj, const char* section) {
    // libbpf names a section's map "<object name prefix><section>".
    bpf_map* map = nullptr;
    const size_t n = strlen(section);
    bpf_object__for_each_map(map, obj) {
      const char* name = bpf_map__name(map);
      const size_t len = strlen(name);
      if (len >= n && strcmp(name + len - n, section) == 0) return map;
    }
    return nullptr;
  }

  static long map_info(int fd, bpf_map_info* info) {
    *info = {};
    uint32_t len = sizeof(*info);
    return bpf_obj_get_info_by_fd(fd, info, &len) != 0 ? -errno : 0;
  }

  // The object for the map behind fd (info: its bpf_map_info), loaded with
  // `target` rebound to it (once per map: keyed by map id, so that a map made
  // later on a reused fd number gets its own).
  long load(int fd, const bpf_map_info& info, Kind kind, Loaded* out) {
    if (auto it = loaded_.find(info.id); it != loaded_.end()) {
      if (it->second.kind != kind) return -EOPNOTSUPP;
      *out = it->second;
      return 0;
    }
    Loaded l;
    l.kind = kind;
    l.value_size = info.value_size;
    long err = 0;
    const char* prog = nullptr;
    if (kind == Kind::kOps) {
      if (info.key_size != 4 || (info.value_size != 4 && info.value_size != 8)) return -EOPNOTSUPP;
      const bool v4 = info.value_size == 4;
      prog = "prog_op";
      l.obj = load_bound(v4 ? kProgOpsV4 : kProgOpsV8, v4 ? kProgOpsV4Size : kProgOpsV8Size, "prog_ops", fd, nullptr,
                         &err);
    } else if (kind == Kind::kLpm) {
      if (info.type != BPF_MAP_TYPE_LPM_TRIE || info.key_size != kLpmKeySize || info.value_size != 8)
        return -EOPNOTSUPP;
      prog = "lpm_op";
      l.obj = load_bound(kProgLpm, kProgLpmSize, "prog_lpm", fd, nullptr, &err);
    } else {
      if (info.value_size > kMaxKeylessValue) return -EOPNOTSUPP;
      // The verifier refuses pop on a bloom filter: load only what the type allows.
      prog = info.type == BPF_MAP_TYPE_BLOOM_FILTER ? "bloom_op" : "qs_op";
      l.obj = load_bound(kProgKeyless, kProgKeylessSize, "prog_keyless", fd, prog, &err);
    }
    if (l.obj == nullptr) return err;
    l.prog_fd = bpf_program__fd(bpf_object__find_program_by_name(l.obj, prog));
    if (bpf_map* args = bpf_object__find_map_by_name(l.obj, "args"); args != nullptr) l.args_fd = bpf_map__fd(args);
    loaded_[info.id] = l;
    *out = l;
    return 0;
  }

  long keyed(int fd, const Op& op) {
    bpf_map_info info;
    if (long err = map_info(fd, &info); err != 0) return err;
    const bool lpm = info.type == BPF_MAP_TYPE_LPM_TRIE;
    if (op.key_size != (lpm ? kLpmKeySize : 4) || (lpm && op.code > 2)) return -EOPNOTSUPP;
    Loaded l;
    if (long err = load(fd, info, lpm ? Kind::kLpm : Kind::kOps, &l); err != 0) return err;
    return lpm ? run_lpm(l, op) : run_ops(l, op);
  }

  // prog_ops: the arguments are the syscall program's context.
  static long run_ops(const Loaded& l, const Op& op) {
    ProgArgs<8> args{};
    args.op = op.code;
    args.stop_at = op.stop_at;
    args.flags = op.flags;
    memcpy(&args.key, op.key, sizeof(args.key));
    if (op.value_in != nullptr) memcpy(args.value, op.value_in, std::min(op.value_size, l.value_size));
    const size_t size = offsetof(ProgArgs<8>, value) + l.value_size;
    LIBBPF_OPTS(bpf_test_run_opts, topts, .ctx_in = &args, .ctx_size_in = static_cast<uint32_t>(size));
    if (bpf_prog_test_run_opts(l.prog_fd, &topts) != 0) return -errno;
    if (op.value_out != nullptr) memcpy(op.value_out, args.value, std::min(op.value_size, l.value_size));
    if (op.walk != nullptr) *op.walk = Walk{args.visited, args.deleted, args.delete_err};
    return args.ret;
  }

  // prog_lpm: the arguments go through its `args` array (a raw tracepoint program).
  static long run_lpm(const Loaded& l, const Op& op) {
    LpmArgs a{};
    a.op = op.code;
    a.flags = op.flags;
    memcpy(a.key, op.key, sizeof(a.key));
    if (op.value_in != nullptr) memcpy(&a.value, op.value_in, std::min<size_t>(op.value_size, sizeof(a.value)));
    const uint32_t zero = 0;
    if (bpf_map_update_elem(l.args_fd, &zero, &a, BPF_ANY) != 0) return -errno;
    LIBBPF_OPTS(bpf_test_run_opts, topts);
    if (bpf_prog_test_run_opts(l.prog_fd, &topts) != 0) return -errno;
    if (bpf_map_lookup_elem(l.args_fd, &zero, &a) != 0) return -errno;
    if (op.value_out != nullptr) memcpy(op.value_out, &a.value, std::min<size_t>(op.value_size, sizeof(a.value)));
    return a.ret;
  }

  long run_keyless(int fd, uint32_t code, void* value, uint32_t value_size, uint64_t flags) {
    bpf_map_info info;
    Loaded l;
    if (long err = map_info(fd, &info); err != 0) return err;
    if (long err = load(fd, info, Kind::kKeyless, &l); err != 0) return err;
    KeylessArgs a{};
    a.op = code;
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

  long kptr_load() override {
    BpfRouteScope scope(route_);
    if (kptr_ != nullptr) return -EALREADY;
    LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = "prog_kptr");
    bpf_object* obj = bpf_object__open_mem(kProgKptr, kProgKptrSize, &opts);
    if (obj == nullptr) return -errno;
    int e = tag_kptrs(obj, "value", {"n", "c"});
    if (e == 0) e = bpf_object__load(obj);
    if (e != 0) {
      bpf_object__close(obj);
      return e;
    }
    kptr_ = obj;
    return 0;
  }

  long iter_load() override {
    BpfRouteScope scope(route_);
    if (iter_ != nullptr) return -EALREADY;
    long err = 0;
    iter_ = load_bound(kProgIter, kProgIterSize, "prog_iter", -1, nullptr, &err);
    return iter_ != nullptr ? 0 : err;
  }

  int iter_prog_fd(const char* name) override {
    bpf_program* p = iter_ != nullptr ? bpf_object__find_program_by_name(iter_, name) : nullptr;
    return p != nullptr ? bpf_program__fd(p) : -ENOENT;
  }

  int kptr_map_fd(const char* name) override {
    bpf_map* map = kptr_ != nullptr ? bpf_object__find_map_by_name(kptr_, name) : nullptr;
    return map != nullptr ? bpf_map__fd(map) : -ENOENT;
  }

  long kptr_run(const char* prog, uint32_t key, int64_t arg, uint32_t* retval, int64_t out[4]) override {
    BpfRouteScope scope(route_);
    bpf_program* p = kptr_ != nullptr ? bpf_object__find_program_by_name(kptr_, prog) : nullptr;
    if (p == nullptr) return -ENOENT;
    KptrArgs args{0, key, arg, {}};
    LIBBPF_OPTS(bpf_test_run_opts, topts, .ctx_in = &args, .ctx_size_in = sizeof(args));
    if (bpf_prog_test_run_opts(bpf_program__fd(p), &topts) != 0) return -errno;
    *retval = topts.retval;
    memcpy(out, args.out, sizeof(args.out));
    return 0;
  }

  long graph_load() override {
    BpfRouteScope scope(route_);
    if (graph_ != nullptr) return -EALREADY;
    LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = "prog_graph");
    bpf_object* obj = bpf_object__open_mem(kProgGraph, kProgGraphSize, &opts);
    if (obj == nullptr) return -errno;
    if (const int e = bpf_object__load(obj); e != 0) {
      bpf_object__close(obj);
      return e;
    }
    graph_ = obj;
    return 0;
  }

  int graph_map_fd(const char* name) override {
    bpf_map* map = graph_ != nullptr ? bpf_object__find_map_by_name(graph_, name) : nullptr;
    return map != nullptr ? bpf_map__fd(map) : -ENOENT;
  }

  long graph_run(const char* prog, uint32_t op, uint32_t key, int64_t arg, uint32_t* retval,
                 int64_t out[4]) override {
    BpfRouteScope scope(route_);
    bpf_program* p = graph_ != nullptr ? bpf_object__find_program_by_name(graph_, prog) : nullptr;
    if (p == nullptr) return -ENOENT;
    KptrArgs args{op, key, arg, {}};  // struct graph_args has the same layout
    LIBBPF_OPTS(bpf_test_run_opts, topts, .ctx_in = &args, .ctx_size_in = sizeof(args));
    if (bpf_prog_test_run_opts(bpf_program__fd(p), &topts) != 0) return -errno;
    *retval = topts.retval;
    memcpy(out, args.out, sizeof(args.out));
    return 0;
  }

  void graph_unload() override {
    BpfRouteScope scope(route_);
    if (graph_ != nullptr) bpf_object__close(graph_);
    graph_ = nullptr;
  }

  BpfRoute route_;
  std::map<uint32_t, Loaded> loaded_;  // by map id
  bpf_object* global_ = nullptr;
  bpf_object* mim_ = nullptr;
  bpf_object* kptr_ = nullptr;
  bpf_object* iter_ = nullptr;
  bpf_object* graph_ = nullptr;
};

}  // namespace

std::unique_ptr<ProgSide> ProgSide::for_backend(Backend& backend) {
  return std::make_unique<LibbpfProgSide>(backend.emulated() ? BpfRoute::kEmulator : BpfRoute::kKernel);
}

}  // namespace bpfemu::conformance
