#include "learner/ppo_loss.h"

#include <ATen/ATen.h>

namespace proxima {

at::Tensor ValueLoss(const at::Tensor& new_values, const at::Tensor& old_values,
                     const at::Tensor& returns, bool clipped, double value_clip_coef) {
  at::Tensor unclipped = (new_values - returns).pow(2);
  if (!clipped) return 0.5 * unclipped.mean();
  at::Tensor v_clipped =
      old_values + at::clamp(new_values - old_values, -value_clip_coef, value_clip_coef);
  at::Tensor clipped_sq = (v_clipped - returns).pow(2);
  return 0.5 * at::max(unclipped, clipped_sq).mean();
}

PpoLossTerms ComputePpoLoss(const at::Tensor& logp, const at::Tensor& behaviour_logp,
                            const at::Tensor& entropy, const at::Tensor& advantages,
                            const at::Tensor& new_values, const at::Tensor& old_values,
                            const at::Tensor& returns, const PpoLossOptions& o) {
  at::Tensor log_ratio = logp - behaviour_logp;
  at::Tensor ratio = log_ratio.exp();
  at::Tensor adv = advantages;
  if (o.normalize_advantages) {
    adv = (adv - adv.mean()) / (adv.std(/*unbiased=*/true) + 1e-8);
  }
  at::Tensor pg1 = -adv * ratio;
  at::Tensor pg2 = -adv * at::clamp(ratio, 1.0 - o.clip_coef, 1.0 + o.clip_coef);
  at::Tensor policy_loss = at::max(pg1, pg2).mean();
  at::Tensor value_loss =
      ValueLoss(new_values, old_values, returns, o.clip_value_loss, o.value_clip_coef);
  at::Tensor entropy_mean = entropy.mean();
  at::Tensor kl = ((ratio - 1.0) - log_ratio).mean();

  PpoLossTerms t;
  t.total = policy_loss - o.ent_coef * entropy_mean + o.vf_coef * value_loss;
  if (o.kl_beta > 0) t.total = t.total + o.kl_beta * kl;
  t.policy_loss = policy_loss.detach();
  t.value_loss = value_loss.detach();
  t.entropy = entropy_mean.detach();
  t.approx_kl = kl.detach();
  t.clip_fraction = ((ratio.detach() - 1.0).abs() > o.clip_coef).to(ratio.scalar_type()).mean();
  return t;
}

double AdaptKlBeta(double beta, double kl, double kl_target) {
  if (kl > 1.5 * kl_target) return beta * 2.0;
  if (kl < kl_target / 1.5) return beta / 2.0;
  return beta;
}

}  // namespace proxima
