// SeqRunFiles: the run directory of a training sequence run (issue 25), the
// counterpart of learner/run_files.h for `proxima-learner --env lm/...
// --algo grpo|ppo --run-dir DIR` and `proxima train --env lm/...`.
//
//   DIR/config.json   {"kind": "sequence", "env": task id, "learner_flags":
//                     {flag name: value, ...} (every sequence-run flag as the
//                     learner resolved it: what `--resume DIR` restores),
//                     "init_checkpoint": path}; written once by a new run;
//                     `proxima train` adds its "run" object (the launch).
//   DIR/metrics.csv   one row per update (SeqMetricsRow, header first),
//                     after a row 0 with the held-out accuracy at the start
//                     (other figures 0); a resumed run appends to it.
//   DIR/checkpoints/  ckpt-<version>.pt sequence-policy checkpoints
//                     (learner/lm/seq_checkpoint.h), written at every
//                     held-out evaluation and at the end; the newest
//                     kKeepCheckpoints stay. `proxima eval --checkpoint DIR`
//                     and `--resume DIR` read the newest.
//   DIR/events.out.tfevents.*  the same rows for TensorBoard
//                     (learner/tensorboard_writer.h) at step = completion
//                     tokens trained: charts/ (held-out accuracy, reward,
//                     solved), losses/ (KL per token and per sequence,
//                     policy and value loss, clip fraction, grad norm),
//                     perf/ (update seconds, lag); a resumed run adds a file.
//                     A reward-model run (learner_flags.reward_model set)
//                     has the RLHF columns after these (SeqMetricsRow) and
//                     rlhf/ charts.
//   DIR/summary.json  written when the run ends (its last update's figures,
//                     the held-out accuracy before and after, wall time,
//                     tokens/s).
//
// A resumed run continues the policy from the newest checkpoint (its
// version and update count); the frozen reference is the run's
// init_checkpoint again; Adam's moments start afresh (they are not in the
// checkpoint; docs/sequence-policies.md says so).
//
// Errors name the file. Single-threaded (the learner's chunk thread).
#ifndef PROXIMA_LEARNER_SERVER_SEQ_RUN_FILES_H_
#define PROXIMA_LEARNER_SERVER_SEQ_RUN_FILES_H_

#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/lm/seq_policy.h"
#include "learner/lm/seq_checkpoint.h"
#include "learner/tensorboard_writer.h"
#include "nlohmann/json.hpp"

namespace proxima {

inline constexpr int kKeepSeqCheckpoints = 3;

// One metrics.csv row. held_out_accuracy is NaN (an empty cell) when the
// update had no held-out evaluation.
struct SeqMetricsRow {
  uint64_t update = 0;  // = the policy version it published
  double wall_seconds = 0;
  uint64_t sequences = 0;         // generated sequences trained so far
  uint64_t tokens = 0;            // completion tokens trained so far
  int64_t batch_tokens = 0;       // this update's completion tokens
  double update_seconds = 0;      // this update's training time
  double mean_reward = 0;         // this batch's
  double solved_fraction = 0;     // this batch's share of reward >= 1
  double kl_to_ref = 0;           // k3, token mean
  double seq_kl_to_ref = 0;       // mean over sequences of sum(log pi - log pi_ref)
  double policy_loss = 0;
  double value_loss = 0;
  double clip_fraction = 0;
  double grad_norm = 0;
  uint64_t max_lag = 0;
  double held_out_accuracy = 0;  // NaN: not evaluated at this update
  // A reward-model run's (issue 26; the columns `proxima lm rl
  // --reward-model` writes): the batch's raw learned reward and true score
  // (rule + style), and at evaluations the held-out samples' learned reward,
  // true score, exact match and KL to the reference per sequence. NaN: none.
  double learned_reward = NAN, true_reward = NAN, true_rule = NAN, true_style = NAN;
  double held_out_learned_reward = NAN, held_out_true_reward = NAN, held_out_exact = NAN,
         held_out_seq_kl_to_ref = NAN;
};

class SeqRunFiles {
 public:
  // A new run: creates DIR and writes config.json (`config`, its "kind"
  // set to "sequence") and metrics.csv's header.
  static absl::StatusOr<std::unique_ptr<SeqRunFiles>> Create(const std::string& dir,
                                                             nlohmann::json config);
  // A run to continue: DIR/config.json must exist and be a sequence run's.
  static absl::StatusOr<std::unique_ptr<SeqRunFiles>> Reopen(const std::string& dir);

  // DIR/config.json as a sequence run wrote it: FailedPrecondition when it
  // is another kind of run's, NotFound without one, DataLoss when it does
  // not parse.
  static absl::StatusOr<nlohmann::json> ReadConfig(const std::string& dir);

  absl::Status Append(const SeqMetricsRow& row);
  // Writes DIR/checkpoints/ckpt-<info.policy_version>.pt and removes all but
  // the newest kKeepSeqCheckpoints; returns the path.
  absl::StatusOr<std::string> SaveCheckpoint(lm::SeqPolicyImpl& model,
                                             const lm::SeqCheckpointInfo& info);
  absl::Status WriteSummary(const nlohmann::json& summary);

  const std::string& dir() const { return dir_; }

 private:
  SeqRunFiles(std::string dir, std::unique_ptr<TensorBoardWriter> events, bool rlhf)
      : dir_(std::move(dir)), events_(std::move(events)), rlhf_(rlhf) {}
  std::string dir_;
  std::unique_ptr<TensorBoardWriter> events_;
  bool rlhf_ = false;
};

// The header line of metrics.csv (no newline) and a row's line, with the
// RLHF columns when `rlhf`.
std::string SeqMetricsHeader(bool rlhf = false);
std::string SeqMetricsLine(const SeqMetricsRow& row, bool rlhf = false);
// Whether a sequence run's config.json is a reward-model run's.
bool SeqRunIsRlhf(const nlohmann::json& config);

}  // namespace proxima

#endif  // PROXIMA_LEARNER_SERVER_SEQ_RUN_FILES_H_
