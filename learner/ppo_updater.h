// PpoUpdater: owns the actor-critic, its Adam optimizer and the observation
// normalizer, and turns one RolloutBatch into one PPO update.
//
// Update() (blocking, single-threaded; one trainer thread owns the updater):
//   1. normalizes the batch's raw observations with the CURRENT statistics;
//   2. computes values (and, for V-trace, target log-probs) without gradients,
//      bootstrapping truncated episodes from their final observations;
//   3. computes GAE or V-trace targets per env column;
//   4. runs update_epochs × num_minibatches shuffled minibatch steps of the
//      clipped PPO loss with the ratio against the batch's behaviour log-probs,
//      global grad-norm clipping and Adam; a minibatch whose loss or gradient is
//      not finite is skipped (weights and optimizer state untouched) and counted;
//   5. adapts the KL penalty β (PPO paper §4) and applies target-KL early stop;
//   6. only then folds the batch's raw observations into the normalizer.
// The weights plus normalizer statistics after Update() form the next policy
// version (DESIGN.md "What a policy version means").
//
// Engines (PpoConfig::engine, --engine): step 4 runs either through LibTorch
// autograd ("torch": the reference, and the only one on CUDA) or through the
// hand-written CPU kernel fused::PpoKernel<float> ("fused", learner/fused/).
// Both work on the same flat buffers (params_flat_, grads_flat_, the Adam
// moments and step count), draw the same minibatch permutations and report
// the same metrics, so checkpoints, snapshots, TorchScript export and the wire
// format do not depend on the engine and a run may change it across a resume.
// Trainers log engine_description() once per run (Create() logs nothing:
// `proxima eval --json` builds an updater too, and its stdout is JSON).
#ifndef PROXIMA_LEARNER_PPO_UPDATER_H_
#define PROXIMA_LEARNER_PPO_UPDATER_H_

#include <ATen/core/Generator.h>
#include <torch/optim/adam.h>
#include <torch/serialize/archive.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "common/policy/actor_critic.h"
#include "common/envs/env.h"
#include "common/running_stats.h"
#include "common/fused/mlp_layout.h"
#include "learner/fused/ppo_kernel.h"
#include "learner/ppo_config.h"
#include "learner/ppo_loss.h"
#include "learner/update_metrics.h"
#include "common/wire/rollout_batch.h"

namespace proxima {

// One minibatch, already normalized and on the trainer's device.
struct Minibatch {
  at::Tensor obs;             // [B, obs_dim] normalized
  at::Tensor actions;         // [B] or [B, act_dim]
  at::Tensor behaviour_logp;  // [B]
  at::Tensor advantages;      // [B]
  at::Tensor returns;         // [B]
  at::Tensor old_values;      // [B]
};

struct MinibatchResult {
  bool applied = false;  // false: non-finite loss/gradient, nothing changed
  double policy_loss = 0, value_loss = 0, entropy = 0, approx_kl = 0, clip_fraction = 0;
  double grad_norm = 0;
  double ratio_max_deviation = 0;  // only when measured
};

enum class UpdateEngine { kTorch, kFused };

// The engine PpoConfig::engine selects on `device`, and in `why` the reason in
// words (for the log line). "auto" is fused on the CPU, torch on CUDA; "fused"
// on CUDA, or any other value, is InvalidArgument naming --engine.
absl::StatusOr<UpdateEngine> ResolveEngine(const std::string& engine, const torch::Device& device,
                                           std::string* why);
const char* UpdateEngineName(UpdateEngine engine);

class PpoUpdater {
 public:
  static absl::StatusOr<std::unique_ptr<PpoUpdater>> Create(const PpoConfig& config,
                                                            const EnvSpec& spec,
                                                            const torch::Device& device);

  // Trains on `batch`. `progress` ∈ [0, 1] is the fraction of the run completed
  // before this update; the learning rate is annealed linearly with it.
  absl::StatusOr<UpdateMetrics> Update(const RolloutBatch& batch, double progress);

  // Trains on several parts as one batch (the learner server: one part per
  // chunk; parts may differ in T and E). Targets are computed per part; the
  // minibatches are drawn from all of them.
  absl::StatusOr<UpdateMetrics> Update(absl::Span<const RolloutBatch> parts, double progress);

  // One optimizer step on a minibatch (exposed for tests and benchmarks), on
  // this updater's engine. With `measure_ratio`, also reports
  // max |ratio - 1| before the step. Bad input (an action out of range)
  // throws c10::Error on either engine.
  MinibatchResult TrainMinibatch(const Minibatch& mb, bool measure_ratio = false);

  UpdateEngine engine() const { return engine_; }
  // The engine and why it was chosen, e.g. "fused (--engine=auto: CPU device,
  // MLP actor-critic)": what a trainer logs once per run.
  const std::string& engine_description() const { return engine_description_; }

  // Steps 1-3 of Update() for one part (exposed for tests): flattened [N = T·E]
  // time-major inputs, device-resident: normalized obs, actions, behaviour
  // log-probs; CPU (moved to the device later): advantages, returns and the
  // values of the batch's observations. For V-trace, `returns` holds vs and
  // `advantages` the policy-gradient advantages.
  struct PartTargets {
    at::Tensor obs_norm, actions, behaviour_logp, advantages, returns, old_values;
  };
  absl::StatusOr<PartTargets> ComputeTargets(const RolloutBatch& batch);

  // Normalizes raw observations [N, obs_dim] (float32, CPU) with the current
  // statistics; returns a copy when normalization is off.
  at::Tensor NormalizeObs(const at::Tensor& raw) const;

  ActorCritic& model() { return model_; }
  // Holds Adam's hyperparameters (lr, betas, eps). Its per-parameter state is
  // only filled by SaveState(); the step itself runs on flat buffers.
  torch::optim::Adam& optimizer() { return *optimizer_; }

  // Model parameters and Adam state in torch's own archive formats (the
  // checkpoint's "model" and "optimizer" records).
  void SaveState(torch::serialize::OutputArchive& model,
                 torch::serialize::OutputArchive& optimizer);
  void LoadState(torch::serialize::InputArchive& model,
                 torch::serialize::InputArchive& optimizer);
  RunningMeanStd& obs_stats() { return obs_stats_; }
  const RunningMeanStd& obs_stats() const { return obs_stats_; }
  const PpoConfig& config() const { return config_; }
  PpoConfig& mutable_config() { return config_; }
  double kl_beta() const { return kl_beta_; }
  void set_kl_beta(double beta) { kl_beta_ = beta; }
  int64_t skipped_minibatches_total() const { return skipped_total_; }
  // Adam's moments (flat, in parameter order) and step count: the state the
  // step actually runs on. LoadState() restores them.
  const at::Tensor& adam_exp_avg() const { return adam_exp_avg_; }
  const at::Tensor& adam_exp_avg_sq() const { return adam_exp_avg_sq_; }
  int64_t adam_steps() const { return adam_steps_; }
  // The minibatch-shuffle generator's state (a CPU uint8 tensor). Checkpoints
  // keep it, so a resumed run draws the permutations the original would have.
  at::Tensor shuffle_rng_state();
  void set_shuffle_rng_state(const at::Tensor& state);
  const torch::Device& device() const { return device_; }

 private:
  PpoUpdater(const PpoConfig& config, const EnvSpec& spec, const torch::Device& device);
  void SetLearningRate(double lr);
  // Makes every parameter and its gradient a view into one flat buffer
  // (params_flat_, grads_flat_), copying the current values in. Called after
  // the model is built and after its parameters were loaded.
  void FlattenParameters();
  // Global grad-norm clipping and one Adam step on the flat buffers: a dozen
  // tensor ops per minibatch instead of a dozen per parameter. Elementwise
  // the same arithmetic as torch::optim::Adam (1.13, no weight decay, no
  // amsgrad). Returns the gradient norm before clipping.
  double ClipAndStep();
  // TrainMinibatch on each engine. The fused one takes host rows (float,
  // row-major; discrete actions as float indices).
  MinibatchResult TorchMinibatch(const Minibatch& mb, bool measure_ratio);
  absl::StatusOr<MinibatchResult> FusedMinibatch(const fused::MinibatchView<float>& mb);
  // V(obs) [rows] through the kernel's forward, in chunks of its max_batch
  // (the GAE pre-pass of Update() on the fused engine).
  at::Tensor FusedValues(const at::Tensor& obs_norm);

  at::Tensor params_flat_, grads_flat_;
  at::Tensor adam_exp_avg_, adam_exp_avg_sq_, adam_denom_;  // flat, like params_flat_
  int64_t adam_steps_ = 0;

  // The fused engine: the layout of params_flat_, the kernel (re-created only
  // when a minibatch outgrows it) and the gathered rows of one minibatch.
  UpdateEngine engine_ = UpdateEngine::kTorch;
  std::string engine_description_;
  fused::MlpLayout layout_;
  std::unique_ptr<fused::PpoKernel<float>> kernel_;
  struct Rows {
    std::vector<float> obs, actions, behaviour_logp, advantages, returns, old_values;
  } mb_rows_;
  std::vector<float> dist_scratch_;  // FusedValues' unused head output


  PpoConfig config_;
  EnvSpec spec_;
  torch::Device device_;
  ActorCritic model_{nullptr};
  std::unique_ptr<torch::optim::Adam> optimizer_;
  RunningMeanStd obs_stats_;
  double kl_beta_;
  int64_t skipped_total_ = 0;
  at::Generator generator_;
};

// The loss options of `config` with penalty coefficient `kl_beta`.
PpoLossOptions PpoLossOptionsFor(const PpoConfig& config, double kl_beta);

// Resolves --device: "auto" picks CUDA when available.
absl::StatusOr<torch::Device> ResolveDevice(const std::string& name);

}  // namespace proxima

#endif  // PROXIMA_LEARNER_PPO_UPDATER_H_
