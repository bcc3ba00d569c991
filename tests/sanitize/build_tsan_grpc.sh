#!/usr/bin/env bash
# Builds Debian's own gRPC source package with ThreadSanitizer, for the TSan
# suites (tests/sanitize.sh tsan; docs/robustness.md, "TSan status").
#
#   tests/sanitize/build_tsan_grpc.sh OUT_DIR
#
# Debian's libgrpc is not instrumented: TSan cannot see the locks and atomics
# with which gRPC hands a call's messages, status and tags from one thread to
# another, and reports every such hand-off as a race. This script downloads
# the source of exactly the installed libgrpc29 version from Debian's archive
# (checksums from its .dsc), applies Debian's patches, and builds the shared
# libraries that Proxima loads (gpr, upb, address_sorting, grpc, grpc++,
# grpc++_reflection) with clang -fsanitize=thread and Debian's CMake options.
# Each library also gets tests/sanitize/tsan_absl_sync.cc, linked with
# ld --wrap, so that TSan sees gRPC's absl::Mutex and absl::CondVar calls into
# Debian's (uninstrumented) Abseil.
#
# The results, under their Debian SONAMEs, go to OUT_DIR/lib. The TSan build
# links with an RPATH to that folder (-DPROXIMA_TSAN_GRPC_LIBDIR), so the
# sanitized executables load these libraries instead of Debian's, while child
# processes that are not ours (Python clients) keep Debian's. Headers and ABI
# are the installed ones: same source, same version, same options.
#
# Takes about 30 minutes on 2 cores; a second run with the same version and
# script finds OUT_DIR/lib ready and returns at once. Needs network access to
# Debian's archive (DEBIAN_MIRROR, default http://deb.debian.org/debian) and
# the packages of deploy/install-deps.sh --sanitizers.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=${1:?usage: build_tsan_grpc.sh OUT_DIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
# The gRPC libraries Proxima's executables load (their CMake target names).
LIBS=(gpr upb address_sorting grpc grpc++ grpc++_reflection)

log() { echo "build_tsan_grpc: $*" >&2; }
die() { log "$*"; exit 1; }

# The installed binary package names the source version (a binNMU such as
# 1.51.1-3+b1 is built from source 1.51.1-3).
src_version=$(dpkg-query -W -f='${source:Version}' libgrpc29 2>/dev/null) ||
  die "libgrpc29 is not installed (deploy/install-deps.sh)"
upstream=${src_version%-*}
upstream=${upstream#*:}
stamp="grpc $src_version $(sha256sum "${BASH_SOURCE[0]}" "$ROOT/tests/sanitize/tsan_absl_sync.cc" | sha256sum | cut -c1-16)"
if [[ -f "$out/lib/STAMP" && "$(cat "$out/lib/STAMP")" == "$stamp" ]]; then
  log "up to date in $out/lib ($stamp)"
  exit 0
fi
for tool in clang clang++ cmake ninja curl patch; do
  command -v "$tool" >/dev/null || die "'$tool' is missing (deploy/install-deps.sh --sanitizers)"
done

# --- Source ------------------------------------------------------------------
dl="$out/download"
mkdir -p "$dl"
dsc="grpc_${src_version#*:}.dsc"
fetch() {
  [[ -s "$dl/$1" ]] && return 0
  log "downloading $mirror/pool/main/g/grpc/$1"
  curl -fsS --retry 3 -o "$dl/$1.part" "$mirror/pool/main/g/grpc/$1" ||
    die "cannot download $1 from $mirror"
  mv "$dl/$1.part" "$dl/$1"
}
fetch "$dsc"
# "Checksums-Sha256:" lines: " <sha256> <size> <file>".
mapfile -t files < <(awk '/^Checksums-Sha256:/{on=1; next} /^[^ ]/{on=0} on{print $1" "$3}' "$dl/$dsc")
((${#files[@]})) || die "$dsc lists no files"
for entry in "${files[@]}"; do
  sum=${entry%% *}
  name=${entry#* }
  fetch "$name"
  echo "$sum  $dl/$name" | sha256sum -c --quiet - || {
    rm -f "$dl/$name"; die "$name does not match the checksum in $dsc"; }
done

# OUT_DIR/src and OUT_DIR/build stay for incremental rebuilds (a changed
# tsan_absl_sync.cc only relinks); delete OUT_DIR to start over.
src="$out/src"
if [[ "$(cat "$src/.prepared" 2>/dev/null)" != "$src_version" ]]; then
  rm -rf "$src" "$out/build"
  mkdir -p "$src"
  tar -xzf "$dl/grpc_${upstream}.orig.tar.gz" -C "$src" --strip-components=1
  tar -xJf "$dl/grpc_${src_version#*:}.debian.tar.xz" -C "$src"
  while read -r p; do
    [[ -z "$p" || "$p" == \#* ]] && continue
    patch -d "$src" -p1 -s --forward < "$src/debian/patches/$p" || die "Debian patch $p does not apply"
  done < "$src/debian/patches/series"
  echo "$src_version" > "$src/.prepared"
fi

# --- Build -------------------------------------------------------------------
# The Abseil wrappers, compiled once and linked into every gRPC library
# (with Abseil's synchronization library, which their __real_ calls need even
# in a library that makes no such call itself).
wrap_src="$ROOT/tests/sanitize/tsan_absl_sync.cc"
obj="$out/tsan_absl_sync.o"
clang++ -std=c++17 -O1 -g -fPIC -fsanitize=thread -c "$wrap_src" -o "$obj"
wrap_flags="$obj"
while read -r sym; do
  wrap_flags+=" -Wl,--wrap=$sym"
done < <(grep -o '__wrap__Z[A-Za-z0-9_]*(' "$wrap_src" | sed 's/^__wrap_//; s/($//' | sort -u)
wrap_flags+=" -labsl_synchronization"

flags="-fsanitize=thread -fno-omit-frame-pointer -O1 -gline-tables-only"
bld="$out/build"
# Debian's options (debian/rules, COMMON_BUILD_FLAGS), minus the plugins for
# other languages. The C++ plugin is built because grpc++_reflection's
# generated code needs it; Proxima's own code generation uses Debian's.
cmake -S "$src" -B "$bld" -G Ninja \
  -DCMAKE_BUILD_TYPE=None \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" \
  -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=thread $wrap_flags" \
  -DBUILD_SHARED_LIBS=ON -DgRPC_BUILD_TESTS=OFF -DCMAKE_SKIP_BUILD_RPATH=ON \
  -DgRPC_ABSL_PROVIDER=package -DgRPC_CARES_PROVIDER=package \
  -DgRPC_PROTOBUF_PROVIDER=package -DgRPC_RE2_PROVIDER=package \
  -DgRPC_SSL_PROVIDER=package -DgRPC_ZLIB_PROVIDER=package \
  -DgRPC_BENCHMARK_PROVIDER=none \
  -DgRPC_BACKWARDS_COMPATIBILITY_MODE=OFF \
  -DgRPC_BUILD_CODEGEN=ON -DgRPC_BUILD_GRPC_CPP_PLUGIN=ON \
  -DgRPC_BUILD_GRPC_CSHARP_PLUGIN=OFF -DgRPC_BUILD_GRPC_NODE_PLUGIN=OFF \
  -DgRPC_BUILD_GRPC_OBJECTIVE_C_PLUGIN=OFF -DgRPC_BUILD_GRPC_PHP_PLUGIN=OFF \
  -DgRPC_BUILD_GRPC_PYTHON_PLUGIN=OFF -DgRPC_BUILD_GRPC_RUBY_PLUGIN=OFF \
  > "$out/configure.log" 2>&1 || die "cmake failed; see $out/configure.log"
# The wrapper object reaches the links through the linker flags, out of
# ninja's sight: remove the libraries so that they are linked again with it.
rm -f "$bld"/lib*.so*
start=$SECONDS
log "building (about 30 minutes on 2 cores the first time)"
nice -n 10 cmake --build "$bld" -j "$(nproc)" \
  --target "${LIBS[@]}" \
  > "$out/build.log" 2>&1 || die "build failed; see $out/build.log"
log "built in $((SECONDS - start)) s"

# --- Install -----------------------------------------------------------------
rm -rf "$out/lib"
mkdir -p "$out/lib"
installed=$(ldconfig -p)
for name in "${LIBS[@]}"; do
  real=$(readlink -f "$bld/lib$name.so")
  soname=$(readelf -d "$real" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
  [[ -n "$soname" ]] || die "lib$name.so has no SONAME"
  # Same SONAME as the installed library, or the RPATH would not replace it.
  grep -q "^\s*$soname " <<<"$installed" ||
    die "lib$name.so has SONAME $soname, which no installed library has"
  cp "$real" "$out/lib/$soname"
done
echo "$stamp" > "$out/lib/STAMP"
log "TSan gRPC $src_version ready in $out/lib"
