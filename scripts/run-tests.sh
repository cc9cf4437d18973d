#!/usr/bin/env bash
# Install, build and run every test (unit tests, conformance vs the kernel,
# drop-in and multi-process tests, benchmark smoke runs) through ctest, then the
# sanitizer builds (set BPFEMU_SKIP_SANITIZERS=1 to skip those).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
(cd build && ctest --output-on-failure -j"$(nproc)" "$@")
# Sanitizer builds of the unit tests and conformance runner (ASan+UBSan, TSan).
if [[ "${BPFEMU_SKIP_SANITIZERS:-0}" != 1 ]]; then
  bash scripts/run-sanitizers.sh
fi
