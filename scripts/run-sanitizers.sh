#!/usr/bin/env bash
# Builds the unit tests and the conformance runner with ASan+UBSan, and the unit
# tests with TSan, and runs them; any sanitizer report fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DBPFEMU_SANITIZE=address,undefined -DBPFEMU_BENCH=OFF >/dev/null
cmake --build build-asan -j"$jobs" --target bpfemu_tests bpfemu-conformance
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
./build-asan/tests/bpfemu_tests --gtest_brief=1
./build-asan/conformance/bpfemu-conformance --backend emu >/dev/null
if ./build-asan/conformance/bpfemu-conformance --help >/dev/null && [[ $(id -u) == 0 ]]; then
  ./build-asan/conformance/bpfemu-conformance --backend both | tail -n 2
fi

cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=Debug -DBPFEMU_SANITIZE=thread -DBPFEMU_BENCH=OFF >/dev/null
cmake --build build-tsan -j"$jobs" --target bpfemu_tests
TSAN_OPTIONS=halt_on_error=1 ./build-tsan/tests/bpfemu_tests --gtest_brief=1
echo "sanitizers: clean"
