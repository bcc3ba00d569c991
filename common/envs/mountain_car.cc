#include "common/envs/mountain_car.h"

#include <algorithm>
#include <cmath>

namespace proxima {
namespace {

constexpr double kMinPosition = -1.2;
constexpr double kMaxPosition = 0.6;
constexpr double kMaxSpeed = 0.07;
constexpr double kGoalPosition = 0.5;
constexpr double kGoalVelocity = 0.0;
constexpr double kForce = 0.001;
constexpr double kGravity = 0.0025;

EnvSpec MakeSpec() {
  EnvSpec spec;
  spec.id = "MountainCar-v0";
  spec.observation_space =
      Space::Box({static_cast<float>(kMinPosition), static_cast<float>(-kMaxSpeed)},
                 {static_cast<float>(kMaxPosition), static_cast<float>(kMaxSpeed)});
  spec.action_space = Space::Discrete(3);
  spec.max_episode_steps = 200;
  spec.has_reward_threshold = true;
  spec.reward_threshold = -110.0;
  spec.state_dim = MountainCar::kStateDim;
  return spec;
}

}  // namespace

const EnvSpec& MountainCar::Spec() {
  static const EnvSpec* const spec = new EnvSpec(MakeSpec());
  return *spec;
}

void MountainCar::ResetState() {
  state_[kPosition] = rng_.Uniform(-0.6, -0.4);
  state_[kVelocity] = 0.0;
}

StepResult MountainCar::StepState(const float* action) {
  const int a = DiscreteActionIndex(action[0], 3);
  double position = state_[kPosition];
  double velocity = state_[kVelocity];
  velocity += (a - 1) * kForce + std::cos(3 * position) * (-kGravity);
  velocity = std::min(std::max(velocity, -kMaxSpeed), kMaxSpeed);
  position += velocity;
  position = std::min(std::max(position, kMinPosition), kMaxPosition);
  if (position == kMinPosition && velocity < 0) velocity = 0.0;
  state_[kPosition] = position;
  state_[kVelocity] = velocity;

  StepResult r;
  r.terminated = position >= kGoalPosition && velocity >= kGoalVelocity;
  r.reward = -1.0;
  return r;
}

}  // namespace proxima
