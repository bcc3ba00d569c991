// Learning, not just running: CartPole-v1 in one process reaches the solved
// threshold (last-100 mean ≥ 475) within CleanRL's 500k-step budget.
#include <cmath>

#include "gtest/gtest.h"
#include "learner/in_process_trainer.h"
#include "tests/test_util.h"

namespace proxima {
namespace {

RunSummary TrainOrDie(const std::string& env, uint64_t seed, int64_t steps) {
  auto config = PresetFor(env);
  EXPECT_TRUE(config.ok()) << config.status();
  config->seed = seed;
  config->total_steps = steps;
  config->device = "cpu";
  TrainerOptions options;
  options.stop_when_solved = true;
  auto trainer = InProcessTrainer::Create(*config, options);
  EXPECT_TRUE(trainer.ok()) << trainer.status();
  auto summary = (*trainer)->Run();
  EXPECT_TRUE(summary.ok()) << summary.status();
  return *summary;
}

TEST(LearningTest, CartPoleSolvedInProcessSeed1) {
  RunSummary s = TrainOrDie("CartPole-v1", 1, 500000);
  ASSERT_TRUE(s.solved_at_step.has_value())
      << "last-100 mean only reached " << s.mean_return_last_100 << " after "
      << s.total_env_steps << " steps";
  EXPECT_LE(*s.solved_at_step, 500000);
  EXPECT_GE(s.mean_return_last_100, 475.0);
  std::printf("CartPole-v1 seed 1: solved_at_step %lld, solved_at_seconds %.2f, %.0f steps/s\n",
              static_cast<long long>(*s.solved_at_step), *s.solved_at_seconds,
              s.env_steps_per_second);
}

}  // namespace
}  // namespace proxima
