#include "common/envs/cartpole.h"

#include <cmath>
#include <limits>

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

}  // namespace

EnvSpec CartPole::MakeSpec() {
  const float fmax = std::numeric_limits<float>::max();
  const float x_high = static_cast<float>(kXThreshold * 2);
  const float theta_high = static_cast<float>(kThetaThreshold * 2);
  return RegisteredSpec(
      "CartPole-v1",
      Space::Box({-x_high, -fmax, -theta_high, -fmax}, {x_high, fmax, theta_high, fmax}),
      Space::Discrete(2), /*max_episode_steps=*/500, /*reward_threshold=*/475.0);
}

void CartPole::ResetState() {
  for (double& v : state_) v = rng_.Uniform(-0.05, 0.05);
  terminated_before_ = false;
}

StepResult CartPole::StepState(const float* action) {
  double& x = state_[kX];
  double& x_dot = state_[kXDot];
  double& theta = state_[kTheta];
  double& theta_dot = state_[kThetaDot];
  const double force = DiscreteActionIndex(action[0], 2) == 1 ? kForceMag : -kForceMag;
  const double costheta = std::cos(theta);
  const double sintheta = std::sin(theta);
  const double temp = (force + kPoleMassLength * (theta_dot * theta_dot) * sintheta) / kTotalMass;
  const double thetaacc = (kGravity * sintheta - costheta * temp) /
                          (kLength * (4.0 / 3.0 - kMassPole * (costheta * costheta) / kTotalMass));
  const double xacc = temp - kPoleMassLength * thetaacc * costheta / kTotalMass;
  // Explicit Euler: positions advance with the old velocities.
  x = x + kTau * x_dot;
  x_dot = x_dot + kTau * xacc;
  theta = theta + kTau * theta_dot;
  theta_dot = theta_dot + kTau * thetaacc;

  StepResult r;
  r.terminated = x < -kXThreshold || x > kXThreshold || theta < -kThetaThreshold ||
                 theta > kThetaThreshold;
  if (!r.terminated) {
    r.reward = 1.0;
  } else if (!terminated_before_) {
    r.reward = 1.0;  // the pole just fell
    terminated_before_ = true;
  } else {
    r.reward = 0.0;  // stepping a finished episode
  }
  return r;
}

}  // namespace proxima
