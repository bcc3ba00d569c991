// PpoConfig: every hyperparameter of a PPO run, its validation and the
// per-environment presets.
//
// Defaults follow CleanRL's ppo.py (discrete) and ppo_continuous_action.py
// (continuous); presets for specific envs follow CleanRL / rl-baselines3-zoo
// tuned values. Flags override presets field by field (learner/cli/ppo_flags.h).
// Validate() reports the first invalid field as InvalidArgument, naming the
// command-line flag and the allowed range. Keys, flags and ranges of the
// fields are in one table, learner/ppo_config_fields.h.
#ifndef PROXIMA_LEARNER_PPO_CONFIG_H_
#define PROXIMA_LEARNER_PPO_CONFIG_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/wire/model_spec.h"

namespace proxima {

enum class AdvantageEstimator { kGae, kVtrace };

struct PpoConfig {
  std::string env_id = "CartPole-v1";
  uint64_t seed = 1;
  int64_t total_steps = 500000;

  // Rollouts: each update trains on num_envs × rollout_length transitions.
  int num_envs = 4;
  int rollout_length = 128;

  ModelSpec model;

  // Optimization.
  double learning_rate = 2.5e-4;
  bool anneal_lr = true;  // linear decay to 0 over total_steps
  double adam_eps = 1e-5;
  int num_minibatches = 4;
  int update_epochs = 4;
  double max_grad_norm = 0.5;  // global grad-norm clip; <= 0 disables

  // Objective.
  double gamma = 0.99;
  double gae_lambda = 0.95;
  bool normalize_advantages = true;  // per minibatch
  double clip_coef = 0.2;
  bool clip_value_loss = true;
  double value_clip_coef = 0.2;
  double ent_coef = 0.01;
  double vf_coef = 0.5;
  std::optional<double> target_kl;  // early-stop epochs when approx_kl exceeds it
  bool adaptive_kl = false;         // PPO paper §4 KL penalty
  double kl_target = 0.01;          // d_targ
  double kl_beta = 1.0;             // initial β

  AdvantageEstimator advantage = AdvantageEstimator::kGae;
  double vtrace_rho_bar = 1.0;
  double vtrace_c_bar = 1.0;

  bool normalize_obs = false;
  double obs_clip = 10.0;
  bool normalize_reward = false;
  double reward_clip = 10.0;
  // CleanRL's ClipAction: Box actions are clipped to the action space before
  // the env sees them; the rollout keeps the unclipped sample (its log-prob).
  // On in the MuJoCo presets, off elsewhere (classic-control envs clip
  // inside, as Gymnasium's do).
  bool clip_action = false;

  std::string device = "auto";  // auto | cpu | cuda
  int torch_threads = 1;        // intra-op threads of the trainer
  // The minibatch step's implementation (PpoUpdater): "fused" is the
  // hand-written CPU kernel (learner/fused/), "torch" LibTorch autograd,
  // "auto" fused wherever it applies (CPU device) and torch elsewhere. Either
  // trains the same parameters, Adam state and checkpoints.
  std::string engine = "auto";

  int batch_size() const { return num_envs * rollout_length; }
  int minibatch_size() const { return batch_size() / num_minibatches; }
  // Updates needed to consume total_steps (at least one).
  int64_t num_updates() const;

  absl::Status Validate() const;
};

// The preset for `env_id` (an unknown id is an error listing the known ones).
absl::StatusOr<PpoConfig> PresetFor(absl::string_view env_id);

// Where each value of PresetFor(env_id) comes from, by config.json key
// (learner/ppo_config_fields.h): "CleanRL ppo.py" (discrete action spaces),
// "CleanRL ppo_continuous_action.py" (continuous ones), "Proxima default" for
// what CleanRL does not have, "--env" for the env itself. `proxima presets`
// and `proxima train --help` show it.
absl::StatusOr<std::map<std::string, std::string>> PresetSources(absl::string_view env_id);

absl::StatusOr<AdvantageEstimator> ParseAdvantageEstimator(absl::string_view name);
std::string AdvantageEstimatorName(AdvantageEstimator a);

}  // namespace proxima

#endif  // PROXIMA_LEARNER_PPO_CONFIG_H_
