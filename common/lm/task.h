// Task: a sequence task as an environment for a language-model policy — a
// prompt source with a held-out split and a rule reward.
//
// A task writes prompts as text ("12+345="); the policy completes them; the
// reward is computed from the prompt and the completion by the task's rule,
// never by a model. Answer() recomputes the expected answer from the prompt
// alone, so whoever holds a prompt and a completion (an actor, the learner,
// an evaluator) scores it identically.
//
// Splits: every prompt belongs to exactly one split, kTrain or kHeldOut,
// decided by a fixed hash of what defines the problem (HeldOutByKey), so the
// split is the same on every machine and run and a held-out problem is never
// drawn for training (supervised warm start or RL). Sample(split) draws only
// from that split.
//
// Rewards (RewardMode): kExactMatch is 1 when the completion equals the
// answer, else 0; kPartialCredit is the fraction of answer positions whose
// character the completion has at the same position, divided by the longer
// of the two lengths (so extra characters cost too); it is 1 only for an
// exact match.
//
// Tasks are immutable: all methods are const and thread-safe.
#ifndef PROXIMA_COMMON_LM_TASK_H_
#define PROXIMA_COMMON_LM_TASK_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/rng.h"

namespace proxima::lm {

enum class TaskSplit { kTrain, kHeldOut };
enum class RewardMode { kExactMatch, kPartialCredit };

const char* TaskSplitName(TaskSplit split);
// "exact" or "partial"; anything else is InvalidArgument naming the value.
absl::StatusOr<RewardMode> ParseRewardMode(absl::string_view mode);
const char* RewardModeName(RewardMode mode);

struct TaskExample {
  std::string prompt;  // e.g. "12+345="
  std::string answer;  // e.g. "357"
};

struct TaskSpec {
  std::string id;                  // "lm/Addition-v0" (common/lm/task_registry.h)
  std::string description;         // one line for listings
  int max_prompt_chars = 0;        // longest prompt text (no <bos>)
  int max_answer_chars = 0;        // longest answer text (no <eos>)
  double held_out_fraction = 0.0;  // share of problems in kHeldOut
};

class Task {
 public:
  virtual ~Task() = default;

  virtual const TaskSpec& spec() const = 0;

  // One example of `split`, drawn with `rng` (same rng state, same example).
  virtual TaskExample Sample(TaskSplit split, Rng& rng) const = 0;

  // The answer the rule gives for `prompt`; InvalidArgument naming the prompt
  // and what is wrong when the task never writes such a prompt.
  virtual absl::StatusOr<std::string> Answer(absl::string_view prompt) const = 0;

  // The split `prompt` belongs to; InvalidArgument as for Answer().
  virtual absl::StatusOr<TaskSplit> SplitOf(absl::string_view prompt) const = 0;

  // ScoreCompletion(Answer(prompt), completion, mode). `completion` is the
  // decoded text without the stop token.
  absl::StatusOr<double> Reward(absl::string_view prompt, absl::string_view completion,
                                RewardMode mode) const;
};

// The reward of `completion` against `answer` (see the file comment).
double ScoreCompletion(absl::string_view answer, absl::string_view completion, RewardMode mode);

// True when a problem with key `key` is held out: a SplitMix64 hash of
// key + salt, as a uniform number in [0, 1), is below `fraction`.
bool HeldOutByKey(uint64_t key, uint64_t salt, double fraction);

// FNV-1a of `text`: a stable key for string-valued problems.
uint64_t TextKey(absl::string_view text);

}  // namespace proxima::lm

#endif  // PROXIMA_COMMON_LM_TASK_H_
