#!/usr/bin/env bash
# Install, build and run every test (unit tests, conformance vs the kernel,
# drop-in and multi-process tests, benchmark smoke runs) through ctest, after the
# sanitizer builds (set BPFEMU_SKIP_SANITIZERS=1 to skip those).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
# Sanitizer builds of the unit tests and conformance runner (ASan+UBSan, TSan)
# first, so that ctest's summary is the last thing printed.
if [[ "${BPFEMU_SKIP_SANITIZERS:-0}" != 1 ]]; then
  bash scripts/run-sanitizers.sh
fi
# Short fuzz runs (clang build in build-fuzz, a few minutes in all): the map
# commands against the reference model, then raw bpf(2) attrs and programs
# (BPFEMU_SKIP_FUZZ=1 skips them; BPFEMU_FUZZ_SECONDS and
# BPFEMU_FUZZ_RAW_SECONDS set their lengths).
if [[ "${BPFEMU_SKIP_FUZZ:-0}" != 1 ]]; then
  bash scripts/fuzz.sh "${BPFEMU_FUZZ_SECONDS:-60}" bpfemu-fuzz
  bash scripts/fuzz.sh "${BPFEMU_FUZZ_RAW_SECONDS:-30}" bpfemu-fuzz-attr
  bash scripts/fuzz.sh "${BPFEMU_FUZZ_RAW_SECONDS:-30}" bpfemu-fuzz-prog
fi
cd build
ctest --output-on-failure -j"$(nproc)" "$@"
