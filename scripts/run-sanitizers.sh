#!/usr/bin/env bash
# Builds the whole suite with ASan+UBSan, and with TSan the unit, multi-process
# and drop-in tests and the conformance runner, and runs them; any sanitizer
# report or failing test fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

# ASan+UBSan: the whole suite through ctest (unit tests, the conformance runner
# on both backends, the multi-process tests, the drop-in programs and the
# examples), but the packaging tests: an installed ASan build needs consumers
# built with -fsanitize too, which is not what they check.
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DBPFEMU_SANITIZE=address,undefined -DBPFEMU_BENCH=OFF >/dev/null
cmake --build build-asan -j"$jobs"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
if ! (cd build-asan && ctest -j"$jobs" --output-on-failure \
        -E '^(install_consumers|deb_consumers|libbpfemu_install_consumer)$' >ctest-asan.log 2>&1); then
  grep -v ' Passed ' build-asan/ctest-asan.log
  echo "sanitizers: the ASan+UBSan suite failed (log: build-asan/ctest-asan.log)" >&2
  exit 1
fi
grep -E 'tests passed|Total Test time' build-asan/ctest-asan.log

# TSan: the unit tests (threads on every concurrent path), the multi-process
# tests (processes sharing pinned maps, writers killed mid-update), the drop-in
# program linked both ways, and the conformance runner on the emulator.
cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=Debug -DBPFEMU_SANITIZE=thread -DBPFEMU_BENCH=OFF >/dev/null
cmake --build build-tsan -j"$jobs" --target bpfemu_tests libbpfemu_multiprocess_test libbpfemu_api_linked \
  libbpfemu_api_static bpfemu-conformance
export TSAN_OPTIONS=halt_on_error=1
./build-tsan/tests/bpfemu_tests --gtest_brief=1
(cd build-tsan &&
  ctest --output-on-failure -R '^(MultiProcess|Types/KilledWriter|HashTypes/KilledWriter|libbpfemu_api_linked|libbpfemu_api_static)')
./build-tsan/conformance/bpfemu-conformance --backend emu | tail -n 1
echo "sanitizers: clean"
