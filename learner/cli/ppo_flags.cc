#include "learner/cli/ppo_flags.h"

#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "learner/ppo_config_fields.h"

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
ABSL_FLAG(std::optional<bool>, clip_action, std::nullopt,
          "Clip Box actions to the action space before the env (CleanRL's ClipAction) [preset]");
// Execution.
ABSL_FLAG(std::optional<std::string>, device, std::nullopt, "auto, cpu or cuda [auto]");
ABSL_FLAG(std::optional<int>, torch_threads, std::nullopt, "Trainer intra-op threads [1]");
ABSL_FLAG(std::optional<std::string>, engine, std::nullopt,
          "PPO update engine: fused (hand-written CPU kernel), torch (LibTorch) or auto "
          "(fused on CPU) [auto]");

namespace proxima {
namespace {

// The flag type for a field of type T: std::optional<T>, except that list and
// enum fields take their text form and an optional number its number.
template <typename T>
struct FlagValue {
  using type = T;
};
template <>
struct FlagValue<std::optional<double>> {
  using type = double;
};
template <>
struct FlagValue<std::vector<int>> {
  using type = std::string;
};
template <>
struct FlagValue<AdvantageEstimator> {
  using type = std::string;
};

// Sets `row`'s field of `c` from the flag `name` when that flag was given.
absl::Status ApplyFlag(const char* name, const PpoConfigField& row, PpoConfig* c) {
  const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
  if (flag == nullptr) return absl::InternalError(absl::StrCat("no flag --", name));
  return VisitPpoField(row, *c, [&](auto& field) -> absl::Status {
    using T = std::decay_t<decltype(field)>;
    using F = typename FlagValue<T>::type;
    const auto value = flag->TryGet<std::optional<F>>();  // absl::optional
    if (!value.has_value()) {
      return absl::InternalError(absl::StrCat("--", name, " is not of the type of ", row.key));
    }
    if (!value->has_value()) return absl::OkStatus();
    if constexpr (std::is_same_v<F, std::string> && !std::is_same_v<T, std::string>) {
      return SetPpoFieldFromString(row, **value, c);
    } else {
      field = **value;
      return absl::OkStatus();
    }
  });
}

}  // namespace

absl::StatusOr<PpoConfig> PpoConfigFromFlags() {
  PROXIMA_ASSIGN_OR_RETURN(PpoConfig c, PresetFor(absl::GetFlag(FLAGS_env)));
  // Every field's flag, then its alias (--lr wins over --learning-rate).
  for (const PpoConfigField& row : PpoConfigFields()) {
    if (row.flag != nullptr) PROXIMA_RETURN_IF_ERROR(ApplyFlag(row.flag, row, &c));
    if (row.alias != nullptr) PROXIMA_RETURN_IF_ERROR(ApplyFlag(row.alias, row, &c));
  }
  PROXIMA_RETURN_IF_ERROR(c.Validate());
  return c;
}

bool FlagGiven(absl::string_view name) {
  const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
  return flag != nullptr && flag->CurrentValue() != flag->DefaultValue();
}

std::map<std::string, std::string> ResumeChangesFromFlags() {
  std::map<std::string, std::string> out;
  if (FlagGiven("env")) out["env"] = absl::GetFlag(FLAGS_env);
  for (const PpoConfigField& row : PpoConfigFields()) {
    // The alias last: it wins, as in PpoConfigFromFlags().
    for (const char* name : {row.flag, row.alias}) {
      if (name == nullptr || !FlagGiven(name)) continue;
      out[row.key] = absl::FindCommandLineFlag(name)->CurrentValue();
    }
  }
  return out;
}

}  // namespace proxima
