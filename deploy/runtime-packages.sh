#!/usr/bin/env bash
# Prints, one per line and sorted, the Debian packages that own the shared
# libraries the given executables load (ldd), so a runtime image installs
# exactly what the binaries were linked against:
#
#   deploy/runtime-packages.sh build/bin/proxima-learner build/bin/proxima-actor ...
#
# ldd prints merged-/usr paths (/lib/... vs /usr/lib/...) and alternatives
# symlinks (libblas.so.3 -> /etc/alternatives -> OpenBLAS); each library is
# looked up as printed, then resolved, each with and without the /usr prefix.
# Exits 1 when a library is missing ("not found") or no package owns it.
set -euo pipefail

if (($# == 0)); then
  echo "usage: $0 EXECUTABLE..." >&2
  exit 2
fi

status=0
libs=$(for exe in "$@"; do
  [[ -x "$exe" ]] || { echo "runtime-packages: $exe: not an executable" >&2; exit 1; }
  out=$(ldd "$exe")
  if grep -q 'not found' <<<"$out"; then
    echo "runtime-packages: $exe: missing libraries:" >&2
    grep 'not found' <<<"$out" >&2
    exit 1
  fi
  # "libfoo.so.1 => /usr/lib/.../libfoo.so.1 (0x...)" and the loader line
  # "/lib64/ld-linux-x86-64.so.2 (0x...)".
  awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' <<<"$out"
done | sort -u) || exit 1

# All path variants of every library, looked up in one dpkg-query call (one
# call per path would take a minute for LibTorch's ~340 libraries).
variants() {  # variants LIB: LIB and its resolved path, each with and without /usr
  local lib=$1 real c
  real=$(readlink -f "$lib")
  for c in "$lib" "$real"; do
    printf '%s\n' "$c" "${c#/usr}" "/usr${c#/usr}"
  done
}
declare -A owner=()
# "pkg:amd64, other:amd64: /path" -> owner[/path]=pkg (first package, no arch).
while IFS= read -r line; do
  [[ "$line" == "diversion by"* || "$line" != *": /"* ]] && continue
  path=${line#*: }
  pkg=${line%%: /*}
  pkg=${pkg%%,*}
  owner[$path]=${pkg%%:*}
done < <(for lib in $libs; do variants "$lib"; done | sort -u | xargs dpkg-query -S 2>/dev/null || true)

pkgs=()
for lib in $libs; do
  pkg=""
  for path in $(variants "$lib"); do
    if [[ -n "${owner[$path]:-}" ]]; then pkg=${owner[$path]}; break; fi
  done
  if [[ -z "$pkg" ]]; then
    echo "runtime-packages: no package owns $lib ($(readlink -f "$lib"))" >&2
    status=1
    continue
  fi
  pkgs+=("$pkg")
done
((status == 0)) || exit "$status"
printf '%s\n' "${pkgs[@]}" | sort -u
