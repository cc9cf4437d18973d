#include "advise/report.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>

namespace advise {
namespace {

const RunResult& best_run(const Row& r) { return r.kernel.ran ? r.kernel : r.emu; }
double cost(const Row& r) { return best_run(r).ns_per_op; }
// A refused insert usually shows up again as a lost lookup of that key, so the
// two are not added: loss is the larger of the two rates.
double loss(const Row& r) {
  const RunResult& b = best_run(r);
  double lost = static_cast<double>(b.lost) / static_cast<double>(std::max<size_t>(r.lookups, 1));
  double refused = static_cast<double>(b.fails) / static_cast<double>(std::max<size_t>(r.logical, 1));
  return std::max(lost, refused);
}

std::string human_bytes(uint64_t b) {
  char buf[32];
  if (b >= (10ULL << 20))
    snprintf(buf, sizeof(buf), "%.0f MiB", b / 1048576.0);
  else if (b >= (1ULL << 20))
    snprintf(buf, sizeof(buf), "%.1f MiB", b / 1048576.0);
  else
    snprintf(buf, sizeof(buf), "%.0f KiB", b / 1024.0);
  return buf;
}

std::string ns(const RunResult& r) {
  if (!r.ran) return "-";
  char buf[32];
  snprintf(buf, sizeof(buf), "%.1f", r.ns_per_op);
  return buf;
}

std::string pct(uint64_t num, size_t den) {
  if (den == 0) return "-";
  char buf[32];
  snprintf(buf, sizeof(buf), "%.1f%%", 100.0 * static_cast<double>(num) / static_cast<double>(den));
  return buf;
}

// "1.2% / 1.3%" when both ran and differ, else the one value.
std::string both_pct(const Row& r, uint64_t RunResult::*field, size_t den) {
  std::string e = r.emu.ran ? pct(r.emu.*field, den) : "-";
  if (!r.kernel.ran) return e;
  std::string k = pct(r.kernel.*field, den);
  return e == k || !r.emu.ran ? k : e + " / " + k;
}

}  // namespace

void rank(std::vector<Row>& rows) {
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    bool la = loss(a) > 0, lb = loss(b) > 0;
    if (la != lb) return !la;
    return cost(a) < cost(b);
  });
}

void print_report(FILE* out, const Workload& w, const std::vector<Row>& rows, bool kernel_wanted) {
  const Spec& s = w.spec;
  fprintf(out, "\n== %s ==\n", s.name.c_str());
  if (!s.description.empty()) fprintf(out, "%s\n", s.description.c_str());
  fprintf(out, "%s\n", describe(s, w).c_str());
  const char* side = s.side == Side::kProg ? "prog" : "syscall";
  fprintf(out, "Replayed on the emulator%s, %s side; cost = ns per workload op of the measured pass (after an\n"
               "untimed warm-up pass); memory = the map after the run; lost = lookups of keys the workload had\n"
               "inserted and not deleted that missed (LRU eviction, or a refused insert); refused = inserts\n"
               "that failed (full map). Percentages: emulator / kernel when they differ.\n\n",
          kernel_wanted ? " and the kernel" : "", side);
  fprintf(out, "%-4s %-18s %10s %10s %8s %10s %10s %9s %14s %14s\n", "rank", "map type", "emu ns/op",
          "kern ns/op", "emu/kern", "emu mem", "kern mem", "hit rate", "lost lookups", "refused");
  int i = 0;
  for (const Row& r : rows) {
    std::string ratio = "-";
    if (r.emu.ran && r.kernel.ran && r.kernel.ns_per_op > 0) {
      char buf[32];
      snprintf(buf, sizeof(buf), "%.2fx", r.emu.ns_per_op / r.kernel.ns_per_op);
      ratio = buf;
    }
    const RunResult& b = best_run(r);
    fprintf(out, "%-4d %-18s %10s %10s %8s %10s %10s %9s %14s %14s\n", ++i, r.cand.label.c_str(), ns(r.emu).c_str(),
            ns(r.kernel).c_str(), ratio.c_str(), r.emu.ran ? human_bytes(r.emu.mem_bytes).c_str() : "-",
            r.kernel.ran ? human_bytes(r.kernel.mem_bytes).c_str() : "-",
            b.ran ? pct(b.hits, r.lookups).c_str() : "-", both_pct(r, &RunResult::lost, r.lookups).c_str(),
            both_pct(r, &RunResult::fails, r.logical).c_str());
  }
  fprintf(out, "\nSemantics:\n");
  for (const Row& r : rows) fprintf(out, "  %-18s %s\n", r.cand.label.c_str(), r.cand.semantics.c_str());
  bool errors = false;
  for (const Row& r : rows) {
    if (!r.emu.ran) fprintf(out, "  (%s on the emulator did not run: %s)\n", r.cand.label.c_str(), r.emu.error.c_str());
    if (kernel_wanted && !r.kernel.ran && !errors) {
      fprintf(out, "  (kernel column empty: %s)\n", r.kernel.error.c_str());
      errors = true;  // one note is enough when the kernel is unavailable
    }
  }
  for (const Row& r : rows) {
    // Where the emulator and the kernel refuse differently, say how: that is a
    // behaviour difference worth a conformance scenario.
    if (r.emu.ran && r.kernel.ran && r.emu.fails != r.kernel.fails)
      fprintf(out, "  note: %s refused %llu inserts on the emulator (last error %s) and %llu on the kernel (last error %s)\n",
              r.cand.label.c_str(), static_cast<unsigned long long>(r.emu.fails),
              r.emu.last_err ? strerror(r.emu.last_err) : "none", static_cast<unsigned long long>(r.kernel.fails),
              r.kernel.last_err ? strerror(r.kernel.last_err) : "none");
  }
  if (rows.empty()) return;
  const Row& top = rows.front();
  if (loss(top) == 0) {
    fprintf(out, "\nRecommendation: %s — the cheapest choice that loses no lookups and refuses no inserts.\n",
            top.cand.label.c_str());
  } else {
    auto least = std::min_element(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return loss(a) < loss(b); });
    fprintf(out,
            "\nRecommendation: every candidate loses something at this capacity (%u). Cheapest: %s; least loss: %s.\n"
            "Raise capacity if lost lookups matter more than memory.\n",
            s.capacity, top.cand.label.c_str(), least->cand.label.c_str());
  }
}

bool write_plot(const Workload& w, const std::vector<Row>& rows, const std::string& path, std::string* err) {
  if (system("command -v gnuplot >/dev/null 2>&1") != 0) {
    *err = "gnuplot not found (apt-get install gnuplot-nox); no chart written";
    return false;
  }
  char dir[] = "/tmp/bpfemu-advise-XXXXXX";
  if (mkdtemp(dir) == nullptr) {
    *err = "mkdtemp failed";
    return false;
  }
  std::string data = std::string(dir) + "/data.tsv", script = std::string(dir) + "/plot.gp";
  {
    std::ofstream d(data);
    d << "# label\temu_ns\tkernel_ns\temu_mib\tkernel_mib\tloss_pct\n";
    for (const Row& r : rows) {
      double lossp = 100.0 * loss(r);
      d << '"' << r.cand.label << "\"\t" << (r.emu.ran ? r.emu.ns_per_op : 0) << '\t'
        << (r.kernel.ran ? r.kernel.ns_per_op : 0) << '\t' << (r.emu.ran ? r.emu.mem_bytes / 1048576.0 : 0) << '\t'
        << (r.kernel.ran ? r.kernel.mem_bytes / 1048576.0 : 0) << '\t' << lossp << '\n';
    }
  }
  const bool kernel = std::any_of(rows.begin(), rows.end(), [](const Row& r) { return r.kernel.ran; });
  auto kernel_series = [kernel](int col) {
    return kernel ? ", '' using " + std::to_string(col) + " title 'kernel' lc rgb '#ee854a'" : std::string();
  };
  {
    std::ofstream g(script);
    const bool png = path.size() > 4 && path.compare(path.size() - 4, 4, ".png") == 0;
    g << (png ? "set terminal pngcairo size 1320,440 background rgb 'white' font 'sans,10'\n"
              : "set terminal svg size 1320,440 dynamic background rgb 'white' font 'sans,11'\n")
      << "set output '" << path << "'\n"
      << "set datafile separator '\\t'\nset termoption noenhanced\n"
      << "set multiplot layout 1,3 title 'bpfemu-advise: " << w.spec.name << " (" << w.ops.size() - w.n_setup
      << " ops, " << (w.spec.side == Side::kProg ? "program side" : "syscall side") << ")'\n"
      << "set style data histograms\nset style histogram clustered gap 1\n"
      << "set style fill solid 0.85 border -1\nset boxwidth 0.9\nset key top left\n"
      << "set xtics rotate by -20 nomirror\nset yrange [0:*]\nset grid ytics\n"
      << "set title 'cost per op (lower is better)'\nset ylabel 'ns'\n"
      << "plot '" << data << "' using 2:xtic(1) title 'emulator' lc rgb '#4878d0'" << kernel_series(3) << "\n"
      << "set title 'map memory'\nset ylabel 'MiB'\n"
      << "plot '" << data << "' using 4:xtic(1) title 'emulator' lc rgb '#4878d0'" << kernel_series(5) << "\n"
      << "set title 'loss: lost lookups or refused inserts'\nset ylabel '%'\n"
      << "plot '" << data << "' using 6:xtic(1) title 'loss' lc rgb '#d65f5f'\n"
      << "unset multiplot\n";
  }
  std::string cmd = "gnuplot '" + script + "' 2>" + dir + "/err.txt";
  int rc = system(cmd.c_str());
  std::ifstream e(std::string(dir) + "/err.txt");
  std::string msg((std::istreambuf_iterator<char>(e)), std::istreambuf_iterator<char>());
  unlink(data.c_str());
  unlink(script.c_str());
  unlink((std::string(dir) + "/err.txt").c_str());
  rmdir(dir);
  if (rc != 0) {
    *err = "gnuplot failed: " + msg;
    return false;
  }
  return true;
}

}  // namespace advise
