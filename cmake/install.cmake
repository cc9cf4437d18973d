# What `cmake --install` puts in a prefix, by component:
#   cxx        the public headers (include/bpfemu), libbpfemu_core.a
#              (bpfemu::core: the emulator, no libbpf) and libbpfemu_api.a
#              (bpfemu::api: both backends and make_backend; links libbpf),
#              with pkg-config files bpfemu-core and bpfemu-api;
#   libbpfemu  the drop-in libbpf replacement (api/libbpfemu/CMakeLists.txt).
# Both carry the CMake package: find_package(bpfemu [COMPONENTS core api libbpfemu]).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(BPFEMU_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/bpfemu)

# pkg-config files find the prefix relative to themselves, so an install into
# any prefix (cmake --install --prefix, a .deb unpacked elsewhere) works.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(BPFEMU_PC_TO_PREFIX "")
  set(BPFEMU_PC_LIBDIR "${CMAKE_INSTALL_LIBDIR}")
else()
  file(RELATIVE_PATH BPFEMU_PC_TO_PREFIX "/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/")
  string(REGEX REPLACE "/$" "" BPFEMU_PC_TO_PREFIX "${BPFEMU_PC_TO_PREFIX}")
  set(BPFEMU_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
endif()
if(IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(BPFEMU_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
else()
  set(BPFEMU_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()

# --- the C++ API ---
install(DIRECTORY ${PROJECT_SOURCE_DIR}/api/include/bpfemu DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  COMPONENT cxx FILES_MATCHING PATTERN "*.h")
install(TARGETS bpfemu_core EXPORT bpfemuCoreTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT cxx)
install(EXPORT bpfemuCoreTargets NAMESPACE bpfemu:: DESTINATION ${BPFEMU_CMAKE_DIR} COMPONENT cxx)
configure_file(${CMAKE_CURRENT_LIST_DIR}/bpfemu-core.pc.in bpfemu-core.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/bpfemu-core.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig
  COMPONENT cxx)
# Its own export file, so the package still loads bpfemu::core where libbpf is missing.
if(TARGET bpfemu_api)
  install(TARGETS bpfemu_api EXPORT bpfemuApiTargets
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT cxx)
  install(EXPORT bpfemuApiTargets NAMESPACE bpfemu:: DESTINATION ${BPFEMU_CMAKE_DIR} COMPONENT cxx)
  configure_file(${CMAKE_CURRENT_LIST_DIR}/bpfemu-api.pc.in bpfemu-api.pc @ONLY)
  install(FILES ${CMAKE_CURRENT_BINARY_DIR}/bpfemu-api.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig
    COMPONENT cxx)
endif()

# --- the CMake package, in both components (either may be installed alone) ---
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/bpfemuConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/bpfemuConfig.cmake
  INSTALL_DESTINATION ${BPFEMU_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/bpfemuConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
foreach(component cxx libbpfemu)
  install(FILES
    ${CMAKE_CURRENT_BINARY_DIR}/bpfemuConfig.cmake
    ${CMAKE_CURRENT_BINARY_DIR}/bpfemuConfigVersion.cmake
    DESTINATION ${BPFEMU_CMAKE_DIR} COMPONENT ${component})
endforeach()
