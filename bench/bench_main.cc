// bpfemu-bench: emulator vs kernel vs plain containers.
//
// Benchmark names are <op>/<MAP_TYPE>/<backend>/<entries>[/threads:N]. Every
// benchmark reports items_per_second = map operations per CPU-second of its
// threads, so CPU ns/op = 1e9 / items_per_second (see common.h); kernel_prog
// rows also carry kernel_ns_per_op, the BPF_PROG_TEST_RUN duration per op.
// bench/render_results.py turns the JSON output into bench/RESULTS.md;
// bench/run-full.sh does build + run + render.
#include <sys/utsname.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "bpfemu/backend.h"
#include "common.h"

namespace {

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown";
}

void add_context() {
  utsname u{};
  uname(&u);
  benchmark::AddCustomContext("kernel_release", u.release);
  benchmark::AddCustomContext("cpu_model", cpu_model());
  benchmark::AddCustomContext("possible_cpus", std::to_string(bench::host_cpus()));
  std::string why;
  bool kernel = bpfemu::kernel_bpf_available(&why);
  benchmark::AddCustomContext("kernel_backend", kernel ? "available" : why);
}

void register_all() {
  for (uint32_t n : bench::all_sizes()) {
    for (const bench::TypeInfo& t : bench::all_types()) {
      // Reads first, then writes (which on LRU maps use maps of their own, as
      // updates evict: see writes_tag), so that the order does not matter.
      bench::register_syscall_reads(t, n);
      bench::register_prog_reads(t, n);
      bench::register_syscall_writes(t, n);
      bench::register_prog_writes(t, n);
    }
    for (const bench::TypeInfo& t : bench::queue_types()) bench::register_syscall_queue(t, n);
    bench::register_reference(n);
    bench::register_memory(n);
  }
  bench::register_latency();
  bench::register_prog_run();
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  add_context();
  register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
