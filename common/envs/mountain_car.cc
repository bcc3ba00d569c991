#include "common/envs/mountain_car.h"

#include <cmath>

namespace proxima {
namespace {

constexpr double kGoalPosition = 0.5;
constexpr double kGoalVelocity = 0.0;
constexpr double kForce = 0.001;
constexpr double kGravity = 0.0025;

EnvSpec MakeSpec() {
  EnvSpec spec;
  spec.id = "MountainCar-v0";
  spec.observation_space = MountainCar::ObservationSpace();
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

StepResult MountainCar::StepState(const float* action) {
  const int a = DiscreteActionIndex(action[0], 3);
  double position = state_[kPosition];
  double velocity = state_[kVelocity];
  Drive((a - 1) * kForce + std::cos(3 * position) * (-kGravity), &position, &velocity);
  state_[kPosition] = position;
  state_[kVelocity] = velocity;

  StepResult r;
  r.terminated = position >= kGoalPosition && velocity >= kGoalVelocity;
  r.reward = -1.0;
  return r;
}

}  // namespace proxima
