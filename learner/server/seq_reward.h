// SeqRewardModel: a learned reward model (learner/lm/reward_model.h) as the
// reward of a sequence run through the cluster (issue 26: `proxima train
// --env lm/TASK --algo ppo --reward-model RM`), the cluster counterpart of
// `proxima lm rl --reward-model` (learner/lm/rlhf_scorer.h, which does the
// scoring for both).
//
// RescoreSequenceChunks is THE scoring function of a cluster run, whichever
// process runs it: it replaces every record's rule reward with the reward
// model's normalized score, (r − mean) / std, one chunk at a time (one
// RewardModelScorer::Score call per chunk: the same batch, hence the same
// floating-point result and the same floor for undecodable completions, in
// the learner, which scores the chunks it trains on, as in an actor, which
// would score the chunk it just generated — SequenceGenerator's rescorer
// hook). It returns the means over all the chunks' completions of the raw
// learned reward, the true score (rule + style) and exact match.
//
// SeqRewardModel holds what the learner needs around that: the reward model
// loaded, the normalization measured once at the run's start — the reward
// model's mean and standard deviation on the frozen reference's (the init
// checkpoint's, i.e. the SFT policy's) samples of the held-out prompts,
// exactly as `proxima lm rl` measures it, so a resumed run measures the same
// figures again — the last batch's scores, and the held-out evaluation
// (RewardModelScorer::EvaluateHeldOut: one sample per held-out prompt at
// temperature 1, true score, learned reward, exact match, KL to the
// reference per sequence).
//
// CheckSeqRewardSettings is what the flags check before any process starts:
// the reward model loads as one, fits the init checkpoint (task, tokenizer,
// max_seq_len) and the style parses. InvalidArgument naming --reward-model,
// --style or --init-checkpoint.
//
// Not thread-safe: the learner's chunk thread uses it (the update and the
// run record), as it uses the reference.
#ifndef PROXIMA_LEARNER_SERVER_SEQ_REWARD_H_
#define PROXIMA_LEARNER_SERVER_SEQ_REWARD_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/lm/seq_policy.h"
#include "common/lm/task.h"
#include "common/lm/tokenizer.h"
#include "common/wire/seq_chunk_codec.h"
#include "learner/lm/rlhf_scorer.h"

namespace proxima {

// The flags of a reward-model run; reward_model empty: the task's rule.
struct SeqRewardSettings {
  std::string reward_model;  // a reward-model checkpoint: a file or a run directory
  std::string style = "length";  // the true score's style term (TrueScore)
  double style_weight = 0.1;
  int style_cap = 4;

  bool enabled() const { return !reward_model.empty(); }
  absl::StatusOr<lm::StyleTerm> Style() const;
};

// The means over every completion of `chunks`, each chunk scored by one
// scorer.Score call (its records' rewards replaced by the normalized
// learned reward).
absl::StatusOr<learner_lm::RlhfScores> RescoreSequenceChunks(
    learner_lm::RewardModelScorer& scorer, const lm::Tokenizer& tokenizer,
    std::vector<SequenceChunk>* chunks);

absl::Status CheckSeqRewardSettings(const SeqRewardSettings& settings,
                                    const std::string& init_checkpoint, int max_new_tokens);

class SeqRewardModel {
 public:
  struct Options {
    SeqRewardSettings settings;
    std::string task_id;
    lm::RewardMode rule = lm::RewardMode::kExactMatch;  // the true score's rule part
    int held_out_prompts = 200;
    uint64_t held_out_seed = 1;  // lm::HeldOutEvalSeed of the SFT's seed
    int max_new_tokens = 6;      // the run's generation limit
  };
  // Loads the reward model and measures the normalization on `reference`'s
  // held-out samples. Errors name --reward-model.
  static absl::StatusOr<std::unique_ptr<SeqRewardModel>> Create(const Options& options,
                                                                lm::SeqPolicy reference);

  // RescoreSequenceChunks with this run's scorer; last() holds the means.
  absl::Status Rescore(std::vector<SequenceChunk>* chunks);
  const learner_lm::RlhfScores& last() const { return last_; }
  double last_seconds() const { return last_seconds_; }  // Rescore's time
  double normalization_mean() const { return scorer_->normalization_mean(); }
  double normalization_std() const { return scorer_->normalization_std(); }

  absl::StatusOr<learner_lm::RlhfHeldOut> EvaluateHeldOut(lm::SeqPolicyImpl& policy);

 private:
  SeqRewardModel(const Options& options, std::unique_ptr<lm::Task> task, lm::SeqPolicy reference)
      : options_(options), task_(std::move(task)), reference_(std::move(reference)) {}

  const Options options_;
  std::unique_ptr<lm::Task> task_;
  lm::SeqPolicy reference_;
  std::shared_ptr<const lm::Tokenizer> tokenizer_;
  std::unique_ptr<learner_lm::RewardModelScorer> scorer_;
  learner_lm::RlhfScores last_;
  double last_seconds_ = 0;
};

}  // namespace proxima

#endif  // PROXIMA_LEARNER_SERVER_SEQ_REWARD_H_
