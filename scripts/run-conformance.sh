#!/usr/bin/env bash
# The main job: install, build, and print the conformance report of the
# emulator against the running kernel (emulator only, with a note, when bpf()
# is not usable here). Extra arguments go to bpfemu-conformance.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
exec ./build/conformance/bpfemu-conformance "$@"
