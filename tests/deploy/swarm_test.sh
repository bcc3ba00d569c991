#!/usr/bin/env bash
# The Swarm deployment, for real and offline: a one-node Docker Swarm made on
# this machine runs deploy/docker-compose.yml + deploy/docker-compose.swarm.yml
# with `docker stack deploy`, from the image the compose test built.
#
# What it proves, step by step (each step prints its start time and duration):
#   0. a Docker engine (started here, and stopped at the end, when none runs;
#      compose_lib.sh, as the compose test) outside any swarm, and the image
#      $PROXIMA_IMAGE (tests/deploy/compose_test.sh builds it; ctest runs that
#      test first, fixture proxima_image; this test never builds an image);
#   1. `docker swarm init` advertising 127.0.0.1 (nothing leaves the machine);
#      `docker stack deploy`: the learner stays pending ("no suitable node")
#      until the node carries the label proxima.learner=true, then runs;
#      through its host-mode port (`docker port`), the host's
#      `proxima status` sees 2 connected actors and a growing policy version;
#      a one-off container on the attachable overlay network reaches the
#      learner by its service name (dnsrr, no IPVS);
#   2. `docker service scale`: 2 -> 4 -> 1 actors, and the learner's count of
#      connected actors follows;
#   3. an actor task's container is killed: Swarm starts a new task (a new
#      container) and it joins with a new session;
#   4. the learner task's container is killed: Swarm starts a new task on the
#      labelled node, it resumes from the newest checkpoint in the run volume
#      (policy version and env steps continue from there, not from 0), and
#      the actor reconnects to its new address by itself;
#  4b. `docker service update --force` on the learner (stop-first): the old
#      task checkpoints on SIGTERM and exits 0, the new one resumes at or after
#      the version read before the update;
#   5. `docker stack rm`, the volume removed, `docker swarm leave`: nothing
#      left behind. Cleanup does the same on any failure.
# The learner's port is published in host mode on a free port Docker picks;
# the test talks only to 127.0.0.1.
#
# Duration on 2 cores: 1-1.5 minutes after the compose test (no build).
#
# Needs: root or docker-group access to a Docker engine (docker.io) that is not
# part of a swarm (the test creates its own and leaves it), jq, and the host
# build of `proxima` (for `proxima status`).
#
# Environment:
#   PROXIMA_BIN_DIR    host binaries (default <repo>/build/bin)
#   DOCKER             docker client (default /usr/bin/docker if present, else docker)
#   PROXIMA_IMAGE      image to run (default proxima:compose-test, as the compose test)
set -euo pipefail

# shellcheck source=tests/deploy/compose_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/compose_lib.sh"   # REPO, DEPLOY, PROXIMA, DOCKER, ...
WORK=$(mktemp -d "${TMPDIR:-/tmp}/proxima-swarm-test.XXXXXX")
export_run_settings
STACK="proxima-st-$$"
FILES=(-c "$DEPLOY/docker-compose.yml" -c "$DEPLOY/docker-compose.swarm.yml")

SWARM_MADE=0   # 1 once this test's `docker swarm init` succeeded
STACK_UP=0     # 1 while the stack may exist
DIAGNOSTICS=swarm_diagnostics
TEARDOWN=swarm_teardown

svc() { echo "${STACK}_$1"; }
# Running containers of a service's tasks (a killed one is no longer listed).
task_containers() { "$DOCKER" ps -q --filter "label=com.docker.swarm.service.name=$(svc "$1")"; }
stack_containers() { "$DOCKER" ps -aq --filter "label=com.docker.stack.namespace=$STACK"; }

swarm_diagnostics() {
  ((STACK_UP)) || return 0
  local s c
  for s in learner actor; do
    echo "----- docker service ps $(svc "$s") -----"
    "$DOCKER" service ps --no-trunc "$(svc "$s")" 2>&1 | head -n 20 || true
  done
  for c in $(stack_containers | head -n 8); do
    echo "----- logs of ${c:0:12} (last 30 lines) -----"
    "$DOCKER" logs --tail 30 "$c" 2>&1 || true
  done
  if [[ -n "${PORT:-}" ]]; then
    echo "----- proxima status --learner 127.0.0.1:$PORT -----"
    "$PROXIMA" status --learner "127.0.0.1:$PORT" --timeout 5 2>&1 | head -n 30 || true
  fi
}

# remove_stack: `docker stack rm`, then waits for the task containers to go
# (stack rm returns at once), removes the network if stack rm could not (it
# fails while a task still uses it) and the run volume.
remove_stack() {
  "$DOCKER" stack rm "$STACK" >"$WORK/stack-rm.log" 2>&1 || true
  [[ -z $("$DOCKER" service ls -q --filter "label=com.docker.stack.namespace=$STACK") ]] ||
    { cat "$WORK/stack-rm.log"; log "docker stack rm left services of $STACK"; return 1; }
  local deadline=$(($(now_ms) + 90000))
  while [[ -n $(stack_containers) ]]; do
    (($(now_ms) < deadline)) || { log "containers of $STACK still there after 90 s"; return 1; }
    sleep 0.5
  done
  while "$DOCKER" network inspect "${STACK}_proxima" >/dev/null 2>&1; do
    "$DOCKER" network rm "${STACK}_proxima" >/dev/null 2>&1 && break
    (($(now_ms) < deadline)) || { log "network ${STACK}_proxima still there after 90 s"; return 1; }
    sleep 0.5
  done
  if "$DOCKER" volume inspect "${STACK}_proxima-run" >/dev/null 2>&1; then
    "$DOCKER" volume rm "${STACK}_proxima-run" >/dev/null || return 1
  fi
}

swarm_teardown() {
  if ((STACK_UP)); then
    log "cleanup: removing stack $STACK (services, containers, network, volume)"
    remove_stack || true
  fi
  if ((SWARM_MADE)); then
    log "cleanup: leaving the swarm this test made"
    "$DOCKER" swarm leave --force >/dev/null 2>&1 || log "docker swarm leave failed"
  fi
  remove_gwbridge || log "could not remove docker_gwbridge"
}
# The bridge Swarm creates for overlay containers' outside traffic stays after
# `swarm leave`; it goes too when this test made it.
GWBRIDGE_MADE=0
remove_gwbridge() {
  ((GWBRIDGE_MADE)) || return 0
  "$DOCKER" network rm docker_gwbridge >/dev/null 2>&1 || return 1
  GWBRIDGE_MADE=0
}

learner_container() { LEARNER_CID=$(task_containers learner | head -n1); [[ -n "$LEARNER_CID" ]]; }
# The host-mode port of the running learner task (a new task gets a new one).
learner_port() {
  learner_container || return 1
  local addr
  addr=$("$DOCKER" port "$LEARNER_CID" 50051/tcp 2>/dev/null | head -n1) || return 1
  PORT=${addr##*:}
  [[ "$PORT" =~ ^[0-9]+$ && "$PORT" != 0 ]]
}
running_tasks_are() {  # running_tasks_are SERVICE N
  [[ $(task_containers "$1" | wc -l) -eq $2 ]]
}
env_steps() { jq -r '(.env_steps // "0") | tonumber' <<<"$STATUS"; }

# --- 0. prerequisites -------------------------------------------------------------

step "0: prerequisites (Docker engine outside any swarm, the compose test's image)"
for tool in "$DOCKER" jq; do
  command -v "$tool" >/dev/null || fail "'$tool' not found (apt-get install docker.io jq)"
done
[[ -x "$PROXIMA" ]] || fail "$PROXIMA not found: build the project first (cmake --build build) or set PROXIMA_BIN_DIR"
start_engine_if_needed
swarm_state=$("$DOCKER" info -f '{{.Swarm.LocalNodeState}}')
[[ "$swarm_state" == inactive ]] ||
  fail "this Docker engine is already in a swarm (state '$swarm_state'); the test makes its own" \
       "one-node swarm and leaves it, so it needs an engine outside any swarm"
"$DOCKER" image inspect "$PROXIMA_IMAGE" >/dev/null 2>&1 ||
  fail "image $PROXIMA_IMAGE not found: tests/deploy/compose_test.sh builds it" \
       "(ctest runs deploy_compose_test first), or set PROXIMA_IMAGE"
log "engine $("$DOCKER" version -f '{{.Server.Version}}'); image $PROXIMA_IMAGE built" \
    "$("$DOCKER" image inspect -f '{{.Created}}' "$PROXIMA_IMAGE")"

# --- 1. swarm, stack, placement, 2 actors -------------------------------------------

step "1: swarm init, stack deploy, the learner waits for its node label, 2 actors train"
"$DOCKER" network inspect docker_gwbridge >/dev/null 2>&1 || GWBRIDGE_MADE=1
"$DOCKER" swarm init --advertise-addr 127.0.0.1 --listen-addr 127.0.0.1:2377 >"$WORK/init.log" 2>&1 ||
  { cat "$WORK/init.log"; fail "docker swarm init failed"; }
SWARM_MADE=1
NODE=$("$DOCKER" info -f '{{.Swarm.NodeID}}')
"$DOCKER" swarm join-token -q worker >/dev/null || fail "no worker join token"
log "one-node swarm: node $NODE, manager on 127.0.0.1:2377"
STACK_UP=1
"$DOCKER" stack deploy "${FILES[@]}" "$STACK" >"$WORK/deploy.log" 2>&1 ||
  { cat "$WORK/deploy.log"; fail "docker stack deploy failed"; }
log "deployed: $(grep -c '^Creating service' "$WORK/deploy.log") services ($(head -n1 "$WORK/deploy.log"))"
learner_unplaced() {
  "$DOCKER" service ps --no-trunc --format '{{.Error}}' "$(svc learner)" | grep -q 'no suitable node'
}
wait_for 30 "the learner task to wait for a node labelled proxima.learner=true" learner_unplaced
"$DOCKER" node update --label-add proxima.learner=true "$NODE" >/dev/null || fail "docker node update failed"
label_t0=$(now_ms)
wait_for 60 "the learner task's host-mode port" learner_port
log "labelled: the learner runs on $NODE, published on 127.0.0.1:$PORT (host mode)"
wait_for 90 "2 connected actors (proxima status --learner 127.0.0.1:$PORT)" actors_connected_is 2
log "2 actors connected $(secs $(($(now_ms) - label_t0))) s after the label; policy version $(version)"
v1=$(version)
wait_for 60 "the policy version to grow past $v1" version_above "$v1"
log "policy version $v1 -> $(version)"
# What an operator (or an actor on another node) sees: the service name on the
# overlay network resolves to the learner task (dnsrr), no VIP involved.
by_name=$("$DOCKER" run --rm --network "${STACK}_proxima" "$PROXIMA_IMAGE" \
          proxima status --learner learner:50051 --json --timeout 10 2>&1) ||
  fail "proxima status --learner learner:50051 from the overlay network failed: $by_name"
[[ $(jq -r '.env_id' <<<"$by_name") == CartPole-v1 ]] || fail "status by service name: $by_name"
log "a container on the overlay network reaches learner:50051 by name"

# --- 2. scale ------------------------------------------------------------------------

step "2: docker service scale: actors 2 -> 4 -> 1"
for n in 4 1; do
  scale_t0=$(now_ms)
  "$DOCKER" service scale --detach "$(svc actor)=$n" >/dev/null || fail "docker service scale actor=$n failed"
  wait_for 60 "$n connected actors" actors_connected_is "$n"
  log "$n actor(s) connected $(secs $(($(now_ms) - scale_t0))) s after 'docker service scale $(svc actor)=$n'"
done
wait_for 30 "1 running actor task" running_tasks_are actor 1

# --- 3. a killed actor task is replaced ------------------------------------------------

step "3: an actor task's container is killed; Swarm replaces the task"
wait_for 30 "the learner's status" read_status
old_sessions=$(sessions)
victim=$(task_containers actor | head -n1)
[[ -n "$victim" ]] || fail "no running actor container"
kill_t0=$(now_ms)
"$DOCKER" kill "$victim" >/dev/null || fail "docker kill $victim failed"
replaced() { local c; c=$(task_containers actor); [[ -n "$c" && "$c" != *"$victim"* ]]; }
wait_for 60 "a new actor task (container) to replace ${victim:0:12}" replaced
rejoined() {
  actors_connected_is 1 && [[ -n $(comm -13 <(echo "$old_sessions") <(sessions)) ]]
}
wait_for 60 "1 connected actor, with a new session" rejoined
failed_tasks=$("$DOCKER" service ps --filter desired-state=shutdown --format '{{.Error}}' "$(svc actor)" |
               grep -c 'non-zero exit (137)' || true)
((failed_tasks >= 1)) || fail "docker service ps lists no failed actor task (exit 137)"
log "replaced by $(task_containers actor | cut -c1-12) and rejoined $(secs $(($(now_ms) - kill_t0))) s after the kill"

# --- 4. the learner task is killed; it resumes from its volume ---------------------------

step "4: the learner task's container is killed; the new task resumes from the volume"
has_checkpoint() {
  read_status && [[ $(jq -r '(.last_checkpoint.policy_version // "0") | tonumber' <<<"$STATUS") -gt 0 ]]
}
wait_for 40 "a periodic checkpoint (every $PROXIMA_CHECKPOINT_EVERY_SECONDS s)" has_checkpoint
ckpt_v=$(jq -r '.last_checkpoint.policy_version | tonumber' <<<"$STATUS")
ckpt_steps=$(jq -r '(.last_checkpoint.env_steps // "0") | tonumber' <<<"$STATUS")
v_kill=$(version)
learner_container || fail "no running learner container"
old_learner=$LEARNER_CID
kill_t0=$(now_ms)
"$DOCKER" kill "$old_learner" >/dev/null || fail "docker kill $old_learner failed"
log "killed the learner at version $v_kill (newest checkpoint: version $ckpt_v, $ckpt_steps env steps)"
new_learner() { learner_port && [[ "$LEARNER_CID" != "$old_learner" ]]; }
wait_for 60 "a new learner task" new_learner
wait_for 60 "the new learner to answer on 127.0.0.1:$PORT" read_status
v_up=$(version)
steps_up=$(env_steps)
((v_up >= ckpt_v && steps_up >= ckpt_steps)) ||
  fail "the new learner is at version $v_up, $steps_up env steps: not resumed from version $ckpt_v ($ckpt_steps steps)"
# A newer periodic checkpoint may have been written between the status read
# and the kill: the learner resumes from the newest one, at or after ckpt_v.
resumed=$("$DOCKER" logs "$LEARNER_CID" 2>&1 | grep -o 'proxima-learner: resumed .* at version [0-9]*' | tail -n1)
[[ -n "$resumed" ]] || fail "the new learner's log has no 'resumed ... at version N' line"
((${resumed##* } >= ckpt_v && v_up >= ${resumed##* })) ||
  fail "'$resumed': expected a version >= $ckpt_v (checkpoint before the kill) and <= $v_up (status after)"
log "new task ${LEARNER_CID:0:12} on 127.0.0.1:$PORT: $resumed; status: version $v_up, $steps_up env steps"
wait_for 90 "the actor to reconnect to the new learner" actors_connected_is 1
log "the actor reconnected $(secs $(($(now_ms) - kill_t0))) s after the kill"
wait_for 60 "the resumed learner to train past $v_up" version_above "$v_up"
log "training again: version $(version)"

step "4b: a rolling update of the learner (stop-first): clean checkpoint, the new task resumes"
wait_for 30 "the learner's status" read_status
v_update=$(version)
learner_container || fail "no running learner container"
old_learner=$LEARNER_CID
"$DOCKER" service update --detach --force "$(svc learner)" >/dev/null || fail "docker service update failed"
wait_for 90 "the updated learner task" new_learner
exit_code=$("$DOCKER" inspect -f '{{.State.ExitCode}}' "$old_learner")
[[ "$exit_code" == 0 ]] || fail "the old learner exited with $exit_code on SIGTERM (expected 0: clean checkpoint)"
wait_for 60 "the updated learner to answer on 127.0.0.1:$PORT" read_status
resumed=$("$DOCKER" logs "$LEARNER_CID" 2>&1 | grep -o 'proxima-learner: resumed .* at version [0-9]*' | tail -n1)
if [[ -z "$resumed" ]] || ((${resumed##* } < v_update)); then
  fail "the updated learner did not resume at a version >= $v_update read before the update: '$resumed'"
fi
wait_for 90 "the actor to reconnect to the updated learner" actors_connected_is 1
log "old task exited 0; $resumed (>= $v_update); the actor reconnected"

# --- 5. remove everything --------------------------------------------------------------

step "5: stack rm, volume rm, swarm leave: nothing left"
remove_stack || fail "could not remove stack $STACK"
STACK_UP=0
"$DOCKER" swarm leave --force >/dev/null || fail "docker swarm leave failed"
SWARM_MADE=0
[[ $("$DOCKER" info -f '{{.Swarm.LocalNodeState}}') == inactive ]] || fail "still in a swarm after leaving"
remove_gwbridge || fail "could not remove the docker_gwbridge network the swarm made"
leftovers=$(stack_containers; "$DOCKER" volume ls -q | grep -F "${STACK}_" || true)
[[ -z "$leftovers" ]] || fail "left behind: $leftovers"
log "stack, volume and swarm are gone; image $PROXIMA_IMAGE kept"
end_step

SUCCESS=1
echo
echo "swarm test passed in $(secs $(($(now_ms) - T0))) s"
printf '  %s\n' "${STEP_DURATIONS[@]}"
