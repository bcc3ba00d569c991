// Slow learning checks: more CartPole seeds and Acrobot-v1 (last-100 mean
// ≥ −100), in one process.
#include "gtest/gtest.h"
#include "tests/learner/train_preset.h"

namespace proxima {
namespace {

using ::proxima::testing::TrainPresetUntilSolved;

class CartPoleSeeds : public ::testing::TestWithParam<int> {};

TEST_P(CartPoleSeeds, SolvedWithinPresetBudget) {
  RunSummary s = TrainPresetUntilSolved("CartPole-v1", GetParam());
  EXPECT_TRUE(s.solved_at_step.has_value()) << "last-100 mean " << s.mean_return_last_100;
}

INSTANTIATE_TEST_SUITE_P(Seeds, CartPoleSeeds, ::testing::Values(2, 3, 4));

TEST(LearningSlowTest, AcrobotReachesMinus100) {
  RunSummary s = TrainPresetUntilSolved("Acrobot-v1", 1);
  EXPECT_TRUE(s.solved_at_step.has_value()) << "last-100 mean " << s.mean_return_last_100;
}

}  // namespace
}  // namespace proxima
