#include "kernel_prog.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstdarg>
#include <cstring>
#include <mutex>

// Generated at build time from the compiled .bpf.o files (bench/bin2c.cmake).
extern "C" {
extern const unsigned char bpfemu_bench_ops_obj[];
extern const unsigned long bpfemu_bench_ops_obj_len;
extern const unsigned char bpfemu_replay_obj[];
extern const unsigned long bpfemu_replay_obj_len;
}

namespace bench {
namespace {

std::mutex g_mu;     // libbpf's print hook is global; loads are serialised
std::string g_log;   // libbpf's messages of the load in progress

int collect(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  char buf[1024];
  int n = vsnprintf(buf, sizeof(buf), fmt, args);
  g_log += buf;
  return n;
}

std::string tail(const std::string& s, size_t n) { return s.size() <= n ? s : "..." + s.substr(s.size() - n); }

}  // namespace

std::unique_ptr<KernelProg> KernelProg::load(BpfObj which, const char* prog, int target_fd, const TargetDef& def,
                                             std::string* why) {
  std::lock_guard<std::mutex> lock(g_mu);
  g_log.clear();
  libbpf_set_print(collect);
  const unsigned char* bytes = which == BpfObj::kBenchOps ? bpfemu_bench_ops_obj : bpfemu_replay_obj;
  unsigned long len = which == BpfObj::kBenchOps ? bpfemu_bench_ops_obj_len : bpfemu_replay_obj_len;
  if (len == 0) {
    *why = "BPF objects were not built (clang not found at configure time)";
    return nullptr;
  }
  std::unique_ptr<KernelProg> kp(new KernelProg());
  kp->obj_ = bpf_object__open_mem(bytes, len, nullptr);
  if (kp->obj_ == nullptr) {
    *why = "bpf_object__open_mem: " + std::string(strerror(errno)) + " " + tail(g_log, 300);
    return nullptr;
  }
  bpf_program* p;
  bpf_program* chosen = nullptr;
  bpf_object__for_each_program(p, kp->obj_) {
    bool mine = strcmp(bpf_program__name(p), prog) == 0;
    bpf_program__set_autoload(p, mine);
    if (mine) chosen = p;
  }
  if (chosen == nullptr) {
    *why = std::string("no program ") + prog;
    return nullptr;
  }
  bpf_map* target = bpf_object__find_map_by_name(kp->obj_, "target");
  int err = 0;
  if (target_fd >= 0) {
    err = bpf_map__reuse_fd(target, target_fd);
  } else {
    err = bpf_map__set_type(target, static_cast<bpf_map_type>(def.type));
    if (err == 0) err = bpf_map__set_key_size(target, def.key_size);
    if (err == 0) err = bpf_map__set_value_size(target, def.value_size);
    if (err == 0) err = bpf_map__set_max_entries(target, def.max_entries);
    if (err == 0) err = bpf_map__set_map_flags(target, def.flags);
  }
  if (err != 0) {
    *why = "configuring map target: " + std::string(strerror(-err));
    return nullptr;
  }
  if ((err = bpf_object__load(kp->obj_)) != 0) {
    *why = "bpf_object__load(" + std::string(prog) + "): " + strerror(-err) + " " + tail(g_log, 600);
    return nullptr;
  }
  kp->prog_fd_ = bpf_program__fd(chosen);
  return kp;
}

KernelProg::~KernelProg() {
  if (obj_ != nullptr) bpf_object__close(obj_);
}

int KernelProg::map_fd(const char* name) const {
  bpf_map* m = bpf_object__find_map_by_name(obj_, name);
  return m != nullptr ? bpf_map__fd(m) : -ENOENT;
}

int KernelProg::run(uint32_t repeat, uint32_t* avg_ns) const {
  // XDP test runs need at least an Ethernet header of input.
  unsigned char pkt[64] = {};
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt, .data_size_in = sizeof(pkt), .repeat = static_cast<int>(repeat));
  int err = bpf_prog_test_run_opts(prog_fd_, &opts);
  if (err != 0) return err < 0 ? err : -err;
  *avg_ns = opts.duration;
  return 0;
}

}  // namespace bench
