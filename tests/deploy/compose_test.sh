#!/usr/bin/env bash
# The compose deployment, for real and offline: builds the images from this
# checkout and runs deploy/docker-compose.yml on the local Docker engine.
#
# What it proves, step by step (each step prints its start time and duration):
#   0. a Docker engine is there (started here, and stopped at the end, when
#      none runs) and so are the Debian base images (deploy/base-images.sh
#      builds them from Debian's archive when absent);
#   1. `docker-compose build`; a container with a misspelt or bad setting,
#      or an actor without a learner address, exits 2 naming it; then
#      `up -d --scale actor=2`: through the
#      published port, the host's `proxima status` sees 2 connected actors
#      and a policy version that grows;
#   2. `up -d --scale actor=4`: 4 actors connected within 30 s (the scale-up
#      time is printed);
#   3. an actor process that crashes (SIGKILL inside its container) is
#      restarted by the `unless-stopped` policy and rejoins with a new
#      session while the learner keeps training. (`docker kill` would not
#      do: Docker counts it as a manual stop and never applies the restart
#      policy afterwards, like `docker stop`);
#  3b. a learner process that crashes is restarted by `on-failure`, resumes
#      from its newest periodic checkpoint, and the actors reconnect by
#      themselves (their containers are not restarted);
#   4. with docker-compose.prometheus.yml added to the running stack (the
#      learner is not recreated), Prometheus reports the learner target up
#      and proxima_policy_version rising;
#   5. the learner's healthcheck reports healthy; `stop` + `down` (SIGTERM:
#      the learner checkpoints and exits 0), then `up -d`: the learner
#      resumes from the checkpoint in the named volume, at a version >= the
#      one read before stopping;
#   6. `down -v` removes containers, network and volumes;
#  6b. `PROXIMA_ENV=HalfCheetah-v4 up -d --scale actor=2`: the image finds its
#      MuJoCo model files, the learner reports HalfCheetah-v4 and 3 updates
#      (6,144 env steps) within 60 s; `down -v`;
#   7. secure mode (docs/security.md): deploy/make-secrets.sh writes a CA,
#      certificates and tokens; with docker-compose.secure.yml (compose
#      secrets) the learner serves TLS with required client certificates and
#      bearer tokens, 2 actors train through it, the host's `proxima status`
#      with the monitor token over TLS works, one without the token gets
#      UNAUTHENTICATED and a plaintext one fails; the TLS healthcheck reports
#      healthy; `down -v`. Reuses the image of step 1 (about 1 minute).
# Containers talk only to each other on the project's network; the test talks
# only to 127.0.0.1 (ports are published there, on free ports chosen by Docker).
#
# Duration on 2 cores: under a minute with the images cached. The image takes
# the host's binaries (PROXIMA_BIN_DIR) by default, so a source change costs
# no compile here; on a machine with no images at all the base images take
# 30-45 s and the build stage's Debian packages a few minutes. With
# PROXIMA_CT_COMPILE_IN_IMAGE=1 the image compiles the binaries itself (about
# 5 more minutes). The images are kept for later runs (tags below), and so is
# the layer cache; the containers, network and volumes are not. Each rebuild
# leaves the previous build stage behind as dangling images (2-3 GB):
# `docker image prune` reclaims them.
#
# Needs: root or docker-group access to a Docker engine (docker.io), the
# docker-compose 1.29 client, jq, curl, debootstrap (only when the base images
# are absent), and the host build of `proxima` (for `proxima status`).
#
# Environment:
#   PROXIMA_BIN_DIR            host binaries (default <repo>/build/bin)
#   DOCKER                     docker client (default /usr/bin/docker if present, else docker)
#   DOCKER_COMPOSE             compose client (default docker-compose)
#   PROXIMA_IMAGE              image built and run (default proxima:compose-test)
#   PROXIMA_PROMETHEUS_IMAGE   Prometheus image (default proxima-prometheus:compose-test)
#   PROXIMA_CT_SCALE_DEADLINE  seconds allowed for 2 -> 4 actors (default 30)
#   PROXIMA_CT_KEEP            1: on failure, leave the stack running for inspection
#   PROXIMA_CT_COMPILE_IN_IMAGE 1: compile the binaries inside the image (the
#                              Dockerfile's own build) instead of copying the
#                              host's PROXIMA_BIN_DIR build into it (default)
set -euo pipefail

# shellcheck source=tests/deploy/compose_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/compose_lib.sh"   # REPO, DEPLOY, PROXIMA, DOCKER, ...
WORK=$(mktemp -d "${TMPDIR:-/tmp}/proxima-compose-test.XXXXXX")
DOCKER_COMPOSE="${DOCKER_COMPOSE:-docker-compose}"
# The classic builder, as Debian's docker.io 20.10 and docker-compose 1.29 use.
export DOCKER_BUILDKIT=0 COMPOSE_DOCKER_CLI_BUILD=0

PROJECT="proxima-ct-$$"
SCALE_DEADLINE="${PROXIMA_CT_SCALE_DEADLINE:-30}"

BASE_FILES=(-f "$DEPLOY/docker-compose.yml")
PROM_FILES=(-f "$DEPLOY/docker-compose.yml" -f "$DEPLOY/docker-compose.prometheus.yml")
FILES=("${BASE_FILES[@]}")     # the files of the running stack (step 4 adds Prometheus)

export_run_settings
export PROXIMA_PROMETHEUS_IMAGE="${PROXIMA_PROMETHEUS_IMAGE:-proxima-prometheus:compose-test}"
# Publish on 127.0.0.1 only; port 0 (export_run_settings): Docker picks free
# ports, read back with `docker-compose port`.
export PROXIMA_BIND=127.0.0.1 PROXIMA_PROMETHEUS_PORT=0

# --- 0. prerequisites ----------------------------------------------------------

step "0: prerequisites (Docker engine, clients, base images)"
for tool in "$DOCKER" "$DOCKER_COMPOSE" jq curl; do
  command -v "$tool" >/dev/null ||
    fail "'$tool' not found (apt-get install docker.io docker-compose jq curl)"
done
[[ -x "$PROXIMA" ]] || fail "$PROXIMA not found: build the project first (cmake --build build) or set PROXIMA_BIN_DIR"

start_engine_if_needed
log "engine: $("$DOCKER" version -f 'server {{.Server.Version}}, client {{.Client.Version}}' 2>/dev/null);" \
    "$("$DOCKER_COMPOSE" version --short 2>/dev/null || "$DOCKER_COMPOSE" --version)"
bash "$DEPLOY/base-images.sh" || fail "deploy/base-images.sh could not provide the Debian base images"

# --- 1. build, start with 2 actors ---------------------------------------------

step "1: build the images, up with 2 actors, training through the published port"
log "building $PROXIMA_IMAGE and $PROXIMA_PROMETHEUS_IMAGE (log: $WORK/build.log)"
build_t0=$(now_ms)
FILES=("${PROM_FILES[@]}")
# The image gets the host's binaries (this checkout's README build, on the
# same Debian bookworm) instead of compiling the same sources again: the
# Dockerfile's PROXIMA_PREBUILT_DIR. PROXIMA_CT_COMPILE_IN_IMAGE=1 compiles
# them inside the image as a plain `docker build` does.
build_args=()
if [[ "${PROXIMA_CT_COMPILE_IN_IMAGE:-0}" != 1 ]]; then
  PREBUILT="$REPO/.prebuilt"
  rm -rf "$PREBUILT"
  install -D -m 0755 -t "$PREBUILT" "$BIN_DIR/proxima-learner" "$BIN_DIR/proxima-actor" "$PROXIMA" \
    "$BIN_DIR/proxima-torch"
  build_args=(--build-arg PROXIMA_PREBUILT_DIR=.prebuilt)
  log "image binaries: prebuilt from $BIN_DIR"
fi
if ! compose build "${build_args[@]}" >"$WORK/build.log" 2>&1; then
  tail -n 60 "$WORK/build.log"
  fail "docker-compose build failed"
fi
FILES=("${BASE_FILES[@]}")
log "$(grep -c -- '---> Using cache' "$WORK/build.log" || true) build steps from the layer cache;" \
    "$(grep -o 'Successfully tagged .*' "$WORK/build.log" | tr '\n' ' ')"
BUILD_SECONDS=$(secs $(($(now_ms) - build_t0)))
log "images built in $BUILD_SECONDS s"

# A bad setting stops a container at once, with a message naming it.
refuses() {  # refuses EXPECTED_MESSAGE docker-run-args...
  local want=$1 out rc=0
  shift
  out=$("$DOCKER" run --rm "$@" 2>&1) || rc=$?
  ((rc == 2)) || fail "expected exit 2 from 'docker run $*', got $rc: $out"
  grep -qF -- "$want" <<<"$out" || fail "'docker run $*' did not say '$want': $out"
}
refuses "environment variable PROXIMA_LEARNER_TOTL_STEPS: no such flag --totl-steps" \
  -e PROXIMA_LEARNER_TOTL_STEPS=5 "$PROXIMA_IMAGE" proxima-learner
refuses "environment variable PROXIMA_LEARNER_MAX_POLICY_LAG: invalid value '-3x'" \
  -e PROXIMA_LEARNER_MAX_POLICY_LAG=-3x "$PROXIMA_IMAGE" proxima-learner
refuses "--mode must be sync or async (got 'fast')" -e PROXIMA_LEARNER_MODE=fast \
  "$PROXIMA_IMAGE" proxima-learner
refuses "--learner is required (or the environment variable PROXIMA_ACTOR_LEARNER)" \
  "$PROXIMA_IMAGE" proxima-actor
log "invalid or missing settings stop the containers with exit 2 and a message naming them"

STACK_UP=1
compose up -d --scale actor=2 || fail "docker-compose up failed"
wait_for 30 "the published learner port" learner_port
log "learner published on 127.0.0.1:$PORT"
wait_for 90 "2 connected actors (proxima status --learner 127.0.0.1:$PORT)" actors_connected_is 2
v1=$(version)
log "2 actors connected, policy version $v1"
wait_for 60 "the policy version to grow past $v1" version_above "$v1"
log "policy version $v1 -> $(version)"

# --- 2. scale up ------------------------------------------------------------------

step "2: scale actors 2 -> 4"
scale_t0=$(now_ms)
compose up -d --scale actor=4 || fail "docker-compose up --scale actor=4 failed"
up_s=$(secs $(($(now_ms) - scale_t0)))
wait_for "$SCALE_DEADLINE" "4 connected actors" actors_connected_is 4
SCALE_UP_SECONDS=$(secs $(($(now_ms) - scale_t0)))
log "4 actors connected ${SCALE_UP_SECONDS} s after 'up --scale actor=4' began (the command took $up_s s)"

# --- 3. a crashed actor restarts ----------------------------------------------------

step "3: an actor process crashes; its restart policy brings it back"
wait_for 30 "the learner's status (a 5 s call can time out on 2 loaded cores)" read_status
v_before=$(version)
old_sessions=$(sessions)
victim=$(container_of actor 1)
[[ -n "$victim" ]] || fail "no actor container found"
restarts_before=$(restart_count "$victim")
crash "$victim" proxima-actor
log "SIGKILLed proxima-actor in ${victim:0:12} (restarts so far: $restarts_before)"
container_restarted() {  # container_restarted CONTAINER RESTARTS
  [[ $("$DOCKER" inspect -f '{{.RestartCount}} {{.State.Running}}' "$1") == "$2 true" ]]
}
wait_for 30 "container ${victim:0:12} to be restarted by its restart policy" \
  container_restarted "$victim" $((restarts_before + 1))
rejoined() {
  actors_connected_is 4 && [[ -n $(comm -13 <(echo "$old_sessions") <(sessions)) ]]
}
wait_for 60 "4 connected actors again, one with a new session" rejoined
log "restarted (RestartCount $((restarts_before + 1))), rejoined with session $(comm -13 <(echo "$old_sessions") <(sessions) | head -n1)"
wait_for 30 "the policy version to keep growing past $v_before" version_above "$v_before"
log "learner kept training: version $v_before -> $(version)"

step "3b: the learner process crashes; it restarts, resumes, and the actors reconnect"
has_checkpoint() { read_status && [[ -n $(jq -r '.last_checkpoint.policy_version // empty' <<<"$STATUS") ]]; }
wait_for 30 "a periodic checkpoint (every $PROXIMA_CHECKPOINT_EVERY_SECONDS s)" has_checkpoint
ckpt_v=$(jq -r '.last_checkpoint.policy_version | tonumber' <<<"$STATUS")
instance=$(jq -r '.learner_instance_id' <<<"$STATUS")
learner=$(container_of learner 1)
learner_restarts=$(restart_count "$learner")
actor_restarts=$(actor_restart_total)
crash "$learner" proxima-learner
log "SIGKILLed proxima-learner at version $(version) (newest checkpoint: version $ckpt_v)"
wait_for 30 "the learner container to be restarted by its on-failure policy" \
  container_restarted "$learner" $((learner_restarts + 1))
# A restarted container gets a new ephemeral host port.
new_learner() { learner_port && read_status && [[ $(jq -r '.learner_instance_id' <<<"$STATUS") != "$instance" ]]; }
wait_for 60 "the restarted learner to answer" new_learner
v_restart=$(version)
((v_restart >= ckpt_v)) || fail "restarted at version $v_restart, below the checkpoint's $ckpt_v"
log "restarted learner answers on 127.0.0.1:$PORT at version $v_restart (>= checkpoint $ckpt_v)"
wait_for 60 "the 4 actors to reconnect by themselves" actors_connected_is 4
now_restarts=$(actor_restart_total)
((now_restarts == actor_restarts)) || fail "actor containers were restarted ($actor_restarts -> $now_restarts); they should reconnect"
wait_for 30 "the policy version to grow past $v_restart" version_above "$v_restart"
log "4 actors reconnected without restarts; version $v_restart -> $(version)"

# --- 4. Prometheus ------------------------------------------------------------------

step "4: Prometheus scrapes the learner"
learner_id=$(container_of learner 1)
FILES=("${PROM_FILES[@]}")
compose up -d --scale actor=4 || fail "docker-compose up (with Prometheus) failed"
[[ $(container_of learner 1) == "$learner_id" ]] || fail "adding Prometheus recreated the learner"
addr=$(compose port prometheus 9090) || fail "Prometheus port not published"
PROM_PORT=${addr##*:}
log "Prometheus on 127.0.0.1:$PROM_PORT"
wait_for 60 "Prometheus to report target learner:9464 up" prom_target_up
wait_for 30 "a proxima_policy_version sample" prom_version_above -1
pv1=$PROM_VERSION
wait_for 30 "proxima_policy_version to rise past $pv1 in Prometheus" prom_version_above "$pv1"
log "target up; proxima_policy_version $pv1 -> $PROM_VERSION"

# --- 5. stop, resume from the volume ---------------------------------------------

step "5: down (SIGTERM, checkpoint) and up again: resume from the named volume"
learner_id=$(container_of learner 1)
# The compose healthcheck (`proxima health`) has run by now (every 10 s).
healthy() { [[ $("$DOCKER" inspect -f '{{.State.Health.Status}}' "$learner_id") == healthy ]]; }
wait_for 40 "the learner's healthcheck to report healthy" healthy
wait_for 30 "the learner's status (a 5 s call can time out on 2 loaded cores)" read_status
v_down=$(version)
stop_t0=$(now_ms)
compose stop || fail "docker-compose stop failed"
log "stopped in $(secs $(($(now_ms) - stop_t0))) s, learner version before: $v_down"
exit_code=$("$DOCKER" inspect -f '{{.State.ExitCode}}' "$learner_id")
[[ "$exit_code" == 0 ]] || fail "the learner exited with $exit_code on SIGTERM (expected 0: clean checkpoint)"
compose down || fail "docker-compose down failed"
compose up -d --scale actor=2 || fail "docker-compose up (restart) failed"
wait_for 30 "the published learner port" learner_port
wait_for 90 "the restarted learner to answer on 127.0.0.1:$PORT" read_status
v_up=$(version)
((v_up >= v_down)) || fail "resumed at version $v_up < $v_down read before stopping"
resumed_line=$(compose logs --no-color learner 2>/dev/null | grep -o 'proxima-learner: resumed .* at version [0-9]*' | tail -n1)
[[ -n "$resumed_line" ]] || fail "the learner's log has no 'resumed ... at version N' line"
v_ckpt=${resumed_line##* }
((v_ckpt >= v_down)) || fail "resumed from version $v_ckpt < $v_down read before stopping"
log "$resumed_line; first status after restart: version $v_up (>= $v_down)"
wait_for 90 "2 actors to reconnect to the resumed learner" actors_connected_is 2
wait_for 60 "the resumed learner to train past $v_up" version_above "$v_up"
log "training again: version $(version)"

# --- 6. down -v ---------------------------------------------------------------------

step "6: down -v removes everything but the images"
compose down -v || fail "docker-compose down -v failed"
STACK_UP=0
project_gone
log "containers, network and volumes of $PROJECT are gone; images kept:" \
    "$PROXIMA_IMAGE ($("$DOCKER" image inspect -f '{{.Size}}' "$PROXIMA_IMAGE") bytes)," \
    "$PROXIMA_PROMETHEUS_IMAGE ($("$DOCKER" image inspect -f '{{.Size}}' "$PROXIMA_PROMETHEUS_IMAGE") bytes)"

# --- 6b. a MuJoCo env ------------------------------------------------------------------

step "6b: PROXIMA_ENV=HalfCheetah-v4: the image's MuJoCo models, 2 actors training"
FILES=("${BASE_FILES[@]}")     # no Prometheus (cleanup still uses PROM_FILES)
STACK_UP=1
# The assignment lasts for this one command (a shell function); the rest of
# the test keeps CartPole-v1.
PROXIMA_ENV=HalfCheetah-v4 compose up -d --scale actor=2 ||
  fail "docker-compose up (PROXIMA_ENV=HalfCheetah-v4) failed"
wait_for 30 "the published learner port" learner_port
wait_for 90 "2 connected actors on HalfCheetah-v4" actors_connected_is 2
env_id=$(jq -r '.env_id // empty' <<<"$STATUS")
[[ "$env_id" == HalfCheetah-v4 ]] || fail "the learner trains '$env_id', not PROXIMA_ENV=HalfCheetah-v4"
# Protobuf JSON writes uint64 as strings and leaves out zeros.
updates() { jq -r '(.updates // "0") | tonumber' <<<"$STATUS"; }
env_steps() { jq -r '(.env_steps // "0") | tonumber' <<<"$STATUS"; }
updates_at_least() { read_status && (($(updates) >= $1)); }
# The MuJoCo preset trains on 2,048-step batches: 3 updates = 6,144 env steps.
wait_for 60 "3 updates on HalfCheetah-v4" updates_at_least 3
(($(env_steps) >= 3 * 2048)) || fail "$(updates) updates but only $(env_steps) env steps"
log "HalfCheetah-v4: $(updates) updates, $(env_steps) env steps, mean episode return" \
    "$(jq -r '.mean_episode_return // 0' <<<"$STATUS") ($(jq -r '.episodes // "0"' <<<"$STATUS") episodes)"
compose down -v || fail "docker-compose down -v (HalfCheetah-v4) failed"
STACK_UP=0

# --- 7. secure mode -------------------------------------------------------------------

step "7: secure mode: TLS, mutual TLS and tokens from compose secrets"
export PROXIMA_SECRETS_DIR="$WORK/secrets"
bash "$DEPLOY/make-secrets.sh" "$PROXIMA_SECRETS_DIR" >/dev/null || fail "deploy/make-secrets.sh failed"
SECURE_FILES=(-f "$DEPLOY/docker-compose.yml" -f "$DEPLOY/docker-compose.secure.yml")
FILES=("${SECURE_FILES[@]}")
PROM_FILES=("${SECURE_FILES[@]}")   # diagnostics and cleanup see this stack
TLS_CLIENT=(--tls-ca "$PROXIMA_SECRETS_DIR/ca.pem" --tls-cert "$PROXIMA_SECRETS_DIR/client.pem"
            --tls-key "$PROXIMA_SECRETS_DIR/client.key")
read_status() {
  STATUS=$("$PROXIMA" status --learner "127.0.0.1:$PORT" --json --timeout 5 "${TLS_CLIENT[@]}" \
           --token-file "$PROXIMA_SECRETS_DIR/monitor_token" 2>/dev/null) || return 1
}
STACK_UP=1
compose up -d --scale actor=2 || fail "docker-compose up (secure) failed"
wait_for 30 "the published learner port" learner_port
wait_for 90 "2 connected actors over TLS (monitor token)" actors_connected_is 2
v_secure=$(version)
wait_for 60 "the policy version to grow past $v_secure" version_above "$v_secure"
log "2 actors train over mutual TLS with tokens: version $v_secure -> $(version)"
out=$("$PROXIMA" status --learner "127.0.0.1:$PORT" --timeout 5 "${TLS_CLIENT[@]}" 2>&1) &&
  fail "status without a token succeeded"
grep -q UNAUTHENTICATED <<<"$out" || fail "status without a token: expected UNAUTHENTICATED: $out"
out=$("$PROXIMA" status --learner "127.0.0.1:$PORT" --timeout 5 \
      --token-file "$PROXIMA_SECRETS_DIR/monitor_token" 2>&1) && fail "plaintext status succeeded"
log "without the token: UNAUTHENTICATED; plaintext: refused ($(tail -n1 <<<"$out" | cut -c1-100))"
# Logs go to a variable first: with pipefail, "compose logs | grep -q" fails
# whenever grep exits at the first match and compose gets SIGPIPE.
learner_logs=$(compose logs --no-color learner 2>/dev/null)
grep -q "channel security: TLS, client certificate required" <<<"$learner_logs" ||
  fail "the learner's log does not report TLS with required client certificates"
all_logs=$(compose logs --no-color 2>/dev/null)
for role in actor monitor admin; do
  if grep -qF "$(cat "$PROXIMA_SECRETS_DIR/${role}_token")" <<<"$all_logs"; then
    fail "the $role token appears in the containers' logs"
  fi
done
secure_learner=$(container_of learner 1)
secure_healthy() { [[ $("$DOCKER" inspect -f '{{.State.Health.Status}}' "$secure_learner") == healthy ]]; }
wait_for 40 "the learner's TLS healthcheck to report healthy" secure_healthy
compose down -v || fail "docker-compose down -v (secure) failed"
STACK_UP=0
log "secure stack trained, refused the tokenless client, and is gone"
end_step

SUCCESS=1
echo
echo "compose test passed in $(secs $(($(now_ms) - T0))) s (image build $BUILD_SECONDS s; scale 2 -> 4 actors $SCALE_UP_SECONDS s)"
printf '  %s\n' "${STEP_DURATIONS[@]}"
