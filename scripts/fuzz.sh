#!/usr/bin/env bash
# Fuzz the emulator's map commands against the reference model (fuzz/) for
# SECONDS (default 60): bash scripts/fuzz.sh 3600
# BPFEMU_FUZZ_WORK: where the corpus, artifacts and log go (default build-fuzz).
# Builds build-fuzz with clang unless a fuzzer binary is given as the second
# argument. The corpus grows in $BPFEMU_FUZZ_WORK/fuzz-corpus (seeded from
# fuzz/corpus); a crash or model mismatch is saved under $BPFEMU_FUZZ_WORK/fuzz-artifacts
# and the script fails. Add such an input to fuzz/corpus/regressions once fixed.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
fuzzer=${2:-}
if [[ -z "$fuzzer" ]]; then
  CC=clang CXX=clang++ cmake -S . -B build-fuzz -DBPFEMU_FUZZ=ON -DBPFEMU_TESTS=OFF -DBPFEMU_BENCH=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build-fuzz -j"$(nproc)" --target bpfemu-fuzz
  fuzzer=build-fuzz/fuzz/bpfemu-fuzz
fi
work=${BPFEMU_FUZZ_WORK:-build-fuzz}
mkdir -p "$work/fuzz-corpus" "$work/fuzz-artifacts"
cp -n fuzz/corpus/seed/* fuzz/corpus/regressions/* "$work/fuzz-corpus/" 2>/dev/null || true
# -timeout: an input that takes seconds is a hang; -rss_limit_mb: a leak that grows.
set +e
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$work/fuzz-artifacts/" "$work/fuzz-corpus" 2>&1 | tee "$work/fuzz-last.log" |
  grep -E "MISMATCH|ERROR|SUMMARY|DONE|Done|stat::number_of_executed_units|stat::peak_rss_mb|runtime error"
status=${PIPESTATUS[0]}
exit "$status"
