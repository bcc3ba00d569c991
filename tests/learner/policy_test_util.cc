#include "tests/learner/policy_test_util.h"

#include <ATen/ATen.h>
#include <torch/utils.h>

#include <cmath>
#include <limits>
#include <memory>

#include "absl/strings/str_cat.h"
#include "common/envs/registry.h"
#include "common/policy/policy_inference.h"
#include "common/rng.h"
#include "common/status_macros.h"
#include "learner/ppo_updater.h"
#include "learner/checkpoint.h"

namespace proxima {

std::vector<PolicyVariant> AllPolicyVariants() {
  return {
      {"CartPoleTanhSeparate", "CartPole-v1", {64, 64}, "tanh", false, true},
      {"CartPoleReluShared", "CartPole-v1", {32, 16}, "relu", true, true},
      {"AcrobotTanhSharedNoNorm", "Acrobot-v1", {64, 64}, "tanh", true, false},
      {"PendulumTanhSeparate", "Pendulum-v1", {64, 64}, "tanh", false, true},
      {"PendulumReluShared", "Pendulum-v1", {48, 24, 12}, "relu", true, true},
      {"MountainCarContinuousReluSeparateNoNorm", "MountainCarContinuous-v0", {16}, "relu",
       false, false},
  };
}

absl::StatusOr<std::string> WriteRandomPolicyCheckpoint(const PolicyVariant& v,
                                                        const std::string& dir, uint64_t seed,
                                                        bool perturb) {
  PROXIMA_ASSIGN_OR_RETURN(PpoConfig config, PresetFor(v.env_id));
  PROXIMA_ASSIGN_OR_RETURN(EnvSpec spec, GetEnvSpec(v.env_id));
  config.seed = seed;
  config.model.hidden_sizes = v.hidden_sizes;
  config.model.activation = v.activation;
  config.model.shared_trunk = v.shared_trunk;
  config.normalize_obs = v.normalize_obs;
  config.obs_clip = 3.0;
  config.device = "cpu";
  PROXIMA_ASSIGN_OR_RETURN(std::unique_ptr<PpoUpdater> updater,
                           PpoUpdater::Create(config, spec, torch::Device(torch::kCPU)));
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  if (perturb) {
    torch::NoGradGuard no_grad;
    for (auto& item : updater->model()->named_parameters()) {
      at::Tensor p = item.value();
      if (item.key() == "log_std") {
        p.copy_(at::linspace(-0.8, 0.5, p.numel()));
      } else {
        p.add_(at::randn(p.sizes(), gen) * 0.3);
      }
    }
  }
  const int d = spec.obs_dim();
  Rng rng(seed);
  std::vector<double> mean(d), var(d);
  for (int j = 0; j < d; ++j) {
    mean[j] = rng.Uniform(-2.0, 2.0);
    var[j] = rng.Uniform(0.05, 6.0);
  }
  PROXIMA_RETURN_IF_ERROR(updater->obs_stats().Restore(mean, var, 4321.5));
  CheckpointCounters counters;
  counters.policy_version = 7;
  counters.env_steps = 9000;
  PROXIMA_ASSIGN_OR_RETURN(SavedCheckpoint saved, SaveCheckpoint(dir, *updater, counters, 1));
  return saved.path;
}

at::Tensor RandomRawObs(const CheckpointPolicy& policy, int64_t n, uint64_t seed) {
  const RunningMeanStd& stats = policy.snapshot->normalizer.stats;
  const int d = policy.env.obs_dim();
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  at::Tensor obs = at::randn({n, d}, gen, at::TensorOptions().dtype(at::kFloat));
  for (int j = 0; j < d; ++j) {
    obs.select(1, j).mul_(4.0 * std::sqrt(stats.var()[j])).add_(stats.mean()[j]);
  }
  return obs;
}

at::Tensor LiveLogProb(const CheckpointPolicy& policy, const at::Tensor& normalized,
                       const at::Tensor& actions) {
  torch::NoGradGuard no_grad;
  ActorCritic model = policy.snapshot->model;
  return model->LogProbEntropy(model->forward(normalized).dist_params, actions).first;
}

LiveOutputs ComputeLiveOutputs(const CheckpointPolicy& policy, const at::Tensor& raw_obs) {
  const NormalizerState& norm = policy.snapshot->normalizer;
  const int64_t n = raw_obs.size(0);
  at::Tensor raw = raw_obs.contiguous();
  LiveOutputs out;
  out.normalized = raw.clone();
  if (norm.enabled) {
    norm.stats.Normalize(raw.data_ptr<float>(), out.normalized.data_ptr<float>(), n, norm.clip);
  }
  {
    torch::NoGradGuard no_grad;
    ActorCritic model = policy.snapshot->model;
    PolicyHeads heads = model->forward(out.normalized);
    out.dist_params = heads.dist_params;
    out.value = heads.value;
    // Any valid action will do: only the entropy is kept.
    at::Tensor any_action = model->discrete() ? at::zeros({n}) : heads.dist_params;
    out.entropy = model->LogProbEntropy(heads.dist_params, any_action).second;
  }
  // The torch engine: the export must reproduce it bit for bit (the fused
  // engine agrees with it to float rounding, policy_inference_test).
  PolicyInference inference(policy.shape(), static_cast<int>(n), InferenceEngine::kTorch);
  if (!inference.SetPolicy(policy.snapshot).ok()) return out;
  const bool discrete = policy.env.action_space.is_discrete();
  const int k = inference.action_dim();
  const auto f32 = at::TensorOptions().dtype(at::kFloat);
  Rng rng(99);
  for (bool deterministic : {true, false}) {
    at::Tensor actions = at::empty({n, k}, f32);
    at::Tensor logp = at::empty({n}, f32);
    inference.Act(raw.data_ptr<float>(), rng, actions.data_ptr<float>(), logp.data_ptr<float>(),
                  deterministic);
    if (discrete) actions = actions.reshape({n});
    (deterministic ? out.det_action : out.sampled_action) = actions;
    (deterministic ? out.det_logp : out.sampled_logp) = logp;
  }
  return out;
}

double MaxAbsDiff(const at::Tensor& a, const at::Tensor& b) {
  if (!a.defined() || !b.defined() || a.sizes() != b.sizes()) {
    return std::numeric_limits<double>::infinity();
  }
  if (a.numel() == 0) return 0;
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

}  // namespace proxima
