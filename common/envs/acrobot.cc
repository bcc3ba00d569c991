#include "common/envs/acrobot.h"

#include <algorithm>
#include <cmath>

namespace proxima {
namespace {

constexpr double kPi = 3.141592653589793;
constexpr double kDt = 0.2;
constexpr double kLinkLength1 = 1.0;
constexpr double kLinkMass1 = 1.0;
constexpr double kLinkMass2 = 1.0;
constexpr double kLinkComPos1 = 0.5;
constexpr double kLinkComPos2 = 0.5;
constexpr double kLinkMoi = 1.0;
constexpr double kMaxVel1 = 4 * kPi;
constexpr double kMaxVel2 = 9 * kPi;
constexpr double kGravity = 9.8;
constexpr double kTorques[3] = {-1.0, 0.0, 1.0};

// Time derivative of (theta1, theta2, dtheta1, dtheta2) under torque `a`, with
// the "book" form of the second joint's acceleration. The operation order
// follows Gymnasium's so results agree to the last bits where possible.
void Derivs(const double* s, double a, double* out) {
  const double m1 = kLinkMass1, m2 = kLinkMass2, l1 = kLinkLength1;
  const double lc1 = kLinkComPos1, lc2 = kLinkComPos2, i1 = kLinkMoi, i2 = kLinkMoi;
  const double g = kGravity;
  const double theta1 = s[0], theta2 = s[1], dtheta1 = s[2], dtheta2 = s[3];
  const double cos2 = std::cos(theta2);
  const double sin2 = std::sin(theta2);
  const double d1 =
      m1 * (lc1 * lc1) + m2 * ((l1 * l1) + (lc2 * lc2) + 2 * l1 * lc2 * cos2) + i1 + i2;
  const double d2 = m2 * ((lc2 * lc2) + l1 * lc2 * cos2) + i2;
  const double phi2 = m2 * lc2 * g * std::cos(theta1 + theta2 - kPi / 2.0);
  const double phi1 = -m2 * l1 * lc2 * (dtheta2 * dtheta2) * sin2 -
                      2 * m2 * l1 * lc2 * dtheta2 * dtheta1 * sin2 +
                      (m1 * lc1 + m2 * l1) * g * std::cos(theta1 - kPi / 2) + phi2;
  const double ddtheta2 = (a + d2 / d1 * phi1 - m2 * l1 * lc2 * (dtheta1 * dtheta1) * sin2 - phi2) /
                          (m2 * (lc2 * lc2) + i2 - (d2 * d2) / d1);
  const double ddtheta1 = -(d2 * ddtheta2 + phi1) / d1;
  out[0] = dtheta1;
  out[1] = dtheta2;
  out[2] = ddtheta1;
  out[3] = ddtheta2;
}

// Adds or subtracts whole periods until x lies in [lo, hi].
double Wrap(double x, double lo, double hi) {
  const double diff = hi - lo;
  while (x > hi) x = x - diff;
  while (x < lo) x = x + diff;
  return x;
}

}  // namespace

EnvSpec Acrobot::MakeSpec() {
  const float v1 = static_cast<float>(kMaxVel1);
  const float v2 = static_cast<float>(kMaxVel2);
  return RegisteredSpec(
      "Acrobot-v1",
      Space::Box({-1.0f, -1.0f, -1.0f, -1.0f, -v1, -v2}, {1.0f, 1.0f, 1.0f, 1.0f, v1, v2}),
      Space::Discrete(3), /*max_episode_steps=*/500, /*reward_threshold=*/-100.0);
}

void Acrobot::ResetState() {
  for (double& v : state_) v = rng_.Uniform(-0.1, 0.1);
}

StepResult Acrobot::StepState(const float* action) {
  const double torque = kTorques[DiscreteActionIndex(action[0], 3)];
  // One RK4 step over [0, dt]; the torque is held constant.
  double* s = state_.data();
  const double dt = kDt, dt2 = kDt / 2.0;
  double k1[4], k2[4], k3[4], k4[4], y[4];
  Derivs(s, torque, k1);
  for (int i = 0; i < 4; ++i) y[i] = s[i] + dt2 * k1[i];
  Derivs(y, torque, k2);
  for (int i = 0; i < 4; ++i) y[i] = s[i] + dt2 * k2[i];
  Derivs(y, torque, k3);
  for (int i = 0; i < 4; ++i) y[i] = s[i] + dt * k3[i];
  Derivs(y, torque, k4);
  const double w = dt / 6.0;
  for (int i = 0; i < 4; ++i) {
    s[i] = s[i] + w * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]);
  }
  s[kTheta1] = Wrap(s[kTheta1], -kPi, kPi);
  s[kTheta2] = Wrap(s[kTheta2], -kPi, kPi);
  s[kDTheta1] = std::min(std::max(s[kDTheta1], -kMaxVel1), kMaxVel1);
  s[kDTheta2] = std::min(std::max(s[kDTheta2], -kMaxVel2), kMaxVel2);

  StepResult r;
  r.terminated = -std::cos(s[kTheta1]) - std::cos(s[kTheta2] + s[kTheta1]) > 1.0;
  r.reward = r.terminated ? 0.0 : -1.0;
  return r;
}

void Acrobot::WriteObs(float* obs) const {
  obs[0] = static_cast<float>(std::cos(state_[kTheta1]));
  obs[1] = static_cast<float>(std::sin(state_[kTheta1]));
  obs[2] = static_cast<float>(std::cos(state_[kTheta2]));
  obs[3] = static_cast<float>(std::sin(state_[kTheta2]));
  obs[4] = static_cast<float>(state_[kDTheta1]);
  obs[5] = static_cast<float>(state_[kDTheta2]);
}

}  // namespace proxima
