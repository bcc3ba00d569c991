#include "learner/ppo_config.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/envs/registry.h"
#include "common/status_macros.h"

namespace proxima {
namespace {

absl::Status RangeError(absl::string_view flag, absl::string_view range, double got) {
  return absl::InvalidArgumentError(
      absl::StrCat("--", flag, " must be ", range, " (got ", got, ")"));
}

absl::Status CheckPositive(absl::string_view flag, double v) {
  if (!(v > 0) || !std::isfinite(v)) return RangeError(flag, "> 0", v);
  return absl::OkStatus();
}

absl::Status CheckUnit(absl::string_view flag, double v) {
  if (!(v >= 0 && v <= 1)) return RangeError(flag, "in [0, 1]", v);
  return absl::OkStatus();
}

absl::Status CheckNonNegative(absl::string_view flag, double v) {
  if (!(v >= 0) || !std::isfinite(v)) return RangeError(flag, ">= 0", v);
  return absl::OkStatus();
}

}  // namespace

int64_t PpoConfig::num_updates() const {
  const int64_t b = batch_size();
  if (b <= 0) return 0;
  return std::max<int64_t>(1, total_steps / b);
}

absl::Status PpoConfig::Validate() const {
  if (total_steps <= 0) return RangeError("total-steps", "> 0", static_cast<double>(total_steps));
  if (num_envs <= 0) return RangeError("num-envs", ">= 1", num_envs);
  if (rollout_length <= 0) return RangeError("rollout-length", ">= 1", rollout_length);
  if (model.hidden_sizes.empty()) {
    return absl::InvalidArgumentError("--hidden-sizes must list at least one layer size");
  }
  for (int h : model.hidden_sizes) {
    if (h <= 0) return RangeError("hidden-sizes", "a list of sizes >= 1", h);
  }
  if (model.activation != "tanh" && model.activation != "relu") {
    return absl::InvalidArgumentError(absl::StrCat(
        "--activation must be one of tanh, relu (got '", model.activation, "')"));
  }
  if (!std::isfinite(model.init_log_std)) {
    return RangeError("init-log-std", "finite", model.init_log_std);
  }
  PROXIMA_RETURN_IF_ERROR(CheckPositive("learning-rate", learning_rate));
  PROXIMA_RETURN_IF_ERROR(CheckPositive("adam-eps", adam_eps));
  if (num_minibatches <= 0) return RangeError("num-minibatches", ">= 1", num_minibatches);
  if (batch_size() % num_minibatches != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--num-minibatches must divide the batch (--num-envs × --rollout-length = ",
        batch_size(), "), got ", num_minibatches));
  }
  if (update_epochs <= 0) return RangeError("update-epochs", ">= 1", update_epochs);
  if (!std::isfinite(max_grad_norm)) return RangeError("max-grad-norm", "finite", max_grad_norm);
  PROXIMA_RETURN_IF_ERROR(CheckUnit("gamma", gamma));
  PROXIMA_RETURN_IF_ERROR(CheckUnit("gae-lambda", gae_lambda));
  PROXIMA_RETURN_IF_ERROR(CheckPositive("clip-coef", clip_coef));
  PROXIMA_RETURN_IF_ERROR(CheckPositive("value-clip-coef", value_clip_coef));
  PROXIMA_RETURN_IF_ERROR(CheckNonNegative("ent-coef", ent_coef));
  PROXIMA_RETURN_IF_ERROR(CheckNonNegative("vf-coef", vf_coef));
  if (target_kl.has_value()) PROXIMA_RETURN_IF_ERROR(CheckPositive("target-kl", *target_kl));
  PROXIMA_RETURN_IF_ERROR(CheckPositive("kl-target", kl_target));
  PROXIMA_RETURN_IF_ERROR(CheckNonNegative("kl-beta", kl_beta));
  PROXIMA_RETURN_IF_ERROR(CheckPositive("vtrace-rho-bar", vtrace_rho_bar));
  PROXIMA_RETURN_IF_ERROR(CheckPositive("vtrace-c-bar", vtrace_c_bar));
  PROXIMA_RETURN_IF_ERROR(CheckPositive("obs-clip", obs_clip));
  PROXIMA_RETURN_IF_ERROR(CheckPositive("reward-clip", reward_clip));
  if (device != "auto" && device != "cpu" && device != "cuda") {
    return absl::InvalidArgumentError(
        absl::StrCat("--device must be one of auto, cpu, cuda (got '", device, "')"));
  }
  if (torch_threads <= 0 || torch_threads > 256) {
    return RangeError("torch-threads", "in [1, 256]", torch_threads);
  }
  return absl::OkStatus();
}

absl::StatusOr<PpoConfig> PresetFor(absl::string_view env_id) {
  PROXIMA_ASSIGN_OR_RETURN(EnvSpec spec, GetEnvSpec(env_id));
  PpoConfig c;  // CleanRL ppo.py defaults.
  c.env_id = spec.id;
  if (!spec.action_space.is_discrete()) {
    // CleanRL ppo_continuous_action.py defaults.
    c.num_envs = 1;
    c.rollout_length = 2048;
    c.learning_rate = 3e-4;
    c.num_minibatches = 32;
    c.update_epochs = 10;
    c.ent_coef = 0.0;
    c.normalize_obs = true;
    c.normalize_reward = true;
    c.total_steps = 1000000;
  }
  if (spec.id == "CartPole-v1") {
    c.total_steps = 500000;
  } else if (spec.id == "Acrobot-v1") {
    // rl-baselines3-zoo: normalized observations, 16 envs × 256 steps,
    // λ = 0.94, no entropy bonus.
    c.num_envs = 16;
    c.rollout_length = 256;
    c.num_minibatches = 16;
    c.gae_lambda = 0.94;
    c.ent_coef = 0.0;
    c.normalize_obs = true;
    c.total_steps = 1000000;
  } else if (spec.id == "Pendulum-v1") {
    // rl-baselines3-zoo (without gSDE): 4 envs × 1024 steps, γ = 0.9, 10 epochs
    // of minibatches of 64, lr 1e-3.
    c.num_envs = 4;
    c.rollout_length = 1024;
    c.num_minibatches = 64;
    c.update_epochs = 10;
    c.gamma = 0.9;
    c.gae_lambda = 0.95;
    c.learning_rate = 1e-3;
    c.ent_coef = 0.0;
    c.normalize_obs = false;
    c.normalize_reward = false;
    c.total_steps = 1000000;
  }
  return c;
}

absl::StatusOr<AdvantageEstimator> ParseAdvantageEstimator(absl::string_view name) {
  if (name == "gae") return AdvantageEstimator::kGae;
  if (name == "vtrace") return AdvantageEstimator::kVtrace;
  return absl::InvalidArgumentError(
      absl::StrCat("--advantage must be one of gae, vtrace (got '", name, "')"));
}

std::string AdvantageEstimatorName(AdvantageEstimator a) {
  return a == AdvantageEstimator::kGae ? "gae" : "vtrace";
}

}  // namespace proxima
