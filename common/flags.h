// Command-line parsing on top of Abseil's flag registry.
//
// Abseil's ParseCommandLine() exits with status 1 on an unknown flag and knows
// neither dashed names nor our exit-code convention, so Proxima parses argv
// itself and uses Abseil only for the registry and the value parsers
// (absl::FindCommandLineFlag + CommandLineFlag::ParseFrom):
//   * `--num-envs=8`, `--num_envs 8` and `--num-envs 8` are the same flag;
//   * boolean flags accept `--flag`, `--noflag`, `--flag=true|false`;
//   * `--flagfile=PATH` reads one flag per line, as `--flag=value` or
//     `--flag value` (blank lines and lines starting with '#' are skipped),
//     and may nest; an error in it is prefixed with "PATH:LINE: ";
//   * an unknown flag or a bad value is an InvalidArgument error naming it
//     (an unknown one with "did you mean --x?" when a flag's name is close);
//     mains print it and exit with status 2 (see ExitWithUsageError).
// Everything that is not a flag is returned as a positional argument; `--`
// ends flag parsing.
//
// Containers and orchestrators configure programs through the environment:
// ParseFlagsWithEnv() first applies every variable named <prefix><FLAG>, where
// FLAG is the flag's name upper-cased with dashes as underscores
// (PROXIMA_LEARNER_TOTAL_STEPS=5 is --total-steps=5, PROXIMA_LEARNER_FLAGFILE
// names a flag file), then the command line, which overrides the environment.
// Variables with an empty value are ignored. A variable with the prefix that
// names no flag, or holds a bad value, is an InvalidArgument error naming the
// variable.
#ifndef PROXIMA_COMMON_FLAGS_H_
#define PROXIMA_COMMON_FLAGS_H_

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace proxima {

struct ParsedArgs {
  std::vector<std::string> positional;
  bool help = false;  // --help or -h was given
  // Every flag that was set (command line, flag file, environment), by its
  // canonical name ("num_envs"), whatever the value (--actors 2 is in it
  // although 2 is the default).
  std::set<std::string> given;
};

absl::Status ParseFlags(const std::vector<std::string>& args, ParsedArgs* out);

// For commands with their own small flag sets (`proxima plot`, `proxima
// bench`): false unless `arg` starts with "--"; then *name is what follows up
// to '=', and *value the rest when has_value ("--out=x.png").
bool SplitLongFlag(const std::string& arg, std::string* name, std::string* value,
                   bool* has_value);

using EnvVars = std::vector<std::pair<std::string, std::string>>;

absl::Status ParseFlagsWithEnv(absl::string_view env_prefix, const EnvVars& env,
                               const std::vector<std::string>& args, ParsedArgs* out);

// The process environment as name/value pairs.
EnvVars ProcessEnvironment();

// Prints "<program>: <message>" and a hint to stderr and exits with status 2.
[[noreturn]] void ExitWithUsageError(absl::string_view program, const absl::Status& status);

// The candidate closest to `word` for a "did you mean" hint: the smallest
// case-insensitive edit distance (insert, delete, substitute, swap two
// neighbours), at most max(2, size/3) of the longer; or a candidate that
// starts with `word`. Ties go to the earlier candidate; "" when none is close.
std::string ClosestName(absl::string_view word, const std::vector<std::string>& candidates);

// Help text for the flags whose definitions live in files containing any of
// `file_substrings`: one line per flag with its help and default.
std::string FlagsHelp(const std::vector<std::string>& file_substrings);

}  // namespace proxima

#endif  // PROXIMA_COMMON_FLAGS_H_
