// A learned reward model for sequence tasks, trained on preference pairs
// (learner/lm/preference_data.h) with the Bradley–Terry loss.
//
// The model is a SeqPolicy (common/lm/seq_policy.h), initialised from an SFT
// checkpoint: its trunk already reads the task. The reward of a completion y
// of prompt x, run as the sequence <bos> x y <eos>, is
//
//   r(x, y) = v(<eos>) + w · Σ_j log p(y_j | x, y_<j)
//
// v(<eos>) the value head's output at the final <eos> (the position that has
// seen all of y), the sum over y's tokens and the <eos> under the model's own
// LM head (trainable, starting as the SFT policy), w = loglik_weight. With
// w = 0 the reward is the scalar head alone; w = 1 (the default) starts the
// reward model at the SFT policy's own judgement of the completion, which the
// head then corrects (docs/sequence-policies.md measures both: on addition the
// head alone does not generalise to held-out problems from a few thousand
// pairs). w is stored in the checkpoint (kind kRewardModelKind,
// learner/lm/seq_checkpoint.h), so whoever scores with it uses the same r.
//
// Bradley–Terry: P(y_w ≻ y_l) = σ(r(x, y_w) − r(x, y_l)); the loss of a
// batch is the mean of −log σ(Δ) = softplus(−Δ) over its pairs, whose
// gradient is −σ(−Δ) for r(x, y_w) and +σ(−Δ) for r(x, y_l), divided by the
// pair count (tests/reference/make_rlhf_reference.py pins both in float64).
//
// Evaluation (EvaluatePairs) reports pairwise accuracy against the file's
// labels (a tie Δ = 0 counts one half), against the noise-free labels (the
// order of the hidden true scores, over pairs that carry them and are not
// tied in them), and the expected calibration error of σ(Δ) against the
// labels: every pair enters twice, as (σ(Δ), 1) and (1 − σ(Δ), 0), into ten
// equal-width bins of [0, 1]; ECE = Σ_bins (n_bin / n) · |mean outcome −
// mean prediction|.
//
// Training (TrainRewardModel): Adam on minibatches of pairs drawn uniformly
// with replacement (Rng(seed)), gradient norm clipped, evaluated every
// eval_every steps and after the last one. Deterministic for a seed, model
// and thread count (CPU). Pairs must fit the model: InvalidArgument naming
// the pair (0-based) and what does not fit; options InvalidArgument naming
// the flag; LibTorch errors inside a step become Internal.
#ifndef PROXIMA_LEARNER_LM_REWARD_MODEL_H_
#define PROXIMA_LEARNER_LM_REWARD_MODEL_H_

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/lm/seq_policy.h"
#include "common/lm/tokenizer.h"
#include "learner/lm/preference_data.h"

namespace proxima::lm {

// Sequences <bos> prompt completion <eos>, right-padded with <pad>.
struct RewardBatch {
  at::Tensor tokens;  // [B, L] int64
  at::Tensor last;    // [B] int64: the position of each row's <eos>
  at::Tensor mask;    // [B, L-1] float: 1 where tokens[:, j+1] is a completion token or <eos>
};

// One row per (prompt, completion). InvalidArgument naming row i when a text
// does not encode or a row is longer than max_seq_len.
absl::StatusOr<RewardBatch> MakeRewardBatch(const std::vector<std::string>& prompts,
                                            const std::vector<std::string>& completions,
                                            const Tokenizer& tokenizer, int max_seq_len);

// The rewards of the batch's rows, [B] (autograd unless under NoGradGuard),
// with log-likelihood weight `loglik_weight` (the file comment's w).
at::Tensor Rewards(SeqPolicyImpl& model, const RewardBatch& batch, double loglik_weight);

// r(prompts[i], completions[i]) for every i, as float64 numbers: what a
// scorer (PPO against the reward model) calls with a checkpoint loaded by
// LoadSeqCheckpoint(path, kRewardModelKind) and its info.reward_loglik_weight.
// Batched (256 rows per forward pass), no gradients, the model in eval mode;
// a completion is decoded text without the stop token. MakeRewardBatch's
// errors (naming the row).
absl::StatusOr<std::vector<double>> ScoreCompletions(SeqPolicyImpl& model,
                                                     const Tokenizer& tokenizer,
                                                     const std::vector<std::string>& prompts,
                                                     const std::vector<std::string>& completions,
                                                     double loglik_weight);

// mean softplus(−(chosen − rejected)); both [B], any floating dtype.
at::Tensor BradleyTerryLoss(const at::Tensor& chosen, const at::Tensor& rejected);

struct PairwiseEval {
  int pairs = 0;
  double loss = 0.0;           // Bradley–Terry loss against the labels
  double accuracy = 0.0;       // against the labels (noisy ones included)
  int true_pairs = 0;          // pairs with (untied) true scores
  double true_accuracy = 0.0;  // against the true scores' order
  double ece = 0.0;            // calibration of σ(Δ) against the labels
  double mean_margin = 0.0;    // mean Δ = r(chosen) − r(rejected)
};

// Scores every pair under `model` (batched, no gradients). InvalidArgument
// naming the pair for one that does not fit, or for no pairs.
absl::StatusOr<PairwiseEval> EvaluatePairs(SeqPolicyImpl& model, const Tokenizer& tokenizer,
                                           const std::vector<PreferencePair>& pairs,
                                           double loglik_weight);

// The statistics of margins Δ_i against labels (the chosen one is label 1)
// and true orders (true_order[i]: +1 chosen truly better, −1 worse, 0 tied or
// unknown). Exposed for tests.
PairwiseEval PairwiseStats(const std::vector<double>& margins, const std::vector<int>& true_order);

struct RewardModelOptions {
  int steps = 600;
  int batch_size = 32;  // pairs per step
  double learning_rate = 2e-5;
  double grad_clip = 1.0;
  int eval_every = 200;        // 0: only after the last step
  double loglik_weight = 1.0;  // w in the file comment (>= 0)
  // false: train only the value head ("value_head.*"), the trunk and the LM
  // head frozen at the SFT policy's weights.
  bool train_trunk = true;
  uint64_t seed = 1;

  absl::Status Validate() const;
};

struct RewardModelProgress {
  int step = 0;
  double loss = 0.0;      // the step's training loss
  double accuracy = 0.0;  // the step's training-batch accuracy
  std::optional<PairwiseEval> eval;
};

struct RewardModelResult {
  int steps = 0;
  double final_loss = 0.0;                   // mean training loss of the last 50 steps
  PairwiseEval train;                        // on all training pairs, after the last step
  std::optional<PairwiseEval> eval;          // on the evaluation pairs, when given
  std::optional<PairwiseEval> initial_eval;  // the same before the first step
  double seconds = 0.0;
};

// Trains `model` in place on `train` and evaluates on `eval` (may be empty).
absl::StatusOr<RewardModelResult> TrainRewardModel(
    SeqPolicyImpl& model, const Tokenizer& tokenizer, const std::vector<PreferencePair>& train,
    const std::vector<PreferencePair>& eval, const RewardModelOptions& options,
    const std::function<void(const RewardModelProgress&)>& on_progress);

}  // namespace proxima::lm

#endif  // PROXIMA_LEARNER_LM_REWARD_MODEL_H_
