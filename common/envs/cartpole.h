// CartPole-v1 with Gymnasium's classic_control semantics.
//
// A pole hinged on a cart; action 0 pushes the cart left and 1 right with a
// force of 10 N. The dynamics are integrated with one explicit Euler step of
// 0.02 s. Reward is 1.0 on every step, including the one that terminates the
// episode (Gymnasium then answers 0.0 for any step taken after termination).
// The episode terminates when |x| > 2.4 or |theta| > 12 degrees and is
// truncated after 500 steps. Internal state (x, x_dot, theta, theta_dot) is
// double; the observation is the same four values as float32.
#ifndef PROXIMA_COMMON_ENVS_CARTPOLE_H_
#define PROXIMA_COMMON_ENVS_CARTPOLE_H_

#include "common/envs/env.h"
#include "common/envs/fixed_state_env.h"

namespace proxima {

class CartPole final : public FixedStateEnv<CartPole, 4> {
 private:
  friend FixedStateEnv;
  static EnvSpec MakeSpec();
  enum StateIndex { kX, kXDot, kTheta, kThetaDot };

  void ResetState();
  StepResult StepState(const float* action);
  // SetState also forgets any earlier termination (as a fresh episode would).
  void OnSetState() { terminated_before_ = false; }

  bool terminated_before_ = false;  // Gymnasium's steps_beyond_terminated != None
};

}  // namespace proxima

#endif  // PROXIMA_COMMON_ENVS_CARTPOLE_H_
