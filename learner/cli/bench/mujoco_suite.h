// `proxima bench --suite mujoco`: MuJoCo training throughput, and learning
// compared with CleanRL's published PPO figures (docs/benchmarks.md). Rows
// of suite "mujoco":
//   throughput/in-process, throughput/actors=N (N = 1, 2, 4)
//       `proxima train --env HalfCheetah-v4 --seed 1 --total-steps 200000
//       [--in-process | --actors N]` (quick: 20,480 steps): env steps/s,
//       learner and process wall seconds, summary.json's time per stage as
//       time_STAGE_seconds (none in-process), its bottleneck line as the
//       `bottleneck` param (null in-process), mean_lag, dropped_fraction
//       and the last-100 return.
//   learn/ENV/seed=S
//       `proxima train --env ENV --seed S --total-steps 1000000` (the
//       preset: CleanRL's ppo_continuous_action) on the default local
//       cluster (2 actors), for every env and seed of MujocoLearnPlan: the
//       row RunSeed writes (train_runs.h; the learning curve as its series)
//       plus learner_wall_seconds.
//   learn/ENV/summary
//       MujocoLearnSummaryRow over the env's seeds.
// Nothing here judges speed; `met` is the only verdict, and none is given
// in quick mode (short budgets: a smoke test).
#ifndef PROXIMA_LEARNER_BENCH_MUJOCO_SUITE_H_
#define PROXIMA_LEARNER_BENCH_MUJOCO_SUITE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "learner/cli/bench/bench.h"

namespace proxima::bench {

// CleanRL's published ppo_continuous_action result on a v4 env: the final
// episodic return after 1M env steps, mean ± std over 3 seeds.
struct CleanRlFigure {
  double mean = 0;
  double std = 0;
};
// HalfCheetah-v4, Hopper-v4, Walker2d-v4 and Humanoid-v4; nullopt for any
// other env.
std::optional<CleanRlFigure> CleanRlPpoFigure(const std::string& env);

// The learn rows' runs: every env × every seed at `total_steps`.
// Full: HalfCheetah-v4, Hopper-v4, Walker2d-v4 × seeds 1–3, 1,000,000 steps.
// Quick: HalfCheetah-v4 × seed 1, 20,480 steps.
struct MujocoLearnPlan {
  std::vector<std::string> envs;
  std::vector<int> seeds;
  int64_t total_steps = 0;
};
MujocoLearnPlan MujocoLearnPlanFor(bool quick);

// The row learn/ENV/summary over one env's runs, one entry per seed (unset:
// the run finished no episode, so has no last-100 return). Params: env,
// seeds (the entries), and the CleanRL figure in words (`cleanrl`); metrics:
//   mean_return_last_100  mean over the seeds that have one (null if none)
//   std_return_last_100   their sample standard deviation (n − 1; null
//                         below 2)
//   runs, missing         entries, and of which unset
//   cleanrl_mean, cleanrl_std   CleanRlPpoFigure (null without one)
//   met   1 when mean ≥ cleanrl_mean − cleanrl_std (within one CleanRL std
//         or above) and no seed is missing, else 0; null in quick mode,
//         without a CleanRL figure or without runs.
BenchRow MujocoLearnSummaryRow(const std::string& env,
                               const std::vector<std::optional<double>>& returns, bool quick);

}  // namespace proxima::bench

#endif  // PROXIMA_LEARNER_BENCH_MUJOCO_SUITE_H_
