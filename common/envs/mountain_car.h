// MountainCar-v0 with Gymnasium's classic_control semantics.
//
// A car in a valley, p in [-1.2, 0.6], |v| <= 0.07. Action 0, 1, 2 accelerates
// left, not at all, right: v += (a - 1) * 0.001 - 0.0025 * cos(3p), v is
// clipped, p += v, p is clipped, and a car that hits the left wall stops.
// Reward is -1 every step; the episode terminates when p >= 0.5 (and v >= 0)
// and is truncated after 200 steps. Reset draws p ~ U(-0.6, -0.4), v = 0.
// State (p, v) is double; the observation is (p, v) as float32.
#ifndef PROXIMA_COMMON_ENVS_MOUNTAIN_CAR_H_
#define PROXIMA_COMMON_ENVS_MOUNTAIN_CAR_H_

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "common/envs/env.h"

namespace proxima {

class MountainCar final : public Env {
 public:
  static const EnvSpec& Spec();

  const EnvSpec& spec() const override { return Spec(); }
  void Reset(float* obs) override;
  StepResult Step(const float* action, float* obs) override;
  absl::Status SetState(absl::Span<const double> state) override;
  void GetState(double* state) const override;

 private:
  double position_ = 0.0, velocity_ = 0.0;
};

}  // namespace proxima

#endif  // PROXIMA_COMMON_ENVS_MOUNTAIN_CAR_H_
