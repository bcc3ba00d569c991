#include "common/envs/mountain_car.h"

#include <cmath>

namespace proxima {
namespace {

constexpr double kGoalPosition = 0.5;
constexpr double kForce = 0.001;
constexpr double kGravity = 0.0025;

}  // namespace

EnvSpec MountainCar::MakeSpec() {
  EnvSpec spec;
  spec.id = "MountainCar-v0";
  spec.observation_space = ObservationSpace();
  spec.action_space = Space::Discrete(3);
  spec.max_episode_steps = 200;
  spec.has_reward_threshold = true;
  spec.reward_threshold = -110.0;
  return spec;
}

StepResult MountainCar::StepState(const float* action) {
  const int a = DiscreteActionIndex(action[0], 3);
  Drive((a - 1) * kForce + std::cos(3 * state_[kPosition]) * (-kGravity));

  StepResult r;
  r.terminated = AtGoal(kGoalPosition);
  r.reward = -1.0;
  return r;
}

}  // namespace proxima
