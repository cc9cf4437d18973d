#!/bin/sh
# Installs libbpfemu into a temporary prefix and builds a tiny consumer against
# it the usual ways: find_package(bpfemu) (shared and static targets) and
# pkg-config libbpfemu. Each consumer must run on the emulator without libbpf.
# Usage: install_consumer_test.sh BUILD_DIR CONSUMER_SRC WORKDIR
set -eu
build=$1 src=$2 work=$3

rm -rf "$work"
mkdir -p "$work"
prefix=$work/prefix
cmake --install "$build" --prefix "$prefix" --component libbpfemu
libdir=$(dirname "$(find "$prefix" -name 'libbpfemu.so' | head -n1)")
export BPFEMU_BPFFS="$work/bpffs"

no_libbpf() {
  if readelf -d "$1" | grep -q 'libbpf\.so'; then
    echo "$1 links libbpf" >&2
    exit 1
  fi
}

# CMake package.
cmake -S "$src" -B "$work/cmake" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release
cmake --build "$work/cmake"
no_libbpf "$work/cmake/consumer_shared"
no_libbpf "$work/cmake/consumer_static"
LD_LIBRARY_PATH="$libdir" "$work/cmake/consumer_shared"
if readelf -d "$work/cmake/consumer_static" | grep -q 'libbpfemu\.so'; then
  echo "consumer_static links the shared libbpfemu" >&2
  exit 1
fi
"$work/cmake/consumer_static"

# pkg-config.
export PKG_CONFIG_PATH="$libdir/pkgconfig"
cc $(pkg-config --cflags libbpfemu) "$src/main.c" -o "$work/consumer_pc" $(pkg-config --libs libbpfemu)
no_libbpf "$work/consumer_pc"
LD_LIBRARY_PATH="$libdir" "$work/consumer_pc"
rm -rf "$work"
echo "install consumer test passed"
