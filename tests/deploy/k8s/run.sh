#!/usr/bin/env bash
# Offline validation of deploy/k8s (see validate_k8s.mjs): installs the pinned
# npm packages into node_modules/ beside this script when they are missing or
# the lockfile changed (the npm registry is the only network used), then runs
# the validator's self-test and the validation of the real manifests.
#
#   tests/deploy/k8s/run.sh [validate_k8s.mjs options] [K8S_DIR]
#
# Needs node >= 18 and npm (Debian: apt-get install nodejs npm).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"

for tool in node npm; do
  if ! command -v "$tool" > /dev/null; then
    echo "run.sh: $tool not found; install it (Debian: apt-get install nodejs npm)" >&2
    exit 1
  fi
done

stamp="$here/node_modules/.proxima-package-lock.json"
if ! cmp -s "$here/package-lock.json" "$stamp"; then
  echo "run.sh: npm ci in $here"
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$here/package-lock.json" "$stamp"
fi

args=("$@")
if [ "${#args[@]}" -eq 0 ]; then args=("$repo/deploy/k8s"); fi
node "$here/validate_k8s.mjs" --self-test "${args[@]}"
node "$here/validate_k8s.mjs" "${args[@]}"
