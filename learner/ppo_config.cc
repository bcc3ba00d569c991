#include "learner/ppo_config.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/envs/registry.h"
#include "common/status_macros.h"
#include "learner/ppo_config_fields.h"

namespace proxima {

int64_t PpoConfig::num_updates() const {
  const int64_t b = batch_size();
  if (b <= 0) return 0;
  return std::max<int64_t>(1, total_steps / b);
}

absl::Status PpoConfig::Validate() const {
  for (const PpoConfigField& row : PpoConfigFields()) {
    PROXIMA_RETURN_IF_ERROR(CheckPpoFieldRange(row, *this));
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
  if (spec.id == "CartPole-v1" || spec.id == "Acrobot-v1") {
    // CleanRL ppo.py as it is, budget included. For Acrobot it beats
    // rl-baselines3-zoo's tuned values (16 envs × 256 steps, λ 0.94, no
    // entropy bonus, normalized observations) at this budget: solved at 110k
    // steps against −136.9 at 500k (docs/benchmarks.md).
    c.total_steps = 500000;
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
