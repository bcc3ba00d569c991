#include "common/envs/mountain_car_continuous.h"

#include <algorithm>
#include <cmath>

namespace proxima {
namespace {

constexpr double kMinAction = -1.0;
constexpr double kMaxAction = 1.0;
constexpr double kGoalPosition = 0.45;
constexpr double kGoalVelocity = 0.0;
constexpr double kPower = 0.0015;

EnvSpec MakeSpec() {
  EnvSpec spec;
  spec.id = "MountainCarContinuous-v0";
  spec.observation_space = MountainCarContinuous::ObservationSpace();
  spec.action_space =
      Space::Box({static_cast<float>(kMinAction)}, {static_cast<float>(kMaxAction)});
  spec.max_episode_steps = 999;
  spec.has_reward_threshold = true;
  spec.reward_threshold = 90.0;
  spec.state_dim = MountainCarContinuous::kStateDim;
  return spec;
}

}  // namespace

const EnvSpec& MountainCarContinuous::Spec() {
  static const EnvSpec* const spec = new EnvSpec(MakeSpec());
  return *spec;
}

StepResult MountainCarContinuous::StepState(const float* action) {
  const double a = action[0];  // float32 as the policy produced it
  const double force = std::min(std::max(a, kMinAction), kMaxAction);
  double position = state_[kPosition];
  double velocity = state_[kVelocity];
  Drive(force * kPower - 0.0025 * std::cos(3 * position), &position, &velocity);

  StepResult r;
  r.terminated = position >= kGoalPosition && velocity >= kGoalVelocity;
  r.reward = r.terminated ? 100.0 : 0.0;
  r.reward -= (a * a) * 0.1;  // the unclipped action, as Gymnasium does
  // Gymnasium stores the new state as a float32 array.
  state_[kPosition] = static_cast<float>(position);
  state_[kVelocity] = static_cast<float>(velocity);
  return r;
}

}  // namespace proxima
