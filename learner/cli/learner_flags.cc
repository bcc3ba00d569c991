#include "learner/cli/learner_flags.h"

#include <cstdlib>
#include <string>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "learner/cli/ppo_flags.h"

ABSL_FLAG(std::string, listen, "0.0.0.0:50051",
          "learner: HOST:PORT to serve on; port 0 picks a free port (written to "
          "RUN_DIR/learner.addr)");
ABSL_FLAG(std::string, metrics_listen, "",
          "learner: HOST:PORT to serve Prometheus metrics on (/metrics); port 0 picks a "
          "free port (written to RUN_DIR/metrics.addr); empty = off");
ABSL_FLAG(std::string, dashboard_listen, "",
          "learner: HOST:PORT to serve the live web dashboard on (/, /api/status, "
          "/api/metrics); port 0 picks a free port (written to RUN_DIR/dashboard.addr); empty = "
          "off [train: 127.0.0.1:0]");
ABSL_FLAG(std::string, run_dir, "",
          "Run directory of a new run [runs/<env>-<seed>, or runs/<env>-<seed>-2, -3, ... when "
          "that holds a run]; one that holds a run is refused unless --overwrite");
ABSL_FLAG(bool, overwrite, false,
          "with --run-dir: if it holds a run, remove that run's files (config.json, metrics.csv, "
          "summary.json, checkpoints/, logs/, event files) first");
ABSL_FLAG(std::string, resume, "",
          "continue the run in this directory from its newest checkpoint (error if it has "
          "none); flags given again apply where they can change (step budget, hyperparameters "
          "`proxima set` can change) and are refused otherwise");
ABSL_FLAG(bool, resume_or_start, false,
          "learner, with --resume: start a new run there when it holds no checkpoint "
          "(deployments that restart the learner on one volume)");
ABSL_FLAG(std::string, mode, "async",
          "sync (strictly on-policy, one rollout per actor per update; a sequence run: one "
          "chunk per actor) or async");
ABSL_FLAG(int, max_policy_lag, 8,
          "async: drop chunks more than this many versions behind the learner");
ABSL_FLAG(int, target_policy_lag, 1,
          "async: an actor waits for newer weights while its next chunk would be trained this "
          "many versions behind or more (flow control by policy version); 0 = off, at most "
          "--max-policy-lag");
ABSL_FLAG(int64_t, queue_capacity, 0,
          "learner: trajectory queue capacity in transitions, backpressure beyond "
          "[0: two batches]");
ABSL_FLAG(int, actor_num_envs, 0,
          "learner: env columns per actor when the actor does not choose [0: --num-envs]");
ABSL_FLAG(int, max_actors, 1024,
          "learner: most distinct actor names in a run; Register answers RESOURCE_EXHAUSTED "
          "beyond");
ABSL_FLAG(int, max_unacked_chunks, 8,
          "learner: chunks an actor may send before their acknowledgement (its send window; "
          "smaller keeps async actors' data closer to the learner's version)");
ABSL_FLAG(int64_t, max_message_bytes, 64 << 20,
          "learner: largest message, bytes; a larger trajectory chunk is rejected and counted "
          "(REJECTED_TOO_LARGE), gRPC refuses anything above 1.25x this");
ABSL_FLAG(double, max_chunks_per_second, 1000,
          "learner: per-actor chunk rate limit (token bucket, burst = one second's worth); a "
          "faster actor is slowed by backpressure, not rejected; 0 = unlimited, range [0, 1e6]");
ABSL_FLAG(double, sync_round_timeout, 10,
          "sync: seconds to wait for an actor's rollout before leaving it out of a round");
ABSL_FLAG(int, min_actors, 1,
          "the first update waits (up to --sync-round-timeout) for this many actors: sync for "
          "their rollouts, async until they are connected");
ABSL_FLAG(double, checkpoint_every_seconds, 300, "learner: checkpoint period, 0 = off");
ABSL_FLAG(int64_t, checkpoint_every_updates, 0, "learner: checkpoint every N updates, 0 = off");
ABSL_FLAG(int, keep_checkpoints, 3, "learner: checkpoints kept in RUN_DIR/checkpoints");
ABSL_FLAG(int64_t, eval_every, 0,
          "train/learner: every N updates, evaluate the policy (deterministic episodes on an env "
          "of its own) and keep the best as RUN_DIR/checkpoints/ckpt-<version>-best.pt; 0 = off");
ABSL_FLAG(int, eval_episodes, 10, "train/learner: episodes per --eval-every evaluation");
ABSL_FLAG(double, grace_period, 20,
          "learner: seconds allowed for a clean shutdown (SIGTERM) before exiting anyway");
ABSL_FLAG(bool, stop_when_solved, false,
          "train: stop once the last-100 mean return reaches the env's threshold");
ABSL_FLAG(bool, quiet, false, "no live progress line");
ABSL_FLAG(double, keepalive_seconds, 10, "learner: HTTP/2 keepalive ping interval");
ABSL_FLAG(double, keepalive_timeout_seconds, 10, "learner: keepalive ack timeout");
// Security (docs/security.md). In `proxima status|admin|...` the same three
// TLS flags configure the client side (learner/cli/proxima_main.cc).
ABSL_FLAG(std::string, tls_cert, "",
          "TLS: PEM certificate chain — the learner's own (turns TLS on; needs --tls-key), or "
          "for `proxima` learner commands a client certificate for mutual TLS");
ABSL_FLAG(std::string, tls_key, "", "TLS: PEM private key of --tls-cert");
ABSL_FLAG(std::string, tls_ca, "",
          "TLS: PEM CA bundle — the learner verifies client certificates with it; `proxima` "
          "learner commands verify the learner's certificate with it");
ABSL_FLAG(bool, require_client_cert, false,
          "learner: mutual TLS, every client must present a certificate signed by --tls-ca");
ABSL_FLAG(std::string, auth_tokens_file, "",
          "learner: bearer tokens, one 'ROLE TOKEN' line each (roles actor, monitor, admin); "
          "or set PROXIMA_AUTH_TOKENS=ROLE:TOKEN,...; none = no token checks");

// In ppo_flags.cc.
ABSL_DECLARE_FLAG(std::string, env);

namespace proxima {

ResumeChanges ResumeChangesGiven(const std::set<std::string>& given) {
  ResumeChanges changes = ResumeChangesFromFlags();
  if (given.count("env") > 0) changes["env"] = absl::GetFlag(FLAGS_env);
  return changes;
}

absl::StatusOr<LearnerOptions> LearnerOptionsFromFlags() {
  LearnerOptions o;
  o.listen = absl::GetFlag(FLAGS_listen);
  o.run_dir = absl::GetFlag(FLAGS_run_dir);
  o.metrics_listen = absl::GetFlag(FLAGS_metrics_listen);
  o.dashboard_listen = absl::GetFlag(FLAGS_dashboard_listen);
  o.overwrite = absl::GetFlag(FLAGS_overwrite);
  o.resume_dir = absl::GetFlag(FLAGS_resume);
  o.resume_or_start = absl::GetFlag(FLAGS_resume_or_start);
  const std::string mode = absl::GetFlag(FLAGS_mode);
  if (mode == "sync") {
    o.mode = TrainingModeKind::kSync;
  } else if (mode == "async") {
    o.mode = TrainingModeKind::kAsync;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("--mode must be sync or async (got '", mode, "')"));
  }
  o.max_policy_lag = absl::GetFlag(FLAGS_max_policy_lag);
  o.target_policy_lag = absl::GetFlag(FLAGS_target_policy_lag);
  o.queue_capacity = absl::GetFlag(FLAGS_queue_capacity);
  o.actor_num_envs = absl::GetFlag(FLAGS_actor_num_envs);
  o.max_actors = absl::GetFlag(FLAGS_max_actors);
  o.max_unacked_chunks = absl::GetFlag(FLAGS_max_unacked_chunks);
  o.max_message_bytes = absl::GetFlag(FLAGS_max_message_bytes);
  o.max_chunks_per_second = absl::GetFlag(FLAGS_max_chunks_per_second);
  o.sync_round_timeout_seconds = absl::GetFlag(FLAGS_sync_round_timeout);
  o.min_actors = absl::GetFlag(FLAGS_min_actors);
  o.checkpoint_every_seconds = absl::GetFlag(FLAGS_checkpoint_every_seconds);
  o.checkpoint_every_updates = absl::GetFlag(FLAGS_checkpoint_every_updates);
  o.keep_checkpoints = absl::GetFlag(FLAGS_keep_checkpoints);
  o.eval.every = absl::GetFlag(FLAGS_eval_every);
  o.eval.episodes = absl::GetFlag(FLAGS_eval_episodes);
  o.grace_period_seconds = absl::GetFlag(FLAGS_grace_period);
  o.stop_when_solved = absl::GetFlag(FLAGS_stop_when_solved);
  o.progress = !absl::GetFlag(FLAGS_quiet);
  o.keepalive_seconds = absl::GetFlag(FLAGS_keepalive_seconds);
  o.keepalive_timeout_seconds = absl::GetFlag(FLAGS_keepalive_timeout_seconds);
  o.tls_cert = absl::GetFlag(FLAGS_tls_cert);
  o.tls_key = absl::GetFlag(FLAGS_tls_key);
  o.tls_ca = absl::GetFlag(FLAGS_tls_ca);
  o.require_client_cert = absl::GetFlag(FLAGS_require_client_cert);
  o.auth_tokens_file = absl::GetFlag(FLAGS_auth_tokens_file);
  if (const char* tokens = std::getenv(kAuthTokensEnvVar)) o.auth_tokens = tokens;
  absl::Status s = o.Validate();
  if (!s.ok()) return s;
  return o;
}

}  // namespace proxima
