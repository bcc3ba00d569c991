// SeqTraining: the training half of a sequence run's learner (issue 25) —
// accepted sequence chunks gathered into batches, one SeqTrainer update per
// batch (GRPO or sequence PPO against a frozen reference,
// learner/lm/seq_trainer.h), each update a new policy version.
//
// The learner's chunk thread calls Add() for every accepted chunk it pops;
// when ready() (chunks_per_update chunks gathered) it calls Update(), which
// trains on the batch and returns the RunProgress::Update to record (the
// caller records it — the version moves — then publishes the weights and
// settles the batch's chunks in the accounting: Taken() hands them back,
// trained when the update succeeded, else to be dropped as
// DROPPED_UPDATE_FAILED). A chunk older than the current version by more
// than max_policy_lag is not added: the caller drops it (DROPPED_POLICY_LAG).
//
// The sequence-specific figures of the last update (KL to the reference per
// token and per sequence, mean reward and solved fraction of the batch,
// degenerate groups, and the log-prob gap to the actors' behaviour
// log-probs, mean and largest, measured in the update's pre-pass: a training
// learner's evaluator does not recompute it) go into LearnerStatus.sequences
// (FillStatus); the
// common ones (losses, clip fraction, grad norm, the first minibatch's ratio
// deviation, tokens as samples) into UpdateMetrics, so WatchMetrics, the
// dashboard and Prometheus show them like any update.
//
// Single-threaded: Add/ready/Update/Taken on the chunk thread only.
// FillStatus may be called from any thread (own leaf mutex).
#ifndef PROXIMA_LEARNER_SERVER_SEQ_TRAINING_H_
#define PROXIMA_LEARNER_SERVER_SEQ_TRAINING_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "learner/lm/seq_trainer.h"
#include "learner/server/run_progress.h"
#include "learner/server/seq_reward.h"
#include "learner/server/trajectory_queue.h"
#include "proxima/v1/trajectory.pb.h"

namespace proxima {

struct SeqTrainingOptions {
  learner_lm::SeqTrainerOptions trainer;
  int chunks_per_update = 8;
  // Chunks generated more than this many versions ago are dropped (the
  // importance ratio corrects a little lag, not a lot); -1: no limit.
  int max_policy_lag = 4;
  // A learned reward model (issue 26): set, it rescores every batch before
  // the update (learner/server/seq_reward.h), the rule's rewards replaced by
  // its normalized ones, and the batch's solved fraction is exact match.
  // PrepareSeqRunStart makes it from reward_settings (the flags).
  SeqRewardSettings reward_settings;
  std::shared_ptr<SeqRewardModel> reward;

  absl::Status Validate() const;
};

class SeqTraining {
 public:
  // `policy` is the learner's model (trained in place); `reference` frozen.
  static absl::StatusOr<std::unique_ptr<SeqTraining>> Create(lm::SeqPolicy policy,
                                                             lm::SeqPolicy reference,
                                                             const SeqTrainingOptions& options);

  // False when the chunk is too old for `version` (not added).
  bool Add(QueuedChunk chunk, uint64_t version);
  bool ready() const { return static_cast<int>(batch_.size()) >= options_.chunks_per_update; }

  // Trains on the gathered batch. The Update's ok says whether it trained;
  // metrics, transitions, chunks and lag are filled (dropped_total and
  // time_shares are the caller's).
  RunProgress::Update Update(uint64_t version);

  // The chunks of the last Update (or those still gathered, at shutdown),
  // handed back for the accounting; the batch is then empty.
  std::vector<QueuedChunk> Taken();

  void FillStatus(v1::SequenceStatus* out) const;

  // The log line of update `u` (what Update returned, ok): its chunks,
  // tokens, the batch's reward and solved fraction, the KL to the
  // reference, the clip fraction and the largest lag.
  std::string UpdateLine(const RunProgress::Update& u) const;

 private:
  SeqTraining(std::unique_ptr<learner_lm::SeqTrainer> trainer, const SeqTrainingOptions& options)
      : trainer_(std::move(trainer)), options_(options) {}

  std::unique_ptr<learner_lm::SeqTrainer> trainer_;
  const SeqTrainingOptions options_;
  std::vector<QueuedChunk> batch_;

  mutable absl::Mutex mu_;  // a leaf
  learner_lm::SeqUpdateMetrics last_ ABSL_GUARDED_BY(mu_);
  uint64_t updates_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace proxima

#endif  // PROXIMA_LEARNER_SERVER_SEQ_TRAINING_H_
