// Continuous control learns, not just runs: Pendulum-v1 (diagonal Gaussian
// policy, CleanRL's continuous preset) trained in one process for 409,600
// env steps with seed 1.
//
// Threshold from docs/benchmarks.md: with the preset this test was written
// for (rl-baselines3-zoo's), seeds 1–3 ended at −189.6, −184.7 and −206.1;
// CleanRL's preset, the default since, is at −159 to −167 by 411k steps
// (seeds 1–3). After the first update (an unlearned policy) runs score
// −1,200 to −1,300. −400 leaves ample margin and is still far above anything
// unlearned.
#include <cstdio>

#include "gtest/gtest.h"
#include "learner/in_process_trainer.h"

namespace proxima {
namespace {

constexpr int64_t kSteps = 409600;  // 200 updates of 1 env × 2048 steps
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
