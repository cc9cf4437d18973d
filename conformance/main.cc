// bpfemu-conformance: runs the conformance scenarios on the emulator and on the
// host kernel and reports, per map type and operation, whether they agree.
#include <getopt.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <fstream>
#include <sstream>
#include <string>

#include "bpfemu/emu_backend.h"
#include "bpfemu/kernel_backend.h"
#include "conformance/random.h"
#include "conformance/helper_probe.h"
#include "conformance/runner.h"
#include "emu/bpffs.h"
#include "core/cpu.h"
#include "core/profile.h"

using namespace bpfemu;
using namespace bpfemu::conformance;

namespace {

constexpr long kBpfFsMagic = 0xcafe4a11;

std::string random_types_list() {
  std::string s;
  for (const auto& t : randomized::supported_types()) s += (s.empty() ? "" : ",") + t;
  return s;
}

void usage(FILE* f) {
  fprintf(f,
          "usage: bpfemu-conformance [options]\n"
          "\n"
          "Runs every conformance scenario on the emulator and on the running kernel and\n"
          "prints, per map type and operation, whether the two agree.\n"
          "\n"
          "  --backend emu|kernel|both  which side(s) to run (default: both when bpf() works\n"
          "                             here, else emu with a note; comparisons need both)\n"
          "  --types HASH,ARRAY,...     only these map types (names as in BPF_MAP_TYPE_*)\n"
          "  --scenario TEXT            only scenarios whose name contains TEXT\n"
          "  --format table|json        output format (default table)\n"
          "  --profile NAME             emulator kernel profile (%s; default host)\n"
          "  --cpu N                    pin this process to CPU N on both sides (default 0)\n"
          "  --list                     list the scenarios and exit\n"
          "  --verbose                  print both recordings of each differing scenario\n"
          "                             (random mode: progress per type and seed on stderr)\n"
          "\n"
          "Randomized differential mode (instead of the scenarios):\n"
          "  --random N                 per selected map type and seed: create a map with a\n"
          "                             random valid configuration, run N random ops on it\n"
          "                             (updates, lookups, deletes, get_next_key, walks,\n"
          "                             lookup_and_delete, batch ops, program-side helper\n"
          "                             calls, CPU switches; keys from a small key space;\n"
          "                             sometimes invalid flags) on both backends in\n"
          "                             lockstep, and shrink the first difference to a minimal\n"
          "                             reproducer printed as a SCENARIO(...) block (after the\n"
          "                             table; on stderr with --format json).\n"
          "                             Types: %s\n"
          "  --seed S                   seed(s): S, A..B or a comma list (default 1); seeds\n"
          "                             1,2,3,4 select each type's four flag mixes in turn\n"
          "  --shrink-runs N            shrinker budget: at most N replays (default 20000)\n"
          "  --shrink-seconds T         shrinker budget: at most T seconds per difference\n"
          "                             (default 300)\n"
          "  --with-scenarios           with --random: run the scenarios too\n"
          "  --probe-helpers            print which helpers each program type may call (the\n"
          "                             kernel's, or the emulator's with --backend emu) and exit\n"
          "  --percpu-padding MODE      random mode, per-CPU values written by syscalls:\n"
          "                             random (padding bytes random too), zero (padding\n"
          "                             zeroed), auto (default: zero only where the kernel's\n"
          "                             stale padding is not reproducible: per-CPU maps with\n"
          "                             program-side ops and BPF_F_NO_PREALLOC or a random\n"
          "                             hash seed)\n"
          "  --from-json FILE           render a saved --format json run (e.g. from the VM\n"
          "                             runner) instead of running; same exit status\n"
          "  -h, --help                 this help\n"
          "\n"
          "Exit status: 0 when nothing differs, 1 when something differs, 2 on usage errors,\n"
          "77 when the kernel side was requested but bpf() is not usable here.\n",
          profile_names().c_str(), random_types_list().c_str());
}

std::set<std::string> split_types(const std::string& s) {
  std::set<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    uint32_t t = map_type_from_name(item.c_str());
    out.insert(t != 0 ? map_type_name(t) : item);
  }
  return out;
}

// Kernel pin scenarios need a bpf filesystem at /sys/fs/bpf.
void ensure_bpffs_mounted() {
  struct statfs st {};
  if (statfs("/sys/fs/bpf", &st) == 0 && static_cast<long>(st.f_type) == kBpfFsMagic) return;
  mkdir("/sys/fs/bpf", 0700);
  if (mount("bpf", "/sys/fs/bpf", "bpf", 0, nullptr) != 0)
    fprintf(stderr, "note: could not mount bpffs at /sys/fs/bpf (%s); kernel pin scenarios will fail\n",
            strerror(errno));
}

// Kernel tracepoint scenarios read tracepoint ids from tracefs.
void ensure_tracefs_mounted() {
  constexpr long kTracefsMagic = 0x74726163;
  struct statfs st {};
  if (statfs("/sys/kernel/tracing", &st) == 0 && static_cast<long>(st.f_type) == kTracefsMagic) return;
  if (mount("nodev", "/sys/kernel/tracing", "tracefs", 0, nullptr) != 0)
    fprintf(stderr, "note: could not mount tracefs at /sys/kernel/tracing (%s); kernel tracepoint scenarios will fail\n",
            strerror(errno));
}

}  // namespace

int main(int argc, char** argv) {
  std::string backend_arg, format = "table", types_arg, profile = "host", scenario_filter;
  int cpu = 0;
  bool list = false, verbose = false, with_scenarios = false;
  long random_n = -1;
  std::vector<uint64_t> seeds{1};
  randomized::ShrinkOptions shrink_opts;
  randomized::PaddingMode padding = randomized::PaddingMode::Auto;
  std::string from_json;  // --from-json FILE
  bool probe_helpers = false;
  static const option long_opts[] = {
      {"backend", required_argument, nullptr, 'b'}, {"types", required_argument, nullptr, 't'},
      {"format", required_argument, nullptr, 'f'},  {"profile", required_argument, nullptr, 'p'},
      {"cpu", required_argument, nullptr, 'c'},     {"scenario", required_argument, nullptr, 's'},
      {"list", no_argument, nullptr, 'l'},          {"verbose", no_argument, nullptr, 'v'},
      {"from-json", required_argument, nullptr, 'J'},
      {"help", no_argument, nullptr, 'h'},          {"random", required_argument, nullptr, 'R'},
      {"seed", required_argument, nullptr, 'S'},    {"shrink-runs", required_argument, nullptr, 'U'},
      {"shrink-seconds", required_argument, nullptr, 'T'}, {"with-scenarios", no_argument, nullptr, 'W'},
      {"percpu-padding", required_argument, nullptr, 'P'},
      {"probe-helpers", no_argument, nullptr, 'H'},
      {nullptr, 0, nullptr, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "h", long_opts, nullptr)) != -1) {
    switch (c) {
      case 'b': backend_arg = optarg; break;
      case 't': types_arg = optarg; break;
      case 'f': format = optarg; break;
      case 'p': profile = optarg; break;
      case 'c': cpu = atoi(optarg); break;
      case 's': scenario_filter = optarg; break;
      case 'l': list = true; break;
      case 'v': verbose = true; break;
      case 'J': from_json = optarg; break;
      case 'R': {
        char* end = nullptr;
        random_n = strtol(optarg, &end, 10);
        if (end == optarg || *end != '\0' || random_n < 0) {
          fprintf(stderr, "bpfemu-conformance: --random needs a count >= 0\n");
          return 2;
        }
        break;
      }
      case 'S':
        if (!randomized::parse_seeds(optarg, &seeds)) {
          fprintf(stderr, "bpfemu-conformance: --seed takes S, A..B or a comma list of those\n");
          return 2;
        }
        break;
      case 'U': shrink_opts.max_runs = strtoull(optarg, nullptr, 10); break;
      case 'T': shrink_opts.max_seconds = atof(optarg); break;
      case 'W': with_scenarios = true; break;
      case 'H': probe_helpers = true; break;
      case 'P':
        if (strcmp(optarg, "auto") == 0) padding = randomized::PaddingMode::Auto;
        else if (strcmp(optarg, "zero") == 0) padding = randomized::PaddingMode::Zero;
        else if (strcmp(optarg, "random") == 0) padding = randomized::PaddingMode::Random;
        else {
          fprintf(stderr, "bpfemu-conformance: --percpu-padding must be auto, zero or random\n");
          return 2;
        }
        break;
      case 'h': usage(stdout); return 0;
      default: usage(stderr); return 2;
    }
  }
  if (format != "table" && format != "json") {
    fprintf(stderr, "bpfemu-conformance: --format must be table or json\n");
    return 2;
  }
  if (!backend_arg.empty() && backend_arg != "emu" && backend_arg != "kernel" && backend_arg != "both") {
    fprintf(stderr, "bpfemu-conformance: --backend must be emu, kernel or both\n");
    return 2;
  }
  if (!set_active_profile(profile)) {
    fprintf(stderr, "bpfemu-conformance: unknown profile '%s' (known: %s)\n", profile.c_str(), profile_names().c_str());
    return 2;
  }
  if (!from_json.empty()) {
    // Render a saved run (e.g. the VM runner's) as if it had just run here.
    std::ifstream in(from_json);
    std::stringstream text;
    text << in.rdbuf();
    std::vector<Row> saved;
    std::string error;
    if (!in || !parse_json_rows(text.str(), &saved, &error)) {
      fprintf(stderr, "bpfemu-conformance: cannot read %s: %s\n", from_json.c_str(),
              in ? error.c_str() : strerror(errno));
      return 2;
    }
    fputs((format == "json" ? render_json(saved) : render_table(saved)).c_str(), stdout);
    for (const Row& r : saved)
      if (r.status == "differs") return 1;
    return 0;
  }
  if (list) {
    for (const auto& s : registry()) printf("%-18s %-22s %s\n", s.type.c_str(), s.op.c_str(), s.name.c_str());
    printf("%zu scenarios\n", registry().size());
    return 0;
  }

  // Both sides run on the same CPU: LRU state depends on which CPU runs a syscall.
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof(set), &set) != 0)
    fprintf(stderr, "note: could not pin to CPU %d: %s\n", cpu, strerror(errno));
  ScopedCpu scoped_cpu(cpu);

  // The emulator's bpffs for this run: a private directory, removed at the end.
  std::string emu_root;
  if (getenv("BPFEMU_BPFFS") == nullptr) {
    char tmpl[] = "/dev/shm/bpfemu-conformance-XXXXXX";
    if (mkdtemp(tmpl) != nullptr) {
      emu_root = tmpl;
      setenv("BPFEMU_BPFFS", tmpl, 1);
      emu::reset_bpffs_root();
    }
  }

  RunConfig cfg;
  cfg.types = split_types(types_arg);
  cfg.name_filter = scenario_filter;
  cfg.verbose = verbose;
  std::unique_ptr<Backend> emu, kernel;
  std::string why;
  bool kernel_ok = kernel_bpf_available(&why);
  bool want_emu = backend_arg != "kernel";
  bool want_kernel = backend_arg == "kernel" || backend_arg == "both" || (backend_arg.empty() && kernel_ok);
  if (want_kernel && !kernel_ok) {
    // 77 = "skipped" for ctest: the kernel side cannot run in this environment.
    fprintf(stderr, "SKIPPED: the kernel backend is not usable here: %s\n", why.c_str());
    return 77;
  }
  if (backend_arg.empty() && !kernel_ok)
    fprintf(stderr, "note: running the emulator only (%s); nothing is compared, rows say not_run\n", why.c_str());
  struct utsname u {};
  uname(&u);
  if (want_emu) emu = std::make_unique<EmuBackend>();
  if (want_kernel) {
    ensure_bpffs_mounted();
    ensure_tracefs_mounted();
    kernel = std::make_unique<KernelBackend>();
  }
  cfg.emu = emu.get();
  cfg.kernel = kernel.get();
  cfg.kernel_label = want_kernel ? u.release : std::string("profile ") + active_profile().name;
  if (!want_kernel) cfg.not_run_reason = kernel_ok ? "kernel side not requested" : "kernel not available: " + why;
  if (!want_emu) cfg.not_run_reason = "emulator side not requested";

  if (probe_helpers) {
    // The data behind emu/helper_availability.cc: one line per program type.
    Backend* b = kernel != nullptr ? kernel.get() : emu.get();
    for (uint32_t t = 1; t <= 32; ++t)
      if (helper_probe_informative(t)) printf("%u %s\n", t, helper_classes(*b, t, 211).c_str());
    return 0;
  }

  std::vector<Row> rows;
  std::vector<std::string> reproducers;
  if (random_n < 0 || with_scenarios) rows = run_scenarios(registry(), cfg);
  if (random_n >= 0) {
    randomized::RandomRunOptions ro;
    ro.n_ops = static_cast<size_t>(random_n);
    ro.seeds = seeds;
    ro.types = cfg.types;
    for (const auto& t : cfg.types) {
      const auto& sup = randomized::supported_types();
      if (std::find(sup.begin(), sup.end(), t) == sup.end())
        fprintf(stderr, "note: the random mode does not cover %s (it covers %s)\n", t.c_str(),
                random_types_list().c_str());
    }
    ro.emu = cfg.emu;
    ro.kernel = cfg.kernel;
    ro.kernel_label = cfg.kernel_label;
    ro.not_run_reason = cfg.not_run_reason;
    ro.shrink = shrink_opts;
    ro.padding = padding;
    ro.verbose = verbose;
    randomized::RandomRunResult rr = randomized::run_random(ro);
    rows.insert(rows.end(), rr.rows.begin(), rr.rows.end());
    reproducers = std::move(rr.reproducers);
  }
  if (format == "json") {
    fputs(render_json(rows).c_str(), stdout);
    for (const auto& r : reproducers) fprintf(stderr, "\n%s", r.c_str());
  } else {
    fputs(render_table(rows).c_str(), stdout);
    if (!reproducers.empty()) printf("\nMinimal reproducers (paste into conformance/scenarios_*.cc):\n");
    for (const auto& r : reproducers) printf("\n%s", r.c_str());
  }
  if (!emu_root.empty()) std::filesystem::remove_all(emu_root);
  for (const Row& r : rows)
    if (r.status == "differs") return 1;
  return 0;
}
