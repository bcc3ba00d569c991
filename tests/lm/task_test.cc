#include "common/lm/task.h"

#include <algorithm>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/lm/addition_task.h"
#include "common/lm/char_tokenizer.h"
#include "common/lm/digit_string_task.h"
#include "common/lm/task_registry.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/test_util.h"

namespace proxima::lm {
namespace {

using ::proxima::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::unique_ptr<Task> MustMake(const std::string& id) {
  auto task = MakeTask(id);
  EXPECT_TRUE(task.ok()) << task.status();
  return task.ok() ? std::move(*task) : nullptr;
}

TEST(TaskRegistryTest, EveryIdMakesItsTaskAndUnknownIdsAreNamed) {
  EXPECT_THAT(TaskIds(), ElementsAre("lm/Addition-v0", "lm/Reverse-v0", "lm/Sort-v0"));
  for (const std::string& id : TaskIds()) {
    auto task = MustMake(id);
    ASSERT_NE(task, nullptr);
    EXPECT_EQ(task->spec().id, id);
    EXPECT_TRUE(IsTaskId(id));
  }
  EXPECT_FALSE(IsTaskId("CartPole-v1"));
  EXPECT_THAT(MakeTask("lm/Adition-v0"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("unknown task id \"lm/Adition-v0\""),
                             HasSubstr("did you mean \"lm/Addition-v0\""),
                             HasSubstr("lm/Reverse-v0, lm/Sort-v0"))));
}

TEST(AdditionTaskTest, AnswersAndRewardsByTheRule) {
  const AdditionTask task;
  EXPECT_EQ(task.Answer("12+345=").value(), "357");
  EXPECT_EQ(task.Answer("0+0=").value(), "0");
  EXPECT_EQ(task.Answer("999+999=").value(), "1998");
  EXPECT_EQ(task.Reward("12+345=", "357", RewardMode::kExactMatch).value(), 1.0);
  EXPECT_EQ(task.Reward("12+345=", "358", RewardMode::kExactMatch).value(), 0.0);
  EXPECT_DOUBLE_EQ(task.Reward("12+345=", "358", RewardMode::kPartialCredit).value(), 2.0 / 3);
  EXPECT_EQ(task.Reward("12+345=", "357", RewardMode::kPartialCredit).value(), 1.0);
}

TEST(AdditionTaskTest, MalformedPromptsAreNamed) {
  const AdditionTask task;
  for (const char* prompt : {"12+345", "12345=", "1234+1=", "01+2=", "1+a=", "+2=", "1+2+3=", ""}) {
    EXPECT_THAT(task.Answer(prompt), StatusIs(absl::StatusCode::kInvalidArgument,
                                              HasSubstr(absl::StrCat("\"", prompt, "\""))))
        << prompt;
    EXPECT_FALSE(task.SplitOf(prompt).ok()) << prompt;
  }
  EXPECT_THAT(task.Answer("01+2="), StatusIs(absl::StatusCode::kInvalidArgument,
                                             HasSubstr("first operand \"01\" has a leading zero")));
  EXPECT_THAT(task.Answer("1+1000="),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("second operand \"1000\" has more than 3 digits")));
  EXPECT_FALSE(task.Reward("1+2", "3", RewardMode::kExactMatch).ok());
}

TEST(AdditionTaskTest, HeldOutPairsNeverAppearInTraining) {
  const AdditionTask task;
  // The split over every ordered pair: a tenth, the same for (a, b) and (b, a).
  int held_out = 0;
  for (int a = 0; a <= AdditionTask::kMaxOperand; ++a) {
    for (int b = 0; b <= AdditionTask::kMaxOperand; ++b) {
      const TaskSplit split = task.SplitOfPair(a, b);
      held_out += split == TaskSplit::kHeldOut ? 1 : 0;
      if (b < a) {
        ASSERT_EQ(split, task.SplitOfPair(b, a)) << a << "+" << b;
      }
    }
  }
  EXPECT_NEAR(held_out / 1e6, 0.1, 0.005);

  Rng rng(7);
  std::set<std::pair<int, int>> train_pairs;
  std::set<int> operand_digits;
  for (int i = 0; i < 20000; ++i) {
    const TaskExample ex = task.Sample(TaskSplit::kTrain, rng);
    ASSERT_EQ(task.SplitOf(ex.prompt).value(), TaskSplit::kTrain) << ex.prompt;
    ASSERT_EQ(task.Answer(ex.prompt).value(), ex.answer);
    ASSERT_LE(static_cast<int>(ex.prompt.size()), task.spec().max_prompt_chars);
    ASSERT_LE(static_cast<int>(ex.answer.size()), task.spec().max_answer_chars);
    const size_t plus = ex.prompt.find('+');
    const int a = std::stoi(ex.prompt.substr(0, plus));
    const int b = std::stoi(ex.prompt.substr(plus + 1));
    train_pairs.insert({std::min(a, b), std::max(a, b)});
    operand_digits.insert(static_cast<int>(plus));
  }
  EXPECT_THAT(operand_digits, ElementsAre(1, 2, 3));
  for (int i = 0; i < 2000; ++i) {
    const TaskExample ex = task.Sample(TaskSplit::kHeldOut, rng);
    ASSERT_EQ(task.SplitOf(ex.prompt).value(), TaskSplit::kHeldOut) << ex.prompt;
    const size_t plus = ex.prompt.find('+');
    const int a = std::stoi(ex.prompt.substr(0, plus));
    const int b = std::stoi(ex.prompt.substr(plus + 1));
    ASSERT_EQ(train_pairs.count({std::min(a, b), std::max(a, b)}), 0u) << ex.prompt;
  }
}

TEST(AdditionTaskTest, SamplingIsDeterministicForASeed) {
  const AdditionTask task;
  Rng a(11);
  Rng b(11);
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(task.Sample(TaskSplit::kHeldOut, a).prompt,
              task.Sample(TaskSplit::kHeldOut, b).prompt);
  }
}

TEST(DigitStringTaskTest, ReverseAndSortAnswerByTheRule) {
  const DigitStringTask reverse(DigitStringTask::Kind::kReverse);
  const DigitStringTask sort(DigitStringTask::Kind::kSort);
  EXPECT_EQ(reverse.Answer("r40719=").value(), "91704");
  EXPECT_EQ(sort.Answer("s40719=").value(), "01479");
  EXPECT_EQ(reverse.Answer("r00=").value(), "00");
  EXPECT_DOUBLE_EQ(reverse.Reward("r1234=", "4300", RewardMode::kPartialCredit).value(), 0.5);
  EXPECT_THAT(
      reverse.Answer("s40719="),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr("lm/Reverse-v0 prompt \"s40719=\""), HasSubstr("rDIGITS="))));
  EXPECT_THAT(reverse.Answer("r1="),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("has 1 digits")));
  EXPECT_THAT(sort.Answer("s1234567="),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("has 7 digits")));
  EXPECT_THAT(sort.Answer("s12+4="),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'+', not a digit")));
}

TEST(DigitStringTaskTest, SplitsAreDisjointAndPromptsFitTheTokenizer) {
  const CharTokenizer tok;
  for (const char* id : {"lm/Reverse-v0", "lm/Sort-v0"}) {
    auto task = MustMake(id);
    ASSERT_NE(task, nullptr);
    Rng rng(3);
    std::set<std::string> train;
    for (int i = 0; i < 5000; ++i) {
      const TaskExample ex = task->Sample(TaskSplit::kTrain, rng);
      ASSERT_EQ(task->SplitOf(ex.prompt).value(), TaskSplit::kTrain) << ex.prompt;
      ASSERT_EQ(task->Answer(ex.prompt).value(), ex.answer);
      ASSERT_TRUE(tok.Encode(ex.prompt).ok()) << ex.prompt;
      ASSERT_LE(static_cast<int>(ex.prompt.size()), task->spec().max_prompt_chars);
      train.insert(ex.prompt);
    }
    for (int i = 0; i < 1000; ++i) {
      const TaskExample ex = task->Sample(TaskSplit::kHeldOut, rng);
      ASSERT_EQ(task->SplitOf(ex.prompt).value(), TaskSplit::kHeldOut) << ex.prompt;
      ASSERT_EQ(train.count(ex.prompt), 0u) << ex.prompt;
    }
  }
}

TEST(ScoreCompletionTest, PartialCreditCountsPositionsOverTheLongerLength) {
  EXPECT_EQ(ScoreCompletion("357", "357", RewardMode::kPartialCredit), 1.0);
  EXPECT_DOUBLE_EQ(ScoreCompletion("357", "3570", RewardMode::kPartialCredit), 0.75);
  EXPECT_DOUBLE_EQ(ScoreCompletion("357", "35", RewardMode::kPartialCredit), 2.0 / 3);
  EXPECT_EQ(ScoreCompletion("357", "", RewardMode::kPartialCredit), 0.0);
  EXPECT_DOUBLE_EQ(ScoreCompletion("357", "753", RewardMode::kPartialCredit), 1.0 / 3);
  EXPECT_EQ(ScoreCompletion("357", "3570", RewardMode::kExactMatch), 0.0);
  EXPECT_EQ(ParseRewardMode("partial").value(), RewardMode::kPartialCredit);
  EXPECT_EQ(ParseRewardMode("exact").value(), RewardMode::kExactMatch);
  EXPECT_THAT(ParseRewardMode("fuzzy"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("\"fuzzy\"")));
}

}  // namespace
}  // namespace proxima::lm
