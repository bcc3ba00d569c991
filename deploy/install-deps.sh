#!/usr/bin/env bash
# Installs exactly the Debian bookworm packages Proxima needs to build, test and
# run. Idempotent: packages already present are left alone, and `apt-get update`
# runs only when something is missing and the package lists are absent or stale.
#
#   deploy/install-deps.sh               build + test + run dependencies
#   deploy/install-deps.sh --build-only  only what compiling the executables needs
#                                        (README command 1, the Docker image's
#                                        build stage): no test tools, no GoogleTest
#   deploy/install-deps.sh --runtime     only the shared libraries the binaries need
#   deploy/install-deps.sh --sanitizers  build + test + clang, compiler-rt and the
#                                        symbolizer for the ASan/UBSan/TSan suites
#                                        and the libFuzzer targets
#                                        (tests/sanitize.sh, tests/fuzz/run_fuzz.sh)
set -euo pipefail

BUILD_PKGS=(
  build-essential cmake pkg-config
  libtorch-dev                       # LibTorch 1.13 (CPU)
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev
  nlohmann-json3-dev                 # JSON for config/summary/golden files
  prometheus-cpp-dev libmicrohttpd-dev  # the learner's /metrics endpoint
  libboost-dev                       # CRC32C for TensorBoard event files (header-only)
  zlib1g-dev                         # checkpoint archive integrity check (inflate + CRC-32)
  libbenchmark-dev                   # `proxima bench` micro suites
  libopenblas0-pthread               # fast BLAS behind LibTorch (see below)
  libblas-dev                        # cblas.h + libblas.so for learner/fused (runs on OpenBLAS)
  libmujoco-dev                      # MuJoCo 2.2.2 physics for the locomotion envs (common/envs/mujoco)
  libsentencepiece-dev               # SentencePiece tokenizers and their trainer (common/lm)
)
# What the test suites drive for real: promtool (prometheus) checks /metrics,
# the compose test builds images (debootstrap + docker import for the base
# images, docker.io + docker-compose), curl and jq read Prometheus' HTTP API
# and `proxima status --json`. chromium (headless) loads the learner's
# dashboard in dashboard_browser_test. gnuplot draws `proxima plot`; Python with torch,
# grpcio and numpy loads exported policies, talks to the learner with stubs
# generated from proto/, and serves remote environments (deploy/python/).
TEST_PKGS=(
  libgtest-dev libgmock-dev
  prometheus curl jq
  docker.io docker-compose debootstrap
  gnuplot-nox
  chromium                           # dashboard_browser_test (headless)
  python3-torch python3-grpcio python3-protobuf python3-numpy
)
# clang 14 and its compiler-rt (libFuzzer, the ASan/UBSan/TSan runtimes);
# llvm for llvm-symbolizer, which turns sanitizer stacks into file:line.
SANITIZER_PKGS=(
  clang libclang-rt-14-dev llvm
  # tests/sanitize/build_tsan_grpc.sh: Debian's gRPC source, built with TSan
  ninja-build curl libprotoc-dev
)
RUNTIME_PKGS=(
  libtorch1.13 libgrpc++1.51 libprotobuf32 libabsl20220623
  libprometheus-cpp-core1.0 libmicrohttpd12
  libbenchmark1debian                # `proxima bench`
  libopenblas0-pthread
  libmujoco2.2.2
  libsentencepiece0                  # SentencePiece tokenizers (common/lm)
)

pkgs=("${BUILD_PKGS[@]}" "${TEST_PKGS[@]}")
case "${1:-}" in
  "") ;;
  --build-only) pkgs=("${BUILD_PKGS[@]}") ;;
  --runtime) pkgs=("${RUNTIME_PKGS[@]}") ;;
  --sanitizers) pkgs+=("${SANITIZER_PKGS[@]}") ;;
  *) echo "install-deps: unknown option '$1' (use --build-only, --runtime or --sanitizers)" >&2
     exit 2 ;;
esac
# Node.js + npm run the offline Kubernetes manifest check. A machine that
# already has them (e.g. from NodeSource) keeps its own; otherwise Debian's.
if [[ -z "${1:-}" ]] && ! command -v npm >/dev/null; then pkgs+=(nodejs npm); fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}" >&2
  lists=/var/lib/apt/lists
  # Refresh the package lists if they are missing or older than a day.
  if [[ -z $(find "$lists" -maxdepth 1 -name '*_Packages*' -mmin -1440 2>/dev/null | head -n1) ]]; then
    $SUDO apt-get update -q
  fi
  if ! DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"; then
    # A stale list can name versions the mirror no longer has: refresh once, retry.
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
else
  echo "install-deps: all ${#pkgs[@]} packages present" >&2
fi

# LibTorch calls whichever libblas.so.3 the alternatives system selects. The
# reference BLAS is several times slower for our GEMMs (docs/benchmarks.md), so
# select OpenBLAS deliberately.
openblas=/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3
if [[ -e "$openblas" ]]; then
  current=$(readlink -f /etc/alternatives/libblas.so.3-x86_64-linux-gnu 2>/dev/null || true)
  if [[ "$current" != "$(readlink -f "$openblas")" ]]; then
    $SUDO update-alternatives --set libblas.so.3-x86_64-linux-gnu "$openblas" >/dev/null
  fi
fi
