// Flags of the learner server, shared by `proxima-learner` and by
// `proxima train` (which starts a learner and forwards them).
//
// Linked only into executables (flags are defined where mains live).
#ifndef PROXIMA_LEARNER_CLI_LEARNER_FLAGS_H_
#define PROXIMA_LEARNER_CLI_LEARNER_FLAGS_H_

#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "learner/resume_config.h"
#include "learner/server/learner_options.h"

namespace proxima {

// The learner options from the flags, validated (errors name the flag).
absl::StatusOr<LearnerOptions> LearnerOptionsFromFlags();

// The settings given again with --resume (learner/resume_config.h):
// ResumeChangesFromFlags() (learner/cli/ppo_flags.h), which sees a flag only
// when its value differs from its default, plus --env whenever `given`
// (ParsedArgs::given, common/flags.h: set on the command line, in a flag
// file or the environment) holds it: `--env CartPole-v1`, the default, given
// to resume an Acrobot-v1 run is a change to refuse. (The PPO flags have no
// default value, so for them "given" and "differs from the default" agree.)
ResumeChanges ResumeChangesGiven(const std::set<std::string>& given);

}  // namespace proxima

#endif  // PROXIMA_LEARNER_CLI_LEARNER_FLAGS_H_
