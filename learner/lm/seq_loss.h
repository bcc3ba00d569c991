// The loss terms of policy-gradient training on token sequences (issue 25):
// GRPO's group-relative advantages and clipped token surrogate with a KL
// penalty to a frozen reference, and sequence PPO's per-token KL reward, GAE
// over tokens and clipped losses. Pure tensor functions: no model, no I/O.
//
// Layout. A batch of B completions is held completion-aligned: every
// per-token tensor is [B, T] with column t the t-th completion token (the
// prompt is context, never scored), and `mask` [B, T] is 1 for the
// completion's real tokens — a prefix of each row (the stop token included
// when one was sampled) — and 0 for the padding after it. Log-probs are those
// of the sampled token under softmax(logits / temperature), the temperature
// the actor recorded; padding entries of any input are ignored (they may be
// anything finite).
//
// Convention (tests/reference/lm/*.json, written by
// tests/reference/make_lm_reference.py from this text, in float64):
//
// GRPO (GroupRelativeAdvantages, GrpoLoss)
//   A_i  = (r_i − mean_g) / (std_g + eps) over the n_g members of i's group,
//          std_g the unbiased (n_g − 1) standard deviation; with
//          scale_by_std = false, A_i = r_i − mean_g ("Dr. GRPO"). A group whose
//          rewards are all equal (max − min ≤ 1e-12·max(1, |mean_g|)) or that
//          has one member is degenerate: A_i = 0 exactly for every member.
//   ratio_t = exp(logp_t − behaviour_logp_t)
//   surr_t  = −min(ratio_t·A, clip(ratio_t, 1 − ε_low, 1 + ε_high)·A)
//   kl_t    = exp(ref_t − logp_t) − (ref_t − logp_t) − 1  (k3, KL(π‖π_ref))
//   per_t   = surr_t + β·kl_t
//   token-mean:    L = Σ_{b,t} mask·per / Σ mask
//   sequence-mean: L = mean_b (Σ_t mask·per / Σ_t mask)
//   policy_loss and kl are surr and kl aggregated the same way;
//   clip_fraction = token mean of [ratio < 1 − ε_low or ratio > 1 + ε_high];
//   approx_kl = token mean of (ratio − 1) − log ratio (the behaviour drift).
//
// Sequence PPO (KlShapedRewards, TokenGae, SeqPpoLoss)
//   reward_t = −β·(prepass_logp_t − ref_t), plus the task reward at the last
//              real token (both log-probs from the learner's pre-pass at
//              batch time: never numbers an actor sent);
//   GAE over each row's real tokens, the completion ending in a terminal
//   state: δ_t = reward_t + γ·V_{t+1} − V_t (V after the last token = 0),
//   A_t = δ_t + γλ·A_{t+1}, return_t = A_t + V_t; V_t is the value head at
//   the position that predicts token t.
//   If normalize_advantages, A ← (A − mean) / (std_unbiased + 1e-8) over the
//   batch's real tokens. Then per token, with ratio against the behaviour
//   log-prob as above:
//   policy_t = max(−A_t·ratio_t, −A_t·clip(ratio_t, 1 − ε, 1 + ε))
//   value_t  = 0.5·max((V_t − R_t)², (V_old_t + clip(V_t − V_old_t, ±ε_v) − R_t)²)
//              (0.5·(V_t − R_t)² when the value loss is not clipped)
//   total = token-mean(policy) + vf_coef·token-mean(value)
//   (the KL to the reference is in the reward, not the loss).
//
// Works in any floating dtype; `total` carries gradients (through logp and
// new_values), the other terms are detached. Shapes are checked: a mismatch
// or an empty mask is InvalidArgument naming the tensor.
#ifndef PROXIMA_LEARNER_LM_SEQ_LOSS_H_
#define PROXIMA_LEARNER_LM_SEQ_LOSS_H_

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace proxima::learner_lm {

// How per-token terms become one number.
enum class LossAggregation {
  kTokenMean,     // every real token in the batch weighs the same
  kSequenceMean,  // every sequence weighs the same (GRPO's paper)
};

// "token-mean" / "sequence-mean"; InvalidArgument names anything else.
absl::StatusOr<LossAggregation> ParseLossAggregation(const std::string& name);
const char* LossAggregationName(LossAggregation aggregation);

struct GroupAdvantages {
  at::Tensor advantages;          // [B], the rewards' dtype
  int64_t num_groups = 0;
  int64_t degenerate_groups = 0;  // all-equal rewards or a single member
};

// `rewards` [B] floating, `group_ids` [B] integral (any values; members of a
// group need not be adjacent). eps ≥ 0.
absl::StatusOr<GroupAdvantages> GroupRelativeAdvantages(const at::Tensor& rewards,
                                                        const at::Tensor& group_ids,
                                                        bool scale_by_std = true,
                                                        double eps = 1e-4);

struct GrpoOptions {
  double clip_eps_low = 0.2;
  double clip_eps_high = 0.2;  // > clip_eps_low is DAPO's "clip higher"
  double kl_beta = 0.04;       // 0 drops the reference term
  LossAggregation aggregation = LossAggregation::kTokenMean;
};

struct GrpoTerms {
  at::Tensor total;  // scalar, differentiable through logp
  at::Tensor policy_loss;
  at::Tensor kl;  // aggregated k3 KL to the reference
  at::Tensor clip_fraction;
  at::Tensor approx_kl;
};

// logp, behaviour_logp, ref_logp, mask: [B, T]; advantages: [B].
absl::StatusOr<GrpoTerms> GrpoLoss(const at::Tensor& logp, const at::Tensor& behaviour_logp,
                                   const at::Tensor& ref_logp, const at::Tensor& mask,
                                   const at::Tensor& advantages, const GrpoOptions& options);

// [B, T] per-token rewards: −kl_beta·(prepass_logp − ref_logp) on real
// tokens, plus task_rewards [B] at each row's last real token; 0 on padding.
absl::StatusOr<at::Tensor> KlShapedRewards(const at::Tensor& prepass_logp,
                                           const at::Tensor& ref_logp, const at::Tensor& mask,
                                           const at::Tensor& task_rewards, double kl_beta);

struct TokenTargets {
  at::Tensor advantages;  // [B, T], 0 on padding, not normalized
  at::Tensor returns;     // [B, T], 0 on padding
};

// GAE over each row's real tokens (the layout's mask prefix), float64 inside.
absl::StatusOr<TokenTargets> TokenGae(const at::Tensor& rewards, const at::Tensor& values,
                                      const at::Tensor& mask, double gamma, double lambda);

struct SeqPpoOptions {
  double clip_eps = 0.2;
  bool clip_value_loss = true;
  double value_clip_eps = 0.2;
  double vf_coef = 0.5;
  bool normalize_advantages = true;
};

struct SeqPpoTerms {
  at::Tensor total;  // scalar, differentiable through logp and new_values
  at::Tensor policy_loss;
  at::Tensor value_loss;
  at::Tensor clip_fraction;
  at::Tensor approx_kl;
};

// All [B, T].
absl::StatusOr<SeqPpoTerms> SeqPpoLoss(const at::Tensor& logp, const at::Tensor& behaviour_logp,
                                       const at::Tensor& mask, const at::Tensor& advantages,
                                       const at::Tensor& new_values, const at::Tensor& old_values,
                                       const at::Tensor& returns, const SeqPpoOptions& options);

// The adaptive KL controller of Ziegler et al. (2019) for a per-token KL
// penalty: e = clip(kl / kl_target − 1, −0.2, 0.2), β ← β·(1 + e·n / horizon)
// after an update whose batch held n sequences. kl_target, horizon > 0.
double AdaptKlCoefficient(double beta, double kl, double kl_target, int64_t n, double horizon);

}  // namespace proxima::learner_lm

#endif  // PROXIMA_LEARNER_LM_SEQ_LOSS_H_
