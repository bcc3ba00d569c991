#!/usr/bin/env bash
# The sequence-run deployment (deploy/docker-compose.lm.yml), for real and
# offline, on the image the compose test built (fixture proxima_image: ctest
# runs tests/deploy/compose_test.sh first, even for -R deploy_compose_lm_test;
# this test never builds an image). A tiny warm start and model, as an
# override file the test writes (PROXIMA_LEARNER_<FLAG> variables).
#
# What it proves, step by step (each step prints its start time and duration):
#   0. a Docker engine (started here, and stopped at the end, when none runs;
#      compose_lib.sh) and the image (a note when its proxima-learner is not
#      the host's: a stale image);
#   1. `up -d --scale actor=2`: the one-shot `sft` service writes the warm
#      start into the volume and exits 0, then the learner starts a new run
#      (--resume-or-start on an empty volume); through the published port the
#      host's `proxima status` sees lm/Addition-v0, 2 connected actors and a
#      policy version that grows (GRPO updates);
#   2. `up -d --scale actor=3`: 3 connected actors; the learner is not
#      recreated, and the `sft` service, run again, finds its checkpoint and
#      does nothing;
#   3. `stop` + `down` (SIGTERM: the learner checkpoints and exits 0), then
#      `up -d`: the learner resumes the run in the volume at the version it
#      stopped at, trains on, and metrics.csv goes on from there (its update
#      column counts 1, 2, ... with no restart);
#   4. `down -v` removes containers, network and volume.
# Ports are published on 127.0.0.1 only, on free ports Docker picks.
#
# Duration on 2 cores: about 40 s.
#
# Needs: what the compose test needs, minus the build: root or docker-group
# access to a Docker engine, the docker-compose 1.29 client (or
# DOCKER_COMPOSE), jq, and the host build of `proxima`.
#
# Environment:
#   PROXIMA_BIN_DIR   host binaries (default <repo>/build/bin)
#   DOCKER            docker client (default /usr/bin/docker if present, else docker)
#   DOCKER_COMPOSE    compose client (default docker-compose)
#   PROXIMA_IMAGE     image to run (default proxima:compose-test)
#   PROXIMA_CT_KEEP   1: on failure, leave the stack running for inspection
#   PROXIMA_CT_COMPILE_IN_IMAGE 1: the image compiled its own binaries (then
#                     they are not compared with the host's)
set -euo pipefail

# shellcheck source=tests/deploy/compose_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/compose_lib.sh"   # REPO, DEPLOY, PROXIMA, DOCKER, ...
WORK=$(mktemp -d "${TMPDIR:-/tmp}/proxima-compose-lm-test.XXXXXX")
DOCKER_COMPOSE="${DOCKER_COMPOSE:-docker-compose}"
PROJECT="proxima-lmct-$$"

export PROXIMA_IMAGE="${PROXIMA_IMAGE:-proxima:compose-test}"
export PROXIMA_BIND=127.0.0.1 PROXIMA_PORT=0
export PROXIMA_ENV=lm/Addition-v0 PROXIMA_SEED=1 PROXIMA_ALGO=grpo
export PROXIMA_LM_UPDATES=1000000 PROXIMA_LM_EVAL_EVERY=0   # never done during the test
export PROXIMA_SFT_ARGS="--steps 20 --warmup 5 --layers 1 --width 16 --heads 2 --eval-prompts 50"
export PROXIMA_ACTOR_THREADS=1

# The tiny run's sampling and update size, as a user's override file sets
# any other flag.
cat >"$WORK/tiny.yml" <<'EOF'
version: "3.8"
services:
  learner:
    environment:
      PROXIMA_LEARNER_GROUP_SIZE: "4"
      PROXIMA_LEARNER_PROMPTS_PER_CHUNK: "2"
      PROXIMA_LEARNER_MAX_NEW_TOKENS: "5"
      PROXIMA_LEARNER_CHUNKS_PER_UPDATE: "2"
      PROXIMA_LEARNER_LM_LEARNING_RATE: "1e-3"
      PROXIMA_LEARNER_LM_EVAL_PROMPTS: "20"
EOF
FILES=(-f "$DEPLOY/docker-compose.lm.yml" -f "$WORK/tiny.yml")
PROM_FILES=("${FILES[@]}")   # the files compose_teardown and the diagnostics use

DIAGNOSED_SERVICES=(sft learner actor)

# --- 0. prerequisites ----------------------------------------------------------

step "0: prerequisites (Docker engine, clients, the image)"
for tool in "$DOCKER" "$DOCKER_COMPOSE" jq; do
  command -v "$tool" >/dev/null || fail "'$tool' not found (apt-get install docker.io docker-compose jq)"
done
[[ -x "$PROXIMA" ]] || fail "$PROXIMA not found: build the project first or set PROXIMA_BIN_DIR"
start_engine_if_needed
"$DOCKER" image inspect "$PROXIMA_IMAGE" >/dev/null 2>&1 ||
  fail "no image $PROXIMA_IMAGE: tests/deploy/compose_test.sh builds it (ctest -R deploy_compose_test)"
if [[ "${PROXIMA_CT_COMPILE_IN_IMAGE:-0}" != 1 ]]; then
  in_image=$("$DOCKER" run --rm "$PROXIMA_IMAGE" sha256sum /usr/local/bin/proxima-learner | cut -d' ' -f1)
  on_host=$(sha256sum "$BIN_DIR/proxima-learner" | cut -d' ' -f1)
  # A note, not a failure: the host's binaries may be relinked meanwhile.
  if [[ "$in_image" == "$on_host" ]]; then
    log "image $PROXIMA_IMAGE holds the host's proxima-learner"
  else
    log "NOTE: $PROXIMA_IMAGE holds another proxima-learner than $BIN_DIR (stale? tests/deploy/compose_test.sh rebuilds it)"
  fi
fi

# --- 1. warm start, then the learner and 2 actors --------------------------------

step "1: up with 2 actors: the warm start into the volume, then a new run"
STACK_UP=1
compose up -d --scale actor=2 || fail "docker-compose up failed"
sft_logs=$(compose logs --no-color sft 2>/dev/null)
grep -q "checkpoint: /var/lib/proxima/sft/checkpoints/" <<<"$sft_logs" ||
  fail "the sft service wrote no checkpoint: $sft_logs"
log "sft: $(grep -o 'done: .*' <<<"$sft_logs" | head -n1)"
wait_for 30 "the published learner port" learner_port
log "learner published on 127.0.0.1:$PORT"
wait_for 60 "2 connected actors (proxima status --learner 127.0.0.1:$PORT)" actors_connected_is 2
env_id=$(jq -r '.env_id // empty' <<<"$STATUS")
[[ "$env_id" == lm/Addition-v0 ]] || fail "the learner serves '$env_id', not lm/Addition-v0"
learner_logs=$(compose logs --no-color learner 2>/dev/null)
grep -q "starting a new run (--resume-or-start)" <<<"$learner_logs" ||
  fail "the learner did not start a new run in the empty volume"
wait_for 60 "a first update" version_above 0
v1=$(version)
wait_for 60 "the policy version to grow past $v1" version_above "$v1"
log "GRPO on lm/Addition-v0 with 2 actors: version $v1 -> $(version)"

# --- 2. scale up ------------------------------------------------------------------

step "2: scale actors 2 -> 3"
learner_id=$(container_of learner 1)
scale_t0=$(now_ms)
compose up -d --scale actor=3 || fail "docker-compose up --scale actor=3 failed"
log "'up -d --scale actor=3' took $(secs $(($(now_ms) - scale_t0))) s"
[[ $(container_of learner 1) == "$learner_id" ]] || fail "scaling the actors recreated the learner"
wait_for 30 "3 connected actors" actors_connected_is 3
log "3 actors connected $(secs $(($(now_ms) - scale_t0))) s after 'up' began"
sft_logs=$(compose logs --no-color sft 2>/dev/null)
grep -q "holds the warm start already" <<<"$sft_logs" ||
  fail "the sft service, run again, did not find its checkpoint: $sft_logs"
log "3 actors connected; the sft service found its checkpoint"

# --- 3. down and up: resume from the volume ---------------------------------------

step "3: down (SIGTERM, checkpoint) and up again: resume from the named volume"
wait_for 30 "the learner's status" read_status
v_down=$(version)
compose stop || fail "docker-compose stop failed"
exit_code=$("$DOCKER" inspect -f '{{.State.ExitCode}}' "$learner_id")
[[ "$exit_code" == 0 ]] || fail "the learner exited with $exit_code on SIGTERM (expected 0: clean checkpoint)"
stop_logs=$(compose logs --no-color learner 2>/dev/null)
v_stop=$(grep -o 'done: [0-9]* sequence chunks accepted, [0-9]* updates' <<<"$stop_logs" |
         tail -n1 | awk '{print $6}')
if [[ -z "$v_stop" ]] || ((v_stop < v_down)); then
  fail "the learner's last line does not show >= $v_down updates: $(tail -n 5 <<<"$stop_logs")"
fi
compose down || fail "docker-compose down failed"
compose up -d --scale actor=2 || fail "docker-compose up (restart) failed"
wait_for 30 "the published learner port" learner_port
wait_for 60 "the restarted learner to answer on 127.0.0.1:$PORT" read_status
resumed=$(compose logs --no-color learner 2>/dev/null | grep -o 'resuming /var/lib/proxima/run from .*' | tail -n1)
[[ -n "$resumed" ]] || fail "the learner's log has no 'resuming /var/lib/proxima/run' line"
v_ckpt=$(grep -o '(version [0-9]*)' <<<"$resumed" | tr -dc 0-9)
((v_ckpt == v_stop)) || fail "resumed at version $v_ckpt, not at $v_stop where it stopped"
(($(version) >= v_stop)) || fail "status shows version $(version) < $v_stop after resuming"
log "$resumed"
wait_for 60 "2 actors to connect to the resumed learner" actors_connected_is 2
wait_for 60 "the resumed learner to train past $v_stop" version_above "$v_stop"
v_after=$(version)
metrics=$(compose exec -T learner cat /var/lib/proxima/run/metrics.csv) ||
  fail "cannot read metrics.csv in the learner's container"
# After the header (and a start row, update 0, that a new run may write),
# updates 1, 2, ...: the resumed process appended after v_stop.
updates_col=$(tail -n +2 <<<"$metrics" | cut -d, -f1 | grep -vx 0 || true)
expected=$(seq 1 "$(wc -l <<<"$updates_col")")
[[ "$updates_col" == "$expected" ]] || fail "metrics.csv's updates are not 1..N: $(tr '\n' ' ' <<<"$updates_col")"
(($(wc -l <<<"$updates_col") > v_stop)) || fail "metrics.csv has no rows after update $v_stop"
log "resumed from version $v_stop, now $v_after; metrics.csv rows 1..$(wc -l <<<"$updates_col")"

# --- 4. down -v ---------------------------------------------------------------------

step "4: down -v removes containers, network and volume"
compose down -v || fail "docker-compose down -v failed"
STACK_UP=0
project_gone
log "containers, network and volume of $PROJECT are gone"
end_step

SUCCESS=1
echo
echo "compose lm test passed in $(secs $(($(now_ms) - T0))) s"
printf '  %s\n' "${STEP_DURATIONS[@]}"
