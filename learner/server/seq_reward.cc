#include "learner/server/seq_reward.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/types/span.h"
#include "common/lm/task_registry.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "learner/lm/seq_checkpoint.h"

namespace proxima {
namespace {

absl::Status FlagError(const char* flag, const absl::Status& s) {
  return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", s.message()));
}

}  // namespace

absl::StatusOr<lm::StyleTerm> SeqRewardSettings::Style() const {
  absl::StatusOr<lm::StyleTerm> style = lm::StyleTerm::Parse(this->style, style_weight, style_cap);
  if (!style.ok()) return FlagError("style", style.status());
  return style;
}

absl::StatusOr<learner_lm::RlhfScores> RescoreSequenceChunks(
    learner_lm::RewardModelScorer& scorer, const lm::Tokenizer& tokenizer,
    std::vector<SequenceChunk>* chunks) {
  learner_lm::RlhfScores all;
  double squares = 0;  // Σ r², for the pooled standard deviation
  for (SequenceChunk& chunk : *chunks) {
    learner_lm::CompletionBatch batch;
    for (const SequenceRecord& r : chunk.sequences) {
      if (r.prompt.empty() || r.prompt[0] != lm::Tokenizer::kBos) {
        return absl::InvalidArgumentError("a sequence record's prompt does not start with <bos>");
      }
      PROXIMA_ASSIGN_OR_RETURN(std::string prompt,
                               tokenizer.Decode(absl::MakeConstSpan(r.prompt).subspan(1)));
      absl::StatusOr<std::string> text = tokenizer.DecodeCompletion(r.completion);
      batch.prompts.push_back(std::move(prompt));
      batch.completions.push_back(text.ok() ? *std::move(text) : std::string());
      batch.decoded.push_back(text.ok());
    }
    if (batch.prompts.empty()) continue;
    PROXIMA_ASSIGN_OR_RETURN(const std::vector<double> rewards, scorer.Score(batch));
    for (size_t i = 0; i < rewards.size(); ++i) {
      chunk.sequences[i].reward = static_cast<float>(rewards[i]);
    }
    const learner_lm::RlhfScores& s = scorer.last();
    const double n = s.completions;
    all.completions += s.completions;
    all.undecodable += s.undecodable;
    all.learned += n * s.learned;
    squares += n * (s.learned_std * s.learned_std + s.learned * s.learned);
    all.true_score += n * s.true_score;
    all.true_rule += n * s.true_rule;
    all.true_style += n * s.true_style;
    all.exact += n * s.exact;
  }
  if (all.completions > 0) {
    const double n = all.completions;
    for (double* v : {&all.learned, &all.true_score, &all.true_rule, &all.true_style, &all.exact}) {
      *v /= n;
    }
    all.learned_std = std::sqrt(std::max(0.0, squares / n - all.learned * all.learned));
  }
  return all;
}

absl::Status CheckSeqRewardSettings(const SeqRewardSettings& settings,
                                    const std::string& init_checkpoint, int max_new_tokens) {
  PROXIMA_RETURN_IF_ERROR(settings.Style().status());
  if (!settings.enabled()) return absl::OkStatus();
  if (init_checkpoint.empty()) {
    return absl::InvalidArgumentError(
        "--reward-model: a reward model scores the completions of a warm-started policy; give "
        "--init-checkpoint (the SFT checkpoint the reward model was trained from)");
  }
  absl::StatusOr<lm::LoadedSeqCheckpoint> policy = lm::LoadSeqCheckpoint(init_checkpoint);
  if (!policy.ok()) return FlagError("init-checkpoint", policy.status());
  absl::StatusOr<lm::LoadedSeqCheckpoint> rm =
      lm::LoadSeqCheckpoint(settings.reward_model, lm::kRewardModelKind);
  if (!rm.ok()) return FlagError("reward-model", rm.status());
  PROXIMA_ASSIGN_OR_RETURN(const std::unique_ptr<lm::Task> task,
                           lm::MakeTask(policy->info.task_id));
  if (absl::Status s =
          learner_lm::CheckRewardModelFits(rm->info, policy->info, *task, max_new_tokens);
      !s.ok()) {
    return FlagError("reward-model",
                     absl::InvalidArgumentError(absl::StrCat(rm->path, ": ", s.message())));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<SeqRewardModel>> SeqRewardModel::Create(const Options& options,
                                                                        lm::SeqPolicy reference) {
  PROXIMA_ASSIGN_OR_RETURN(const lm::StyleTerm style, options.settings.Style());
  PROXIMA_ASSIGN_OR_RETURN(std::unique_ptr<lm::Task> task, lm::MakeTask(options.task_id));
  absl::StatusOr<lm::LoadedSeqCheckpoint> rm =
      lm::LoadSeqCheckpoint(options.settings.reward_model, lm::kRewardModelKind);
  if (!rm.ok()) return FlagError("reward-model", rm.status());
  std::unique_ptr<SeqRewardModel> m(
      new SeqRewardModel(options, std::move(task), std::move(reference)));
  m->tokenizer_ = rm->tokenizer;
  const std::string path = rm->path;
  absl::StatusOr<std::unique_ptr<learner_lm::RewardModelScorer>> scorer =
      learner_lm::RewardModelScorer::Create(*std::move(rm), *m->task_, *m->tokenizer_, style,
                                            options.rule);
  if (!scorer.ok()) return FlagError("reward-model", scorer.status());
  m->scorer_ = *std::move(scorer);
  // InstructGPT's centring: the reward model's figures on the reference's
  // (the SFT policy's) own samples, measured as `proxima lm rl` does.
  PROXIMA_ASSIGN_OR_RETURN(const learner_lm::RlhfHeldOut start,
                           m->EvaluateHeldOut(*m->reference_));
  const double spread = start.scores.learned_std;
  PROXIMA_RETURN_IF_ERROR(
      m->scorer_->SetNormalization(start.scores.learned, spread > 0 ? spread : 1.0));
  LogInfo(absl::StrFormat(
      "rewarded by the reward model %s (log-likelihood weight %g), scoring in the learner; "
      "true score = %s reward + style %s (weight %g, cap %d). The reference's %d held-out "
      "samples: learned %.4f (std %.4f), true %.3f: the policy is trained on (r - %.4f) / %.4f",
      path, m->scorer_->reward_loglik_weight(), lm::RewardModeName(options.rule), style.Name(),
      style.weight, style.cap, start.scores.completions, start.scores.learned, spread,
      start.scores.true_score, m->normalization_mean(), m->normalization_std()));
  return m;
}

absl::Status SeqRewardModel::Rescore(std::vector<SequenceChunk>* chunks) {
  const auto t0 = std::chrono::steady_clock::now();
  PROXIMA_ASSIGN_OR_RETURN(last_, RescoreSequenceChunks(*scorer_, *tokenizer_, chunks));
  last_seconds_ =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return absl::OkStatus();
}

absl::StatusOr<learner_lm::RlhfHeldOut> SeqRewardModel::EvaluateHeldOut(
    lm::SeqPolicyImpl& policy) {
  return scorer_->EvaluateHeldOut(policy, *reference_, options_.held_out_prompts,
                                  options_.held_out_seed, options_.max_new_tokens);
}

}  // namespace proxima
