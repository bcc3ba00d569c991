// RunDpo: Direct Preference Optimization of a sequence policy on tokenized
// preference pairs, against a frozen reference (issue 26's offline
// baseline; the loss is learner/lm/dpo_loss.h's).
//
// A pair is a prompt (<bos> first) with a chosen and a rejected completion,
// each ending with <eos> (dpo_loss.h says why). The reference's sequence
// log-probs of every pair are computed once, under no-grad, before the first
// step: the reference never changes. Each step takes the next batch_size
// pairs of a shuffled order (reshuffled at each pass over the pairs, so
// every pair is used once per pass), scores chosen and rejected completions
// under the policy in one forward pass, minimizes DpoLoss with Adam at a
// constant learning rate, the gradient norm clipped to grad_clip.
// EvaluatePairs is the same loss over all pairs without gradients (the
// margins and preference accuracy before and after training).
//
// Deterministic for a fixed seed, model and thread count (CPU). Runs on the
// calling thread; the policy is trained in place, the reference only read.
// Errors: InvalidArgument for bad options (naming the field), no pairs, a
// pair that does not fit the model (naming its index) or a reference that is
// not shaped like the policy; LibTorch errors inside a step become Internal.
#ifndef PROXIMA_LEARNER_LM_DPO_TRAINER_H_
#define PROXIMA_LEARNER_LM_DPO_TRAINER_H_

#include <cstdint>
#include <functional>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "common/lm/seq_policy.h"

namespace proxima::learner_lm {

struct TokenizedPair {
  std::vector<int> prompt;    // <bos> first
  std::vector<int> chosen;    // ends with <eos>
  std::vector<int> rejected;  // ends with <eos>
};

// Defaults measured on lm/Addition-v0 from the SFT checkpoint
// (docs/sequence-policies.md, "DPO"): β 0.1, or a learning rate of 1e-4,
// drifted far from the reference and lost true reward there.
struct DpoOptions {
  double beta = 0.5;
  int steps = 200;
  int batch_size = 32;  // pairs per step
  double learning_rate = 1e-5;
  double grad_clip = 1.0;
  uint64_t seed = 1;  // the order of the pairs

  // OK, or InvalidArgument naming the first field out of range.
  absl::Status Validate() const;
};

// DpoLoss's terms as numbers (means over the pairs they cover).
struct DpoPairMetrics {
  int64_t pairs = 0;
  double loss = 0;
  double chosen_reward = 0;    // β·(log π − log π_ref) of the chosen completions
  double rejected_reward = 0;  // the same of the rejected ones
  double reward_margin = 0;    // chosen − rejected
  double accuracy = 0;         // share of pairs with a positive margin
};

struct DpoProgress {
  int step = 0;  // steps done
  DpoPairMetrics batch;  // the step's batch, before its update
  double grad_norm = 0;  // before clipping
  double seconds = 0;
};

struct DpoResult {
  DpoPairMetrics initial;  // all pairs, before the first step
  DpoPairMetrics final;    // all pairs, after the last
  int steps = 0;
  double seconds = 0;  // the steps alone
};

// All of `pairs` under no-grad, in batches of batch_size pairs.
absl::StatusOr<DpoPairMetrics> EvaluatePairs(lm::SeqPolicyImpl& policy,
                                             lm::SeqPolicyImpl& reference,
                                             absl::Span<const TokenizedPair> pairs, double beta,
                                             int batch_size);

// Trains `policy` in place. `on_progress` (may be empty) is called after
// every step.
absl::StatusOr<DpoResult> RunDpo(lm::SeqPolicyImpl& policy, lm::SeqPolicyImpl& reference,
                                 absl::Span<const TokenizedPair> pairs, const DpoOptions& options,
                                 const std::function<void(const DpoProgress&)>& on_progress);

}  // namespace proxima::learner_lm

#endif  // PROXIMA_LEARNER_LM_DPO_TRAINER_H_
