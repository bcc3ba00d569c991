#include "common/lm/task.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace proxima::lm {

const char* TaskSplitName(TaskSplit split) {
  return split == TaskSplit::kTrain ? "train" : "held-out";
}

absl::StatusOr<RewardMode> ParseRewardMode(absl::string_view mode) {
  if (mode == "exact") return RewardMode::kExactMatch;
  if (mode == "partial") return RewardMode::kPartialCredit;
  return absl::InvalidArgumentError(
      absl::StrCat("reward mode \"", mode, "\" is not one of: exact, partial"));
}

const char* RewardModeName(RewardMode mode) {
  return mode == RewardMode::kExactMatch ? "exact" : "partial";
}

absl::StatusOr<double> Task::Reward(absl::string_view prompt, absl::string_view completion,
                                    RewardMode mode) const {
  PROXIMA_ASSIGN_OR_RETURN(const std::string answer, Answer(prompt));
  return ScoreCompletion(answer, completion, mode);
}

double ScoreCompletion(absl::string_view answer, absl::string_view completion, RewardMode mode) {
  if (completion == answer) return 1.0;
  if (mode == RewardMode::kExactMatch) return 0.0;
  const size_t common = std::min(answer.size(), completion.size());
  size_t same = 0;
  for (size_t i = 0; i < common; ++i) same += answer[i] == completion[i] ? 1 : 0;
  // Not an exact match, so the longer length is positive and same < it.
  return static_cast<double>(same) /
         static_cast<double>(std::max(answer.size(), completion.size()));
}

bool HeldOutByKey(uint64_t key, uint64_t salt, double fraction) {
  const double u = static_cast<double>(MixSeed(key + salt) >> 11) * 0x1.0p-53;
  return u < fraction;
}

uint64_t TextKey(absl::string_view text) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

}  // namespace proxima::lm
