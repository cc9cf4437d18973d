// Backend-neutral conformance scenarios.
//
// A scenario is a function that drives a Recorder. The Recorder forwards each
// call to a Backend and records what came back: return value, errno, and the
// output bytes (buffers are pre-filled with 0xAA so a write on a failing path
// shows). The runner executes each scenario once per backend and compares the
// two recordings step by step. Values that legitimately differ between backends
// (fd numbers, map ids) are recorded in normalised form.
#pragma once

#include <linux/bpf.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "bpfemu/backend.h"
#include "conformance/prog_side.h"

namespace bpfemu::conformance {

using Bytes = std::vector<uint8_t>;

// Little-endian encodings used to build keys and values.
Bytes u32(uint32_t v);
Bytes u64(uint64_t v);
Bytes fill(size_t n, uint8_t byte);
Bytes concat(const Bytes& a, const Bytes& b);
// A syscall-side per-CPU value (round_up(value_size, 8) bytes per possible CPU)
// whose bytes all differ, padding included.
class Recorder;
Bytes percpu_value(const Recorder& r, uint32_t value_size, uint8_t seed);
// An LPM trie key {prefixlen, data...}.
Bytes lpm_key(uint32_t prefixlen, const Bytes& data);
// Whether the kernel refuses every program load of this kind by policy (EPERM
// before the verifier, as root: an LSM on some hosts refuses all fentry, fmod_ret
// and LSM loads): a fact about the host, asked of it directly, so the rows
// that need such loads are left out on both sides there. When it does, that
// is noted ("<rows> left out: this host refuses every <kind> load ...").
bool host_refuses(Recorder& r, uint32_t prog_type, uint32_t attach, uint32_t btf_id, const std::string& rows = "");
// BPF_PROG_TEST_RUN of program fd `prog` with ctx_in = args (a raw tracepoint's
// u64 arguments), recorded under label, its retval noted.
void run_with_args(Recorder& r, int prog, std::vector<uint64_t> args, const std::string& label);
// The type perf_event_open takes for PMU "kprobe" or "uprobe" on r's backend:
// sysfs on the kernel, the emulator's answer there; negative when unreadable.
long probe_pmu_type(Recorder& r, const char* pmu);
// BPF_PROG_LOAD of insns as a program of prog_type with expected_attach_type
// attach and attach_btf_id btf_id, recorded under label: the fd or -errno.
int load_prog(Recorder& r, uint32_t prog_type, uint32_t attach, uint32_t btf_id, const std::vector<bpf_insn>& insns,
              const std::string& label, uint32_t prog_flags = 0, const char* license = "GPL");
// fd's fdinfo text on r's backend ("" when there is none).
std::string fdinfo_text_of(Recorder& r, int fd);

struct Step {
  std::string call;  // e.g. "update(k=01000000,flags=1)"
  long ret = 0;      // normalised: handles are recorded as 1 ("an fd")
  int err = 0;       // errno when ret < 0
  std::string out;   // hex of output bytes, or a normalised description
};

class Recorder {
 public:
  explicit Recorder(Backend& backend);
  ~Recorder();  // closes every handle the scenario left open

  Backend& backend() { return b_; }
  int ncpus() const { return ncpus_; }
  const std::vector<Step>& steps() const { return steps_; }
  // Forgets the steps recorded so far (long runs compare incrementally).
  void clear_steps() { steps_.clear(); }

  // Each returns the raw result; fds are real fds usable in later calls.
  int create(uint32_t type, uint32_t key_size, uint32_t value_size, uint32_t max_entries, uint32_t flags = 0,
             const char* name = "conf", uint64_t map_extra = 0);
  int create_opts(uint32_t type, const char* name, uint32_t key_size, uint32_t value_size, uint32_t max_entries,
                  const MapCreateOpts& opts);
  int update(int fd, const std::optional<Bytes>& key, const std::optional<Bytes>& value, uint64_t flags = BPF_ANY);
  // Lookup into a buffer of out_size bytes (default: the map's syscall value size).
  int lookup(int fd, const std::optional<Bytes>& key, uint64_t flags = 0, size_t out_size = 0, bool null_out = false);
  int lookup_and_delete(int fd, const std::optional<Bytes>& key, uint64_t flags = 0, size_t out_size = 0,
                        bool null_out = false);
  // Lookup whose value buffer holds `value` (the bloom filter checks it); the
  // buffer is recorded afterwards, to show whether it was written.
  int lookup_value(int fd, const std::optional<Bytes>& key, const Bytes& value, uint64_t flags = 0);
  int remove(int fd, const std::optional<Bytes>& key, uint64_t flags = 0);
  int next_key(int fd, const std::optional<Bytes>& key, size_t key_size, bool null_out = false);
  // get_next_key from NULL until ENOENT (at most limit steps), recording each key
  // in order. For maps whose order is seeded randomly use walk_set.
  int walk(int fd, size_t key_size, int limit = 1000);
  // Same walk, but records only the sorted set of keys (and whether it ended in ENOENT).
  int walk_set(int fd, size_t key_size, int limit = 1000);
  int freeze(int fd);
  int info(int fd, uint32_t info_len = sizeof(MapInfo));
  // The `memlock:` line of the map's fdinfo (the kernel's map_mem_usage).
  int memlock(int fd);
  // The `key:` line of fd's fdinfo (any object kind).
  int fdinfo_line(int fd, const std::string& key);
  int pin(int fd, const std::string& path);
  int get(const std::string& path, uint32_t file_flags = 0);
  int unpin(const std::string& path);
  // Pin and get under a label of the scenario's choosing (for path forms that
  // pin_path() does not make), and directories on the bpffs.
  int pin_as(int fd, const std::string& path, const std::string& label);
  int get_as(const std::string& path, uint32_t file_flags, const std::string& label);
  int mkdir_bpffs(const std::string& path);
  int rmdir_bpffs(const std::string& path);
  int get_fd_by_id_of(int fd);  // looks up fd's id, then map_get_fd_by_id(id)
  int next_id_finds(int fd);    // map_get_next_id(id - 1) returns fd's id
  int close(int fd);
  int lookup_batch(int fd, std::optional<uint32_t> in_batch, uint32_t count, size_t key_size, size_t value_size,
                   const BatchOpts& opts = {}, bool do_delete = false);
  int update_batch(int fd, const std::vector<Bytes>& keys, const std::vector<Bytes>& values, uint32_t count,
                   const BatchOpts& opts = {});
  int delete_batch(int fd, const std::vector<Bytes>& keys, uint32_t count, const BatchOpts& opts = {});
  // A whole batch walk: lookup_batch (or lookup_and_delete_batch) from a NULL token,
  // feeding each out token back in, until a call fails (ENOENT at the end) or limit
  // calls. Records one step per call; with as_set, one step holding only the sorted
  // set of key/value pairs returned, the total count and the final result (for maps
  // whose order is seeded randomly: use a count no bucket can exceed).
  int batch_walk(int fd, uint32_t count, size_t key_size, size_t value_size, const BatchOpts& opts = {},
                 bool do_delete = false, bool as_set = false, int limit = 1000);
  // Program-side operations (a BPF program's helper calls; see prog_side.h), for
  // maps with 4-byte keys and 4- or 8-byte values. Values are the current CPU's.
  // The Bytes-key forms are for LPM_TRIE maps with 8-byte keys and values.
  long prog_lookup(int fd, uint32_t key);
  long prog_lookup(int fd, const Bytes& key);
  long prog_update(int fd, uint32_t key, const Bytes& value, uint64_t flags = BPF_ANY);
  long prog_update(int fd, const Bytes& key, const Bytes& value, uint64_t flags = BPF_ANY);
  long prog_delete(int fd, uint32_t key);
  long prog_delete(int fd, const Bytes& key);
  // bpf_for_each_map_elem counting the elements (stop_at: stop at that one, 0:
  // never); the _delete form deletes each element from inside the callback and
  // records how many deletes succeeded and the last failure.
  long prog_for_each(int fd, uint32_t stop_at, uint64_t flags = 0);
  long prog_for_each_delete(int fd, uint32_t stop_at, uint64_t flags = 0);
  // Global data (bpf/prog_global.bpf.c): load it with .rodata's `step`; the fd
  // of its ".bss", ".data" or ".rodata" map (owned by the object: usable with
  // lookup/update/info/mmap, not to be closed); one run.
  long prog_global_load(uint64_t step);
  int prog_global_fd(const std::string& section);
  long prog_global_run(uint64_t add);
  // bpf/prog_map_in_map.bpf.c (ProgSide::mim_*): load it once; the fd of one
  // of its maps (owned by the object); one run, recorded under label.
  long prog_mim_load();
  int prog_mim_fd(const std::string& name);
  long prog_mim_run(const std::string& label, uint32_t outer, uint32_t op, uint32_t slot, uint32_t key,
                    uint64_t value);
  // bpf/prog_timer.bpf.c's run: the bpf_timer helpers' results.
  long prog_timer_codes();
  // bpf/prog_wq.bpf.c's run: the bpf_wq kfuncs' results.
  long prog_wq_codes();
  // bpf/prog_iter.bpf.c (ProgSide::iter_*): load it once; one of its
  // programs' fd (owned by the object).
  long prog_iter_load();
  int prog_iter_fd(const std::string& name);
  // bpf/prog_kptr.bpf.c (ProgSide::kptr_*): load it once; the fd of one of its
  // maps (owned by the object); one run of program `prog`.
  long prog_kptr_load();
  int prog_kptr_fd(const std::string& name);
  long prog_kptr_run(const std::string& prog, uint32_t key, int64_t arg);
  // bpf/prog_graph.bpf.c (ProgSide::graph_*): load it once; the fd of one of
  // its maps; one run of program `prog`; close it (its maps go).
  long prog_graph_load();
  int prog_graph_fd(const std::string& name);
  long prog_graph_run(const std::string& prog, uint32_t op, uint32_t key, int64_t arg);
  void prog_graph_unload();
  // bpf_map_push_elem / _pop_elem / _peek_elem (QUEUE, STACK, BLOOM_FILTER; values
  // of at most 64 bytes). Pop and peek record the value buffer whatever the
  // result (an empty queue zeroes it); a bloom filter's peek checks `value`.
  long prog_push(int fd, const Bytes& value, uint64_t flags = BPF_ANY);
  long prog_pop(int fd);
  long prog_peek(int fd, const Bytes& value = {});

  // Moves this thread to CPU `cpu` on both sides (sched_setaffinity for the
  // kernel, the emulated current CPU for the emulator); restored at the end.
  void set_cpu(int cpu);
  // bpf(2) with a raw attr (Backend::bpf). Results >= 0 are recorded as 1 when
  // the command returns an fd (fd_result), as they are otherwise.
  long raw(const std::string& label, int cmd, void* attr, unsigned size, bool fd_result = false);
  // BPF_PROG_LOAD of `insns` as a GPL program of `type` (with prog_flags and
  // expected_attach_type), recorded under label: the fd or -errno.
  int load_program(uint32_t type, const std::vector<bpf_insn>& insns, const std::string& label,
                   uint32_t prog_flags = 0, uint32_t expected_attach_type = 0);
  // Loads insns as a program of `type`, runs it `repeat` times through
  // BPF_PROG_TEST_RUN with a 64-byte zeroed packet and notes its return value.
  void run_program(uint32_t type, const std::vector<bpf_insn>& insns, uint32_t repeat, const std::string& label);
  // Records an arbitrary observation computed by the scenario.
  void note(const std::string& what, long value);
  // The same with text (what a read returned, say) compared beside the value.
  void note_text(const std::string& what, long value, const std::string& text);

  // A pin path unique to this run, under /sys/fs/bpf (translated by the emulator).
  std::string pin_path(const std::string& leaf) const;
  // The value size syscalls use for a map created with these parameters.
  size_t sys_value_size(uint32_t type, uint32_t value_size) const;

 private:
  int record(std::string call, long ret, std::string out = "");
  std::string leaf_of(const std::string& path) const;
  size_t value_size_of(int fd);
  std::optional<Bytes> keyless_buffer(int fd, const Bytes& value);
  // The keyed program-side operations; label: the key as recorded.
  long prog_lookup_key(const std::string& label, int fd, const Bytes& key);
  long prog_update_key(const std::string& label, int fd, const Bytes& key, const Bytes& value, uint64_t flags);
  long prog_delete_key(const std::string& label, int fd, const Bytes& key);
  // op: 0 peek, 1 push, 2 pop.
  long prog_keyless(const std::string& call, int fd, const Bytes& value, int op, uint64_t flags);
  // bpf_map_info of fd without recording anything or touching errno.
  std::optional<MapInfo> info_of(int fd);

  Backend& b_;
  int ncpus_;
  std::vector<Step> steps_;
  std::vector<int> open_fds_;
  std::vector<std::string> pins_;
  std::vector<std::string> dirs_;
  int saved_cpu_ = -1;
  std::unique_ptr<ProgSide> prog_;
  ProgSide& prog();
};

struct Scenario {
  std::string type;  // "HASH", "ARRAY", ... ("COMMON" for type-independent)
  std::string op;    // "create", "update", "lookup", ...
  std::string name;
  std::function<void(Recorder&)> body;
};

std::vector<Scenario>& registry();

struct Registrar {
  Registrar(const char* type, const char* op, const char* name, std::function<void(Recorder&)> body);
};

#define BPFEMU_CAT2(a, b) a##b
#define BPFEMU_CAT(a, b) BPFEMU_CAT2(a, b)
// SCENARIO("HASH", "update", "noexist_on_existing") { r.create(...); ... }
#define SCENARIO(type, op, name)                                                                  \
  static void BPFEMU_CAT(scenario_fn_, __LINE__)(::bpfemu::conformance::Recorder & r);          \
  static ::bpfemu::conformance::Registrar BPFEMU_CAT(scenario_reg_, __LINE__)(type, op, name,    \
                                                                              BPFEMU_CAT(scenario_fn_, __LINE__)); \
  static void BPFEMU_CAT(scenario_fn_, __LINE__)(::bpfemu::conformance::Recorder & r)

}  // namespace bpfemu::conformance
