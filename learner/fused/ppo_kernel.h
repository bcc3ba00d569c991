// PpoKernel<T>: one PPO minibatch step of the MLP actor-critic — forward,
// loss, closed-form backward, global grad-norm clipping and Adam — written by
// hand on BLAS (cblas_{s,d}gemm, OpenBLAS through libblas.so.3), with no
// LibTorch and no allocation per step. T is float (production) or double (the
// equivalence proof, tests/learner/fused_ppo_test.cc).
//
// The arithmetic is LibTorch's path, term by term:
//   forward        ActorCriticImpl::forward + LogProbEntropy
//                  (common/policy/actor_critic.cc): Linear layers
//                  x·Wᵀ + b with tanh or ReLU, Categorical log_softmax or the
//                  diagonal Gaussian with the state-independent log-std (in
//                  float, tanh is the vectorized one of common/fused/mlp_math.h,
//                  within 2e-7 relative of std::tanh; in double it is std::tanh);
//   loss           ComputePpoLoss (learner/ppo_loss.h): ratio against the
//                  behaviour log-prob, per-minibatch advantage normalization
//                  with the unbiased std (+1e-8), clipped surrogate, clipped or
//                  plain value loss, entropy bonus, the KL penalty β·approx_kl
//                  when β > 0; the diagnostics PpoUpdater reports;
//   backward       autograd's gradients of `total`, including its tie rules
//                  (max(a, b) sends half the gradient to each side when a == b;
//                  clamp passes it at the bounds themselves);
//   clip + Adam    PpoUpdater::ClipAndStep: norm = ‖g‖₂; when max_grad_norm > 0
//                  and max_grad_norm / (norm + 1e-6) < 1, g is scaled by it;
//                  Adam (no weight decay, no amsgrad) with bias correction;
//   skip rule      PpoUpdater::TrainMinibatch: a non-finite total loss, or a
//                  non-finite gradient norm, leaves parameters, Adam moments
//                  and the step count untouched, zeroes the gradient buffer and
//                  reports applied = false.
//
// The flat buffers (parameters, gradients, Adam moments) are the caller's, in
// MlpLayout order: the same buffers PpoUpdater keeps (FlattenParameters).
// The kernel owns only its workspace, sized once for `max_batch` rows.
//
// Thread-compatible: one kernel per thread (its workspace is mutable state).
// Nothing blocks. Allocation-free after Create(); OpenBLAS must be set to one
// thread by the caller (common/policy/cpu_threads.h) for single-core timing.
#ifndef PROXIMA_LEARNER_FUSED_PPO_KERNEL_H_
#define PROXIMA_LEARNER_FUSED_PPO_KERNEL_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "common/fused/mlp_layout.h"

namespace proxima::fused {

// The loss coefficients (the fields of PpoLossOptions, learner/ppo_loss.h,
// kept torch-free here; PpoLossOptionsFor(config, β) fills both alike).
struct LossOptions {
  double clip_coef = 0.2;
  bool clip_value_loss = true;
  double value_clip_coef = 0.2;
  bool normalize_advantages = true;
  double ent_coef = 0.01;
  double vf_coef = 0.5;
  double kl_beta = 0.0;  // the penalty term is added only when > 0
};

// Adam and clipping, as PpoUpdater::ClipAndStep uses them.
struct AdamOptions {
  double lr = 2.5e-4;
  double beta1 = 0.9, beta2 = 0.999;
  double eps = 1e-5;
  double max_grad_norm = 0.5;  // <= 0 disables clipping
};

// One minibatch, rows already gathered and normalized (PpoUpdater's
// Minibatch). Row-major: obs [n, obs_dim]; actions [n] (discrete: the action
// index as a value of T) or [n, action_dim]; the rest [n].
template <typename T>
struct MinibatchView {
  int64_t n = 0;
  const T* obs = nullptr;
  const T* actions = nullptr;
  const T* behaviour_logp = nullptr;
  const T* advantages = nullptr;
  const T* returns = nullptr;
  const T* old_values = nullptr;
};

// The loss terms of one minibatch (each as computed in T, widened).
struct LossTerms {
  double total = 0;
  double policy_loss = 0, value_loss = 0, entropy = 0, approx_kl = 0, clip_fraction = 0;
  double ratio_max_deviation = 0;  // max |ratio − 1|
};

// PpoUpdater's MinibatchResult, plus the terms when applied.
struct StepResult {
  bool applied = false;  // false: non-finite loss or gradient, nothing changed
  LossTerms terms;       // filled whenever the forward ran
  double grad_norm = 0;  // before clipping
};

// The caller's flat buffers, each MlpLayout::total long, and Adam's step count.
template <typename T>
struct FlatState {
  T* params = nullptr;
  T* grads = nullptr;
  T* exp_avg = nullptr;
  T* exp_avg_sq = nullptr;
  int64_t* adam_steps = nullptr;
};

template <typename T>
class PpoKernel {
 public:
  // A kernel for minibatches of up to `max_batch` rows. Error when
  // max_batch < 1.
  static absl::StatusOr<PpoKernel> Create(const MlpLayout& layout, int64_t max_batch);

  const MlpLayout& layout() const { return layout_; }
  int64_t max_batch() const { return max_batch_; }

  // Distribution parameters [n, action_dim] (logits or Gaussian mean) and
  // values [n] for `n` rows of normalized observations, with `params`.
  // Error when n is not in [1, max_batch].
  absl::Status Forward(const T* params, const T* obs, int64_t n, T* dist_params, T* values);

  // The loss of `mb` under `params`, and — when its total is finite — its
  // gradient written (not added) into `grads`. With a non-finite total,
  // `grads` is untouched. Errors: n not in [1, max_batch], a discrete action
  // that is not an integer in [0, action_dim).
  absl::StatusOr<LossTerms> LossAndGradient(const T* params, const MinibatchView<T>& mb,
                                            const LossOptions& options, T* grads);

  // Global grad-norm clipping and one Adam step on `state`; returns the norm
  // before clipping. A non-finite norm changes nothing (the step is not
  // counted) and is returned as is.
  double ClipAndAdamStep(const FlatState<T>& state, const AdamOptions& adam) const;

  // PpoUpdater::TrainMinibatch: LossAndGradient, then ClipAndAdamStep, with
  // its skip rule (see the top of this file).
  absl::StatusOr<StepResult> TrainMinibatch(const FlatState<T>& state, const MinibatchView<T>& mb,
                                            const LossOptions& options, const AdamOptions& adam);

 private:
  PpoKernel(const MlpLayout& layout, int64_t max_batch);
  absl::Status CheckRows(int64_t n) const;
  // Layer outputs of `trunk` for `n` rows of `obs` into acts[0..L-1].
  void TrunkForward(const T* params, const std::vector<LinearRef>& trunk, const T* obs, int64_t n,
                    std::vector<std::vector<T>>& acts);
  // Backpropagates `top` ([n, h_last], overwritten) through `trunk`.
  void TrunkBackward(const T* params, const std::vector<LinearRef>& trunk, const T* obs, int64_t n,
                     std::vector<std::vector<T>>& acts, T* top, T* grads);
  void HeadsForward(const T* params, int64_t n);

  MlpLayout layout_;
  int64_t max_batch_;
  // Workspace, [max_batch, width] row-major each.
  std::vector<std::vector<T>> policy_acts_, value_acts_;  // per hidden layer
  std::vector<T> dist_, value_;                           // head outputs
  std::vector<T> d_dist_, d_value_;                       // their gradients
  std::vector<T> d_policy_top_, d_value_top_, d_scratch_;  // trunk gradients
  std::vector<T> logp_, entropy_, adv_, ratio_, log_ratio_;
  std::vector<T> probs_;  // Categorical softmax [max_batch, action_dim]
  std::vector<T> log_probs_;
};

extern template class PpoKernel<float>;
extern template class PpoKernel<double>;

}  // namespace proxima::fused

#endif  // PROXIMA_LEARNER_FUSED_PPO_KERNEL_H_
