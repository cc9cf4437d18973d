#!/bin/sh
# Builds and runs what a user builds from an installed bpfemu, with only the
# install prefix given (CMAKE_PREFIX_PATH or PKG_CONFIG_PATH) and nothing from
# the source or build tree on any include path:
#   - README.md's C++ example (port_counters_test.cc and its CMakeLists.txt,
#     cut from README.md): bpfemu::api + GoogleTest, run on the emulator;
#   - the C drop-in consumer (tests/libbpfemu/consumer): libbpfemu, shared and static;
#   - an emulator-only consumer (tests/install/core_consumer): bpfemu::core, no libbpf;
# each with find_package(bpfemu) and with pkg-config.
#   install: cmake --install BUILD_DIR --prefix WORK/prefix
#   deb:     cpack -G DEB in BUILD_DIR, the .deb unpacked with dpkg-deb -x
#            into WORK/root (prefix WORK/root/usr)
# WORK is a fresh temporary directory outside both trees (removed on success).
# Usage: consumers_test.sh install|deb BUILD_DIR SOURCE_DIR
set -eu
mode=$1
build=$(cd "$2" && pwd -P)
src=$(cd "$3" && pwd -P)
work=$(mktemp -d "${TMPDIR:-/tmp}/bpfemu-$mode-consumers.XXXXXX")

fail() {
  echo "FAIL: $* (work directory left in $work)" >&2
  exit 1
}
# Only the prefix may tell the compiler where bpfemu is.
unset CPATH C_INCLUDE_PATH CPLUS_INCLUDE_PATH CMAKE_PREFIX_PATH PKG_CONFIG_PATH LD_LIBRARY_PATH

# The include-path check below looks for these paths: the work must be elsewhere.
case $work in "$src"/* | "$build"/*) fail "work directory inside the trees" ;; esac

case $mode in
install)
  prefix=$work/prefix
  cmake --install "$build" --prefix "$prefix" >/dev/null
  ;;
deb)
  (cd "$build" && cpack -G DEB -B "$work/cpack") >"$work/cpack.log" 2>&1 || { cat "$work/cpack.log"; fail cpack; }
  deb=$(ls "$work"/cpack/bpfemu_*.deb)
  echo "package: $(basename "$deb"), Depends: $(dpkg-deb -f "$deb" Depends)"
  [ "$(dpkg-deb -f "$deb" Package)" = bpfemu ] || fail "package name"
  for dep in libbpf1 libxxhash0 libnettle8 libelf1; do
    dpkg-deb -f "$deb" Depends | grep -qw "$dep" || fail "Depends lacks $dep"
  done
  dpkg-deb -x "$deb" "$work/root"
  prefix=$work/root/usr
  ;;
*) fail "mode $mode" ;;
esac

for h in backend.h controls.h emu_backend.h faults.h kernel_backend.h prog.h testing.h uapi.h; do
  [ -f "$prefix/include/bpfemu/$h" ] || fail "bpfemu/$h not installed"
done
libdir=$(dirname "$(find "$prefix" -name libbpfemu_api.a | head -n1)")
export BPFEMU_BPFFS="$work/bpffs"

# No -I (or other path) into the source or build tree in what was compiled.
clean_flags() {
  [ -s "$1" ] || fail "$1 missing"
  if grep -qF -e "$src" -e "$build" "$1"; then
    grep -F -e "$src" -e "$build" "$1" >&2
    fail "$1 names the source or build tree"
  fi
}
no_libbpf() {
  if readelf -d "$1" | grep -q 'libbpf\.so'; then fail "$1 links libbpf"; fi
}
# The README's example: both tests pass on the emulator.
run_readme() {
  "$1" --gtest_filter='*/emu' >"$work/readme.out" 2>&1 || { cat "$work/readme.out"; fail "$1"; }
  grep -q '\[  PASSED  \] 2 tests' "$work/readme.out" || { cat "$work/readme.out"; fail "$1: not 2 passed"; }
}
# A block of README.md: the fence after "<!-- file: NAME".
readme_block() {
  awk -v f="<!-- file: $1" 'index($0, f) == 1 { want = 1; next }
    want && /^```/ { if (inside) exit; inside = 1; next }
    inside { print }' "$src/README.md"
}
configure() {  # SRC_DIR BUILD_DIR
  cmake -S "$1" -B "$2" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >"$2.log" 2>&1 || { cat "$2.log"; fail "configure $1"; }
  cmake --build "$2" >>"$2.log" 2>&1 || { cat "$2.log"; fail "build $1"; }
  clean_flags "$2/compile_commands.json"
}

# --- find_package(bpfemu) ---
mkdir -p "$work/readme"
readme_block port_counters_test.cc >"$work/readme/port_counters_test.cc"
readme_block CMakeLists.txt >"$work/readme/CMakeLists.txt"
[ -s "$work/readme/port_counters_test.cc" ] && [ -s "$work/readme/CMakeLists.txt" ] || fail "README blocks not found"
configure "$work/readme" "$work/readme-build"
run_readme "$work/readme-build/port_counters_test"

cp -r "$src/tests/libbpfemu/consumer" "$work/dropin"
configure "$work/dropin" "$work/dropin-build"
no_libbpf "$work/dropin-build/consumer_shared"
no_libbpf "$work/dropin-build/consumer_static"
LD_LIBRARY_PATH="$libdir" "$work/dropin-build/consumer_shared"
"$work/dropin-build/consumer_static"

cp -r "$src/tests/install/core_consumer" "$work/core"
configure "$work/core" "$work/core-build"
no_libbpf "$work/core-build/core_consumer"
"$work/core-build/core_consumer"

# --- pkg-config ---
export PKG_CONFIG_PATH="$libdir/pkgconfig"
for pc in bpfemu-api bpfemu-core libbpfemu; do
  pkg-config --cflags --libs "$pc" >"$work/$pc.flags" || fail "pkg-config $pc"
  clean_flags "$work/$pc.flags"
done
cd "$work"
c++ -std=c++20 readme/port_counters_test.cc -o readme_pc $(pkg-config --cflags --libs bpfemu-api gtest_main)
run_readme "$work/readme_pc"
cc dropin/main.c -o dropin_pc $(pkg-config --cflags --libs libbpfemu)
no_libbpf dropin_pc
LD_LIBRARY_PATH="$libdir" ./dropin_pc
c++ -std=c++20 core/main.cc -o core_pc $(pkg-config --cflags --libs bpfemu-core)
no_libbpf core_pc
./core_pc

cd /
rm -rf "$work"
echo "$mode consumers test passed"
