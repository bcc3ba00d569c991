#include "common/envs/cartpole.h"

#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"

namespace proxima {
namespace {

constexpr double kGravity = 9.8;
constexpr double kMassCart = 1.0;
constexpr double kMassPole = 0.1;
constexpr double kTotalMass = kMassPole + kMassCart;
constexpr double kLength = 0.5;  // half the pole's length
constexpr double kPoleMassLength = kMassPole * kLength;
constexpr double kForceMag = 10.0;
constexpr double kTau = 0.02;
constexpr double kPi = 3.141592653589793;
constexpr double kThetaThreshold = 12 * 2 * kPi / 360;
constexpr double kXThreshold = 2.4;

EnvSpec MakeSpec() {
  const float fmax = std::numeric_limits<float>::max();
  const float x_high = static_cast<float>(kXThreshold * 2);
  const float theta_high = static_cast<float>(kThetaThreshold * 2);
  EnvSpec spec;
  spec.id = "CartPole-v1";
  spec.observation_space =
      Space::Box({-x_high, -fmax, -theta_high, -fmax}, {x_high, fmax, theta_high, fmax});
  spec.action_space = Space::Discrete(2);
  spec.max_episode_steps = 500;
  spec.has_reward_threshold = true;
  spec.reward_threshold = 475.0;
  spec.state_dim = 4;
  return spec;
}

}  // namespace

const EnvSpec& CartPole::Spec() {
  static const EnvSpec* const spec = new EnvSpec(MakeSpec());
  return *spec;
}

void CartPole::Reset(float* obs) {
  x_ = rng_.Uniform(-0.05, 0.05);
  x_dot_ = rng_.Uniform(-0.05, 0.05);
  theta_ = rng_.Uniform(-0.05, 0.05);
  theta_dot_ = rng_.Uniform(-0.05, 0.05);
  terminated_before_ = false;
  elapsed_steps_ = 0;
  WriteObs(obs);
}

StepResult CartPole::Step(const float* action, float* obs) {
  const double force = DiscreteActionIndex(action[0], 2) == 1 ? kForceMag : -kForceMag;
  const double costheta = std::cos(theta_);
  const double sintheta = std::sin(theta_);
  const double temp = (force + kPoleMassLength * (theta_dot_ * theta_dot_) * sintheta) / kTotalMass;
  const double thetaacc = (kGravity * sintheta - costheta * temp) /
                          (kLength * (4.0 / 3.0 - kMassPole * (costheta * costheta) / kTotalMass));
  const double xacc = temp - kPoleMassLength * thetaacc * costheta / kTotalMass;
  // Explicit Euler: positions advance with the old velocities.
  x_ = x_ + kTau * x_dot_;
  x_dot_ = x_dot_ + kTau * xacc;
  theta_ = theta_ + kTau * theta_dot_;
  theta_dot_ = theta_dot_ + kTau * thetaacc;

  StepResult r;
  r.terminated = x_ < -kXThreshold || x_ > kXThreshold || theta_ < -kThetaThreshold ||
                 theta_ > kThetaThreshold;
  if (!r.terminated) {
    r.reward = 1.0;
  } else if (!terminated_before_) {
    r.reward = 1.0;  // the pole just fell
    terminated_before_ = true;
  } else {
    r.reward = 0.0;  // stepping a finished episode
  }
  r.truncated = TickTimeLimit();
  WriteObs(obs);
  return r;
}

absl::Status CartPole::SetState(absl::Span<const double> state) {
  if (state.size() != 4) {
    return absl::InvalidArgumentError(
        absl::StrCat("CartPole-v1 state needs 4 values, got ", state.size()));
  }
  x_ = state[0];
  x_dot_ = state[1];
  theta_ = state[2];
  theta_dot_ = state[3];
  terminated_before_ = false;
  return absl::OkStatus();
}

void CartPole::GetState(double* state) const {
  state[0] = x_;
  state[1] = x_dot_;
  state[2] = theta_;
  state[3] = theta_dot_;
}

void CartPole::WriteObs(float* obs) const {
  obs[0] = static_cast<float>(x_);
  obs[1] = static_cast<float>(x_dot_);
  obs[2] = static_cast<float>(theta_);
  obs[3] = static_cast<float>(theta_dot_);
}

}  // namespace proxima
