// AdditionTask ("lm/Addition-v0"): "A+B=" → the decimal sum, for operands of
// one to three digits ("12+345=" → "357").
//
// Operands are written without leading zeros (0 is "0"). Sample() first draws
// each operand's digit count uniformly from 1-3, then the operand uniformly
// among the numbers of that many digits, so short operands are as common as
// long ones. A problem is the unordered pair {A, B}: 12+345 and 345+12 are in
// the same split, so a held-out sum is never seen in training even with its
// operands swapped; 10% of pairs are held out (task.h, HeldOutByKey).
#ifndef PROXIMA_COMMON_LM_ADDITION_TASK_H_
#define PROXIMA_COMMON_LM_ADDITION_TASK_H_

#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/lm/task.h"

namespace proxima::lm {

class AdditionTask : public Task {
 public:
  static constexpr int kMaxOperand = 999;

  AdditionTask();

  const TaskSpec& spec() const override { return spec_; }
  TaskExample Sample(TaskSplit split, Rng& rng) const override;
  absl::StatusOr<std::string> Answer(absl::string_view prompt) const override;
  absl::StatusOr<TaskSplit> SplitOf(absl::string_view prompt) const override;

  // The split of the problem {a, b} (either order), both in [0, kMaxOperand].
  TaskSplit SplitOfPair(int a, int b) const;

 private:
  // The operands of "A+B="; InvalidArgument naming the prompt otherwise.
  absl::StatusOr<std::pair<int, int>> Parse(absl::string_view prompt) const;

  TaskSpec spec_;
};

}  // namespace proxima::lm

#endif  // PROXIMA_COMMON_LM_ADDITION_TASK_H_
