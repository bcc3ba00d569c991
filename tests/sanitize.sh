#!/usr/bin/env bash
# Builds the project with sanitizers and runs the unit and integration suites
# under them (docs/robustness.md).
#
#   tests/sanitize.sh asan|tsan [--ci] [--build-dir DIR] [--no-build | --build-only]
#                               [CTEST ARGS...]
#
#   --ci          build and run only the suites labelled `sanitize` (the code
#                 that parses untrusted input or shares state across threads;
#                 see tests/CMakeLists.txt), as .ci/run does; with asan the
#                 fuzz targets are built too (tests/fuzz/run_fuzz.sh runs them)
#   --build-only  configure and build, run nothing
#
#   asan   clang, -fsanitize=address,undefined, in build-asan (shared with the
#          fuzz targets, tests/fuzz/run_fuzz.sh): leaks checked, UBSan aborts
#   tsan   clang, -fsanitize=thread, in build-tsan, loading a TSan build of
#          Debian's gRPC (tests/sanitize/build_tsan_grpc.sh, cached in
#          build-tsan/grpc; needs Debian's archive the first time)
#
# Both are RelWithDebInfo builds of every target, so the binaries that the
# integration tests start from DIR/bin are sanitized as well. Debian's
# LibTorch, protobuf and Abseil are not, nor gRPC under ASan;
# tests/sanitize/*.supp hold the only suppressions, each for a finding inside
# one of those libraries (never for our code), and
# tests/sanitize/tsan_absl_sync.cc makes TSan see Abseil's locks. Every
# sanitized process, test or child, writes its reports to
# DIR/sanitizer-logs/; the run fails if a test fails or any report was
# written, even by a child whose exit status no test looked at.
#
# Runs `ctest -L 'unit|integration' -LE 'slow|docker'` minus the tests
# listed in EXCLUDE below, one at a time (integration tests have deadlines
# that sanitized binaries on a loaded 2-core machine can miss); extra
# arguments go to ctest (e.g. -R learner, or -j 2 on a bigger machine).
# Needs clang and compiler-rt (deploy/install-deps.sh --sanitizers).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
kind=${1:-}
case "$kind" in
  asan) sanitize=address,undefined; build_dir="$ROOT/build-asan" ;;
  tsan) sanitize=thread; build_dir="$ROOT/build-tsan" ;;
  *) sed -n '2,34p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
shift
build=1
build_only=0
ci=0
ctest_args=()
while (($#)); do
  case "$1" in
    --ci) ci=1; shift ;;
    --build-only) build_only=1; shift ;;
    --build-dir) build_dir=${2:?}; shift 2 ;;
    --build-dir=*) build_dir=${1#*=}; shift ;;
    --no-build) build=0; shift ;;
    *) ctest_args+=("$1"); shift ;;
  esac
done
[[ "$build_dir" = /* ]] || build_dir="$PWD/$build_dir"
supp="$ROOT/tests/sanitize"

# Tests that cannot run under a sanitizer, with the reason. ctest -E regex.
EXCLUDE=(
  # Not our C++: the Kubernetes manifest check (Node.js) and the Docker
  # compose test (labelled slow too) build nothing sanitized.
  deploy_k8s_manifests
  deploy_compose_test
)
# Single gtest cases that cannot hold under a sanitizer (GTEST_FILTER, which
# the gtest binaries read; names are unique across binaries):
#   LoadTest.PausedLearnerBlocksActorsAndKeepsItsMemoryBounded  asserts the
#     learner's RSS stays under 512 MiB; ASan's shadow memory and quarantine
#     and TSan's shadow memory inflate RSS by design.
#   LoadTest.FullQueueGrowsTheLearnersMemoryByTheDocumentedBound  asserts RSS
#     growth against bytes held; ASan's quarantine keeps freed chunks.
# The allocation-counting tests (envs_test's no_alloc_test.cc,
# actor_no_alloc_test) pass under ASan; in a TSan build they are not built
# (their operator new clashes with TSan's, tests/envs/CMakeLists.txt).
export GTEST_FILTER="-LoadTest.PausedLearnerBlocksActorsAndKeepsItsMemoryBounded:LoadTest.FullQueueGrowsTheLearnersMemoryByTheDocumentedBound"

# --- Build --------------------------------------------------------------------
if ((build)); then
  extra=()
  [[ $kind == asan ]] && extra=(-DPROXIMA_FUZZ=ON)
  if [[ $kind == tsan ]]; then
    # Debian's gRPC rebuilt with TSan (cached in DIR/grpc; about 30 minutes
    # the first time): without it every message gRPC hands between threads
    # is reported as a race.
    "$ROOT/tests/sanitize/build_tsan_grpc.sh" "$build_dir/grpc"
    extra=(-DPROXIMA_TSAN_GRPC_LIBDIR="$build_dir/grpc/lib")
  fi
  if [[ ! -f "$build_dir/CMakeCache.txt" ]]; then
    cmake -S "$ROOT" -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
      -DPROXIMA_SANITIZE="$sanitize" -DPROXIMA_WERROR=OFF "${extra[@]}"
  elif ((${#extra[@]})); then
    cmake "$build_dir" "${extra[@]}" >/dev/null
  fi
  grep -q "^PROXIMA_SANITIZE:STRING=$sanitize\$" "$build_dir/CMakeCache.txt" || {
    echo "sanitize: $build_dir is not configured with PROXIMA_SANITIZE=$sanitize" >&2; exit 2; }
  targets=()
  if ((ci)); then
    # The gtest suites labelled `sanitize` (each ctest test is its target).
    mapfile -t targets < <(ctest --test-dir "$build_dir" -N -L sanitize | sed -n 's/^ *Test *#[0-9]*: //p')
    ((${#targets[@]})) || { echo "sanitize: no suite labelled 'sanitize'" >&2; exit 2; }
    [[ $kind == asan ]] && targets+=(proxima_fuzz)
    echo "sanitize: building ${targets[*]}"
    targets=(--target "${targets[@]}")
  fi
  start=$SECONDS
  nice -n 10 cmake --build "$build_dir" -j "$(nproc)" "${targets[@]}"
  echo "sanitize: build took $((SECONDS - start)) s"
fi
((build_only)) && exit 0
if [[ $kind == tsan ]]; then
  # The sanitized executables must load the TSan gRPC, not Debian's.
  loaded=$(ldd "$build_dir/bin/proxima-learner" | awk '$1 == "libgrpc.so.29" {print $3}')
  [[ "$loaded" == "$build_dir/grpc/lib/libgrpc.so.29" ]] || {
    echo "sanitize: proxima-learner loads libgrpc from '$loaded', not $build_dir/grpc/lib" >&2; exit 2; }
fi

# --- Runtime options -------------------------------------------------------------
logs="$build_dir/sanitizer-logs"
rm -rf "$logs"
mkdir -p "$logs"
common="log_path=$logs/$kind:symbolize=1"
if command -v llvm-symbolizer >/dev/null; then
  export ASAN_SYMBOLIZER_PATH=$(command -v llvm-symbolizer)
  common="$common:external_symbolizer_path=$ASAN_SYMBOLIZER_PATH"
fi
if [[ $kind == asan ]]; then
  # Protobuf and gRPC register the same descriptors from both the generated
  # code and Debian's libraries' copies; that is not an ODR bug of ours.
  export ASAN_OPTIONS="$common:detect_leaks=1:detect_odr_violation=0:detect_stack_use_after_return=0"
  export LSAN_OPTIONS="$common:suppressions=$supp/lsan.supp:print_suppressions=0"
  export UBSAN_OPTIONS="$common:halt_on_error=1:print_stacktrace=1:suppressions=$supp/ubsan.supp"
else
  # One OpenMP/OpenBLAS thread: their pools live in uninstrumented libraries
  # whose synchronization TSan cannot see.
  export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
  # Accesses that interceptors record for uninstrumented libraries are
  # ignored (tests/sanitize/tsan.supp explains why).
  export TSAN_OPTIONS="$common:halt_on_error=0:second_deadlock_stack=1:history_size=4:ignore_noninstrumented_modules=1:suppressions=$supp/tsan.supp:report_signal_unsafe=0"
fi

# --- Run ------------------------------------------------------------------------
exclude=$(IFS='|'; echo "^(${EXCLUDE[*]})\$")
start=$SECONDS
set +e
labels='unit|integration'
((ci)) && labels=sanitize
ctest --test-dir "$build_dir" -L "$labels" -LE 'slow|docker' -E "$exclude" \
  --output-on-failure "${ctest_args[@]}"
rc=$?
set -e
echo "sanitize: $kind tests took $((SECONDS - start)) s (ctest exit $rc)"

reports=$(find "$logs" -type f | sort)
if [[ -n "$reports" ]]; then
  echo "sanitize: $(echo "$reports" | wc -l) sanitizer report file(s) in $logs:" >&2
  for f in $reports; do
    echo "==== $f" >&2
    head -n 60 "$f" >&2
  done
  rc=1
fi
if ((rc == 0)); then echo "sanitize: $kind PASSED"; else echo "sanitize: $kind FAILED" >&2; fi
exit $rc
