// The PPO hyperparameter flags shared by `proxima train` and `proxima-learner`.
//
// Every flag is optional: an unset flag keeps the value of the env's preset
// (learner/ppo_config.h), a set one overrides it. Each flag is mapped onto its
// field through the field table (learner/ppo_config_fields.h: a row's flag,
// then its alias). Linked only into executables (flags are defined where mains
// live).
#ifndef PROXIMA_LEARNER_CLI_PPO_FLAGS_H_
#define PROXIMA_LEARNER_CLI_PPO_FLAGS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "learner/ppo_config.h"

namespace proxima {

// Preset for --env with every set flag applied, validated.
absl::StatusOr<PpoConfig> PpoConfigFromFlags();

// True if the flag `name` (e.g. "num_envs") has a value other than its
// default (given on the command line, in a flag file or the environment).
bool FlagGiven(absl::string_view name);

// --total-steps when it was given (command line, flag file or environment).
std::optional<int64_t> TotalStepsFlag();
// --engine when given (nullopt: not on the command line).
std::optional<std::string> EngineFlag();

}  // namespace proxima

#endif  // PROXIMA_LEARNER_CLI_PPO_FLAGS_H_
