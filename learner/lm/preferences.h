// Simulated preference labelling: what `proxima lm preferences` does.
//
// The hidden "true" preference (docs/sequence-policies.md, "Preferences and
// reward model") scores a completion of a task prompt as
//
//   true = rule reward of the completion's answer part + style term,
//
// the rule reward being the task's (Task::Reward, exact match or partial
// credit), the style term one of (StyleKind):
//   kNone     0;
//   kLength   weight · min(characters of the completion, cap): a bonus for
//             longer completions, so length — which the SFT policy varies at
//             temperature 1 — is a feature a reward model can latch onto and
//             a policy can push past the cap, where it only costs answers;
//   kPadding  weight · min(trailing copies of `pad`, cap): trailing padding
//             characters are stripped before the rule reward (they do not
//             change the answer) and each earns the bonus, capped.
//
// MakePreferences samples two completions per prompt from the policy (at
// options.temperature, 1 by default; common/lm/generation.h), scores both,
// drops pairs whose true scores are equal (identical completions included),
// and pairs whose completions do not decode or are empty, labels the better
// one "chosen", and with probability label_noise swaps the two (marking the
// pair noisy: the simulated labeller disagreed). Training pairs come from the
// task's kTrain prompts, held-out pairs from its kHeldOut prompts (task.h),
// so a reward model is evaluated on problems it never saw. Deterministic for
// a seed, model and thread count. InvalidArgument naming the option at fault;
// FailedPrecondition when too few pairs come out of options.max_attempts
// prompts (a policy whose two samples almost always tie).
#ifndef PROXIMA_LEARNER_LM_PREFERENCES_H_
#define PROXIMA_LEARNER_LM_PREFERENCES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/lm/seq_policy.h"
#include "common/lm/task.h"
#include "common/lm/tokenizer.h"
#include "learner/lm/preference_data.h"

namespace proxima::lm {

enum class StyleKind { kNone, kLength, kPadding };

struct StyleTerm {
  StyleKind kind = StyleKind::kLength;
  double weight = 0.1;
  int cap = 4;
  char pad = '=';  // kPadding only

  // "none", "length" or "pad:C" (C one printable character); InvalidArgument
  // naming the text otherwise.
  static absl::StatusOr<StyleTerm> Parse(absl::string_view text, double weight, int cap);
  std::string Name() const;  // as Parse reads it
  absl::Status Validate() const;
};

// The style term of `completion` and the part the rule reward judges.
double StyleScore(const StyleTerm& style, absl::string_view completion);
absl::string_view AnswerPart(const StyleTerm& style, absl::string_view completion);

// The hidden true score of `completion` (decoded, no stop token) for
// `prompt`: the file comment's formula. The task's errors for a prompt it
// never writes.
absl::StatusOr<double> TrueScore(const Task& task, absl::string_view prompt,
                                 absl::string_view completion, const StyleTerm& style,
                                 RewardMode mode);

struct PreferenceOptions {
  int pairs = 2000;          // training pairs (kTrain prompts)
  int held_out_pairs = 0;    // evaluation pairs (kHeldOut prompts); 0: none
  double label_noise = 0.1;  // probability of swapping a pair's label
  double temperature = 1.0;
  int max_new_tokens = 0;  // 0: the task's longest answer + 1 (+ cap for kPadding)
  RewardMode reward = RewardMode::kExactMatch;
  StyleTerm style;
  uint64_t seed = 1;
  int max_attempts_per_pair = 20;  // prompts tried per wanted pair before giving up

  absl::Status Validate() const;
};

struct PreferenceStats {
  int prompts = 0;             // prompts sampled (two completions each)
  int tied = 0;                // dropped: equal true scores
  int undecodable = 0;         // dropped: a completion with a special token or empty
  int noisy = 0;               // labels swapped
  double mean_true = 0.0;      // over the completions of kept pairs
  double rule_nonzero = 0.0;   // fraction of sampled completions with a rule reward
  double style_differs = 0.0;  // fraction of kept pairs whose style terms differ
};

struct PreferenceSet {
  std::vector<PreferencePair> train;
  std::vector<PreferencePair> held_out;
  PreferenceStats train_stats;
  PreferenceStats held_out_stats;
};

absl::StatusOr<PreferenceSet> MakePreferences(SeqPolicyImpl& model, const Task& task,
                                              const Tokenizer& tokenizer,
                                              const PreferenceOptions& options);

}  // namespace proxima::lm

#endif  // PROXIMA_LEARNER_LM_PREFERENCES_H_
