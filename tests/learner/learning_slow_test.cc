// Slow learning checks: more CartPole seeds and Acrobot-v1 (last-100 mean
// ≥ −100), in one process.
#include "gtest/gtest.h"
#include "learner/in_process_trainer.h"
#include "tests/test_util.h"

namespace proxima {
namespace {

RunSummary TrainOrDie(const std::string& env, uint64_t seed) {
  auto config = PresetFor(env);
  EXPECT_TRUE(config.ok()) << config.status();
  config->seed = seed;
  config->device = "cpu";
  TrainerOptions options;
  options.stop_when_solved = true;
  auto trainer = InProcessTrainer::Create(*config, options);
  EXPECT_TRUE(trainer.ok()) << trainer.status();
  auto summary = (*trainer)->Run();
  EXPECT_TRUE(summary.ok()) << summary.status();
  std::printf("%s seed %llu: solved_at_step %s, last-100 mean %.1f, %.0f steps/s\n", env.c_str(),
              static_cast<unsigned long long>(seed),
              summary->solved_at_step ? std::to_string(*summary->solved_at_step).c_str() : "never",
              summary->mean_return_last_100, summary->env_steps_per_second);
  return *summary;
}

class CartPoleSeeds : public ::testing::TestWithParam<int> {};

TEST_P(CartPoleSeeds, SolvedWithinPresetBudget) {
  RunSummary s = TrainOrDie("CartPole-v1", GetParam());
  EXPECT_TRUE(s.solved_at_step.has_value()) << "last-100 mean " << s.mean_return_last_100;
}

INSTANTIATE_TEST_SUITE_P(Seeds, CartPoleSeeds, ::testing::Values(2, 3, 4));

TEST(LearningSlowTest, AcrobotReachesMinus100) {
  RunSummary s = TrainOrDie("Acrobot-v1", 1);
  EXPECT_TRUE(s.solved_at_step.has_value()) << "last-100 mean " << s.mean_return_last_100;
}

}  // namespace
}  // namespace proxima
