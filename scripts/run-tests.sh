#!/usr/bin/env bash
# Install, build and run every test (unit tests, conformance vs the kernel,
# drop-in and multi-process tests, benchmark smoke runs) through ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
cd build
ctest --output-on-failure -j"$(nproc)" "$@"
