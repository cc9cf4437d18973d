# A Debian package of the whole install (every component, one package):
#   cmake --build build && (cd build && cpack -G DEB)  ->  bpfemu_<version>_<arch>.deb
# `apt install ./bpfemu_*.deb` then gives the headers, bpfemu::core/api,
# libbpfemu and the CMake and pkg-config files under /usr.
set(CPACK_PACKAGE_NAME bpfemu)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Userspace emulator of Linux BPF maps, to test BPF map consumers without root")
set(CPACK_PACKAGE_CONTACT "bpfemu developers <bpfemu@localhost>")
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION libdevel)
# libbpfemu.so needs libxxhash0, libnettle8 and libelf1 at run time; linking the
# static C++ libraries needs libxxhash.so, libnettle.so, libelf.so and libbpf.so (bpfemu::api),
# and libbpfemu's consumers compile against libbpf's headers: the -dev packages.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libbpf1, libxxhash0, libnettle8, libelf1, libbpf-dev, libxxhash-dev, nettle-dev, libelf-dev")
include(CPack)
