// The PPO hyperparameter flags shared by `proxima train` and `proxima-learner`.
//
// Every flag is optional: an unset flag keeps the value of the env's preset
// (learner/ppo_config.h), a set one overrides it. The flags are generated
// from the field list (learner/ppo_config_field_list.h: name, help, and a
// type that follows the field's), --env and the alias --lr written out; each
// is mapped onto its field through the field table
// (learner/ppo_config_fields.h: a row's flag, then its alias). Linked only
// into executables (flags are defined where mains live).
#ifndef PROXIMA_LEARNER_CLI_PPO_FLAGS_H_
#define PROXIMA_LEARNER_CLI_PPO_FLAGS_H_

#include <cstdint>
#include <map>
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

// The PPO settings given (a flag or its alias whose value differs from its
// default; --env when not CartPole-v1), as config key → value text: what a
// resumed run compares with its checkpoint (learner/resume_config.h).
std::map<std::string, std::string> ResumeChangesFromFlags();

}  // namespace proxima

#endif  // PROXIMA_LEARNER_CLI_PPO_FLAGS_H_
