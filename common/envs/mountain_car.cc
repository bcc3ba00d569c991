#include "common/envs/mountain_car.h"

#include <cmath>

namespace proxima {
namespace {

constexpr double kGoalPosition = 0.5;
constexpr double kForce = 0.001;
constexpr double kGravity = 0.0025;

}  // namespace

EnvSpec MountainCar::MakeSpec() {
  return RegisteredSpec("MountainCar-v0", ObservationSpace(), Space::Discrete(3),
                        /*max_episode_steps=*/200, /*reward_threshold=*/-110.0);
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
