#!/usr/bin/env bash
# Builds and runs the libFuzzer targets (tests/fuzz/) under ASan + UBSan.
#
#   tests/fuzz/run_fuzz.sh [--seconds N | --long] [--build-dir DIR] [TARGET...]
#
#   TARGET        chunk weight_snapshot checkpoint flags config (default: all)
#   --seconds N   run each target for N seconds (default 25: the CI run)
#   --long        the long run: chunk for 300 s (over 1M executions; the
#                 script fails if it does not get there), the others 120 s
#   --build-dir   the clang ASan+UBSan+fuzz build (default build-asan; it also
#                 holds the sanitized test suites, tests/sanitize.sh asan).
#                 Configured and built here when needed.
#
# Each target starts from the seed corpus that proxima_fuzz_seeds writes
# (valid chunks, snapshots, a checkpoint, flag lines and configs) plus what
# earlier runs in the same build dir found (DIR/fuzz/corpus/TARGET). Per
# target it prints executions, executions per second, duration, new corpus
# units and findings; crash, leak, timeout, OOM and UBSan inputs are kept in
# DIR/fuzz/artifacts/TARGET/ and the full log in DIR/fuzz/logs/TARGET.log.
# Exit status: 0 when no target found anything, 1 otherwise (2: usage).
# Needs clang and compiler-rt (deploy/install-deps.sh --sanitizers).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ALL_TARGETS=(chunk weight_snapshot checkpoint flags config)
seconds=25
long=0
build_dir="$ROOT/build-asan"
targets=()

usage() { sed -n '2,22p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while (($#)); do
  case "$1" in
    --seconds) seconds=${2:?}; shift 2 ;;
    --seconds=*) seconds=${1#*=}; shift ;;
    --long) long=1; shift ;;
    --build-dir) build_dir=${2:?}; shift 2 ;;
    --build-dir=*) build_dir=${1#*=}; shift ;;
    -h|--help) usage ;;
    -*) echo "run_fuzz: unknown option $1" >&2; usage ;;
    *) targets+=("$1"); shift ;;
  esac
done
((${#targets[@]})) || targets=("${ALL_TARGETS[@]}")
for t in "${targets[@]}"; do
  [[ " ${ALL_TARGETS[*]} " == *" $t "* ]] || { echo "run_fuzz: unknown target $t" >&2; exit 2; }
done
[[ "$build_dir" = /* ]] || build_dir="$PWD/$build_dir"

# --- Build (configure once; the same dir serves tests/sanitize.sh asan) ------
if [[ ! -f "$build_dir/CMakeCache.txt" ]]; then
  cmake -S "$ROOT" -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DPROXIMA_SANITIZE=address,undefined -DPROXIMA_FUZZ=ON -DPROXIMA_WERROR=OFF
fi
grep -q '^PROXIMA_FUZZ:BOOL=ON' "$build_dir/CMakeCache.txt" || {
  echo "run_fuzz: $build_dir is not configured with PROXIMA_FUZZ=ON" >&2; exit 2; }
build_start=$SECONDS
nice -n 10 cmake --build "$build_dir" -j "$(nproc)" --target proxima_fuzz
echo "run_fuzz: build took $((SECONDS - build_start)) s"

fuzz_dir="$build_dir/fuzz"
"$fuzz_dir/proxima_fuzz_seeds" "$fuzz_dir/seeds"

# --- Runtime options ---------------------------------------------------------
# Leaks are checked (libFuzzer's per-input leak check, then LSan at exit) with
# suppressions for third-party libraries only; UBSan findings abort.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:symbolize=1:detect_odr_violation=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export LSAN_OPTIONS="suppressions=$ROOT/tests/sanitize/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$ROOT/tests/sanitize/ubsan.supp${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export OMP_NUM_THREADS=1
if command -v llvm-symbolizer >/dev/null; then
  export ASAN_SYMBOLIZER_PATH=${ASAN_SYMBOLIZER_PATH:-$(command -v llvm-symbolizer)}
fi

failed=0
summary=()
for t in "${targets[@]}"; do
  bin="$fuzz_dir/proxima_${t}_fuzz"
  corpus="$fuzz_dir/corpus/$t"
  artifacts="$fuzz_dir/artifacts/$t"
  log="$fuzz_dir/logs/$t.log"
  mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
  secs=$seconds
  if ((long)); then
    if [[ $t == chunk ]]; then secs=300; else secs=120; fi
  fi
  before=$(find "$artifacts" -type f | wc -l)
  start_ms=$(($(date +%s%N) / 1000000))
  # LibTorch has no frame pointers: full unwinding lets the LSan suppression
  # of its archive reader's leak (tests/sanitize/lsan.supp) see miniz's frame.
  unwind=""
  [[ $t == checkpoint ]] && unwind=":fast_unwind_on_malloc=0"
  set +e
  ASAN_OPTIONS="$ASAN_OPTIONS$unwind" "$bin" -max_total_time="$secs" -rss_limit_mb=4096 -malloc_limit_mb=2048 -timeout=30 \
    -max_len=65536 -print_final_stats=1 -print_funcs=0 -artifact_prefix="$artifacts/" \
    "$corpus" "$fuzz_dir/seeds/$t" >"$log" 2>&1
  rc=$?
  set -e
  took_ms=$(($(date +%s%N) / 1000000 - start_ms))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n1)
  units=$(sed -n 's/^stat::new_units_added: *//p' "$log" | tail -n1)
  rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -n1)
  found=$(($(find "$artifacts" -type f | wc -l) - before))
  status=ok
  if ((rc != 0 || found > 0)); then
    status="FAILED (exit $rc, $found new artifact(s) in $artifacts)"
    failed=1
    echo "---- $t: last lines of $log" >&2
    grep -v '^checkpoint: skipping' "$log" | tail -n 40 >&2
  fi
  if ((long)) && [[ $t == chunk && $status == ok ]] && ((${execs:-0} < 1000000)); then
    status="FAILED (only ${execs:-0} executions, the long run needs 1000000)"
    failed=1
  fi
  line=$(printf '%-16s %10s execs %7s exec/s %5d s  +%s units  %s MB peak  %s' \
    "$t" "${execs:-?}" "${rate:-?}" "$((took_ms / 1000))" "${units:-?}" "${rss:-?}" "$status")
  echo "run_fuzz: $line"
  summary+=("$line")
done

echo
echo "run_fuzz summary ($( ((long)) && echo long || echo "${seconds} s per target")):"
printf '  %s\n' "${summary[@]}"
exit $failed
