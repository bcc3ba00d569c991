// RewardModelScorer: a learned reward model (learner/lm/reward_model.h) as
// the reward of an RL run (`proxima lm rl --reward-model`, PPO or GRPO in
// one process: learner/lm/seq_rl_loop.h), with the hidden true score
// (learner/lm/preferences.h, TrueScore) measured on the same completions
// beside it, so a run shows the learned and the true reward side by side.
//
// Score(batch) is SeqRlHooks::score: every decoded completion gets the
// reward model's r(x, y) (ScoreCompletions, with the checkpoint's
// log-likelihood weight); a completion that does not decode (a special token
// before <eos>), which the reward model cannot read, gets the lowest reward
// of the batch's decoded ones (0 when none decodes). The rewards returned
// are normalized, (r − mean) / std with SetNormalization's figures (0 and 1
// until set; `proxima lm rl` sets those of the SFT policy's held-out samples
// before the first update, as InstructGPT centres its reward model on the
// reference): a reward model's r sits wherever training left it (about −2 on
// addition) and a critic sharing the policy's trunk would otherwise spend
// its first updates, and the trunk, chasing that offset. The batch's means of
// the raw learned reward, the true score and its rule and style parts, and
// the exact-match fraction are kept as last(); an undecodable completion
// counts 0 in the true figures, as in EvaluateTask.
//
// EvaluateHeldOut measures the policy the way issue 26 measures every
// method: one sample per held-out prompt at temperature 1
// (EvaluatePolicySamples, learner/lm/dpo_eval.h), reporting its mean true
// score, learned reward, exact match and KL to the reference per sequence.
//
// CheckFits says whether a reward model can score a policy's completions:
// the same task and tokenizer, and room in its max_seq_len for <bos>, the
// task's longest prompt, `max_new_tokens` completion tokens and <eos>.
// InvalidArgument naming what differs (the caller names the flag).
//
// Not thread-safe (one loop calls it). Deterministic: scoring draws nothing.
#ifndef PROXIMA_LEARNER_LM_RLHF_SCORER_H_
#define PROXIMA_LEARNER_LM_RLHF_SCORER_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/lm/seq_policy.h"
#include "common/lm/task.h"
#include "common/lm/tokenizer.h"
#include "learner/lm/preferences.h"
#include "learner/lm/seq_checkpoint.h"
#include "learner/lm/seq_rl_loop.h"

namespace proxima::learner_lm {

// Means over a set of completions.
struct RlhfScores {
  int completions = 0;
  int undecodable = 0;
  double learned = 0;      // the reward model's raw r (before normalization)
  double learned_std = 0;  // its standard deviation over the completions
  double true_score = 0;  // TrueScore: rule + style
  double true_rule = 0;
  double true_style = 0;
  double exact = 0;  // exact-match fraction
};

struct RlhfHeldOut {
  RlhfScores scores;
  double seq_kl_to_ref = 0;  // mean Σ_t log π − log π_ref per sample
};

// The generation limit a true score needs: the task's longest answer + 1,
// plus the cap for a padding style (room to pad), as `proxima lm
// preferences` samples.
int TrueScoreMaxNewTokens(const lm::Task& task, const lm::StyleTerm& style);

absl::Status CheckRewardModelFits(const lm::SeqCheckpointInfo& reward_model,
                                  const lm::SeqCheckpointInfo& policy, const lm::Task& task,
                                  int max_new_tokens);

class RewardModelScorer {
 public:
  // `reward_model` loaded with kind kRewardModelKind; `task`, `tokenizer`
  // outlive the scorer. InvalidArgument for a bad style or a model of
  // another kind.
  static absl::StatusOr<std::unique_ptr<RewardModelScorer>> Create(
      lm::LoadedSeqCheckpoint reward_model, const lm::Task& task, const lm::Tokenizer& tokenizer,
      const lm::StyleTerm& style, lm::RewardMode rule);

  absl::StatusOr<std::vector<double>> Score(const CompletionBatch& batch);
  const RlhfScores& last() const { return last_; }
  double reward_loglik_weight() const { return reward_model_.info.reward_loglik_weight; }
  // InvalidArgument unless std > 0 and both are finite.
  absl::Status SetNormalization(double mean, double std);
  double normalization_mean() const { return mean_; }
  double normalization_std() const { return std_; }

  absl::StatusOr<RlhfHeldOut> EvaluateHeldOut(lm::SeqPolicyImpl& policy,
                                              lm::SeqPolicyImpl& reference, int num_prompts,
                                              uint64_t seed, int max_new_tokens);

 private:
  RewardModelScorer(lm::LoadedSeqCheckpoint reward_model, const lm::Task& task,
                    const lm::Tokenizer& tokenizer, const lm::StyleTerm& style,
                    lm::RewardMode rule);
  // Learned rewards (undecodable ones filled in) and the means of both.
  absl::StatusOr<std::vector<double>> ScoreAll(const CompletionBatch& batch, RlhfScores* means);

  lm::LoadedSeqCheckpoint reward_model_;
  const lm::Task& task_;
  const lm::Tokenizer& tokenizer_;
  lm::StyleTerm style_;
  lm::RewardMode rule_;
  RlhfScores last_;
  double mean_ = 0, std_ = 1;
};

}  // namespace proxima::learner_lm

#endif  // PROXIMA_LEARNER_LM_RLHF_SCORER_H_
