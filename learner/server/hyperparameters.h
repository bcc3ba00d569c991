// Admin.SetHyperparameters on the learner: one KEY=VALUE applied to a
// PpoConfig (or, for max_policy_lag, to the LearnerOptions), and the
// config as the strings LearnerStatus.hyperparameters shows.
//
// Pure functions: thread-compatible, nothing blocks.
#ifndef PROXIMA_LEARNER_SERVER_HYPERPARAMETERS_H_
#define PROXIMA_LEARNER_SERVER_HYPERPARAMETERS_H_

#include <map>
#include <string>

#include "absl/status/status.h"
#include "learner/ppo_config.h"
#include "learner/server/learner_options.h"

namespace proxima {

// Applies one KEY=VALUE to `c` / `o`; keys are the config.json names (dashes
// are accepted too). InvalidArgument for a bad value or a key that cannot
// change while training. Not validated: call Validate().
absl::Status ApplyHyperparameter(std::string key, const std::string& value, PpoConfig* c,
                                 LearnerOptions* o);

// config.json's keys and values as strings (LearnerStatus.hyperparameters).
void ConfigToStrings(const PpoConfig& c, std::map<std::string, std::string>* out);

}  // namespace proxima

#endif  // PROXIMA_LEARNER_SERVER_HYPERPARAMETERS_H_
