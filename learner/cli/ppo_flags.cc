#include "learner/cli/ppo_flags.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"

// Run.
ABSL_FLAG(std::string, env, "CartPole-v1", "Environment id (see `proxima env list`)");
ABSL_FLAG(std::optional<uint64_t>, seed, std::nullopt, "Random seed [preset: 1]");
ABSL_FLAG(std::optional<int64_t>, total_steps, std::nullopt,
          "Environment steps to train for [preset]");
ABSL_FLAG(std::optional<int>, num_envs, std::nullopt, "Envs per rollout batch [preset]");
ABSL_FLAG(std::optional<int>, rollout_length, std::nullopt, "Steps per env per rollout [preset]");
// Model.
ABSL_FLAG(std::optional<std::string>, hidden_sizes, std::nullopt,
          "Comma-separated hidden layer sizes [preset: 64,64]");
ABSL_FLAG(std::optional<std::string>, activation, std::nullopt, "tanh or relu [tanh]");
ABSL_FLAG(std::optional<bool>, shared_trunk, std::nullopt,
          "Share one MLP trunk between policy and value [false]");
ABSL_FLAG(std::optional<double>, init_log_std, std::nullopt,
          "Initial Gaussian log-std (continuous actions) [0]");
// Optimization.
ABSL_FLAG(std::optional<double>, learning_rate, std::nullopt, "Adam learning rate, > 0 [preset]");
ABSL_FLAG(std::optional<double>, lr, std::nullopt, "Alias of --learning-rate");
ABSL_FLAG(std::optional<bool>, anneal_lr, std::nullopt, "Linear learning-rate decay [true]");
ABSL_FLAG(std::optional<double>, adam_eps, std::nullopt, "Adam epsilon [1e-5]");
ABSL_FLAG(std::optional<int>, num_minibatches, std::nullopt,
          "Minibatches per epoch; must divide num_envs × rollout_length [preset]");
ABSL_FLAG(std::optional<int>, update_epochs, std::nullopt, "Epochs per update [preset]");
ABSL_FLAG(std::optional<double>, max_grad_norm, std::nullopt,
          "Global gradient-norm clip, <= 0 disables [0.5]");
// Objective.
ABSL_FLAG(std::optional<double>, gamma, std::nullopt, "Discount in [0, 1] [preset]");
ABSL_FLAG(std::optional<double>, gae_lambda, std::nullopt, "GAE / V-trace λ in [0, 1] [preset]");
ABSL_FLAG(std::optional<bool>, norm_adv, std::nullopt, "Per-minibatch advantage normalization [true]");
ABSL_FLAG(std::optional<double>, clip_coef, std::nullopt, "Surrogate clip ε, > 0 [0.2]");
ABSL_FLAG(std::optional<bool>, clip_vloss, std::nullopt, "Clipped value loss [true]");
ABSL_FLAG(std::optional<double>, value_clip_coef, std::nullopt, "Value clip ε_v, > 0 [0.2]");
ABSL_FLAG(std::optional<double>, ent_coef, std::nullopt, "Entropy bonus coefficient [preset]");
ABSL_FLAG(std::optional<double>, vf_coef, std::nullopt, "Value loss coefficient [0.5]");
ABSL_FLAG(std::optional<double>, target_kl, std::nullopt,
          "Stop an update's epochs once approx_kl exceeds this [off]");
ABSL_FLAG(std::optional<bool>, adaptive_kl, std::nullopt, "Adaptive KL penalty (PPO §4) [false]");
ABSL_FLAG(std::optional<double>, kl_target, std::nullopt, "d_targ of the KL penalty [0.01]");
ABSL_FLAG(std::optional<double>, kl_beta, std::nullopt, "Initial β of the KL penalty [1]");
ABSL_FLAG(std::optional<std::string>, advantage, std::nullopt, "gae or vtrace [gae]");
ABSL_FLAG(std::optional<double>, vtrace_rho_bar, std::nullopt, "V-trace ρ̄ [1]");
ABSL_FLAG(std::optional<double>, vtrace_c_bar, std::nullopt, "V-trace c̄ [1]");
ABSL_FLAG(std::optional<bool>, normalize_obs, std::nullopt, "Running observation normalization [preset]");
ABSL_FLAG(std::optional<double>, obs_clip, std::nullopt, "Clip of normalized observations [10]");
ABSL_FLAG(std::optional<bool>, normalize_reward, std::nullopt, "Return-based reward scaling [preset]");
ABSL_FLAG(std::optional<double>, reward_clip, std::nullopt, "Clip of scaled rewards [10]");
// Execution.
ABSL_FLAG(std::optional<std::string>, device, std::nullopt, "auto, cpu or cuda [auto]");
ABSL_FLAG(std::optional<int>, torch_threads, std::nullopt, "Trainer intra-op threads [1]");

namespace proxima {
namespace {

template <typename T, typename F>
void Apply(const absl::Flag<std::optional<F>>& flag, T* field) {
  std::optional<F> v = absl::GetFlag(flag);
  if (v.has_value()) *field = static_cast<T>(*v);
}

absl::StatusOr<std::vector<int>> ParseSizes(const std::string& s) {
  std::vector<int> out;
  for (absl::string_view part : absl::StrSplit(s, ',', absl::SkipWhitespace())) {
    int v;
    if (!absl::SimpleAtoi(part, &v)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--hidden-sizes must be comma-separated integers (got '", s, "')"));
    }
    out.push_back(v);
  }
  return out;
}

}  // namespace

absl::StatusOr<PpoConfig> PpoConfigFromFlags() {
  PROXIMA_ASSIGN_OR_RETURN(PpoConfig c, PresetFor(absl::GetFlag(FLAGS_env)));
  Apply(FLAGS_seed, &c.seed);
  Apply(FLAGS_total_steps, &c.total_steps);
  Apply(FLAGS_num_envs, &c.num_envs);
  Apply(FLAGS_rollout_length, &c.rollout_length);
  if (auto s = absl::GetFlag(FLAGS_hidden_sizes)) {
    PROXIMA_ASSIGN_OR_RETURN(c.model.hidden_sizes, ParseSizes(*s));
  }
  Apply(FLAGS_activation, &c.model.activation);
  Apply(FLAGS_shared_trunk, &c.model.shared_trunk);
  Apply(FLAGS_init_log_std, &c.model.init_log_std);
  Apply(FLAGS_learning_rate, &c.learning_rate);
  Apply(FLAGS_lr, &c.learning_rate);
  Apply(FLAGS_anneal_lr, &c.anneal_lr);
  Apply(FLAGS_adam_eps, &c.adam_eps);
  Apply(FLAGS_num_minibatches, &c.num_minibatches);
  Apply(FLAGS_update_epochs, &c.update_epochs);
  Apply(FLAGS_max_grad_norm, &c.max_grad_norm);
  Apply(FLAGS_gamma, &c.gamma);
  Apply(FLAGS_gae_lambda, &c.gae_lambda);
  Apply(FLAGS_norm_adv, &c.normalize_advantages);
  Apply(FLAGS_clip_coef, &c.clip_coef);
  Apply(FLAGS_clip_vloss, &c.clip_value_loss);
  Apply(FLAGS_value_clip_coef, &c.value_clip_coef);
  Apply(FLAGS_ent_coef, &c.ent_coef);
  Apply(FLAGS_vf_coef, &c.vf_coef);
  if (auto v = absl::GetFlag(FLAGS_target_kl)) c.target_kl = *v;
  Apply(FLAGS_adaptive_kl, &c.adaptive_kl);
  Apply(FLAGS_kl_target, &c.kl_target);
  Apply(FLAGS_kl_beta, &c.kl_beta);
  if (auto a = absl::GetFlag(FLAGS_advantage)) {
    PROXIMA_ASSIGN_OR_RETURN(c.advantage, ParseAdvantageEstimator(*a));
  }
  Apply(FLAGS_vtrace_rho_bar, &c.vtrace_rho_bar);
  Apply(FLAGS_vtrace_c_bar, &c.vtrace_c_bar);
  Apply(FLAGS_normalize_obs, &c.normalize_obs);
  Apply(FLAGS_obs_clip, &c.obs_clip);
  Apply(FLAGS_normalize_reward, &c.normalize_reward);
  Apply(FLAGS_reward_clip, &c.reward_clip);
  Apply(FLAGS_device, &c.device);
  Apply(FLAGS_torch_threads, &c.torch_threads);
  PROXIMA_RETURN_IF_ERROR(c.Validate());
  return c;
}

std::optional<int64_t> TotalStepsFlag() { return absl::GetFlag(FLAGS_total_steps); }

}  // namespace proxima
