// What `proxima COMMAND --help` and `proxima presets [ENV]` print.
//
// CommandHelp lists only the flags of one command, in groups (for `train`:
// run, model, optimization, objective, execution, launch, learner server).
// Each PPO hyperparameter flag (learner/cli/ppo_flags.cc) shows the value it
// takes when not given — PresetFor(env_id), the preset of --env — and where
// that value comes from (PresetSources, learner/ppo_config.h); other flags
// show their flag default. Flags that later files add to learner_flags.cc or
// ppo_flags.cc land in the "learner server" / "other PPO" group of `train`
// without a change here.
//
// PresetsCommand: with no env, one line per registered env with the values
// that differ from PpoConfig's defaults; with ENV, every value of its preset
// with its source.
//
// Reads the Abseil flag registry: link only into executables that define the
// flags (the `proxima` executable).
#ifndef PROXIMA_LEARNER_CLI_COMMAND_HELP_H_
#define PROXIMA_LEARNER_CLI_COMMAND_HELP_H_

#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace proxima {

// The help of `command` ("train", "eval", "export", "status", "env", ...):
// a usage line and its flags. NotFound for a command without its own help;
// InvalidArgument for an unknown `env_id` (train only).
absl::StatusOr<std::string> CommandHelp(const std::string& command, const std::string& env_id);

// `proxima COMMAND --help`: prints CommandHelp(command, env_id), or `usage`
// (the overall usage) for a command without its own help; exits 2 for an
// unknown `env_id`. Returns the exit status (0).
int PrintCommandHelp(const std::string& command, const std::string& env_id, const char* usage);

// What stderr lines start with (SetProcessName): the command, as in
// "proxima train" or "proxima env replay"; "proxima" without one.
std::string CommandProgramName(const std::vector<std::string>& positional);

// `proxima presets [ENV]`: exit status 0, or 2 for an unknown env or more
// than one argument.
int PresetsCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace proxima

#endif  // PROXIMA_LEARNER_CLI_COMMAND_HELP_H_
