// bpfemu-advise: which BPF map type fits a workload?
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "advise/candidates.h"
#include "advise/replay.h"
#include "advise/report.h"
#include "advise/workload.h"

namespace {

const char* kHelp = R"(Usage: bpfemu-advise [options] WORKLOAD.spec...

Replays a map workload against every BPF map type that could serve it, on the
bpfemu emulator and on the running kernel (when bpf() is permitted), and prints
a ranked table: cost per op, map memory, hit rate, lookups lost to LRU eviction
or to a full map, refused inserts, and how each type's semantics differ. Also
draws the table as an SVG chart (gnuplot) unless --no-plot.

Options:
  --backend emu|kernel|both  where to replay (default: both; the kernel column is
                             left empty, with the reason, when bpf() is unavailable)
  --ops N                    replay N workload ops instead of the spec's `ops`
  --plot FILE.svg|FILE.png   chart path (default: <name>.svg in the current directory)
  --no-plot                  do not draw a chart
  --record FILE              write the workload's op stream as a trace file and exit
  -h, --help                 this text

Spec file: one `setting = value` per line, `#` starts a comment.
  name, description          labels for the report
  key_size, value_size       bytes (key <= 64, value <= 512)
  keys                       distinct keys (or prefixes) the workload touches
  capacity                   max_entries the map would get (default: keys)
  ops                        workload ops to replay (default 100000)
  mix                        op weights, e.g. `lookup:80, update:15, delete:5`;
                             ops: lookup, update, delete, increment (counter +1,
                             inserted as 1 when missing)
  distribution               uniform | zipf:S (e.g. zipf:0.99) | sequential
  prefill                    insert the N most popular keys before the run
  cpus                       CPUs issuing ops (blocks of 512 ops per CPU)
  side                       prog (helpers in a BPF program) | syscall (user space)
  key_kind                   exact | dense (u32 index < keys: arrays qualify) |
                             prefix ({u32 prefixlen; address}: LPM lookups)
  prefix_lengths             prefix keys: lengths in use, e.g. `8, 16, 24, 32`
  value_kind                 state | counter (counter: per-CPU types qualify)
  trace                      replay this trace instead of generating ops; lines
                             `<op> <cpu> <key hex>` (see --record), path relative
                             to the spec
  seed                       generator seed

Candidates: exact keys -> HASH, LRU_HASH (+ PERCPU_HASH, LRU_PERCPU_HASH for
counters); dense keys add ARRAY (+ PERCPU_ARRAY); prefix keys -> LPM_TRIE and a
HASH probed once per prefix length. Each candidate replays the same stream:
setup (prefill), a warm-up pass, then the measured pass. Ranking: candidates
that lose nothing first, then by cost (kernel cost when measured, else emulator).

Examples:
  bpfemu-advise examples/workloads/flow-table.spec
  bpfemu-advise --backend emu --ops 20000 examples/workloads/*.spec
)";

struct Options {
  std::string backend = "both";
  uint32_t ops = 0;
  std::string plot;
  bool no_plot = false;
  std::string record;
  std::vector<std::string> specs;
};

bool parse_args(int argc, char** argv, Options* o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](std::string* out) {
      if (i + 1 >= argc) {
        fprintf(stderr, "bpfemu-advise: %s needs a value\n", a.c_str());
        return false;
      }
      *out = argv[++i];
      return true;
    };
    std::string v;
    if (a == "-h" || a == "--help") {
      fputs(kHelp, stdout);
      exit(0);
    } else if (a == "--backend") {
      if (!value(&o->backend)) return false;
      if (o->backend != "emu" && o->backend != "kernel" && o->backend != "both") {
        fprintf(stderr, "bpfemu-advise: --backend must be emu, kernel or both\n");
        return false;
      }
    } else if (a == "--ops") {
      if (!value(&v)) return false;
      o->ops = static_cast<uint32_t>(strtoul(v.c_str(), nullptr, 10));
      if (o->ops == 0) {
        fprintf(stderr, "bpfemu-advise: --ops needs a positive number\n");
        return false;
      }
    } else if (a == "--plot") {
      if (!value(&o->plot)) return false;
    } else if (a == "--no-plot") {
      o->no_plot = true;
    } else if (a == "--record") {
      if (!value(&o->record)) return false;
    } else if (!a.empty() && a[0] == '-') {
      fprintf(stderr, "bpfemu-advise: unknown option %s (see --help)\n", a.c_str());
      return false;
    } else {
      o->specs.push_back(a);
    }
  }
  if (o->specs.empty()) {
    fprintf(stderr, "bpfemu-advise: no workload given (see --help)\n");
    return false;
  }
  if (o->specs.size() > 1 && (!o->plot.empty() || !o->record.empty())) {
    fprintf(stderr, "bpfemu-advise: --plot FILE and --record take one workload\n");
    return false;
  }
  return true;
}

int advise_one(const Options& o, const std::string& path) {
  advise::Spec spec;
  std::string err;
  if (!advise::parse_spec(path, &spec, &err)) {
    fprintf(stderr, "bpfemu-advise: %s\n", err.c_str());
    return 2;
  }
  if (o.ops != 0) spec.ops = o.ops;
  advise::Workload w;
  if (!advise::build_workload(spec, &w, &err)) {
    fprintf(stderr, "bpfemu-advise: %s\n", err.c_str());
    return 2;
  }
  if (!o.record.empty()) {
    if (!advise::write_trace(w, o.record, &err)) {
      fprintf(stderr, "bpfemu-advise: %s\n", err.c_str());
      return 1;
    }
    printf("wrote %zu ops to %s\n", w.ops.size(), o.record.c_str());
    return 0;
  }
  const bool want_emu = o.backend != "kernel", want_kernel = o.backend != "emu";
  std::vector<advise::Row> rows;
  for (const advise::Candidate& c : advise::candidates_for(w.spec)) {
    advise::Stream st = advise::compile(w, c);
    advise::Row r;
    r.cand = c;
    r.logical = st.measured_logical;
    r.lookups = st.measured_lookups;
    if (want_emu) r.emu = advise::replay_emu(w.spec, c, st);
    if (want_kernel) r.kernel = advise::replay_kernel(w.spec, c, st);
    rows.push_back(std::move(r));
  }
  advise::rank(rows);
  advise::print_report(stdout, w, rows, want_kernel);
  if (!o.no_plot) {
    std::string plot = o.plot.empty() ? spec.name + ".svg" : o.plot;
    if (advise::write_plot(w, rows, plot, &err))
      printf("Chart: %s\n", plot.c_str());
    else
      printf("(no chart: %s)\n", err.c_str());
  }
  bool any = false;
  for (const advise::Row& r : rows) any = any || r.emu.ran || r.kernel.ran;
  return any ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!parse_args(argc, argv, &o)) return 2;
  int rc = 0;
  for (const std::string& s : o.specs) rc = std::max(rc, advise_one(o, s));
  return rc;
}
