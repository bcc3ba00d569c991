#include "common/envs/pendulum.h"

#include <algorithm>
#include <cmath>

namespace proxima {
namespace {

constexpr double kPi = 3.141592653589793;
constexpr double kMaxSpeed = 8.0;
constexpr double kMaxTorque = 2.0;
constexpr double kDt = 0.05;
constexpr double kG = 10.0;
constexpr double kM = 1.0;
constexpr double kL = 1.0;

// Python's float `a % b`: the remainder takes the sign of the divisor.
double FloorMod(double a, double b) {
  double r = std::fmod(a, b);
  if (r != 0.0) {
    if ((b < 0) != (r < 0)) r += b;
  } else {
    r = std::copysign(0.0, b);
  }
  return r;
}

}  // namespace

EnvSpec Pendulum::MakeSpec() {
  const float speed = static_cast<float>(kMaxSpeed);
  const float torque = static_cast<float>(kMaxTorque);
  return RegisteredSpec("Pendulum-v1", Space::Box({-1.0f, -1.0f, -speed}, {1.0f, 1.0f, speed}),
                        Space::Box({-torque}, {torque}), /*max_episode_steps=*/200,
                        /*reward_threshold=*/std::nullopt);  // Gymnasium registers none
}

double PendulumAngleNormalize(double x) { return FloorMod(x + kPi, 2 * kPi) - kPi; }

void Pendulum::ResetState() {
  state_[kTh] = rng_.Uniform(-kPi, kPi);
  state_[kThDot] = rng_.Uniform(-1.0, 1.0);
}

StepResult Pendulum::StepState(const float* action) {
  // np.clip on the float32 action keeps it float32; the bounds are exact.
  const double u = std::min(std::max(static_cast<double>(action[0]), -kMaxTorque), kMaxTorque);
  const double th = state_[kTh], thdot = state_[kThDot];
  const double an = PendulumAngleNormalize(th);
  const double costs = an * an + 0.1 * (thdot * thdot) + 0.001 * (u * u);
  double newthdot = thdot + (3 * kG / (2 * kL) * std::sin(th) + 3.0 / (kM * (kL * kL)) * u) * kDt;
  newthdot = std::min(std::max(newthdot, -kMaxSpeed), kMaxSpeed);
  const double newth = th + newthdot * kDt;
  state_[kTh] = newth;
  state_[kThDot] = newthdot;

  StepResult r;
  r.reward = -costs;
  r.terminated = false;
  return r;
}

void Pendulum::WriteObs(float* obs) const {
  obs[0] = static_cast<float>(std::cos(state_[kTh]));
  obs[1] = static_cast<float>(std::sin(state_[kTh]));
  obs[2] = static_cast<float>(state_[kThDot]);
}

}  // namespace proxima
