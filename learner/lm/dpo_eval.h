// EvaluatePolicySamples: what a preference-tuned policy does on held-out
// prompts when it samples, measured the way issue 26 asks every method (DPO,
// PPO against a reward model) to be measured — on the policy's own samples
// for held-out prompts, never on the preference pairs.
//
// Draws `num_prompts` prompts of the task's kHeldOut split with Rng(seed)
// (the same prompts for the same seed, whatever the model: pass
// lm::HeldOutEvalSeed(s) for the prompts `proxima lm sft --seed s`
// evaluates), generates one completion of each with `policy` at temperature
// 1 over the whole vocabulary (stop at <eos>, at most max_new_tokens tokens —
// 0: the task's longest answer + 1; draws from Rng(MixSeed(seed))), batched
// by prompt length, and reports
//   mean_reward    the mean exact-match reward (a completion that does not
//                  decode scores 0, as in EvaluateTask);
//   seq_kl_to_ref  the mean over samples of Σ_t (log π(c_t) − log π_ref(c_t))
//                  over each completion's tokens (<eos> included): the
//                  per-sequence KL(π ‖ π_ref) estimate SeqTrainer reports as
//                  seq_kl_to_ref on its pre-pass (learner/lm/seq_trainer.h),
//                  both log-probs recomputed at temperature 1 by
//                  CompletionLogProbs (learner/lm/dpo_loss.h);
// and every sample's prompt and decoded text, for other scores (a hidden
// "true" score).
//
// Deterministic for a fixed seed, models and thread count. Both models are
// only read (no gradients). Errors: InvalidArgument for num_prompts < 1 or
// max_new_tokens < 0, a reference not shaped like the policy, or a task
// whose prompts do not fit the model.
#ifndef PROXIMA_LEARNER_LM_DPO_EVAL_H_
#define PROXIMA_LEARNER_LM_DPO_EVAL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/lm/seq_policy.h"
#include "common/lm/task.h"
#include "common/lm/tokenizer.h"

namespace proxima::learner_lm {

struct PolicySample {
  std::string prompt;
  std::string completion;  // decoded, without <eos>
  bool decoded = false;    // false: a special token before <eos> (completion empty)
  double reward = 0;       // exact match
  double kl_to_ref = 0;    // Σ_t log π − log π_ref over its tokens
};

struct PolicySampleEval {
  int prompts = 0;
  double mean_reward = 0;
  double seq_kl_to_ref = 0;
  double mean_completion_length = 0;  // tokens, <eos> included
  std::vector<PolicySample> samples;  // in prompt-draw order
};

absl::StatusOr<PolicySampleEval> EvaluatePolicySamples(lm::SeqPolicyImpl& policy,
                                                       lm::SeqPolicyImpl& reference,
                                                       const lm::Task& task,
                                                       const lm::Tokenizer& tokenizer,
                                                       int num_prompts, uint64_t seed,
                                                       int max_new_tokens = 0);

}  // namespace proxima::learner_lm

#endif  // PROXIMA_LEARNER_LM_DPO_EVAL_H_
