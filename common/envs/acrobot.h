// Acrobot-v1 with Gymnasium's classic_control semantics.
//
// Two links hang from a fixed pivot; the joint between them is actuated with a
// torque of -1, 0 or +1 (actions 0, 1, 2). One step integrates the "book"
// equations of motion (Sutton & Barto) over dt = 0.2 s with a single classical
// RK4 step, then wraps both angles to [-pi, pi] and bounds the velocities to
// +-4pi and +-9pi. The episode terminates once the free end rises above the
// pivot by more than one link length (-cos(t1) - cos(t1 + t2) > 1); reward is
// -1 per step and 0 on the terminating step; truncation after 500 steps. No
// torque noise. State (t1, t2, dt1, dt2) is double; the observation is
// [cos t1, sin t1, cos t2, sin t2, dt1, dt2] as float32.
#ifndef PROXIMA_COMMON_ENVS_ACROBOT_H_
#define PROXIMA_COMMON_ENVS_ACROBOT_H_

#include "common/envs/env.h"
#include "common/envs/fixed_state_env.h"

namespace proxima {

class Acrobot final : public FixedStateEnv<Acrobot, 4> {
 private:
  friend FixedStateEnv;
  static EnvSpec MakeSpec();
  enum StateIndex { kTheta1, kTheta2, kDTheta1, kDTheta2 };

  void ResetState();
  StepResult StepState(const float* action);
  void WriteObs(float* obs) const;
};

}  // namespace proxima

#endif  // PROXIMA_COMMON_ENVS_ACROBOT_H_
