// SeqLearnerServer: the learner process of a sequence run (protocol revision
// 2: an `lm/...` task as env, docs/sequence-policies.md "On the wire").
//
// It serves the same proxima.v1 services as LearnerServer — Register,
// StreamTrajectories, WatchWeights, Monitor, Admin — and reuses its parts
// (SessionRegistry, ChunkIntake's decision table, TrajectoryQueue,
// ChunkAccounting, WeightPublisher), with a SeqPolicy in place of the PPO
// trainer:
//   * Register refuses actors below protocol revision 2 (FAILED_PRECONDITION)
//     and answers with RunConfig.sequence (the model, the sampling);
//   * version 0 is the seeded initial SeqPolicy (or a checkpoint's, with
//     init_checkpoint), published through
//     WatchWeights as named tensors with the usual checksum
//     (EncodeModuleWeights);
//   * a chunk must be a valid sequence chunk (ValidateSequenceChunk); a
//     rejected one is REJECTED_INVALID, its reason starting with the rule
//     class, and counted by class in LearnerStatus.sequences.rejected;
//   * one chunk thread takes accepted chunks from the queue, counts them
//     and recomputes the completion tokens' log-probs
//     (learner/server/seq_evaluator.h; when training, the update's
//     pre-pass does that once instead). Without `training` that is the
//     chunk's "trained" fate in the accounting (received = trained +
//     dropped + queued). With it (issue 25) the thread gathers chunks into
//     batches and trains (learner/server/seq_training.h: GRPO or sequence
//     PPO against a frozen reference, the initial model: init_checkpoint
//     loaded again, or the same seeded init); each update is a new version,
//     published to the actors, after which its chunks count as trained (or
//     dropped: policy lag, a failed update, shutdown).
// /metrics (options.metrics_listen) exports the sequence counters too
// (proxima_sequence_*, rejections by rule). A training run may have a run
// directory (config.json, metrics.csv with a row per update, checkpoints at
// every held-out evaluation and at the end, summary.json; seq_run_files.h),
// stop by itself after max_updates, and resume from its newest checkpoint.
// Admin.SaveCheckpoint answers UNIMPLEMENTED, SetHyperparameters changes
// nothing.
//
// Threads and locks as in LearnerServer (learner_server.h); the evaluator
// thread is the trainer thread's counterpart and the only user of the model.
#ifndef PROXIMA_LEARNER_SERVER_SEQ_LEARNER_SERVER_H_
#define PROXIMA_LEARNER_SERVER_SEQ_LEARNER_SERVER_H_

#include <grpcpp/channel.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/policy/seq_run_config.h"
#include "learner/server/learner_options.h"
#include "learner/server/seq_training.h"
#include "nlohmann/json.hpp"
#include "proxima/v1/status.pb.h"

namespace proxima {

struct SeqLearnerConfig {
  SeqRunSettings run;    // task, model, sampling (Finish() is called)
  uint64_t seed = 1;     // the initial weights' seed; actors' seeds derive from it
  // A sequence-policy checkpoint (learner/lm/seq_checkpoint.h: a file, or a
  // run directory's newest) to start from instead of the seeded init, e.g.
  // what `proxima lm sft` wrote. Its model shape and character alphabet
  // replace run.model and run.alphabet; its task must be run.task_id, its
  // tokenizer a character one (RunConfig carries no other). The run still
  // starts at version 0.
  std::string init_checkpoint;
  // Held-out greedy exact match measured every this many evaluated chunks
  // (0: never), on this many prompts.
  int held_out_every = 0;
  int held_out_prompts = 200;
  // Train on the chunks (issue 25); unset: evaluate only.
  std::optional<SeqTrainingOptions> training;
  // With training: --mode sync (issue 25). Each update trains on one round:
  // a chunk from every live actor at the current version (learner/server/
  // batcher.h's sync rounds, with options.min_actors and
  // options.sync_round_timeout_seconds; older chunks are
  // DROPPED_LATE_FOR_ROUND), and RunConfig.mode tells the actors to wait for
  // the next version after each chunk. training->chunks_per_update and
  // max_policy_lag are not used. Without training, InvalidArgument.
  bool sync = false;
  // With training: stop by itself after this many updates in all (the
  // policy version; a resumed run counts its earlier ones), 0: serve until
  // stopped. Held-out greedy exact match every eval_every_updates updates
  // (0: never during the run) and, with a run directory or max_updates, at
  // the start and the end, on held_out_prompts prompts.
  int64_t max_updates = 0;
  int eval_every_updates = 0;
  // With training: the run directory (learner/server/seq_run_files.h) when
  // not empty. A new run writes run_config as its config.json; with resume
  // the run in run_dir continues from its newest checkpoint (the reference
  // is still init_checkpoint).
  std::string run_dir;
  nlohmann::json run_config;
  bool resume = false;
};

class SeqLearnerServer {
 public:
  static absl::StatusOr<std::unique_ptr<SeqLearnerServer>> Create(const SeqLearnerConfig& config,
                                                                  const LearnerOptions& options);
  ~SeqLearnerServer();

  // Binds options.listen, publishes version 0, starts the evaluator.
  absl::Status Start();
  // Address clients can dial.
  std::string address() const;
  // Blocks until RequestStop (or Admin.Shutdown), then stops: queued chunks
  // are dropped (counted), streams closed.
  void Wait();
  void RequestStop(const std::string& reason);

  v1::LearnerStatus Status(bool include_actors) const;
  std::shared_ptr<grpc::Channel> InProcessChannel();

  class Impl;

 private:
  explicit SeqLearnerServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace proxima

#endif  // PROXIMA_LEARNER_SERVER_SEQ_LEARNER_SERVER_H_
