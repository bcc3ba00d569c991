// The loss of Direct Preference Optimization (Rafailov et al., 2023) and the
// sequence log-probabilities it is computed from (issue 26): the offline
// baseline next to PPO against a learned reward model.
//
// DpoLoss is a pure tensor function. For N preference pairs, each a prompt x
// with a chosen completion y_w and a rejected one y_l, given the per-sequence
// log-probs of both completions under the policy π and the frozen reference
// π_ref ([N] each, any floating dtype):
//   h_w = log π(y_w|x) − log π_ref(y_w|x),  h_l = the same for y_l
//   z   = β·(h_w − h_l)
//   loss = mean_n −log σ(z_n) = mean_n softplus(−z_n)   (stable for any z)
// and, detached, the implicit rewards DPO's reparametrization defines:
//   chosen_reward = mean β·h_w, rejected_reward = mean β·h_l,
//   reward_margin = mean z, accuracy = mean [z > 0] (a tie counts as wrong).
// `loss` carries gradients through whichever inputs require them:
//   ∂loss/∂log π(y_w) = −β·σ(−z)/N = −∂loss/∂log π(y_l), and the reference's
//   with the opposite signs (tests/reference/lm/dpo_loss.json, written by
//   tests/reference/make_dpo_reference.py from this text in float64).
// Errors (InvalidArgument, naming the tensor or option): shapes other than
// four equal [N] with N ≥ 1, a non-finite input, β not > 0 and finite.
//
// A sequence's log-prob. CompletionLogProbs sums log softmax(logits) of the
// completion's tokens only — never the prompt's — at temperature 1 and the
// whole vocabulary: Σ_j log π(c_j | x, c_<j). The completion includes the
// stop token <eos>: a preference is over whole answers, and without the stop
// token "35" would score as a prefix of "357". The rows are laid out by
// MakeSeqBatch (learner/lm/seq_batch.h): prompt (<bos> first) ++ completion,
// right-padded, the mask 1 on completion tokens; padding and prompt
// positions never reach the sum (their logits have exactly zero gradient).
// MakeCompletionBatch is MakeSeqBatch for sequences that were not sampled
// (temperature 1, no top-k, no behaviour log-probs: zeros), with its errors
// (an empty prompt or completion, a row longer than max_seq_len).
#ifndef PROXIMA_LEARNER_LM_DPO_LOSS_H_
#define PROXIMA_LEARNER_LM_DPO_LOSS_H_

#include <ATen/core/Tensor.h>

#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "common/lm/seq_policy.h"
#include "learner/lm/seq_batch.h"

namespace proxima::learner_lm {

struct DpoTerms {
  at::Tensor loss;             // scalar, differentiable
  at::Tensor chosen_reward;    // scalar, detached
  at::Tensor rejected_reward;  // scalar, detached
  at::Tensor reward_margin;    // scalar, detached
  at::Tensor accuracy;         // scalar, detached
};

absl::StatusOr<DpoTerms> DpoLoss(const at::Tensor& policy_chosen, const at::Tensor& policy_rejected,
                                 const at::Tensor& ref_chosen, const at::Tensor& ref_rejected,
                                 double beta);

// One tokenized sequence to score: `prompt` as the model reads it (<bos>
// first) and `completion` (ending with <eos> for a preference completion).
struct TokenizedCompletion {
  std::vector<int> prompt;
  std::vector<int> completion;
};

absl::StatusOr<SeqBatch> MakeCompletionBatch(absl::Span<const TokenizedCompletion> sequences,
                                             int max_seq_len);

// [B]: each row's completion log-prob sum given the model's logits
// [B, L, V] over batch.inputs (the float dtype of `logits`; autograd flows
// through it). Exposed for the masking test.
at::Tensor CompletionLogProbsFromLogits(const at::Tensor& logits, const SeqBatch& batch);

// The same with the model's own forward pass (with autograd unless the
// caller holds a NoGradGuard).
at::Tensor CompletionLogProbs(lm::SeqPolicyImpl& model, const SeqBatch& batch);

}  // namespace proxima::learner_lm

#endif  // PROXIMA_LEARNER_LM_DPO_LOSS_H_
