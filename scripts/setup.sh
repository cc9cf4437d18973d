#!/usr/bin/env bash
# Installs everything bpfemu needs to build, test and benchmark on Debian 12
# (run as root; idempotent). Also mounts the bpf filesystem when it is missing,
# so kernel-side pin scenarios can run.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake pkg-config
  googletest libgtest-dev libgmock-dev libbenchmark-dev
  libboost1.81-dev libxxhash-dev
  nettle-dev  # SHA-256 / SHA-1 (emu/digest.h)
  libbpf-dev bpftool clang llvm
  libelf-dev  # USDT notes of user binaries (emu/usdt.cc)
  systemtap-sdt-dev  # <sys/sdt.h>: USDT probes in the tests
  libclang-rt-14-dev  # libFuzzer and clang's sanitizer runtimes (scripts/fuzz.sh)
  python3
)
if [[ -f scripts/bench-deps.txt ]]; then
  while read -r p; do [[ -n "$p" && "$p" != \#* ]] && packages+=("$p"); done < scripts/bench-deps.txt
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) != 0 ]]; then
    echo "setup: missing packages: ${missing[*]}; run this script as root to install them" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [[ $(id -u) == 0 ]] && ! grep -qs " /sys/fs/bpf bpf " /proc/mounts; then
  mkdir -p /sys/fs/bpf
  mount -t bpf bpf /sys/fs/bpf 2>/dev/null || echo "setup: note: could not mount bpffs at /sys/fs/bpf" >&2
fi
echo "setup: ok"
