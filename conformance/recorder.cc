#include <fcntl.h>
#include <sched.h>
#include <linux/bpf.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "conformance/scenario.h"
#include "core/cpu.h"
#include "emu/bpf_syscall.h"
#include "emu/bpffs.h"
#include "emu/fd_ops.h"
#include "emu/probe_event.h"

namespace bpfemu::conformance {

// Where a /sys/fs/bpf path is for this backend's filesystem calls.
namespace {
std::string fs_path(Backend& b, const std::string& path) {
  std::string real;
  if (b.emulated() && emu::bpffs_path(AT_FDCWD, path.c_str(), &real)) return real;
  return path;
}
}  // namespace


bool host_refuses(Recorder& r, uint32_t prog_type, uint32_t attach, uint32_t btf_id, const std::string& rows) {
  const bpf_insn insns[] = {{BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0}, {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}};
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.prog_type = prog_type;
  a.expected_attach_type = attach;
  a.attach_btf_id = btf_id;
  a.insns = reinterpret_cast<uintptr_t>(insns);
  a.insn_cnt = 2;
  a.license = reinterpret_cast<uintptr_t>("GPL");
  const long fd = syscall(__NR_bpf, BPF_PROG_LOAD, &a, sizeof(a));
  if (fd >= 0) {
    close(static_cast<int>(fd));
    return false;
  }
  if (errno != EPERM || geteuid() != 0) return false;
  const char* kind = prog_type == BPF_PROG_TYPE_LSM ? "LSM" : attach == BPF_TRACE_FENTRY ? "fentry" : "tracing";
  r.note((rows.empty() ? "" : rows + " ") + "left out: this host refuses every " + kind +
             " load (EPERM, a security policy)",
         1);
  return true;
}

void run_with_args(Recorder& r, int prog, std::vector<uint64_t> args, const std::string& label) {
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.test.prog_fd = static_cast<uint32_t>(prog);
  a.test.ctx_in = reinterpret_cast<uintptr_t>(args.data());
  a.test.ctx_size_in = static_cast<uint32_t>(args.size() * sizeof(uint64_t));
  a.test.retval = 0xaaaaaaaa;
  if (r.raw(label, BPF_PROG_TEST_RUN, &a, sizeof(a)) == 0) r.note(label + ": retval", a.test.retval);
}

long probe_pmu_type(Recorder& r, const char* pmu) {
  if (r.backend().emulated()) return strcmp(pmu, "kprobe") == 0 ? emu::kprobe_pmu_type() : emu::uprobe_pmu_type();
  const std::string path = std::string("/sys/bus/event_source/devices/") + pmu + "/type";
  FILE* f = fopen(path.c_str(), "re");
  if (f == nullptr) return -errno;
  long t = -1;
  const int n = fscanf(f, "%ld", &t);
  fclose(f);
  return n == 1 ? t : -EIO;
}

int load_prog(Recorder& r, uint32_t prog_type, uint32_t attach, uint32_t btf_id, const std::vector<bpf_insn>& insns,
              const std::string& label, uint32_t prog_flags, const char* license) {
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.prog_type = prog_type;
  a.expected_attach_type = attach;
  a.attach_btf_id = btf_id;
  a.prog_flags = prog_flags;
  a.insns = reinterpret_cast<uintptr_t>(insns.data());
  a.insn_cnt = static_cast<uint32_t>(insns.size());
  a.license = reinterpret_cast<uintptr_t>(license);
  return static_cast<int>(r.raw(label, BPF_PROG_LOAD, &a, sizeof(a), true));
}

std::string fdinfo_text_of(Recorder& r, int fd) {
  std::string text;
  if (!r.backend().emulated()) {
    std::ifstream in("/proc/self/fdinfo/" + std::to_string(fd));
    std::stringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  } else if (!emu::fdinfo_text(fd, &text)) {
    text.clear();
  }
  return text;
}

Bytes u32(uint32_t v) {
  Bytes b(4);
  memcpy(b.data(), &v, 4);
  return b;
}
Bytes u64(uint64_t v) {
  Bytes b(8);
  memcpy(b.data(), &v, 8);
  return b;
}
Bytes fill(size_t n, uint8_t byte) { return Bytes(n, byte); }
Bytes concat(const Bytes& a, const Bytes& b) {
  Bytes out = a;
  out.insert(out.end(), b.begin(), b.end());
  return out;
}
Bytes percpu_value(const Recorder& r, uint32_t value_size, uint8_t seed) {
  size_t stride = (value_size + 7) & ~7U;
  Bytes v(stride * r.ncpus());
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<uint8_t>(seed + i);
  return v;
}

Bytes lpm_key(uint32_t prefixlen, const Bytes& data) { return concat(u32(prefixlen), data); }

namespace {

std::string hex(const uint8_t* p, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  s.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    s += digits[p[i] >> 4];
    s += digits[p[i] & 15];
  }
  return s;
}
std::string hex(const Bytes& b) { return hex(b.data(), b.size()); }
std::string hex_opt(const std::optional<Bytes>& b) { return b ? hex(*b) : "NULL"; }

constexpr uint8_t kPoison = 0xAA;

bool is_percpu(uint32_t type) {
  return type == BPF_MAP_TYPE_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_ARRAY ||
         type == BPF_MAP_TYPE_LRU_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE;
}

}  // namespace

Recorder::Recorder(Backend& backend) : b_(backend), ncpus_(backend.num_possible_cpus()) {}

Recorder::~Recorder() {
  for (const auto& p : pins_) b_.obj_unpin(p.c_str());
  for (auto it = dirs_.rbegin(); it != dirs_.rend(); ++it) ::rmdir(fs_path(b_, *it).c_str());
  for (int fd : open_fds_) b_.close(fd);
  if (saved_cpu_ >= 0) set_cpu(saved_cpu_);
}

ProgSide& Recorder::prog() {
  if (!prog_) prog_ = ProgSide::for_backend(b_);
  return *prog_;
}

long Recorder::prog_lookup_key(const std::string& label, int fd, const Bytes& key) {
  const uint32_t value_size = info_of(fd).value_or(MapInfo{}).value_size;
  Bytes out(std::min<uint32_t>(std::max<uint32_t>(value_size, 1), 8), kPoison);
  long r = prog().lookup(fd, key.data(), static_cast<uint32_t>(key.size()), out.data(),
                         static_cast<uint32_t>(out.size()));
  errno = r < 0 ? static_cast<int>(-r) : 0;
  // A failed program lookup has no value to show (the test program's context
  // buffer is not a user buffer the kernel leaves untouched).
  return record("prog_lookup(k=" + label + ")", r, r == 0 ? hex(out) : "");
}

long Recorder::prog_update_key(const std::string& label, int fd, const Bytes& key, const Bytes& value,
                               uint64_t flags) {
  long r = prog().update(fd, key.data(), static_cast<uint32_t>(key.size()), value.data(),
                         static_cast<uint32_t>(value.size()), flags);
  errno = r < 0 ? static_cast<int>(-r) : 0;
  return record("prog_update(k=" + label + ",v=" + hex(value) + ",flags=" + std::to_string(flags) + ")", r);
}

long Recorder::prog_delete_key(const std::string& label, int fd, const Bytes& key) {
  long r = prog().remove(fd, key.data(), static_cast<uint32_t>(key.size()));
  errno = r < 0 ? static_cast<int>(-r) : 0;
  return record("prog_delete(k=" + label + ")", r);
}

long Recorder::prog_lookup(int fd, uint32_t key) { return prog_lookup_key(std::to_string(key), fd, u32(key)); }
long Recorder::prog_lookup(int fd, const Bytes& key) { return prog_lookup_key(hex(key), fd, key); }

long Recorder::prog_update(int fd, uint32_t key, const Bytes& value, uint64_t flags) {
  return prog_update_key(std::to_string(key), fd, u32(key), value, flags);
}
long Recorder::prog_update(int fd, const Bytes& key, const Bytes& value, uint64_t flags) {
  return prog_update_key(hex(key), fd, key, value, flags);
}

long Recorder::prog_delete(int fd, uint32_t key) { return prog_delete_key(std::to_string(key), fd, u32(key)); }
long Recorder::prog_delete(int fd, const Bytes& key) { return prog_delete_key(hex(key), fd, key); }

long Recorder::prog_for_each(int fd, uint32_t stop_at, uint64_t flags) {
  ProgSide::Walk walk;
  long r = prog().for_each(fd, stop_at, flags, false, &walk);
  errno = r < 0 ? static_cast<int>(-r) : 0;
  return record("prog_for_each(stop_at=" + std::to_string(stop_at) + ",flags=" + std::to_string(flags) + ")", r,
                "visited=" + std::to_string(walk.visited));
}

long Recorder::prog_for_each_delete(int fd, uint32_t stop_at, uint64_t flags) {
  ProgSide::Walk walk;
  long r = prog().for_each(fd, stop_at, flags, true, &walk);
  errno = r < 0 ? static_cast<int>(-r) : 0;
  return record("prog_for_each_delete(stop_at=" + std::to_string(stop_at) + ",flags=" + std::to_string(flags) + ")",
                r,
                "visited=" + std::to_string(walk.visited) + ",deleted=" + std::to_string(walk.deleted) +
                    ",delete_err=" + std::to_string(walk.delete_err));
}

long Recorder::prog_global_load(uint64_t step) {
  long r = prog().global_load(step);
  errno = r < 0 ? static_cast<int>(-r) : 0;
  return record("prog_global_load(step=" + std::to_string(step) + ")", r);
}

int Recorder::prog_global_fd(const std::string& section) {
  const int fd = prog().global_map_fd(section.c_str());
  errno = fd < 0 ? -fd : 0;
  record("prog_global_fd(" + section + ")", fd >= 0 ? 1 : fd);
  return fd;
}

long Recorder::prog_global_run(uint64_t add) {
  uint32_t retval = 0;
  uint64_t out[4] = {};
  long r = prog().global_run(add, &retval, out);
  errno = r < 0 ? static_cast<int>(-r) : 0;
  char text[160] = "";
  if (r == 0)
    snprintf(text, sizeof(text), "retval=%u runs=%llu last_add=%llu total=%llu step=%llu", retval,
             static_cast<unsigned long long>(out[0]), static_cast<unsigned long long>(out[1]),
             static_cast<unsigned long long>(out[2]), static_cast<unsigned long long>(out[3]));
  return record("prog_global_run(add=" + std::to_string(add) + ")", r, text);
}

long Recorder::prog_mim_load() {
  long r = prog().mim_load();
  errno = r < 0 ? static_cast<int>(-r) : 0;
  return record("prog_mim_load()", r);
}

int Recorder::prog_mim_fd(const std::string& name) {
  const int fd = prog().mim_map_fd(name.c_str());
  errno = fd < 0 ? -fd : 0;
  record("prog_mim_fd(" + name + ")", fd >= 0 ? 1 : fd);
  return fd;
}

long Recorder::prog_mim_run(const std::string& label, uint32_t outer, uint32_t op, uint32_t slot, uint32_t key,
                            uint64_t value) {
  int64_t ret = 0;
  long r = prog().mim_run(outer, op, slot, key, &value, &ret);
  errno = r < 0 ? static_cast<int>(-r) : 0;
  std::string text;
  if (r == 0)
    text = ret == ProgSide::kMimNoInnerMap ? "no inner map"
                                           : "ret=" + std::to_string(ret) + " value=" + std::to_string(value);
  return record("prog_mim_run(" + label + ")", r, text);
}

long Recorder::prog_timer_codes() {
  int64_t rc[ProgSide::kTimerCodes] = {};
  long r = prog().timer_codes(rc);
  errno = r < 0 ? static_cast<int>(-r) : 0;
  std::string text;
  for (int64_t v : rc) text += (text.empty() ? "" : " ") + std::to_string(v);
  return record("prog_timer_codes()", r, text);
}

long Recorder::prog_wq_codes() {
  int64_t rc[ProgSide::kWqCodes] = {};
  long r = prog().wq_codes(rc);
  errno = r < 0 ? static_cast<int>(-r) : 0;
  std::string text;
  for (int64_t v : rc) text += (text.empty() ? "" : " ") + std::to_string(v);
  return record("prog_wq_codes()", r, text);
}

long Recorder::prog_iter_load() {
  long r = prog().iter_load();
  errno = r < 0 ? static_cast<int>(-r) : 0;
  return record("prog_iter_load()", r);
}

int Recorder::prog_iter_fd(const std::string& name) {
  const int fd = prog().iter_prog_fd(name.c_str());
  errno = fd < 0 ? -fd : 0;
  record("prog_iter_fd(" + name + ")", fd >= 0 ? 1 : fd);
  return fd;
}

long Recorder::prog_kptr_load() {
  long r = prog().kptr_load();
  errno = r < 0 ? static_cast<int>(-r) : 0;
  return record("prog_kptr_load()", r);
}

int Recorder::prog_kptr_fd(const std::string& name) {
  const int fd = prog().kptr_map_fd(name.c_str());
  errno = fd < 0 ? -fd : 0;
  record("prog_kptr_fd(" + name + ")", fd >= 0 ? 1 : fd);
  return fd;
}

long Recorder::prog_kptr_run(const std::string& prog_name, uint32_t key, int64_t arg) {
  uint32_t retval = 0;
  int64_t out[4] = {};
  long r = prog().kptr_run(prog_name.c_str(), key, arg, &retval, out);
  errno = r < 0 ? static_cast<int>(-r) : 0;
  std::string text;
  if (r == 0) {
    text = "retval=" + std::to_string(retval);
    for (int64_t v : out) text += " " + std::to_string(v);
  }
  return record("prog_kptr_run(" + prog_name + " key=" + std::to_string(key) + " arg=" + std::to_string(arg) + ")", r,
                text);
}

long Recorder::prog_graph_load() {
  long r = prog().graph_load();
  errno = r < 0 ? static_cast<int>(-r) : 0;
  return record("prog_graph_load()", r);
}

int Recorder::prog_graph_fd(const std::string& name) {
  const int fd = prog().graph_map_fd(name.c_str());
  errno = fd < 0 ? -fd : 0;
  record("prog_graph_fd(" + name + ")", fd >= 0 ? 1 : fd);
  return fd;
}

long Recorder::prog_graph_run(const std::string& prog_name, uint32_t op, uint32_t key, int64_t arg) {
  uint32_t retval = 0;
  int64_t out[4] = {};
  long r = prog().graph_run(prog_name.c_str(), op, key, arg, &retval, out);
  errno = r < 0 ? static_cast<int>(-r) : 0;
  std::string text;
  if (r == 0) {
    text = "retval=" + std::to_string(retval);
    for (int64_t v : out) text += " " + std::to_string(v);
  }
  return record("prog_graph_run(" + prog_name + " op=" + std::to_string(op) + " key=" + std::to_string(key) +
                    " arg=" + std::to_string(arg) + ")",
                r, text);
}

void Recorder::prog_graph_unload() { prog().graph_unload(); }

// The value buffer of a program-side push/pop/peek: `value` resized to the
// map's value size (the helper accesses that many bytes), or nullopt when the
// test program cannot hold it.
std::optional<Bytes> Recorder::keyless_buffer(int fd, const Bytes& value) {
  const uint32_t vs = info_of(fd).value_or(MapInfo{}).value_size;
  if (vs == 0 || vs > ProgSide::kMaxKeylessValue) return std::nullopt;
  Bytes buf = value;
  buf.resize(vs, kPoison);
  return buf;
}

long Recorder::prog_keyless(const std::string& call, int fd, const Bytes& value, int op, uint64_t flags) {
  std::optional<Bytes> buf = keyless_buffer(fd, value);
  long r = -EOPNOTSUPP;
  if (buf) {
    const auto n = static_cast<uint32_t>(buf->size());
    r = op == 1 ? prog().push(fd, buf->data(), n, flags) : op == 2 ? prog().pop(fd, buf->data(), n)
                                                                   : prog().peek(fd, buf->data(), n);
  }
  errno = r < 0 ? static_cast<int>(-r) : 0;
  return record(call, r, op == 1 || !buf ? "" : hex(*buf));
}

long Recorder::prog_push(int fd, const Bytes& value, uint64_t flags) {
  return prog_keyless("prog_push(v=" + hex(value) + ",flags=" + std::to_string(flags) + ")", fd, value, 1, flags);
}

long Recorder::prog_pop(int fd) { return prog_keyless("prog_pop", fd, {}, 2, 0); }

long Recorder::prog_peek(int fd, const Bytes& value) {
  return prog_keyless("prog_peek(v=" + hex(value) + ")", fd, value, 0, 0);
}

void Recorder::set_cpu(int cpu) {
  if (saved_cpu_ < 0) saved_cpu_ = current_cpu();
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  int rc = sched_setaffinity(0, sizeof(set), &set);
  set_thread_cpu(cpu);
  record("set_cpu(" + std::to_string(cpu) + ")", rc == 0 ? 0 : -1);
}

int Recorder::record(std::string call, long ret, std::string out) {
  Step s;
  s.call = std::move(call);
  s.ret = ret;
  s.err = ret < 0 ? errno : 0;
  s.out = std::move(out);
  steps_.push_back(std::move(s));
  return static_cast<int>(ret);
}

void Recorder::note_text(const std::string& what, long value, const std::string& text) {
  errno = 0;
  record(what, value, text);
}

void Recorder::note(const std::string& what, long value) { record("note(" + what + ")", value); }

long Recorder::raw(const std::string& label, int cmd, void* attr, unsigned size, bool fd_result) {
  errno = 0;
  const long r = b_.bpf(cmd, attr, size);
  if (r >= 0 && fd_result) {
    open_fds_.push_back(static_cast<int>(r));
    record(label, 1);
  } else {
    record(label, r);
  }
  return r;
}

std::string Recorder::leaf_of(const std::string& path) const {
  const std::string prefix = pin_path("");
  return path.compare(0, prefix.size(), prefix) == 0 ? path.substr(prefix.size()) : path;
}

std::string Recorder::pin_path(const std::string& leaf) const {
  return "/sys/fs/bpf/bpfemu_conf_" + std::to_string(getpid()) + "_" + leaf;
}

size_t Recorder::sys_value_size(uint32_t type, uint32_t value_size) const {
  return is_percpu(type) ? ((value_size + 7) & ~7U) * static_cast<size_t>(ncpus_) : value_size;
}

std::optional<MapInfo> Recorder::info_of(int fd) {
  MapInfo info{};
  uint32_t len = sizeof(info);
  int saved = errno;
  int r = b_.obj_get_info_by_fd(fd, &info, &len);
  errno = saved;
  if (r != 0) return std::nullopt;
  return info;
}

size_t Recorder::value_size_of(int fd) {
  std::optional<MapInfo> info = info_of(fd);
  // Not a map (a scenario passing a bad fd): any buffer will do.
  return info ? sys_value_size(info->type, info->value_size) : 64;
}

int Recorder::create(uint32_t type, uint32_t key_size, uint32_t value_size, uint32_t max_entries, uint32_t flags,
                     const char* name, uint64_t map_extra) {
  MapCreateOpts o;
  o.map_flags = flags;
  o.map_extra = map_extra;
  return create_opts(type, name, key_size, value_size, max_entries, o);
}

int Recorder::create_opts(uint32_t type, const char* name, uint32_t key_size, uint32_t value_size,
                          uint32_t max_entries, const MapCreateOpts& opts) {
  errno = 0;
  int fd = b_.map_create(type, name, key_size, value_size, max_entries, &opts);
  char call[200];
  snprintf(call, sizeof(call), "create(type=%u,name=%s,key=%u,value=%u,max=%u,flags=0x%x,extra=%llu)", type,
           name ? name : "NULL", key_size, value_size, max_entries, opts.map_flags,
           static_cast<unsigned long long>(opts.map_extra));
  if (fd >= 0) open_fds_.push_back(fd);
  record(call, fd >= 0 ? 1 : fd);
  return fd;
}

int Recorder::update(int fd, const std::optional<Bytes>& key, const std::optional<Bytes>& value, uint64_t flags) {
  errno = 0;
  int r = b_.map_update_elem(fd, key ? key->data() : nullptr, value ? value->data() : nullptr, flags);
  return record("update(k=" + hex_opt(key) + ",v=" + hex_opt(value) + ",flags=" + std::to_string(flags) + ")", r);
}

int Recorder::lookup(int fd, const std::optional<Bytes>& key, uint64_t flags, size_t out_size, bool null_out) {
  Bytes out(out_size ? out_size : value_size_of(fd), kPoison);
  errno = 0;
  int r = b_.map_lookup_elem_flags(fd, key ? key->data() : nullptr, null_out ? nullptr : out.data(), flags);
  return record("lookup(k=" + hex_opt(key) + ",flags=" + std::to_string(flags) + (null_out ? ",out=NULL)" : ")"), r,
                null_out ? "" : hex(out));
}

int Recorder::lookup_and_delete(int fd, const std::optional<Bytes>& key, uint64_t flags, size_t out_size,
                                bool null_out) {
  Bytes out(out_size ? out_size : value_size_of(fd), kPoison);
  errno = 0;
  int r = b_.map_lookup_and_delete_elem_flags(fd, key ? key->data() : nullptr, null_out ? nullptr : out.data(), flags);
  return record("lookup_and_delete(k=" + hex_opt(key) + ",flags=" + std::to_string(flags) +
                    (null_out ? ",out=NULL)" : ")"),
                r, null_out ? "" : hex(out));
}

int Recorder::lookup_value(int fd, const std::optional<Bytes>& key, const Bytes& value, uint64_t flags) {
  Bytes buf = value;
  errno = 0;
  int r = b_.map_lookup_elem_flags(fd, key ? key->data() : nullptr, buf.data(), flags);
  return record("lookup_value(k=" + hex_opt(key) + ",v=" + hex(value) + ",flags=" + std::to_string(flags) + ")", r,
                hex(buf));
}

int Recorder::remove(int fd, const std::optional<Bytes>& key, uint64_t flags) {
  errno = 0;
  int r = flags ? b_.map_delete_elem_flags(fd, key ? key->data() : nullptr, flags)
                : b_.map_delete_elem(fd, key ? key->data() : nullptr);
  return record("delete(k=" + hex_opt(key) + ",flags=" + std::to_string(flags) + ")", r);
}

int Recorder::next_key(int fd, const std::optional<Bytes>& key, size_t key_size, bool null_out) {
  Bytes out(key_size ? key_size : 1, kPoison);
  errno = 0;
  int r = b_.map_get_next_key(fd, key ? key->data() : nullptr, null_out ? nullptr : out.data());
  return record("next_key(k=" + hex_opt(key) + (null_out ? ",out=NULL)" : ")"), r, null_out ? "" : hex(out));
}

int Recorder::walk(int fd, size_t key_size, int limit) {
  Bytes cur(key_size), next(key_size);
  std::string keys;
  bool first = true;
  int r = 0, n = 0;
  for (; n < limit; ++n) {
    r = b_.map_get_next_key(fd, first ? nullptr : cur.data(), next.data());
    if (r != 0) break;
    keys += hex(next) + " ";
    cur = next;
    first = false;
  }
  return record("walk", r, std::to_string(n) + ": " + keys);
}

int Recorder::walk_set(int fd, size_t key_size, int limit) {
  Bytes cur(key_size), next(key_size);
  std::set<std::string> keys;
  bool first = true;
  int r = 0, n = 0;
  for (; n < limit; ++n) {
    r = b_.map_get_next_key(fd, first ? nullptr : cur.data(), next.data());
    if (r != 0) break;
    keys.insert(hex(next));
    cur = next;
    first = false;
  }
  std::string out = std::to_string(n) + ": ";
  for (const auto& k : keys) out += k + " ";
  return record("walk_set", r, out);
}

int Recorder::freeze(int fd) {
  errno = 0;
  return record("freeze", b_.map_freeze(fd));
}

int Recorder::info(int fd, uint32_t info_len) {
  std::vector<uint8_t> buf(std::max<size_t>(info_len, sizeof(MapInfo)), 0);
  uint32_t len = info_len;
  errno = 0;
  int r = b_.obj_get_info_by_fd(fd, buf.data(), &len);
  MapInfo info{};
  memcpy(&info, buf.data(), sizeof(info));
  char out[256] = "";
  if (r == 0) {
    // ids differ between backends: record only that one was given.
    snprintf(out, sizeof(out), "len=%u type=%u id>0=%d key=%u value=%u max=%u flags=0x%x name=%.16s extra=%llu",
             std::min<uint32_t>(len, 88), info.type, info.id > 0, info.key_size, info.value_size, info.max_entries,
             info.map_flags, info.name, static_cast<unsigned long long>(info.map_extra));
  }
  return record("info(len=" + std::to_string(info_len) + ")", r, out);
}

int Recorder::load_program(uint32_t type, const std::vector<bpf_insn>& insns, const std::string& label,
                           uint32_t prog_flags, uint32_t expected_attach_type) {
  emu::BpfAttr a{};
  a.prog.prog_type = type;
  a.prog.prog_flags = prog_flags;
  a.prog.expected_attach_type = expected_attach_type;
  a.prog.insn_cnt = static_cast<uint32_t>(insns.size());
  a.prog.insns = reinterpret_cast<uintptr_t>(insns.data());
  a.prog.license = reinterpret_cast<uintptr_t>("GPL");
  return static_cast<int>(raw(label, BPF_PROG_LOAD, &a, sizeof(a), true));
}

void Recorder::run_program(uint32_t type, const std::vector<bpf_insn>& insns, uint32_t repeat,
                           const std::string& label) {
  const int prog = load_program(type, insns, "load " + label);
  if (prog < 0) return;
  uint8_t pkt[64] = {};
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.test.prog_fd = static_cast<uint32_t>(prog);
  a.test.data_in = reinterpret_cast<uintptr_t>(pkt);
  a.test.data_size_in = sizeof(pkt);
  a.test.repeat = repeat;
  if (raw("test_run " + label, BPF_PROG_TEST_RUN, &a, sizeof(a)) == 0) note(label + " retval", a.test.retval);
  close(prog);
}

int Recorder::memlock(int fd) { return fdinfo_line(fd, "memlock"); }

int Recorder::fdinfo_line(int fd, const std::string& key) {
  const std::string text = fdinfo_text_of(*this, fd);
  const size_t at = text.find(key + ":");
  if (at == std::string::npos) {
    errno = ENOENT;  // the same on both sides, whatever the last call left in errno
    return record(key, -1, "no " + key + " line");
  }
  const size_t end = text.find('\n', at);
  std::string line = text.substr(at, end == std::string::npos ? std::string::npos : end - at);
  errno = 0;
  return record(key, 0, line);
}

int Recorder::pin(int fd, const std::string& path) {
  errno = 0;
  int r = b_.obj_pin(fd, path.c_str());
  if (r == 0) pins_.push_back(path);
  return record("pin(" + leaf_of(path) + ")", r);
}

int Recorder::get(const std::string& path, uint32_t file_flags) {
  ObjOpts o;
  o.file_flags = file_flags;
  errno = 0;
  int fd = b_.obj_get_opts(path.c_str(), &o);
  if (fd >= 0) open_fds_.push_back(fd);
  record("get(" + leaf_of(path) + ",flags=" + std::to_string(file_flags) + ")", fd >= 0 ? 1 : fd);
  return fd;
}

int Recorder::pin_as(int fd, const std::string& path, const std::string& label) {
  errno = 0;
  int r = b_.obj_pin(fd, path.c_str());
  if (r == 0) pins_.push_back(path);
  return record("pin(" + label + ")", r);
}

int Recorder::get_as(const std::string& path, uint32_t file_flags, const std::string& label) {
  ObjOpts o;
  o.file_flags = file_flags;
  errno = 0;
  int fd = b_.obj_get_opts(path.c_str(), &o);
  if (fd >= 0) open_fds_.push_back(fd);
  record("get(" + label + ",flags=" + std::to_string(file_flags) + ")", fd >= 0 ? 1 : fd);
  return fd;
}

int Recorder::mkdir_bpffs(const std::string& path) {
  errno = 0;
  int r = ::mkdir(fs_path(b_, path).c_str(), 0755) == 0 ? 0 : -1;
  if (r == 0) dirs_.push_back(path);
  return record("mkdir(" + leaf_of(path) + ")", r);
}

int Recorder::rmdir_bpffs(const std::string& path) {
  errno = 0;
  int r = ::rmdir(fs_path(b_, path).c_str()) == 0 ? 0 : -1;
  dirs_.erase(std::remove(dirs_.begin(), dirs_.end(), path), dirs_.end());
  return record("rmdir(" + leaf_of(path) + ")", r);
}

int Recorder::unpin(const std::string& path) {
  errno = 0;
  int r = b_.obj_unpin(path.c_str());
  pins_.erase(std::remove(pins_.begin(), pins_.end(), path), pins_.end());
  return record("unpin", r);
}

int Recorder::get_fd_by_id_of(int fd) {
  const uint32_t id = info_of(fd).value_or(MapInfo{}).id;
  errno = 0;
  int nfd = b_.map_get_fd_by_id(id);
  if (nfd >= 0) open_fds_.push_back(nfd);
  record("get_fd_by_id", nfd >= 0 ? 1 : nfd);
  return nfd;
}

int Recorder::next_id_finds(int fd) {
  const uint32_t id = info_of(fd).value_or(MapInfo{}).id;
  uint32_t next = 0;
  errno = 0;
  int r = b_.map_get_next_id(id - 1, &next);
  return record("next_id(id-1)", r, r == 0 ? (next == id ? "finds-id" : "other-id") : "");
}

int Recorder::close(int fd) {
  errno = 0;
  int r = b_.close(fd);
  open_fds_.erase(std::remove(open_fds_.begin(), open_fds_.end(), fd), open_fds_.end());
  return record("close", r);
}

int Recorder::lookup_batch(int fd, std::optional<uint32_t> in_batch, uint32_t count, size_t key_size,
                           size_t value_size, const BatchOpts& opts, bool do_delete) {
  // Tokens are a u32 bucket index (hash) or a whole key (generic batch code).
  const size_t token_size = std::max<size_t>(key_size, 4);
  Bytes in(token_size, 0), out_token(token_size, kPoison);
  if (in_batch) memcpy(in.data(), &*in_batch, 4);
  Bytes keys(key_size * std::max<uint32_t>(count, 1), kPoison), values(value_size * std::max<uint32_t>(count, 1), kPoison);
  uint32_t n = count;
  errno = 0;
  void* inp = in_batch ? in.data() : nullptr;
  int r = do_delete ? b_.map_lookup_and_delete_batch(fd, inp, out_token.data(), keys.data(), values.data(), &n, &opts)
                    : b_.map_lookup_batch(fd, inp, out_token.data(), keys.data(), values.data(), &n, &opts);
  size_t shown = std::min<size_t>(n, count);
  std::string out = "count=" + std::to_string(n) + " token=" + hex(out_token) +
                    " keys=" + hex(keys.data(), shown * key_size) + " values=" + hex(values.data(), shown * value_size);
  return record(std::string(do_delete ? "lookup_and_delete_batch" : "lookup_batch") + "(in=" +
                    (in_batch ? std::to_string(*in_batch) : "NULL") + ",count=" + std::to_string(count) +
                    ",elem_flags=" + std::to_string(opts.elem_flags) + ",flags=" + std::to_string(opts.flags) + ")",
                r, out);
}

int Recorder::update_batch(int fd, const std::vector<Bytes>& keys, const std::vector<Bytes>& values, uint32_t count,
                           const BatchOpts& opts) {
  Bytes k, v;
  for (const auto& x : keys) k.insert(k.end(), x.begin(), x.end());
  for (const auto& x : values) v.insert(v.end(), x.begin(), x.end());
  uint32_t n = count;
  errno = 0;
  int r = b_.map_update_batch(fd, k.data(), v.data(), &n, &opts);
  return record("update_batch(count=" + std::to_string(count) + ",elem_flags=" + std::to_string(opts.elem_flags) +
                    ",flags=" + std::to_string(opts.flags) + ")",
                r, "count=" + std::to_string(n));
}

int Recorder::delete_batch(int fd, const std::vector<Bytes>& keys, uint32_t count, const BatchOpts& opts) {
  Bytes k;
  for (const auto& x : keys) k.insert(k.end(), x.begin(), x.end());
  uint32_t n = count;
  errno = 0;
  int r = b_.map_delete_batch(fd, k.data(), &n, &opts);
  return record("delete_batch(count=" + std::to_string(count) + ",elem_flags=" + std::to_string(opts.elem_flags) +
                    ",flags=" + std::to_string(opts.flags) + ")",
                r, "count=" + std::to_string(n));
}

int Recorder::batch_walk(int fd, uint32_t count, size_t key_size, size_t value_size, const BatchOpts& opts,
                         bool do_delete, bool as_set, int limit) {
  const size_t token_size = std::max<size_t>(key_size, 4);
  Bytes in(token_size, 0), out_token(token_size, kPoison);
  const std::string name = std::string(do_delete ? "lookup_and_delete_batch" : "lookup_batch");
  const std::string args = "count=" + std::to_string(count) + ",elem_flags=" + std::to_string(opts.elem_flags) +
                           ",flags=" + std::to_string(opts.flags) + ")";
  std::set<std::string> pairs;
  size_t total = 0;
  int r = 0, calls = 0;
  for (; calls < limit; ++calls) {
    Bytes keys(key_size * std::max<uint32_t>(count, 1), kPoison), values(value_size * std::max<uint32_t>(count, 1), kPoison);
    std::fill(out_token.begin(), out_token.end(), kPoison);
    uint32_t n = count;
    errno = 0;
    void* inp = calls == 0 ? nullptr : in.data();
    r = do_delete ? b_.map_lookup_and_delete_batch(fd, inp, out_token.data(), keys.data(), values.data(), &n, &opts)
                  : b_.map_lookup_batch(fd, inp, out_token.data(), keys.data(), values.data(), &n, &opts);
    const int saved = errno;
    size_t shown = std::min<size_t>(n, count);
    if (as_set) {
      if (r == 0 || saved == ENOENT) {
        total += shown;
        for (size_t i = 0; i < shown; ++i)
          pairs.insert(hex(keys.data() + i * key_size, key_size) + "=" + hex(values.data() + i * value_size, value_size));
      }
    } else {
      errno = saved;
      record(name + "_walk[" + std::to_string(calls) + "](" + args, r,
             "count=" + std::to_string(n) + " token=" + hex(out_token) + " keys=" + hex(keys.data(), shown * key_size) +
                 " values=" + hex(values.data(), shown * value_size));
    }
    if (r != 0) {
      errno = saved;
      break;
    }
    in = out_token;
  }
  if (!as_set) return r;
  const int made = r != 0 ? calls + 1 : calls;  // the failing call counts too
  std::string out = "calls=" + std::to_string(made) + " total=" + std::to_string(total) + ":";
  for (const auto& p : pairs) out += " " + p;
  return record(name + "_walk_set(" + args, r, out);
}

std::vector<Scenario>& registry() {
  static std::vector<Scenario> all;
  return all;
}

Registrar::Registrar(const char* type, const char* op, const char* name, std::function<void(Recorder&)> body) {
  registry().push_back(Scenario{type, op, name, std::move(body)});
}

}  // namespace bpfemu::conformance
