// libFuzzer target: proxima-learner's command line, flag file and
// environment, parsed as learner_main.cc parses them.
//
// The input is text in up to three parts separated by NUL bytes:
//   1. command-line arguments, one per line;
//   2. the contents of a flag file (written to a scratch file, scratch_dir.h;
//      `--flagfile=PATH` is appended to the arguments when it is non-empty);
//   3. environment variables, NAME=VALUE per line, offered to
//      ParseFlagsWithEnv with the learner's prefix PROXIMA_LEARNER_.
// After parsing, LearnerOptionsFromFlags and PpoConfigFromFlags turn the
// flags into validated structs, as before a learner starts (except for
// remote:// env ids, see below). The flags are
// process-wide, so an absl::FlagSaver restores every one after each input:
// no input sees another's values.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "common/flags.h"
#include "learner/cli/learner_flags.h"
#include "learner/cli/ppo_flags.h"
#include "tests/fuzz/scratch_dir.h"

namespace proxima {
namespace {

void RunOne(absl::string_view input) {
  std::vector<absl::string_view> parts = absl::StrSplit(input, absl::MaxSplits('\0', 2));
  std::vector<std::string> args;
  for (absl::string_view line : absl::StrSplit(parts[0], '\n', absl::SkipEmpty())) {
    args.emplace_back(line);
  }
  if (parts.size() > 1 && !parts[1].empty()) {
    args.push_back(absl::StrCat("--flagfile=", fuzz::WriteScratchFile("flags", parts[1])));
  }
  EnvVars env;
  if (parts.size() > 2) {
    for (absl::string_view line : absl::StrSplit(parts[2], '\n', absl::SkipEmpty())) {
      std::pair<std::string, std::string> kv = absl::StrSplit(line, absl::MaxSplits('=', 1));
      env.push_back(std::move(kv));
    }
  }

  absl::FlagSaver restore_flags;
  ParsedArgs parsed;
  if (!ParseFlagsWithEnv("PROXIMA_LEARNER_", env, args, &parsed).ok()) return;
  // A remote:// env id makes PpoConfigFromFlags ask that env server for the
  // spec (network I/O with a timeout, not parsing): skipped.
  const absl::CommandLineFlag* env_flag = absl::FindCommandLineFlag("env");
  if (env_flag != nullptr && absl::StrContains(env_flag->CurrentValue(), "://")) return;
  (void)LearnerOptionsFromFlags();
  (void)PpoConfigFromFlags();
}

}  // namespace
}  // namespace proxima

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  proxima::RunOne(absl::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
