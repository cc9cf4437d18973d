#!/usr/bin/env bash
# The one command for the full benchmark run: builds Release, runs the whole
# bpfemu-bench suite with JSON output, runs bpfemu-advise on every example
# workload, and renders bench/RESULTS.md (ratios computed from that JSON) plus
# the charts in bench/results/.
#
#   bench/run-full.sh                 # everything (~15-25 min on 2 cores)
#   BENCH_FILTER='/HASH/' bench/run-full.sh   # a subset, same report
#
# Environment: BUILD_DIR (default <repo>/build), BENCH_MIN_TIME (seconds per
# benchmark, default 0.1), BENCH_REPETITIONS (default 3; the report uses the
# median), BENCH_FILTER (regex, default all). Kernel columns need root; without
# it they are reported as skipped.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
MIN_TIME=${BENCH_MIN_TIME:-0.1}
REPS=${BENCH_REPETITIONS:-3}
FILTER=${BENCH_FILTER:-.}
OUT=$BUILD_DIR/bench-results
RESULTS_DIR=$ROOT/bench/results

cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DBPFEMU_BENCH=ON >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)" --target bpfemu-bench bpfemu-advise
mkdir -p "$OUT" "$RESULTS_DIR"

# What the machine is, and how busy it was (other processes inflate wall time;
# the report's per-op costs are CPU time, which they do not).
{
  echo "cpu_model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
  echo "cpus=$(nproc)"
  echo "mem_total=$(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
  echo "kernel=$(uname -r)"
  echo "os=$(. /etc/os-release && echo "$PRETTY_NAME")"
  echo "compiler=$(c++ --version | head -1)"
  echo "clang_bpf=$(clang --version 2>/dev/null | head -1 || echo none)"
  echo "load_before=$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "date=$(date -u +%Y-%m-%dT%H:%MZ)"
  echo "git=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
} >"$OUT/machine.txt"

"$BUILD_DIR/bench/bpfemu-bench" \
  --benchmark_filter="$FILTER" \
  --benchmark_min_time="$MIN_TIME" \
  --benchmark_repetitions="$REPS" \
  --benchmark_enable_random_interleaving=true \
  --benchmark_out="$OUT/bench.json" --benchmark_out_format=json

for spec in "$ROOT"/examples/workloads/*.spec; do
  name=$(basename "$spec" .spec)
  "$BUILD_DIR/bench/bpfemu-advise" --plot "$RESULTS_DIR/advise-$name.svg" "$spec" >"$OUT/advise-$name.txt"
done
echo "load_after=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/machine.txt"

python3 "$ROOT/bench/render_results.py" \
  --json "$OUT/bench.json" --machine "$OUT/machine.txt" --advise-dir "$OUT" \
  --charts "$RESULTS_DIR" \
  --command "bench/run-full.sh (BENCH_MIN_TIME=$MIN_TIME BENCH_REPETITIONS=$REPS BENCH_FILTER='$FILTER')" \
  --out "$ROOT/bench/RESULTS.md"
echo "wrote $ROOT/bench/RESULTS.md"
