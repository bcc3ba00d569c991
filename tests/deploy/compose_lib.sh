# Helpers of tests/deploy/compose_test.sh and tests/deploy/swarm_test.sh,
# sourced by them first: the paths (REPO, DEPLOY, BIN_DIR, PROXIMA) and the
# docker client (DOCKER), step timing and failure output, starting a Docker
# engine when none runs, cleanup, and reading the learner's status and
# Prometheus. The scripts then set WORK (their scratch directory, removed at
# exit) and their own globals (the compose test: DOCKER_COMPOSE, PROJECT,
# FILES, ...). Not a script of its own.
#
# Cleanup (on every exit) calls "$TEARDOWN" to remove what the test created,
# then stops the dockerd the test started; a failure first calls
# "$DIAGNOSTICS". Both default to the compose test's functions below (the
# diagnostics print the logs of DIAGNOSED_SERVICES); the swarm test names its
# own.
# shellcheck shell=bash

# --- paths and the docker client -----------------------------------------------

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DEPLOY="$REPO/deploy"
BIN_DIR="${PROXIMA_BIN_DIR:-$REPO/build/bin}"
PROXIMA="$BIN_DIR/proxima"
if [[ -z "${DOCKER:-}" ]]; then
  if [[ -x /usr/bin/docker ]]; then DOCKER=/usr/bin/docker; else DOCKER=docker; fi
fi
export DOCKER
WORK=""

# --- output, timing, failure -------------------------------------------------

now_ms() { date +%s%3N; }
T0=$(now_ms)
STEP_T0=""
STEP_NAME=""
secs() { awk -v ms="$1" 'BEGIN { printf "%.1f", ms / 1000 }'; }
log() { printf '[%s +%6ss] %s\n' "$(date +%H:%M:%S)" "$(secs $(($(now_ms) - T0)))" "$*"; }
end_step() {
  if [[ -n "$STEP_NAME" ]]; then
    log "done: $STEP_NAME ($(secs $(($(now_ms) - STEP_T0))) s)"
    STEP_DURATIONS+=("$(printf '%6s s  %s' "$(secs $(($(now_ms) - STEP_T0)))" "$STEP_NAME")")
  fi
  STEP_NAME=""
}
STEP_DURATIONS=()
step() {
  end_step
  STEP_NAME="$*"
  STEP_T0=$(now_ms)
  echo
  log "=== step $*"
}

compose() { "$DOCKER_COMPOSE" --ansi never -p "$PROJECT" "${FILES[@]}" "$@"; }

DIAGNOSED=0
DIAGNOSTICS=compose_diagnostics
TEARDOWN=compose_teardown
diagnostics() {
  DIAGNOSED=1
  "$DIAGNOSTICS"
}
DIAGNOSED_SERVICES=(learner actor prometheus)   # whose logs compose_diagnostics prints
compose_diagnostics() {
  ((STACK_UP)) || return 0
  local FILES=("${PROM_FILES[@]}")
  echo "----- diagnostics: docker-compose ps -----"
  compose ps 2>&1 || true
  for svc in "${DIAGNOSED_SERVICES[@]}"; do
    echo "----- logs: $svc (last 40 lines of each container) -----"
    compose logs --no-color --tail=40 "$svc" 2>&1 || true
  done
  if [[ -n "${PORT:-}" ]]; then
    echo "----- proxima status --learner 127.0.0.1:$PORT -----"
    "$PROXIMA" status --learner "127.0.0.1:$PORT" --timeout 5 2>&1 | head -n 30 || true
  fi
}

fail() {
  log "FAIL: $*"
  diagnostics
  exit 1
}

STARTED_DOCKERD_PID=""
STACK_UP=0
SUCCESS=0
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  set +e
  if ((rc != 0 && !DIAGNOSED)); then
    log "FAIL: exit status $rc"
    diagnostics
  fi
  "$TEARDOWN"
  if [[ -n "$STARTED_DOCKERD_PID" ]]; then
    log "cleanup: stopping the dockerd this test started (pid $STARTED_DOCKERD_PID)"
    kill -TERM "$STARTED_DOCKERD_PID" 2>/dev/null
    for _ in $(seq 1 60); do kill -0 "$STARTED_DOCKERD_PID" 2>/dev/null || break; sleep 0.5; done
  fi
  [[ -z "$WORK" ]] || rm -rf "$WORK"
  [[ -z "${PREBUILT:-}" ]] || rm -rf "$PREBUILT"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
compose_teardown() {
  ((STACK_UP)) || return 0
  if ((!SUCCESS)) && [[ "${PROXIMA_CT_KEEP:-0}" == 1 ]]; then
    log "PROXIMA_CT_KEEP=1: leaving project $PROJECT running (remove it with:" \
        "$DOCKER_COMPOSE -p $PROJECT ${PROM_FILES[*]} down -v)"
  else
    log "cleanup: removing project $PROJECT (containers, network, volumes)"
    FILES=("${PROM_FILES[@]}")
    compose down -v --remove-orphans -t 60 >"$WORK/cleanup.log" 2>&1 || cat "$WORK/cleanup.log"
  fi
}

# project_gone: fails the test unless `down -v` left no container, volume or
# network of $PROJECT.
project_gone() {
  local leftovers
  leftovers=$("$DOCKER" ps -aq --filter "label=com.docker.compose.project=$PROJECT"
              "$DOCKER" volume ls -q | grep -F "${PROJECT}_" || true
              "$DOCKER" network ls -q --filter "label=com.docker.compose.project=$PROJECT")
  [[ -z "$leftovers" ]] || fail "left behind: $leftovers"
}

# --- the engine and the run's settings -------------------------------------------

# start_engine_if_needed: uses the Docker engine that answers; with none, starts
# dockerd (root only) and records its pid, so cleanup stops it again. Fails the
# test when no engine can be had: a missing engine is never a skip.
start_engine_if_needed() {
  "$DOCKER" info >/dev/null 2>&1 && return 0
  command -v dockerd >/dev/null ||
    fail "no Docker engine answers and dockerd is not installed (apt-get install docker.io)"
  [[ $(id -u) -eq 0 ]] || fail "no Docker engine answers, and starting dockerd needs root"
  log "no Docker engine answers; starting dockerd (log: $WORK/dockerd.log)"
  dockerd >"$WORK/dockerd.log" 2>&1 &
  STARTED_DOCKERD_PID=$!
  local deadline=$(($(now_ms) + 60000))
  until "$DOCKER" info >/dev/null 2>&1; do
    if ! kill -0 "$STARTED_DOCKERD_PID" 2>/dev/null || (($(now_ms) > deadline)); then
      tail -n 30 "$WORK/dockerd.log" >&2
      STARTED_DOCKERD_PID=""
      DIAGNOSED=1
      log "FAIL: could not start a Docker engine (dockerd log above); this test needs one"
      exit 1
    fi
    sleep 0.5
  done
  log "dockerd is up (pid $STARTED_DOCKERD_PID)"
}

# export_run_settings: the variables deploy/docker-compose.yml reads, for a
# CartPole run that never finishes during a test and checkpoints often.
# Port 0: Docker picks a free port (read back afterwards), so parallel runs
# and busy machines do not collide.
export_run_settings() {
  export PROXIMA_IMAGE="${PROXIMA_IMAGE:-proxima:compose-test}"
  export PROXIMA_PORT=0
  export PROXIMA_ENV=CartPole-v1 PROXIMA_SEED=1 PROXIMA_MODE=async PROXIMA_DEVICE=cpu
  export PROXIMA_TOTAL_STEPS=1000000000
  export PROXIMA_CHECKPOINT_EVERY_SECONDS=10
  export PROXIMA_ACTOR_NUM_ENVS=0 PROXIMA_ACTOR_THREADS=1
}

# wait_for SECONDS DESCRIPTION COMMAND...: polls COMMAND until it succeeds;
# fails the test with DESCRIPTION after SECONDS.
wait_for() {
  local limit=$1 what=$2
  shift 2
  local deadline=$(($(now_ms) + limit * 1000))
  until "$@"; do
    if (($(now_ms) > deadline)); then
      fail "timed out after $limit s waiting for: $what"
    fi
    sleep 0.5
  done
}

# --- reading the learner and Prometheus ---------------------------------------

STATUS=""   # the last status JSON read
read_status() {
  STATUS=$("$PROXIMA" status --learner "127.0.0.1:$PORT" --json --timeout 5 2>/dev/null) || return 1
}
# Protobuf JSON leaves out zero values and writes 64-bit integers as strings.
version() { jq -r '(.policy_version // "0") | tonumber' <<<"$STATUS"; }
connected() { jq -r '.actors_connected // 0' <<<"$STATUS"; }
sessions() {
  jq -r '.actors[]? | select(.state == "ACTOR_STATE_CONNECTED") | .session_id' <<<"$STATUS" | sort
}

actors_connected_is() { read_status && [[ $(connected) -eq $1 ]]; }
version_above() { read_status && (($(version) > $1)); }

learner_port() {
  local addr
  addr=$(compose port learner 50051 2>/dev/null) || return 1
  PORT=${addr##*:}
  [[ "$PORT" =~ ^[0-9]+$ && "$PORT" != 0 ]]
}

prom_query() {  # prom_query PROMQL: the first sample's value, or nothing
  curl -fsS --max-time 5 -G "http://127.0.0.1:$PROM_PORT/api/v1/query" \
       --data-urlencode "query=$1" 2>/dev/null |
    jq -r 'select(.status == "success") | .data.result[0].value[1] // empty'
}
prom_target_up() { [[ $(prom_query 'up{job="proxima-learner"}') == 1 ]]; }
PROM_VERSION=""
prom_version_above() {
  PROM_VERSION=$(prom_query 'proxima_policy_version{job="proxima-learner"}')
  [[ -n "$PROM_VERSION" ]] && awk -v v="$PROM_VERSION" -v min="$1" 'BEGIN { exit !(v > min) }'
}

container_of() {  # container_of SERVICE INDEX (1-based)
  compose ps -q "$1" | sed -n "${2}p"
}
restart_count() { "$DOCKER" inspect -f '{{.RestartCount}}' "$1"; }
actor_restart_total() {
  local total=0 n
  for n in $(compose ps -q actor | xargs "$DOCKER" inspect -f '{{.RestartCount}}'); do total=$((total + n)); done
  echo "$total"
}
# crash CONTAINER PROGRAM: SIGKILLs PROGRAM inside CONTAINER, as a crash would.
# tini (pid 1) then exits 128+9 and the restart policy applies. Neither
# `docker kill` (a manual stop for Docker: no restart) nor `kill -9 1` from
# inside (pid 1 ignores signals it has no handler for) would do.
crash() {
  # shellcheck disable=SC2016  # the script runs in the container's shell
  "$DOCKER" exec "$1" sh -c \
    'for p in /proc/[0-9]*; do [ "$(cat "$p/comm" 2>/dev/null)" = "$0" ] && kill -KILL "${p#/proc/}"; done; true' \
    "$2" || fail "docker exec into $1 failed"
}
