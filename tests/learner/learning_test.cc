// Learning, not just running: CartPole-v1 in one process reaches the solved
// threshold (last-100 mean ≥ 475) within CleanRL's 500k-step budget.
#include "gtest/gtest.h"
#include "tests/learner/train_preset.h"

namespace proxima {
namespace {

using ::proxima::testing::TrainPresetUntilSolved;

TEST(LearningTest, CartPoleSolvedInProcessSeed1) {
  RunSummary s = TrainPresetUntilSolved("CartPole-v1", 1, 500000);
  ASSERT_TRUE(s.solved_at_step.has_value())
      << "last-100 mean only reached " << s.mean_return_last_100 << " after "
      << s.total_env_steps << " steps";
  EXPECT_LE(*s.solved_at_step, 500000);
  EXPECT_GE(s.mean_return_last_100, 475.0);
}

}  // namespace
}  // namespace proxima
