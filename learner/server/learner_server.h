// LearnerServer: the learner process of a Proxima cluster (DESIGN.md).
//
// One gRPC server (callback API) serves proxima.v1.Learner (Register,
// StreamTrajectories, WatchWeights), Monitor and Admin, plus the standard
// grpc.health.v1.Health service and server reflection.
//
// Threads:
//   * gRPC callback threads run the reactors. A trajectory reactor only
//     checks the session, validates and decodes a chunk, and enqueues it; it
//     never trains. When the queue is full the reactor holds its chunk and
//     issues no further read until the trainer makes room, so HTTP/2 flow
//     control pushes back on the actor (backpressure; nothing is dropped).
//   * One trainer thread owns the PpoUpdater (model, optimizer, normalizer):
//     it assembles a batch (async: chunks as they come, dropping those beyond
//     --max-policy-lag; sync: one rollout per active actor at the current
//     version), runs the PPO update, and publishes the next version. It also
//     writes checkpoints, metrics.csv and serves Admin requests that need the
//     model.
//   * The publisher serializes each version once into an immutable buffer;
//     every WatchWeights stream sends the newest version it has not sent yet
//     (latest-wins: a slow actor never receives a backlog).
//
// Memory bound (queue + in-flight): at most queue_capacity transitions queued
// plus one held chunk per trajectory stream plus the batch being trained, with
// bytes per transition = 4·(obs_dim + action_dim + 2) + 2 (raw obs, action,
// log-prob, reward, two flags) plus, per chunk, its bootstrap observations and
// tensor headers. docs/learner.md "Memory bound" has the formula;
// tests/faults/load_test.cc tests it.
//
// Accounting invariant, true whenever Status() is read:
//   chunks_received = chunks_trained + Σ chunks_dropped + chunks_queued.
// (Duplicates of already processed chunks are acknowledged but not received
// again.)
#ifndef PROXIMA_LEARNER_SERVER_LEARNER_SERVER_H_
#define PROXIMA_LEARNER_SERVER_LEARNER_SERVER_H_

#include <grpcpp/channel.h>

#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "learner/ppo_config.h"
#include "learner/run_files.h"
#include "learner/server/learner_options.h"
#include "proxima/v1/status.pb.h"

namespace proxima {

// Test-only hooks into the trainer's path (tests/learner/accounting_test.cc):
// they let a test check the chunk accounting against counts of its own rather
// than against the counters the server moves itself. Production sets none.
struct LearnerTestHooks {
  // Called once for every accepted chunk when its fate is sealed: trained
  // (CHUNK_OUTCOME_ACCEPTED) or dropped after its ack (the drop reason).
  // Runs with the chunk accounting's lock held (chunk_accounting.h): it must
  // not call into the server.
  std::function<void(const std::string& actor_name, uint64_t seq, int64_t transitions,
                     v1::ChunkOutcome fate)>
      on_chunk_done;
  // Asked before each PPO update; true makes that update fail as if
  // PpoUpdater::Update() had returned an error.
  std::function<bool()> fail_update;
};

class LearnerServer {
 public:
  // Builds the trainer (or restores it from options.resume_dir) and creates
  // the run directory. Nothing listens yet.
  static absl::StatusOr<std::unique_ptr<LearnerServer>> Create(const PpoConfig& config,
                                                               const LearnerOptions& options);
  ~LearnerServer();

  // Binds --listen, publishes the first version, writes RUN_DIR/learner.addr,
  // starts the trainer and reports SERVING.
  absl::Status Start();

  // Address clients can dial (wildcard hosts become 127.0.0.1).
  std::string address() const;
  // Where /metrics is served (HOST:PORT), or empty without --metrics-listen.
  std::string metrics_address() const;
  // Where the dashboard is served (HOST:PORT), or empty without
  // --dashboard-listen.
  std::string dashboard_address() const;
  const std::string& run_dir() const;

  // Blocks until the run ends (step budget, solved with stop_when_solved,
  // Admin.Shutdown or RequestStop), then shuts down gracefully: health
  // NOT_SERVING, the current update finishes, final checkpoint, summary.json,
  // streams closed. Returns the run summary.
  absl::StatusOr<RunSummary> Wait();

  // Asks Wait() to shut down (thread-safe; not async-signal-safe).
  void RequestStop(const std::string& reason);

  // Pauses / resumes training (the Admin RPCs do the same).
  void SetPaused(bool paused);

  v1::LearnerStatus Status(bool include_actors) const;

  // Installs test hooks; call before Start().
  void SetTestHooks(LearnerTestHooks hooks);

  // A channel to this server that bypasses the network stack (tests).
  std::shared_ptr<grpc::Channel> InProcessChannel();

  class Impl;

 private:
  explicit LearnerServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace proxima

#endif  // PROXIMA_LEARNER_SERVER_LEARNER_SERVER_H_
