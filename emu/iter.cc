// BPF iterators: the seq_file loop of the kernel's bpf_seq_read over the
// bpf_map and bpf_map_elem targets, and the seq helpers.
#include "emu/iter.h"

#include <linux/bpf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "core/libbpf_btf.h"
#include "core/log.h"
#include "core/map.h"
#include "core/uaccess.h"
#include "emu/bprintf.h"
#include "emu/interpreter.h"
#include "emu/link.h"
#include "emu/objects.h"
#include "emu/prog_helpers.h"
#include "emu/program.h"
#include "emu/store.h"

namespace bpfemu::emu {
namespace {

constexpr size_t kSeqBufSize = 4096 << 3;      // the kernel's seq buffer: eight pages
constexpr int kMaxIterObjects = 1000000;       // objects one read may visit
constexpr uint32_t kMaxSeqPrintfArgs = 12;     // MAX_BPRINTF_VARARGS

struct Session;
thread_local Session* t_running = nullptr;  // whose program runs on this thread now
std::atomic<uint64_t> g_session_ids{0};

// One object of the walk: a map (bpf_map) or an element (bpf_map_elem).
struct Obj {
  uint32_t map_id = 0;
  std::vector<uint8_t> key;  // elements: the key (a hash map's) or the index (an array's)
};

// The kernel's seq_file and bpf_iter_priv_data for one iterator fd.
struct Session {
  std::mutex mu;
  Store* store = nullptr;
  uint32_t prog_id = 0;
  uint32_t map_id = 0;  // bpf_map_elem: the map walked (held); bpf_map: 0
  bool elem = false;
  ino_t ino = 0;  // the memfd's, to tell a reused fd number from ours
  pid_t pid = 0;  // the process that made it: a forked child's copy of the table is not its own
  uint64_t session_id = 0, seq_num = 0;
  bool done_stop = false;
  std::vector<char> buf;
  size_t count = 0, from = 0;
  int64_t index = 0;
  // Where the walk stands: the current map id (bpf_map), or the current
  // element's key (bpf_map_elem); at_end once next() found nothing.
  uint32_t cur_map_id = 0;
  std::vector<uint8_t> cur_key;
  bool have_key = false, at_end = false;
  // A hash map's element after the current one, taken before the program
  // ran: where the walk goes on when the program deleted the current one.
  std::vector<uint8_t> ahead_key;
  bool have_ahead = false;

  bool overflowed() const { return count == buf.size(); }
};

std::mutex g_mu;
std::unordered_map<int, std::shared_ptr<Session>> g_sessions;
std::atomic<int> g_count{0};

Map* map_view(Store& store, uint32_t id) {
  int err = 0;
  Object* o = view_of(store, ObjKind::kMap, id, &err);
  return o != nullptr ? static_cast<Map*>(o) : nullptr;
}

bool is_array(const Map& m) {
  const uint32_t t = m.attr().map_type;
  return t == BPF_MAP_TYPE_ARRAY || t == BPF_MAP_TYPE_PERCPU_ARRAY;
}
bool is_percpu(const Map& m) {
  const uint32_t t = m.attr().map_type;
  return t == BPF_MAP_TYPE_PERCPU_ARRAY || t == BPF_MAP_TYPE_PERCPU_HASH || t == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

// The element at or after the walk's position (seq start), without moving it.
bool elem_current(Session& s, Map& m, Obj* out) {
  if (s.at_end) return false;
  out->map_id = m.id();
  if (is_array(m)) {
    uint32_t idx = 0;
    if (s.have_key) memcpy(&idx, s.cur_key.data(), 4);
    if (idx >= m.attr().max_entries) return false;
    out->key.assign(reinterpret_cast<uint8_t*>(&idx), reinterpret_cast<uint8_t*>(&idx) + 4);
    return true;
  }
  out->key.assign(m.attr().key_size, 0);
  if (s.have_key && m.ops().peek_value(m, s.cur_key.data()) == nullptr && s.have_ahead &&
      m.ops().peek_value(m, s.ahead_key.data()) != nullptr)
    s.cur_key = s.ahead_key;  // the current element went: the one after it
  if (s.have_key && m.ops().peek_value(m, s.cur_key.data()) != nullptr) {
    out->key = s.cur_key;
    return true;
  }
  // First element, or (the current one went) the one after it.
  if (m.ops().get_next_key(m, s.have_key ? s.cur_key.data() : nullptr, out->key.data()) != 0) return false;
  s.cur_key = out->key;
  s.have_key = true;
  return true;
}

// Moves the walk past the current element (seq next).
bool elem_next(Session& s, Map& m, Obj* out) {
  out->map_id = m.id();
  if (is_array(m)) {
    uint32_t idx = 0;
    if (s.have_key) memcpy(&idx, s.cur_key.data(), 4);
    ++idx;
    s.cur_key.assign(reinterpret_cast<uint8_t*>(&idx), reinterpret_cast<uint8_t*>(&idx) + 4);
    s.have_key = true;
    return elem_current(s, m, out);
  }
  out->key.assign(m.attr().key_size, 0);
  if (m.ops().peek_value(m, s.cur_key.data()) == nullptr) {
    // The program deleted the current element: go on from the one after it.
    if (!s.have_ahead) {
      s.at_end = true;
      return false;
    }
    s.cur_key = s.ahead_key;
    return elem_current(s, m, out);
  }
  if (m.ops().get_next_key(m, s.cur_key.data(), out->key.data()) != 0) {
    s.at_end = true;
    return false;
  }
  s.cur_key = out->key;
  return true;
}

// The map with the lowest id at or after the walk's (bpf_map_get_curr_or_next).
bool map_current(Session& s, Obj* out) {
  for (uint32_t id = s.cur_map_id == 0 ? 0 : s.cur_map_id - 1;;) {
    uint32_t next = 0;
    if (s.store->next_id(ObjKind::kMap, id, &next) != 0) return false;
    if (map_view(*s.store, next) != nullptr) {
      s.cur_map_id = next;
      out->map_id = next;
      return true;
    }
    id = next;
  }
}

bool seq_start(Session& s, Obj* out) {
  bool ok = false;
  if (!s.elem) {
    ok = map_current(s, out);
  } else if (Map* m = map_view(*s.store, s.map_id); m != nullptr) {
    ok = elem_current(s, *m, out);
  }
  if (ok && s.index == 0) ++s.index;
  return ok;
}

bool seq_next(Session& s, Obj* out) {
  ++s.index;
  if (!s.elem) {
    ++s.cur_map_id;
    return map_current(s, out);
  }
  Map* m = map_view(*s.store, s.map_id);
  return m != nullptr && elem_next(s, *m, out);
}

// struct bpf_map as this kernel lays it out, zeroed but for what a program
// is likely to read.
std::vector<uint8_t> map_struct(const Map& m) {
  const VmlinuxTypes* types = vmlinux_types();
  size_t size = 256;
  if (types != nullptr)
    if (auto it = types->struct_sizes.find("bpf_map"); it != types->struct_sizes.end()) size = it->second;
  std::vector<uint8_t> out(size, 0);
  if (types == nullptr) return out;
  auto put = [&](const char* field, const void* v, uint32_t n) {
    const auto* f = types->field("bpf_map", field);
    if (f == nullptr || f->first + f->second > size) return;
    memcpy(out.data() + f->first, v, std::min(n, f->second));
  };
  const MapAttr& a = m.attr();
  const uint32_t id = m.id();
  put("map_type", &a.map_type, 4);
  put("key_size", &a.key_size, 4);
  put("value_size", &a.value_size, 4);
  put("max_entries", &a.max_entries, 4);
  put("map_flags", &a.map_flags, 4);
  put("map_extra", &a.map_extra, 8);
  put("id", &id, 4);
  put("name", a.map_name, sizeof(a.map_name));
  return out;
}

// Runs the program on obj (nullptr: the call at the end): 0, -EAGAIN when it
// returned nonzero (the kernel's "show this object again"), or -errno.
int seq_show(Session& s, const Obj* obj, bool in_stop) {
  if (in_stop && s.done_stop) return 0;
  int err = 0;
  Object* p = view_of(*s.store, ObjKind::kProg, s.prog_id, &err);
  if (p == nullptr) return err;
  const auto& prog = *static_cast<const Program*>(p);
  struct {
    uint64_t seq, session_id, seq_num;
  } meta{reinterpret_cast<uint64_t>(&s), s.session_id, s.seq_num};
  uint64_t ctx[4] = {reinterpret_cast<uint64_t>(&meta), 0, 0, 0};
  RunEnv env;
  if (int e = add_program_maps(prog, &env); e != 0) return e;
  env.set_ctx(ctx, s.elem ? 32 : 16, false);
  env.memory.add(&meta, sizeof(meta), false);
  std::vector<uint8_t> mstruct, key, percpu;
  Map* m = map_view(*s.store, s.elem ? s.map_id : (obj != nullptr ? obj->map_id : 0));
  if (m != nullptr && (s.elem || obj != nullptr)) {
    mstruct = map_struct(*m);
    ctx[1] = reinterpret_cast<uint64_t>(mstruct.data());
    env.memory.add(mstruct.data(), mstruct.size(), false);
  }
  if (s.elem && obj != nullptr && m != nullptr) {
    key = obj->key;
    if (!is_array(*m)) {
      s.ahead_key.assign(key.size(), 0);
      s.have_ahead = m->ops().get_next_key(*m, key.data(), s.ahead_key.data()) == 0;
    }
    ctx[2] = reinterpret_cast<uint64_t>(key.data());
    env.memory.add(key.data(), key.size(), false);
    const uint32_t vsize = m->attr().value_size;
    if (is_percpu(*m)) {
      // Every CPU's value, each in round_up(value_size, 8) bytes, as a copy.
      const uint32_t stride = (vsize + 7) & ~7U;
      percpu.assign(size_t{stride} * m->nr_cpus(), 0);
      for (uint32_t cpu = 0; cpu < m->nr_cpus(); ++cpu)
        if (void* v = helpers::map_lookup_percpu(*m, key.data(), cpu); v != nullptr)
          memcpy(percpu.data() + size_t{stride} * cpu, v, vsize);
      ctx[3] = reinterpret_cast<uint64_t>(percpu.data());
      env.memory.add(percpu.data(), percpu.size(), true);
    } else if (void* v = m->ops().peek_value(*m, key.data()); v != nullptr) {
      ctx[3] = reinterpret_cast<uint64_t>(v);  // the element itself: writes land in the map
      env.memory.add(v, vsize, true);
    }
  }
  Session* saved = t_running;
  t_running = &s;
  uint64_t r0 = 0;
  const int e = run_program(prog, env, reinterpret_cast<uint64_t>(ctx), &r0);
  t_running = saved;
  if (e != 0) return e;
  return r0 == 0 ? 0 : -EAGAIN;
}

// The kernel's bpf_seq_read, step for step: serve what is buffered, else fill
// the buffer with whole objects' output until it holds `size` bytes.
ssize_t seq_read(Session& s, void* ubuf, size_t size) {
  if (s.buf.empty()) s.buf.assign(kSeqBufSize, 0);
  size_t copied = 0;
  int err = 0;
  auto copy_out = [&](size_t at) -> bool {
    const size_t n = std::min(s.count, size);
    if (n != 0 && copy_to_user(ubuf, s.buf.data() + at, n) != 0) return false;
    copied = n;
    s.count -= n;
    s.from = at + n;
    return true;
  };
  if (s.count != 0) return copy_out(s.from) ? static_cast<ssize_t>(copied) : -EFAULT;
  s.from = 0;
  Obj cur;
  bool have = seq_start(s, &cur);
  if (have) {
    err = seq_show(s, &cur, false);
    if (err == 0 && s.overflowed()) err = -E2BIG;
    if (err != 0) {
      s.count = 0;
      return err;
    }
    for (int num_objs = 1;; ++num_objs) {
      const size_t offs = s.count;
      Obj next;
      have = seq_next(s, &next);
      if (!have) break;
      cur = next;
      ++s.seq_num;
      if (s.count >= size) break;
      if (num_objs >= kMaxIterObjects) {
        if (offs == 0) return -EAGAIN;
        break;
      }
      err = seq_show(s, &cur, false);
      if (err == 0 && s.overflowed()) err = -E2BIG;
      if (err != 0) {
        s.count = offs;
        if (offs == 0) return err;
        err = 0;
        break;
      }
    }
  }
  if (!have) {
    // The walk is over: the program runs once more with no object.
    const size_t offs = s.count;
    seq_show(s, nullptr, true);
    if (!s.overflowed()) {
      s.done_stop = true;
    } else {
      s.count = offs;
      if (offs == 0) return -E2BIG;
    }
  }
  return copy_out(0) ? static_cast<ssize_t>(copied) : -EFAULT;
}

std::shared_ptr<Session> session_of(int fd) {
  if (g_count.load(std::memory_order_relaxed) == 0) return nullptr;
  std::shared_ptr<Session> s;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    auto it = g_sessions.find(fd);
    if (it == g_sessions.end() || it->second->pid != getpid()) return nullptr;
    s = it->second;
  }
  struct stat st{};
  if (fstat(fd, &st) != 0 || st.st_ino != s->ino) {  // closed behind our back: the number is another file now
    iter_forget(fd);
    return nullptr;
  }
  return s;
}

// Appends len bytes to the running session's buffer as seq_write does: all
// or, when they do not fit below its last byte, nothing (overflowed).
int seq_append(Session& s, const char* data, size_t len) {
  if (s.count + len < s.buf.size()) {
    memcpy(s.buf.data() + s.count, data, len);
    s.count += len;
    return 0;
  }
  s.count = s.buf.size();
  return -EOVERFLOW;
}

Session* running_session(interp::HelperCall& c, const char* helper) {
  if (t_running == nullptr || c.a[0] != reinterpret_cast<uint64_t>(t_running)) {
    c.m.fault("%s: R1 is not the iterator's meta->seq (only iterator programs may call it)", helper);
    return nullptr;
  }
  return t_running;
}

}  // namespace

bool iter_target_emulated(const std::string& target) { return target == "bpf_map" || target == "bpf_map_elem"; }

int sys_iter_create(uint32_t link_fd, uint32_t flags) {
  if (flags != 0) return log_reason(-EINVAL, "iter_create.flags must be 0");
  ObjKind kind = ObjKind::kNone;
  uint8_t access = 0;
  int err = -EBADF;
  Object* obj = object_from_fd_checked(static_cast<int>(link_fd), &kind, &access, &err);
  if (obj == nullptr) return log_reason(err, "link_fd %u is not a BPF object", link_fd);
  if (kind != ObjKind::kLink) return log_reason(-EINVAL, "link_fd %u is not a link", link_fd);
  auto& link = *static_cast<Link*>(obj);
  const LinkHeader& h = link.header();
  if (h.type != BPF_LINK_TYPE_ITER) return log_reason(-EINVAL, "link %u is not an iterator link", link.id());
  auto s = std::make_shared<Session>();
  s->store = link.store();
  s->prog_id = std::atomic_ref<uint32_t>(const_cast<uint32_t&>(h.prog_id)).load();
  s->map_id = h.iter_map_id;
  s->elem = strcmp(h.tp_name, "bpf_map_elem") == 0;
  s->session_id = ++g_session_ids;
  // A read-only fd, as the kernel's (write is EBADF).
  const int mfd = memfd_create("bpf_iter", MFD_CLOEXEC);
  if (mfd < 0) return log_reason(-errno, "memfd_create for the iterator fd failed");
  char path[64];
  snprintf(path, sizeof(path), "/proc/self/fd/%d", mfd);
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  close(mfd);
  if (fd < 0) return log_reason(-errno, "reopening the iterator's memfd read-only failed");
  struct stat st{};
  fstat(fd, &st);
  s->ino = st.st_ino;
  s->pid = getpid();
  // The fd holds the program and the map walked, as the kernel's file does.
  int e = 0;
  if (Object* p = view_of(*s->store, ObjKind::kProg, s->prog_id, &e); p != nullptr) p->obj_header().krefs.fetch_add(1);
  if (Map* m = s->map_id != 0 ? map_view(*s->store, s->map_id) : nullptr; m != nullptr)
    m->obj_header().krefs.fetch_add(1);
  {
    std::lock_guard<std::mutex> lock(g_mu);
    g_sessions[fd] = std::move(s);
  }
  g_count.fetch_add(1);
  return fd;
}

bool iter_fds_open() { return g_count.load(std::memory_order_relaxed) != 0; }
bool is_iter_fd(int fd) { return session_of(fd) != nullptr; }

ssize_t iter_read(int fd, void* buf, size_t n) {
  std::shared_ptr<Session> s = session_of(fd);
  if (s == nullptr) return -EBADF;
  std::lock_guard<std::mutex> lock(s->mu);
  return seq_read(*s, buf, n);
}

void iter_forget(int fd) {
  if (g_count.load(std::memory_order_relaxed) == 0) return;
  std::shared_ptr<Session> s;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    auto it = g_sessions.find(fd);
    if (it == g_sessions.end()) return;
    s = std::move(it->second);
    g_sessions.erase(it);
  }
  g_count.fetch_sub(1);
  if (s->pid != getpid()) return;  // the references are the parent's
  if (s->map_id != 0) drop_object_ref(*s->store, ObjKind::kMap, s->map_id);
  drop_object_ref(*s->store, ObjKind::kProg, s->prog_id);
}

namespace interp {

// bpf_seq_write(seq, data, len): 0, or -EOVERFLOW when it does not fit.
bool seq_write(HelperCall& c, uint64_t* r0) {
  Session* s = running_session(c, "bpf_seq_write");
  if (s == nullptr) return false;
  const auto len = static_cast<uint32_t>(c.a[2]);
  if (len != 0 && !c.m.check(c.a[1], len, false, "bpf_seq_write data")) return false;
  *r0 = static_cast<uint64_t>(static_cast<int64_t>(seq_append(*s, reinterpret_cast<const char*>(c.a[1]), len)));
  return true;
}

// bpf_seq_printf(seq, fmt, fmt_size, data, data_len): data holds the
// arguments, 8 bytes each. 0, -EINVAL (the format or the arguments), or
// -EOVERFLOW when the text does not fit.
bool seq_printf(HelperCall& c, uint64_t* r0) {
  Session* s = running_session(c, "bpf_seq_printf");
  if (s == nullptr) return false;
  const auto fmt_size = static_cast<uint32_t>(c.a[2]);
  const auto data_len = static_cast<uint32_t>(c.a[4]);
  auto answer = [r0](long v) { return *r0 = static_cast<uint64_t>(v), true; };
  if (fmt_size == 0) return c.m.fault("bpf_seq_printf: fmt_size 0 (the verifier refuses it)");
  if (!c.m.check(c.a[1], fmt_size, false, "bpf_seq_printf fmt")) return false;
  if ((data_len & 7) != 0 || data_len > kMaxSeqPrintfArgs * 8 || (data_len != 0 && c.a[3] == 0))
    return answer(log_reason(-EINVAL, "bpf_seq_printf: data_len %u is not a multiple of 8 up to 96", data_len));
  if (data_len != 0 && !c.m.check(c.a[3], data_len, false, "bpf_seq_printf data")) return false;
  uint64_t args[kMaxSeqPrintfArgs] = {};
  if (data_len != 0) memcpy(args, reinterpret_cast<const void*>(c.a[3]), data_len);
  std::string out;
  if (int e = bprintf_format(reinterpret_cast<const char*>(c.a[1]), fmt_size, args, data_len / 8, &out); e != 0)
    return answer(e);
  return answer(seq_append(*s, out.data(), out.size()));
}

}  // namespace interp
}  // namespace bpfemu::emu
