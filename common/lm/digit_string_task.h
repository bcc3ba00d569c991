// DigitStringTask: tasks over a string of digits whose answer takes several
// tokens of position-by-position work:
//   "lm/Reverse-v0"  "r40719=" → "91704"  (the digits in reverse order)
//   "lm/Sort-v0"     "s40719=" → "01479"  (the digits in ascending order)
// Strings have 2-6 digits, leading zeros allowed; Sample() draws the length
// uniformly, then each digit uniformly. A problem is the digit string itself
// ("40719" and "04719" are different problems); 10% of strings are held out
// (task.h, HeldOutByKey on TextKey of the string, salted per task).
#ifndef PROXIMA_COMMON_LM_DIGIT_STRING_TASK_H_
#define PROXIMA_COMMON_LM_DIGIT_STRING_TASK_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/lm/task.h"

namespace proxima::lm {

class DigitStringTask : public Task {
 public:
  enum class Kind { kReverse, kSort };
  static constexpr int kMinDigits = 2;
  static constexpr int kMaxDigits = 6;

  explicit DigitStringTask(Kind kind);

  const TaskSpec& spec() const override { return spec_; }
  TaskExample Sample(TaskSplit split, Rng& rng) const override;
  absl::StatusOr<std::string> Answer(absl::string_view prompt) const override;
  absl::StatusOr<TaskSplit> SplitOf(absl::string_view prompt) const override;

 private:
  // The digit string of "<letter><digits>="; InvalidArgument naming the
  // prompt otherwise.
  absl::StatusOr<absl::string_view> Parse(absl::string_view prompt) const;
  TaskSplit SplitOfDigits(absl::string_view digits) const;
  std::string Solve(absl::string_view digits) const;

  Kind kind_;
  char letter_;
  uint64_t salt_;
  TaskSpec spec_;
};

}  // namespace proxima::lm

#endif  // PROXIMA_COMMON_LM_DIGIT_STRING_TASK_H_
