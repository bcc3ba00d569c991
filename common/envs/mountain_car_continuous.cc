#include "common/envs/mountain_car_continuous.h"

#include <algorithm>
#include <cmath>

namespace proxima {
namespace {

constexpr double kMinAction = -1.0;
constexpr double kMaxAction = 1.0;
constexpr double kMinPosition = -1.2;
constexpr double kMaxPosition = 0.6;
constexpr double kMaxSpeed = 0.07;
constexpr double kGoalPosition = 0.45;
constexpr double kGoalVelocity = 0.0;
constexpr double kPower = 0.0015;

EnvSpec MakeSpec() {
  EnvSpec spec;
  spec.id = "MountainCarContinuous-v0";
  spec.observation_space =
      Space::Box({static_cast<float>(kMinPosition), static_cast<float>(-kMaxSpeed)},
                 {static_cast<float>(kMaxPosition), static_cast<float>(kMaxSpeed)});
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

void MountainCarContinuous::ResetState() {
  state_[kPosition] = rng_.Uniform(-0.6, -0.4);  // float64 until the first step
  state_[kVelocity] = 0.0;
}

StepResult MountainCarContinuous::StepState(const float* action) {
  const double a = action[0];  // float32 as the policy produced it
  const double force = std::min(std::max(a, kMinAction), kMaxAction);
  double position = state_[kPosition];
  double velocity = state_[kVelocity];
  velocity += force * kPower - 0.0025 * std::cos(3 * position);
  if (velocity > kMaxSpeed) velocity = kMaxSpeed;
  if (velocity < -kMaxSpeed) velocity = -kMaxSpeed;
  position += velocity;
  if (position > kMaxPosition) position = kMaxPosition;
  if (position < kMinPosition) position = kMinPosition;
  if (position == kMinPosition && velocity < 0) velocity = 0.0;

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
