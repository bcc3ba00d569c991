#include "common/envs/mountain_car_continuous.h"

#include <algorithm>
#include <cmath>

namespace proxima {
namespace {

constexpr double kMinAction = -1.0;
constexpr double kMaxAction = 1.0;
constexpr double kGoalPosition = 0.45;
constexpr double kPower = 0.0015;

}  // namespace

EnvSpec MountainCarContinuous::MakeSpec() {
  return RegisteredSpec(
      "MountainCarContinuous-v0", ObservationSpace(),
      Space::Box({static_cast<float>(kMinAction)}, {static_cast<float>(kMaxAction)}),
      /*max_episode_steps=*/999, /*reward_threshold=*/90.0);
}

StepResult MountainCarContinuous::StepState(const float* action) {
  const double a = action[0];  // float32 as the policy produced it
  const double force = std::min(std::max(a, kMinAction), kMaxAction);
  Drive(force * kPower - 0.0025 * std::cos(3 * state_[kPosition]));

  StepResult r;
  r.terminated = AtGoal(kGoalPosition);
  r.reward = r.terminated ? 100.0 : 0.0;
  r.reward -= (a * a) * 0.1;  // the unclipped action, as Gymnasium does
  // Gymnasium stores the new state as a float32 array.
  for (double& x : state_) x = static_cast<float>(x);
  return r;
}

}  // namespace proxima
