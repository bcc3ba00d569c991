// LearnerOptions: how the learner server runs (as opposed to PpoConfig, which
// says what it trains). Filled from flags by learner/cli/learner_flags.h.
#ifndef PROXIMA_LEARNER_SERVER_LEARNER_OPTIONS_H_
#define PROXIMA_LEARNER_SERVER_LEARNER_OPTIONS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "learner/periodic_eval_options.h"

namespace proxima {

enum class TrainingModeKind { kSync, kAsync };

// Environment variable with the learner's bearer tokens, "ROLE:TOKEN,...".
inline constexpr char kAuthTokensEnvVar[] = "PROXIMA_AUTH_TOKENS";

struct LearnerOptions {
  // HOST:PORT to listen on; port 0 picks a free port (the bound address is
  // printed and written to RUN_DIR/learner.addr).
  std::string listen = "0.0.0.0:50051";
  // The new run's directory; empty: runs/<env>-<seed>, or runs/<env>-<seed>-2,
  // -3, ... when that holds a run. A given one that holds a run is refused
  // unless `overwrite` (which removes that run's files first; NewRunDir in
  // learner/run_files.h).
  std::string run_dir;
  bool overwrite = false;
  // Non-empty: serve Prometheus metrics on http://HOST:PORT/metrics (port 0
  // picks a free port; the bound address is written to RUN_DIR/metrics.addr).
  std::string metrics_listen;
  // Non-empty: serve the live web dashboard on http://HOST:PORT/ (port 0
  // picks a free port; the bound address is written to
  // RUN_DIR/dashboard.addr; learner/server/dashboard.h).
  std::string dashboard_listen;
  // Non-empty: continue the run in this directory from its newest complete
  // checkpoint (config, weights, optimizer, normalizer, version, counters).
  // A directory without a checkpoint is an error, unless resume_or_start
  // (deployments that restart the learner on one volume): then a new run
  // starts there.
  std::string resume_dir;
  bool resume_or_start = false;
  // With resume_dir: settings given again (config key → value), applied to or
  // refused for the checkpoint's config as learner/resume_config.h says.
  std::map<std::string, std::string> resume_changes;
  TrainingModeKind mode = TrainingModeKind::kAsync;
  // Async: chunks whose lag (learner version − behaviour version) exceeds this
  // when they enter a batch are dropped and counted. Sync mode uses 0.
  int max_policy_lag = 8;
  // Async: flow control by policy version. An actor waits for a newer
  // snapshot while the chunk it would collect next is predicted to be trained
  // this many versions or more behind (RunConfig.target_policy_lag says how
  // it predicts). At most max_policy_lag (when that is not 0); 0: off, actors
  // never wait and only the lag limit cuts stale data.
  int target_policy_lag = 1;
  // Bounded trajectory queue, in transitions. When full the learner stops
  // reading trajectory streams (gRPC flow control pushes back on actors).
  // 0: two batches (num_envs × rollout_length each) — a small queue keeps
  // actors from racing ahead with data that would only be dropped for lag.
  int64_t queue_capacity = 0;
  // Env columns an actor gets when it asks for 0 (its default); 0 here means
  // the PPO config's num_envs.
  int actor_num_envs = 0;
  int max_actors = 1024;
  // Chunks an actor may have sent and not yet had acknowledged (its send
  // window, told to actors at registration). Chunks wait in this window and
  // in the queue, so in async mode it bounds how far behind the learner's
  // version an actor's data is when it is trained.
  int max_unacked_chunks = 8;
  // Largest message, in bytes. A TrajectoryChunk above it is rejected as
  // CHUNK_OUTCOME_REJECTED_TOO_LARGE and counted; gRPC itself refuses any
  // message above TransportMessageLimit() before it is parsed (the call ends
  // with RESOURCE_EXHAUSTED). Also the limit for what the learner sends.
  int64_t max_message_bytes = 64 << 20;
  // Per-actor chunk rate: a token bucket per actor refilled at this many
  // chunks per second, with a burst of one second's worth (at least 1). An
  // actor above it is slowed by backpressure — its stream is not read until
  // the bucket allows — never rejected (LearnerStatus.chunks_rate_limited
  // counts the waits). 0 = unlimited.
  double max_chunks_per_second = 1000;
  double sync_round_timeout_seconds = 10;
  // Sync: the first round also waits (up to the round timeout) until
  // rollouts from at least this many actors arrived, so that a run does not
  // depend on which actor happened to register first.
  int min_actors = 1;
  double checkpoint_every_seconds = 300;  // 0: off
  int64_t checkpoint_every_updates = 0;   // 0: off
  int keep_checkpoints = 3;
  // Evaluation during training (--eval-every, --eval-episodes;
  // learner/periodic_eval.h), on the trainer thread after the update.
  PeriodicEvalOptions eval;
  // SIGTERM / Admin.Shutdown: time allowed to finish the update, checkpoint
  // and close streams before the process exits anyway.
  double grace_period_seconds = 20;
  bool stop_when_solved = false;
  bool progress = false;  // live progress line on stderr
  // Keepalive the server permits and uses (also sent to actors in ChannelHints).
  double keepalive_seconds = 10;
  double keepalive_timeout_seconds = 10;

  // Channel security (docs/security.md, learner/server/server_security.h).
  // PEM paths: tls_cert and tls_key (both or neither) turn TLS on; tls_ca
  // verifies client certificates; require_client_cert makes one mandatory
  // (mutual TLS; needs tls_ca).
  std::string tls_cert;
  std::string tls_key;
  std::string tls_ca;
  bool require_client_cert = false;
  // Bearer tokens with roles: a file of "ROLE TOKEN" lines, or the list
  // "ROLE:TOKEN,..." from $PROXIMA_AUTH_TOKENS (a secret: never printed or
  // written to the run directory). At most one of the two.
  std::string auth_tokens_file;
  std::string auth_tokens;

  absl::Status Validate() const;

  // The receive limit given to gRPC: max_message_bytes plus a quarter, at
  // most 2^31 - 1. Chunks between the two are read, so that they can be
  // rejected and counted; anything larger never reaches the learner.
  int TransportMessageLimit() const;
};

}  // namespace proxima

#endif  // PROXIMA_LEARNER_SERVER_LEARNER_OPTIONS_H_
