#!/usr/bin/env bash
# Runs the libFuzzer targets (fuzz/) for SECONDS each (default 60):
#   bash scripts/fuzz.sh 3600                    # all three, one after the other
#   bash scripts/fuzz.sh 600 bpfemu-fuzz-attr    # one of them
# Targets: bpfemu-fuzz (map commands against the reference model),
# bpfemu-fuzz-attr (raw bpf(2) attrs), bpfemu-fuzz-prog (programs loaded and
# test-run). The second argument may also be the path of a fuzzer binary
# already built (ctest does that); otherwise build-fuzz is built with clang.
# BPFEMU_FUZZ_WORK: where corpora, artifacts and logs go (default build-fuzz).
# Each target's corpus grows in $BPFEMU_FUZZ_WORK/fuzz-corpus/<target>, seeded
# from its seed and regression inputs in fuzz/corpus; a crash, hang or failed
# check is saved under $BPFEMU_FUZZ_WORK/fuzz-artifacts/<target> and the
# script fails. Add such an input to the target's regressions once fixed.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
what=${2:-all}
work=${BPFEMU_FUZZ_WORK:-build-fuzz}
all=(bpfemu-fuzz bpfemu-fuzz-attr bpfemu-fuzz-prog)

# The corpus directories a target starts from.
seeds() {
  case "$1" in
    bpfemu-fuzz) echo fuzz/corpus/seed fuzz/corpus/regressions ;;
    *) echo "fuzz/corpus/$1/seed" "fuzz/corpus/$1/regressions" ;;
  esac
}

if [[ "$what" == */* ]]; then
  fuzzers=("$what")
else
  if [[ "$what" == all ]]; then targets=("${all[@]}"); else targets=("$what"); fi
  CC=clang CXX=clang++ cmake -S . -B build-fuzz -DBPFEMU_FUZZ=ON -DBPFEMU_TESTS=OFF -DBPFEMU_BENCH=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build-fuzz -j"$(nproc)" --target "${targets[@]}"
  fuzzers=()
  for t in "${targets[@]}"; do fuzzers+=("build-fuzz/fuzz/$t"); done
fi

status=0
for fuzzer in "${fuzzers[@]}"; do
  name=$(basename "$fuzzer")
  corpus="$work/fuzz-corpus/$name"
  artifacts="$work/fuzz-artifacts/$name"
  mkdir -p "$corpus" "$artifacts"
  for d in $(seeds "$name"); do cp -n "$d"/* "$corpus/" 2>/dev/null || true; done
  echo "== $name: ${seconds}s"
  # -timeout: an input that takes seconds is a hang; -rss_limit_mb: a leak that grows.
  set +e
  "$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" "$corpus" 2>&1 | tee "$work/fuzz-last-$name.log" |
    grep -E "MISMATCH|INVARIANT|ERROR|SUMMARY|DONE|Done|stat::number_of_executed_units|stat::peak_rss_mb|runtime error"
  s=${PIPESTATUS[0]}
  set -e
  if [[ $s != 0 ]]; then
    status=$s
    # The finding's stack and the input's name, for a CI log that keeps nothing else.
    echo "== $name failed (exit $s); the end of $work/fuzz-last-$name.log:"
    tail -n 60 "$work/fuzz-last-$name.log"
  fi
done
exit "$status"
