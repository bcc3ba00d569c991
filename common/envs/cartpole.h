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

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "common/envs/env.h"

namespace proxima {

class CartPole final : public Env {
 public:
  static const EnvSpec& Spec();

  const EnvSpec& spec() const override { return Spec(); }
  void Reset(float* obs) override;
  StepResult Step(const float* action, float* obs) override;
  // Also forgets any earlier termination (as a fresh episode would).
  absl::Status SetState(absl::Span<const double> state) override;
  void GetState(double* state) const override;

 private:
  void WriteObs(float* obs) const;

  double x_ = 0.0, x_dot_ = 0.0, theta_ = 0.0, theta_dot_ = 0.0;
  bool terminated_before_ = false;  // Gymnasium's steps_beyond_terminated != None
};

}  // namespace proxima

#endif  // PROXIMA_COMMON_ENVS_CARTPOLE_H_
