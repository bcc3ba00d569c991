// Flags of the learner server, shared by `proxima-learner` and by
// `proxima train` (which starts a learner and forwards them).
//
// Linked only into executables (flags are defined where mains live).
#ifndef PROXIMA_LEARNER_CLI_LEARNER_FLAGS_H_
#define PROXIMA_LEARNER_CLI_LEARNER_FLAGS_H_

#include "absl/status/statusor.h"
#include "learner/server/learner_options.h"

namespace proxima {

// The learner options from the flags, validated (errors name the flag).
absl::StatusOr<LearnerOptions> LearnerOptionsFromFlags();

}  // namespace proxima

#endif  // PROXIMA_LEARNER_CLI_LEARNER_FLAGS_H_
