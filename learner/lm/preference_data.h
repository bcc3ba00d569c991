// Preference pairs: what `proxima lm preferences` writes and what the reward
// model (`proxima lm reward-model`) and DPO (`proxima lm dpo`) read.
//
// A pair is one prompt with two completions of it, the one a labeller
// preferred (chosen) and the other (rejected). Pairs made by `proxima lm
// preferences` also carry the hidden "true" scores of both completions (the
// task's rule reward plus the stated style term, docs/sequence-policies.md),
// kept aside for evaluation only: no training code reads them. Pairs a user
// writes may leave them out.
//
// File format: JSON Lines, UTF-8, one object per line, blank lines ignored:
//   {"prompt": "12+345=", "chosen": "357", "rejected": "358",
//    "true_chosen": 1.1, "true_rejected": 0.2, "noisy": false}
// "prompt", "chosen" and "rejected" are required non-empty strings (the
// completions are decoded text without the stop token) and chosen differs
// from rejected; "true_chosen"/"true_rejected" are optional finite numbers
// (both or neither); "noisy" (optional bool, default false) marks a pair
// whose label was flipped by the simulated labeller noise, so chosen is the
// truly worse completion. Unknown keys are an error (a misspelt key must not
// be silently dropped).
//
// Errors: ReadPreferences returns InvalidArgument naming the file, the
// 1-based line and the field ("prefs.jsonl line 7: \"chosen\": must be a
// non-empty string"); nothing is returned for a file with any bad row.
// NotFound for a missing file. WritePreferences writes atomically (temp file,
// rename) and fails with the path and the OS error; it refuses (InvalidArgument
// naming the 0-based pair) a pair that breaks the rules above.
#ifndef PROXIMA_LEARNER_LM_PREFERENCE_DATA_H_
#define PROXIMA_LEARNER_LM_PREFERENCE_DATA_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace proxima::lm {

struct PreferencePair {
  std::string prompt;
  std::string chosen;
  std::string rejected;
  std::optional<double> true_chosen;    // hidden true score (evaluation only)
  std::optional<double> true_rejected;  // present exactly when true_chosen is
  bool noisy = false;                   // the label was flipped by label noise
};

absl::StatusOr<std::vector<PreferencePair>> ReadPreferences(const std::string& path);
absl::Status WritePreferences(const std::string& path, const std::vector<PreferencePair>& pairs);

}  // namespace proxima::lm

#endif  // PROXIMA_LEARNER_LM_PREFERENCE_DATA_H_
