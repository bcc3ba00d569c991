# Helpers of tests/deploy/compose_test.sh, sourced by it after it has set its
# globals (DOCKER, DOCKER_COMPOSE, PROJECT, FILES, WORK, ...): step timing
# and failure output, cleanup, and reading the learner's status and
# Prometheus. Not a script of its own.
# shellcheck shell=bash

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
diagnostics() {
  DIAGNOSED=1
  ((STACK_UP)) || return 0
  local FILES=("${PROM_FILES[@]}")
  echo "----- diagnostics: docker-compose ps -----"
  compose ps 2>&1 || true
  for svc in learner actor prometheus; do
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
  if ((STACK_UP)); then
    if ((!SUCCESS)) && [[ "${PROXIMA_CT_KEEP:-0}" == 1 ]]; then
      log "PROXIMA_CT_KEEP=1: leaving project $PROJECT running (remove it with:" \
          "$DOCKER_COMPOSE -p $PROJECT ${PROM_FILES[*]} down -v)"
    else
      log "cleanup: removing project $PROJECT (containers, network, volumes)"
      FILES=("${PROM_FILES[@]}")
      compose down -v --remove-orphans -t 60 >"$WORK/cleanup.log" 2>&1 || cat "$WORK/cleanup.log"
    fi
  fi
  if [[ -n "$STARTED_DOCKERD_PID" ]]; then
    log "cleanup: stopping the dockerd this test started (pid $STARTED_DOCKERD_PID)"
    kill -TERM "$STARTED_DOCKERD_PID" 2>/dev/null
    for _ in $(seq 1 60); do kill -0 "$STARTED_DOCKERD_PID" 2>/dev/null || break; sleep 0.5; done
  fi
  rm -rf "$WORK" "${PREBUILT:-}"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

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
