#include "learner/lm/rlhf_scorer.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "learner/lm/dpo_eval.h"
#include "learner/lm/reward_model.h"

namespace proxima::learner_lm {

int TrueScoreMaxNewTokens(const lm::Task& task, const lm::StyleTerm& style) {
  return task.spec().max_answer_chars + 1 +
         (style.kind == lm::StyleKind::kPadding ? style.cap : 0);
}

absl::Status CheckRewardModelFits(const lm::SeqCheckpointInfo& reward_model,
                                  const lm::SeqCheckpointInfo& policy, const lm::Task& task,
                                  int max_new_tokens) {
  if (reward_model.kind != lm::kRewardModelKind) {
    return absl::InvalidArgumentError(
        absl::StrCat("a checkpoint of kind \"", reward_model.kind, "\", not a reward model"));
  }
  if (reward_model.task_id != policy.task_id) {
    return absl::InvalidArgumentError(absl::StrCat("the reward model is ", reward_model.task_id,
                                                   "'s, the policy ", policy.task_id, "'s"));
  }
  if (reward_model.tokenizer.kind != policy.tokenizer.kind ||
      reward_model.tokenizer.data != policy.tokenizer.data) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the reward model's tokenizer (", reward_model.tokenizer.kind, ", ",
        reward_model.tokenizer.data.size(), " bytes) is not the policy's (", policy.tokenizer.kind,
        ", ", policy.tokenizer.data.size(), " bytes)"));
  }
  const int needed = 2 + task.spec().max_prompt_chars + max_new_tokens;
  if (reward_model.config.max_seq_len < needed) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the reward model's max_seq_len ", reward_model.config.max_seq_len, " cannot hold <bos>, ",
        task.spec().id, "'s longest prompt (", task.spec().max_prompt_chars, "), ",
        max_new_tokens, " completion tokens and <eos> (", needed, ")"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<RewardModelScorer>> RewardModelScorer::Create(
    lm::LoadedSeqCheckpoint reward_model, const lm::Task& task, const lm::Tokenizer& tokenizer,
    const lm::StyleTerm& style, lm::RewardMode rule) {
  PROXIMA_RETURN_IF_ERROR(style.Validate());
  if (reward_model.info.kind != lm::kRewardModelKind || !reward_model.model) {
    return absl::InvalidArgumentError(
        absl::StrCat(reward_model.path, " is not a loaded reward model"));
  }
  return std::unique_ptr<RewardModelScorer>(
      new RewardModelScorer(std::move(reward_model), task, tokenizer, style, rule));
}

RewardModelScorer::RewardModelScorer(lm::LoadedSeqCheckpoint reward_model, const lm::Task& task,
                                     const lm::Tokenizer& tokenizer, const lm::StyleTerm& style,
                                     lm::RewardMode rule)
    : reward_model_(std::move(reward_model)),
      task_(task),
      tokenizer_(tokenizer),
      style_(style),
      rule_(rule) {}

absl::StatusOr<std::vector<double>> RewardModelScorer::ScoreAll(const CompletionBatch& batch,
                                                                RlhfScores* means) {
  const size_t n = batch.completions.size();
  if (batch.prompts.size() != n || batch.decoded.size() != n || n == 0) {
    return absl::InvalidArgumentError(absl::StrCat("a completion batch of ", batch.prompts.size(),
                                                   " prompts, ", n, " completions and ",
                                                   batch.decoded.size(), " decoded flags"));
  }
  std::vector<std::string> prompts, completions;
  for (size_t i = 0; i < n; ++i) {
    if (!batch.decoded[i]) continue;
    prompts.push_back(batch.prompts[i]);
    completions.push_back(batch.completions[i]);
  }
  std::vector<double> learned;
  if (!prompts.empty()) {
    PROXIMA_ASSIGN_OR_RETURN(
        learned, lm::ScoreCompletions(*reward_model_.model, tokenizer_, prompts, completions,
                                      reward_model_.info.reward_loglik_weight));
  }
  const double floor = learned.empty() ? 0.0 : *std::min_element(learned.begin(), learned.end());
  std::vector<double> rewards(n, floor);
  RlhfScores m;
  m.completions = static_cast<int>(n);
  size_t k = 0;
  for (size_t i = 0; i < n; ++i) {
    if (!batch.decoded[i]) {
      ++m.undecodable;
    } else {
      rewards[i] = learned[k++];
      const std::string& text = batch.completions[i];
      PROXIMA_ASSIGN_OR_RETURN(const double score,
                               lm::TrueScore(task_, batch.prompts[i], text, style_, rule_));
      const double style = lm::StyleScore(style_, text);
      PROXIMA_ASSIGN_OR_RETURN(
          const double exact,
          task_.Reward(batch.prompts[i], lm::AnswerPart(style_, text), lm::RewardMode::kExactMatch));
      m.true_score += score;
      m.true_rule += score - style;
      m.true_style += style;
      m.exact += exact >= 1.0 ? 1.0 : 0.0;
    }
    m.learned += rewards[i];
  }
  for (double* v : {&m.learned, &m.true_score, &m.true_rule, &m.true_style, &m.exact}) *v /= n;
  double squares = 0;
  for (const double r : rewards) squares += (r - m.learned) * (r - m.learned);
  m.learned_std = std::sqrt(squares / n);
  *means = m;
  return rewards;
}

absl::Status RewardModelScorer::SetNormalization(double mean, double std) {
  if (!std::isfinite(mean) || !std::isfinite(std) || !(std > 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("reward normalization: mean ", mean, ", std ", std, " (finite, std > 0)"));
  }
  mean_ = mean;
  std_ = std;
  return absl::OkStatus();
}

absl::StatusOr<std::vector<double>> RewardModelScorer::Score(const CompletionBatch& batch) {
  PROXIMA_ASSIGN_OR_RETURN(std::vector<double> rewards, ScoreAll(batch, &last_));
  for (double& r : rewards) r = (r - mean_) / std_;
  return rewards;
}

absl::StatusOr<RlhfHeldOut> RewardModelScorer::EvaluateHeldOut(lm::SeqPolicyImpl& policy,
                                                               lm::SeqPolicyImpl& reference,
                                                               int num_prompts, uint64_t seed,
                                                               int max_new_tokens) {
  PROXIMA_ASSIGN_OR_RETURN(const PolicySampleEval samples,
                           EvaluatePolicySamples(policy, reference, task_, tokenizer_,
                                                 num_prompts, seed, max_new_tokens));
  CompletionBatch batch;
  for (const PolicySample& s : samples.samples) {
    batch.prompts.push_back(s.prompt);
    batch.completions.push_back(s.completion);
    batch.decoded.push_back(s.decoded);
  }
  RlhfHeldOut out;
  PROXIMA_RETURN_IF_ERROR(ScoreAll(batch, &out.scores).status());
  out.seq_kl_to_ref = samples.seq_kl_to_ref;
  return out;
}

}  // namespace proxima::learner_lm
