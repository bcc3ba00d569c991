// Continuous control learns, not just runs: Pendulum-v1 (diagonal Gaussian
// policy, the rl-baselines3-zoo preset) trained in one process for 409,600
// env steps with seed 1.
//
// Threshold from docs/benchmarks.md "Pendulum-v1 learning": with exactly this
// preset and budget, seeds 1, 2 and 3 ended at last-100 means of −189.6,
// −184.7 and −206.1, and after their first update (an unlearned policy) they
// scored −1,203 to −1,301. −400 leaves ~190 of margin below the worst seed and
// is still far above anything unlearned.
#include <cstdio>

#include "gtest/gtest.h"
#include "learner/in_process_trainer.h"

namespace proxima {
namespace {

constexpr int64_t kSteps = 409600;  // 100 updates of 4 envs × 1024 steps
constexpr double kThreshold = -400;

TEST(PendulumLearningTest, Seed1BeatsMinus400In409600Steps) {
  auto config = PresetFor("Pendulum-v1");
  ASSERT_TRUE(config.ok()) << config.status();
  config->seed = 1;
  config->total_steps = kSteps;
  config->device = "cpu";
  double first_mean_return = 0;
  TrainerOptions options;
  options.on_update = [&](const MetricsRow& row) {
    if (row.update == 1) first_mean_return = row.mean_return;
  };
  auto trainer = InProcessTrainer::Create(*config, options);
  ASSERT_TRUE(trainer.ok()) << trainer.status();
  auto summary = (*trainer)->Run();
  ASSERT_TRUE(summary.ok()) << summary.status();
  std::printf("Pendulum-v1 seed 1: last-100 mean %.1f after %lld steps (first update %.1f), "
              "%.0f steps/s\n",
              summary->mean_return_last_100, static_cast<long long>(summary->total_env_steps),
              first_mean_return, summary->env_steps_per_second);
  EXPECT_EQ(summary->total_env_steps, kSteps);
  EXPECT_LT(first_mean_return, -900);  // it started unlearned
  EXPECT_GE(summary->mean_return_last_100, kThreshold);
}

}  // namespace
}  // namespace proxima
