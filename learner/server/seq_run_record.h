// SeqRunRecord: what a training sequence run measures and records as it
// goes (issue 25), for SeqLearnerServer: held-out greedy exact match at the
// start, every eval_every_updates updates and at the end; with a run
// directory (SeqRunFiles) a metrics row per update (after a row 0 for the
// start), a checkpoint at every evaluation and when the run stops early,
// and summary.json; the end of the run at max_updates. A reward-model run
// also records the learned and true reward beside the KL (Settings.reward).
//
// The server calls Begin() on its chunk thread before the first chunk,
// AfterUpdate() after each update's weights are published, and End() once
// that thread has stopped. Begin() and AfterUpdate() return true when the
// run is complete (the summary is written): the server then stops.
//
// Single-threaded (the chunk thread, then the thread that stops the server);
// the evaluator and the model are the server's, used on that same thread.
#ifndef PROXIMA_LEARNER_SERVER_SEQ_RUN_RECORD_H_
#define PROXIMA_LEARNER_SERVER_SEQ_RUN_RECORD_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "common/lm/seq_policy.h"
#include "learner/lm/seq_checkpoint.h"
#include "learner/server/run_progress.h"
#include "learner/server/seq_evaluator.h"
#include "learner/server/seq_reward.h"
#include "learner/server/seq_run_files.h"
#include "proxima/v1/status.pb.h"

namespace proxima {

class SeqRunRecord {
 public:
  struct Settings {
    int64_t max_updates = 0;     // 0: no end
    int eval_every_updates = 0;  // 0: only at the start and the end
    int held_out_prompts = 200;
    uint64_t held_out_seed = 1;   // lm::HeldOutEvalSeed of the SFT's seed
    uint64_t start_version = 0;   // a resumed run's version at start
    bool resumed = false;
    // A reward-model run (issue 26): its figures go into every row beside
    // the KL, and each held-out evaluation also measures the held-out
    // samples' learned and true reward (SeqRewardModel::EvaluateHeldOut).
    std::shared_ptr<SeqRewardModel> reward;
  };
  using StatusFn = std::function<v1::LearnerStatus()>;

  // `files` may be null (no run directory). `checkpoint` describes the model
  // (its policy_version is set per save).
  SeqRunRecord(const Settings& settings, std::unique_ptr<SeqRunFiles> files,
               const lm::SeqCheckpointInfo& checkpoint, lm::SeqPolicy model,
               SequenceEvaluator* evaluator, absl::Time started_at, StatusFn status);

  const SeqRunFiles* files() const { return files_.get(); }

  bool Begin(uint64_t version);
  bool AfterUpdate(const RunProgress::Update& u, uint64_t version, uint64_t sequences,
                   const v1::SequenceStatus& seq);
  void End(uint64_t version);

 private:
  // Held-out greedy exact match at `version` (NaN, logged, when it fails).
  double HeldOut(uint64_t version);
  void Checkpoint(uint64_t version);  // logged when it fails
  void WriteSummary(uint64_t version);
  // With a reward model: the held-out samples' figures into `row` (logged).
  void HeldOutRlhf(uint64_t version, SeqMetricsRow* row);

  Settings settings_;
  std::unique_ptr<SeqRunFiles> files_;
  lm::SeqCheckpointInfo checkpoint_;
  lm::SeqPolicy model_;
  SequenceEvaluator* evaluator_;
  absl::Time started_at_;
  StatusFn status_;
  double held_out_start_, held_out_last_;
  uint64_t held_out_last_version_ = 0;
  uint64_t sequences_trained_ = 0, tokens_trained_ = 0;
  double update_seconds_ = 0;
  std::string last_checkpoint_;
  std::optional<learner_lm::RlhfHeldOut> rlhf_start_, rlhf_last_;
  bool finished_ = false;
};

}  // namespace proxima

#endif  // PROXIMA_LEARNER_SERVER_SEQ_RUN_RECORD_H_
