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
// TrainStartLines: what `proxima train` prints as it starts, from the same
// preset and sources — which preset, which values flags changed, the key
// hyperparameters and the run directory.
//
// Reads the Abseil flag registry: link only into executables that define the
// flags (the `proxima` executable).
#ifndef PROXIMA_LEARNER_CLI_COMMAND_HELP_H_
#define PROXIMA_LEARNER_CLI_COMMAND_HELP_H_

#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/flags.h"
#include "learner/ppo_config.h"

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

// The common start of `proxima` and `proxima-torch`: parses `args`
// (common/flags.h) into *parsed, names the process after the command,
// prints the help asked for (`proxima COMMAND --help`: PrintCommandHelp with
// --env's preset; `--help` or no command: `usage`) and exits 2 naming a bad
// flag. Returns the exit status when that was all (help: 0, no command: 2),
// nullopt when parsed->positional[0] is a command to run.
std::optional<int> ParseCommandLine(const std::vector<std::string>& args, const char* usage,
                                    ParsedArgs* parsed);

// `proxima presets [ENV]`: exit status 0, or 2 for an unknown env or more
// than one argument.
int PresetsCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// The lines `proxima train` prints on stderr before it trains, e.g.
//
//   proxima train: CartPole-v1, preset from CleanRL ppo.py; from flags: seed=3
//     4 envs x 128 steps, 4 epochs x 4 minibatches, lr 0.00025 (annealed)
//     gamma 0.99, gae-lambda 0.95, clip-coef 0.2, ent-coef 0.01, 500000 env steps
//     run directory: runs/CartPole-v1-3
//
// `config` is the resolved config, `given` the flags set (ParsedArgs::given,
// common/flags.h). A value set by a PPO flag is listed under "from flags";
// one that is neither the preset's nor a flag's (the local cluster splits a
// MuJoCo preset's env column over its actors) under "set by proxima train".
// With `resumed_from` (the checkpoint's path) the values are the
// checkpoint's, and "from flags" lists those given again. Each line ends
// with a newline.
std::string TrainStartLines(const PpoConfig& config, const std::set<std::string>& given,
                            const std::string& run_dir, const std::string& resumed_from);

}  // namespace proxima

#endif  // PROXIMA_LEARNER_CLI_COMMAND_HELP_H_
