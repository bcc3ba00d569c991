// The PPO loss terms for one minibatch.
//
// Convention (the same as $PROXIMA_GOLDEN_DIR/ppo/ppo_loss.json):
//   ratio = exp(logp − behaviour_logp)          (against the BEHAVIOUR policy)
//   A ← (A − mean) / (std_unbiased + 1e-8)       if normalize_advantages
//   policy_loss = mean(max(−A·ratio, −A·clip(ratio, 1−ε, 1+ε)))
//   value_loss  = 0.5·mean((V − R)²), or when clipped
//                 0.5·mean(max((V − R)², (V_old + clip(V − V_old, −ε_v, ε_v) − R)²))
//   entropy     = mean entropy of the current distribution
//   approx_kl   = mean((ratio − 1) − log ratio)  (k3 estimator of KL(μ‖π))
//   clip_fraction = mean(|ratio − 1| > ε)
//   total = policy_loss − ent_coef·entropy + vf_coef·value_loss + β·approx_kl
// where β is the adaptive KL penalty coefficient (0 when the penalty is off).
// Works in any floating dtype; `total` carries gradients, the rest are detached.
#ifndef PROXIMA_LEARNER_PPO_LOSS_H_
#define PROXIMA_LEARNER_PPO_LOSS_H_

#include <ATen/core/Tensor.h>

#include "learner/fused/ppo_kernel.h"

namespace proxima {

// The loss coefficients: one struct for both engines (the fused kernel's,
// which is LibTorch-free).
using PpoLossOptions = fused::LossOptions;

struct PpoLossTerms {
  at::Tensor total;          // scalar, differentiable
  at::Tensor policy_loss;    // scalars below are detached
  at::Tensor value_loss;
  at::Tensor entropy;
  at::Tensor approx_kl;
  at::Tensor clip_fraction;
};

PpoLossTerms ComputePpoLoss(const at::Tensor& logp, const at::Tensor& behaviour_logp,
                            const at::Tensor& entropy, const at::Tensor& advantages,
                            const at::Tensor& new_values, const at::Tensor& old_values,
                            const at::Tensor& returns, const PpoLossOptions& options);

// Value loss only (both variants), exposed for tests.
at::Tensor ValueLoss(const at::Tensor& new_values, const at::Tensor& old_values,
                     const at::Tensor& returns, bool clipped, double value_clip_coef);

// The adaptive KL penalty's β for the next update (PPO paper §4): `kl` is the
// KL measured in this update (PpoUpdater: the mean approx_kl of the last epoch
// run). β doubles when kl > 1.5·kl_target, halves when kl < kl_target / 1.5,
// and is unchanged inside that band (the bounds themselves included).
double AdaptKlBeta(double beta, double kl, double kl_target);

}  // namespace proxima

#endif  // PROXIMA_LEARNER_PPO_LOSS_H_
