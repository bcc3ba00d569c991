#include "common/envs/mountain_car.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

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
  spec.state_dim = 2;
  return spec;
}

}  // namespace

const EnvSpec& MountainCar::Spec() {
  static const EnvSpec* const spec = new EnvSpec(MakeSpec());
  return *spec;
}

void MountainCar::Reset(float* obs) {
  position_ = rng_.Uniform(-0.6, -0.4);
  velocity_ = 0.0;
  elapsed_steps_ = 0;
  obs[0] = static_cast<float>(position_);
  obs[1] = static_cast<float>(velocity_);
}

StepResult MountainCar::Step(const float* action, float* obs) {
  const int a = DiscreteActionIndex(action[0], 3);
  double position = position_;
  double velocity = velocity_;
  velocity += (a - 1) * kForce + std::cos(3 * position) * (-kGravity);
  velocity = std::min(std::max(velocity, -kMaxSpeed), kMaxSpeed);
  position += velocity;
  position = std::min(std::max(position, kMinPosition), kMaxPosition);
  if (position == kMinPosition && velocity < 0) velocity = 0.0;
  position_ = position;
  velocity_ = velocity;

  StepResult r;
  r.terminated = position >= kGoalPosition && velocity >= kGoalVelocity;
  r.reward = -1.0;
  r.truncated = TickTimeLimit();
  obs[0] = static_cast<float>(position_);
  obs[1] = static_cast<float>(velocity_);
  return r;
}

absl::Status MountainCar::SetState(absl::Span<const double> state) {
  if (state.size() != 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("MountainCar-v0 state needs 2 values, got ", state.size()));
  }
  position_ = state[0];
  velocity_ = state[1];
  return absl::OkStatus();
}

void MountainCar::GetState(double* state) const {
  state[0] = position_;
  state[1] = velocity_;
}

}  // namespace proxima
