// Pendulum-v1 with Gymnasium's classic_control semantics (g = 10).
//
// A pendulum on a frictionless pivot, torque u in Box(-2, 2). The torque is
// clipped to [-2, 2] for both the dynamics and the cost. With th the angle
// (0 = upright) and thdot its velocity:
//   cost      = angle_normalize(th)^2 + 0.1 thdot^2 + 0.001 u^2, reward = -cost
//   thdot'    = clip(thdot + (3g/(2l) sin th + 3/(m l^2) u) dt, -8, 8)
//   th'       = th + thdot' dt                        (dt = 0.05, m = l = 1)
// where angle_normalize(x) = ((x + pi) mod 2pi) - pi with a floor modulo. The
// angle itself is never wrapped. No termination; truncation after 200 steps.
// Reset draws th ~ U(-pi, pi), thdot ~ U(-1, 1). State (th, thdot) is double;
// the observation is [cos th, sin th, thdot] as float32.
#ifndef PROXIMA_COMMON_ENVS_PENDULUM_H_
#define PROXIMA_COMMON_ENVS_PENDULUM_H_

#include "common/envs/env.h"
#include "common/envs/fixed_state_env.h"

namespace proxima {

class Pendulum final : public FixedStateEnv<Pendulum, 2> {
 private:
  friend FixedStateEnv;
  static EnvSpec MakeSpec();
  enum StateIndex { kTh, kThDot };

  void ResetState();
  StepResult StepState(const float* action);
  void WriteObs(float* obs) const;
};

// ((x + pi) mod 2pi) - pi with Python's floor modulo (result in [-pi, pi)).
double PendulumAngleNormalize(double x);

}  // namespace proxima

#endif  // PROXIMA_COMMON_ENVS_PENDULUM_H_
