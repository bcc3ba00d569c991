#include "learner/lm/dpo_eval.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <map>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/lm/generation.h"
#include "common/rng.h"
#include "common/status_macros.h"
#include "learner/lm/dpo_loss.h"

namespace proxima::learner_lm {

absl::StatusOr<PolicySampleEval> EvaluatePolicySamples(lm::SeqPolicyImpl& policy,
                                                       lm::SeqPolicyImpl& reference,
                                                       const lm::Task& task,
                                                       const lm::Tokenizer& tokenizer,
                                                       int num_prompts, uint64_t seed,
                                                       int max_new_tokens) {
  if (num_prompts < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("sampled evaluation needs at least one prompt (got ", num_prompts, ")"));
  }
  if (max_new_tokens < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "sampled evaluation: max_new_tokens = ", max_new_tokens, " (>= 0; 0: from the task)"));
  }
  if (max_new_tokens == 0) max_new_tokens = task.spec().max_answer_chars + 1;
  if (policy.config().DebugString() != reference.config().DebugString()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the reference model (", reference.config().DebugString(),
        ") is not shaped like the policy (", policy.config().DebugString(), ")"));
  }
  Rng prompt_rng(seed);
  Rng sample_rng(MixSeed(seed));
  PolicySampleEval result;
  result.prompts = num_prompts;
  result.samples.resize(static_cast<size_t>(num_prompts));
  std::vector<std::string> answers(result.samples.size());
  std::vector<TokenizedCompletion> rows(result.samples.size());
  std::map<size_t, std::vector<int>> by_length;  // prompt tokens → sample indices
  for (int i = 0; i < num_prompts; ++i) {
    const lm::TaskExample ex = task.Sample(lm::TaskSplit::kHeldOut, prompt_rng);
    result.samples[i].prompt = ex.prompt;
    answers[i] = ex.answer;
    PROXIMA_ASSIGN_OR_RETURN(rows[i].prompt, tokenizer.EncodePrompt(ex.prompt));
    by_length[rows[i].prompt.size()].push_back(i);
  }
  lm::SamplingOptions sampling;
  sampling.temperature = 1.0;
  sampling.stop_token = lm::Tokenizer::kEos;
  for (const auto& [length, indices] : by_length) {
    sampling.max_new_tokens =
        std::min(max_new_tokens, policy.config().max_seq_len - static_cast<int>(length));
    if (sampling.max_new_tokens < 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          task.spec().id, " prompts of ", length,
          " tokens leave no room in the model's max_seq_len ", policy.config().max_seq_len));
    }
    std::vector<std::vector<int>> prompts;
    for (const int i : indices) prompts.push_back(rows[i].prompt);
    PROXIMA_ASSIGN_OR_RETURN(lm::Completions out,
                             lm::GenerateBatch(policy, prompts, sampling, sample_rng));
    for (size_t r = 0; r < indices.size(); ++r) {
      rows[indices[r]].completion = std::move(out.tokens[r]);
    }
  }
  double reward = 0, length = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    PolicySample& s = result.samples[i];
    const absl::StatusOr<std::string> text = tokenizer.DecodeCompletion(rows[i].completion);
    s.decoded = text.ok();
    if (s.decoded) {
      s.completion = *text;
      s.reward = lm::ScoreCompletion(answers[i], s.completion, lm::RewardMode::kExactMatch);
    }
    reward += s.reward;
    length += static_cast<double>(rows[i].completion.size());
  }
  try {
    at::NoGradGuard no_grad;
    PROXIMA_ASSIGN_OR_RETURN(const SeqBatch batch,
                             MakeCompletionBatch(rows, policy.config().max_seq_len));
    const at::Tensor kl = (CompletionLogProbs(policy, batch) - CompletionLogProbs(reference, batch))
                              .to(at::kDouble)
                              .contiguous();
    const double* k = kl.data_ptr<double>();
    for (size_t i = 0; i < rows.size(); ++i) result.samples[i].kl_to_ref = k[i];
    result.seq_kl_to_ref = kl.mean().item<double>();
  } catch (const c10::Error& e) {
    return absl::InternalError(
        absl::StrCat("sampled evaluation (KL to the reference): ", e.what_without_backtrace()));
  }
  result.mean_reward = reward / num_prompts;
  result.mean_completion_length = length / num_prompts;
  return result;
}

}  // namespace proxima::learner_lm
