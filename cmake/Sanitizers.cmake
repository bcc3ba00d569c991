# Sanitizer and fuzzing builds (docs/robustness.md).
#
#   -DPROXIMA_SANITIZE=address,undefined   ASan + UBSan
#   -DPROXIMA_SANITIZE=thread              TSan
#   -DPROXIMA_FUZZ=ON                      libFuzzer targets in tests/fuzz/
#                                          (clang only; combine with
#                                          PROXIMA_SANITIZE=address,undefined)
#
# The sanitizer flags go to every target of the project (libraries, mains,
# tests, generated protobuf code) through directory-wide compile and link
# options, so the binaries that integration tests start from build/bin are
# sanitized too. Debian's LibTorch, gRPC, protobuf and Abseil stay
# uninstrumented; tests/sanitize.sh sets the runtime options and the
# suppressions that this requires (tests/sanitize/).
#
# UBSan findings abort (-fno-sanitize-recover), so a test with undefined
# behaviour fails instead of printing a line nobody reads. With PROXIMA_FUZZ
# every project target also gets -fsanitize=fuzzer-no-link (coverage feedback
# for the code under test); only the fuzz targets link libFuzzer's main.
#
# With an empty PROXIMA_SANITIZE and PROXIMA_FUZZ=OFF (the defaults) this file
# changes nothing.

set(PROXIMA_SANITIZE "" CACHE STRING
    "Sanitizers for all Proxima targets: empty, address,undefined or thread")
option(PROXIMA_FUZZ "Build the libFuzzer targets in tests/fuzz (clang only)" OFF)

if(PROXIMA_FUZZ AND NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "PROXIMA_FUZZ=ON needs clang (libFuzzer): configure with "
                      "-DCMAKE_CXX_COMPILER=clang++")
endif()

if(PROXIMA_SANITIZE)
  if(PROXIMA_SANITIZE MATCHES "thread" AND PROXIMA_SANITIZE MATCHES "address")
    message(FATAL_ERROR "PROXIMA_SANITIZE: thread cannot be combined with address")
  endif()
  add_compile_options(-fsanitize=${PROXIMA_SANITIZE} -fno-omit-frame-pointer -g)
  add_link_options(-fsanitize=${PROXIMA_SANITIZE})
  if(PROXIMA_SANITIZE MATCHES "undefined")
    add_compile_options(-fno-sanitize-recover=undefined)
  endif()
  message(STATUS "Proxima: sanitizers ${PROXIMA_SANITIZE}")
endif()

if(PROXIMA_FUZZ)
  add_compile_options(-fsanitize=fuzzer-no-link)
  add_link_options(-fsanitize=fuzzer-no-link)
  message(STATUS "Proxima: libFuzzer targets in tests/fuzz")
endif()

# TSan sees happens-before only through instrumented code and the libc/pthread
# functions it intercepts. absl::Mutex, absl::CondVar and absl::Notification
# live in Debian's uninstrumented libabsl_synchronization, so without help
# every field guarded by an absl::Mutex would be reported as a race. The
# executables therefore route our calls to them through
# tests/sanitize/tsan_absl_sync.cc (ld --wrap), which tells TSan about each
# acquire and release. Call after every target is defined.
#
# -DPROXIMA_TSAN_GRPC_LIBDIR=DIR (TSan only): a folder of TSan-built gRPC
# libraries with Debian's SONAMEs (tests/sanitize/build_tsan_grpc.sh). Every
# executable gets DIR as its RPATH (DT_RPATH, searched before the system
# folders), so it loads those instead of Debian's uninstrumented ones. The
# link itself stays against the installed libraries: same headers and ABI.
set(PROXIMA_TSAN_GRPC_LIBDIR "" CACHE PATH
    "TSan builds only: folder of TSan-instrumented gRPC libraries to load")
function(proxima_sanitizer_support)
  if(PROXIMA_TSAN_GRPC_LIBDIR AND NOT PROXIMA_SANITIZE MATCHES "thread")
    message(FATAL_ERROR "PROXIMA_TSAN_GRPC_LIBDIR needs PROXIMA_SANITIZE=thread")
  endif()
  if(NOT PROXIMA_SANITIZE MATCHES "thread")
    return()
  endif()
  add_library(proxima_tsan_absl_sync OBJECT
    ${PROJECT_SOURCE_DIR}/tests/sanitize/tsan_absl_sync.cc)
  target_link_libraries(proxima_tsan_absl_sync PUBLIC absl::synchronization)
  # Every function the file defines as __wrap_<symbol> is wrapped.
  file(STRINGS ${PROJECT_SOURCE_DIR}/tests/sanitize/tsan_absl_sync.cc _lines
       REGEX "__wrap__Z[A-Za-z0-9_]+\\(")
  set(_wrap)
  foreach(_line IN LISTS _lines)
    string(REGEX MATCH "__wrap_(_Z[A-Za-z0-9_]+)" _m "${_line}")
    list(APPEND _wrap "LINKER:--wrap=${CMAKE_MATCH_1}")
  endforeach()
  list(REMOVE_DUPLICATES _wrap)
  _proxima_executables(_exes ${PROJECT_SOURCE_DIR})
  set(_rpath)
  if(PROXIMA_TSAN_GRPC_LIBDIR)
    if(NOT EXISTS ${PROXIMA_TSAN_GRPC_LIBDIR}/STAMP)
      message(FATAL_ERROR "PROXIMA_TSAN_GRPC_LIBDIR=${PROXIMA_TSAN_GRPC_LIBDIR} "
                          "holds no TSan gRPC (tests/sanitize/build_tsan_grpc.sh)")
    endif()
    set(_rpath "LINKER:--disable-new-dtags" "LINKER:-rpath,${PROXIMA_TSAN_GRPC_LIBDIR}")
    message(STATUS "Proxima: TSan gRPC from ${PROXIMA_TSAN_GRPC_LIBDIR}")
  endif()
  foreach(_exe IN LISTS _exes)
    target_link_libraries(${_exe} PRIVATE proxima_tsan_absl_sync)
    target_link_options(${_exe} PRIVATE ${_wrap} ${_rpath})
  endforeach()
endfunction()

# Every executable target defined in `dir` and below.
function(_proxima_executables out dir)
  get_property(_targets DIRECTORY ${dir} PROPERTY BUILDSYSTEM_TARGETS)
  set(_exes)
  foreach(_t IN LISTS _targets)
    get_target_property(_type ${_t} TYPE)
    if(_type STREQUAL "EXECUTABLE")
      list(APPEND _exes ${_t})
    endif()
  endforeach()
  get_property(_subdirs DIRECTORY ${dir} PROPERTY SUBDIRECTORIES)
  foreach(_sub IN LISTS _subdirs)
    _proxima_executables(_sub_exes ${_sub})
    list(APPEND _exes ${_sub_exes})
  endforeach()
  set(${out} ${_exes} PARENT_SCOPE)
endfunction()
