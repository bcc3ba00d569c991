// MountainCarContinuous-v0 with Gymnasium's classic_control semantics.
//
// The MountainCar valley with a continuous push a in Box(-1, 1):
// v += clip(a, -1, 1) * 0.0015 - 0.0025 * cos(3p), v is clipped to +-0.07,
// p += v, p is clipped to [-1.2, 0.6], and a car at the left wall stops. The
// episode terminates when p >= 0.45 (and v >= 0), truncation after 999 steps.
// Reward is 100 on termination minus 0.1 * a^2 of the UNCLIPPED action, as in
// Gymnasium. Gymnasium keeps this env's state as float32 after every step (the
// reset state is float64), so Step() rounds the stored state to float.
#ifndef PROXIMA_COMMON_ENVS_MOUNTAIN_CAR_CONTINUOUS_H_
#define PROXIMA_COMMON_ENVS_MOUNTAIN_CAR_CONTINUOUS_H_

#include "common/envs/env.h"
#include "common/envs/mountain_car_valley.h"

namespace proxima {

class MountainCarContinuous final : public MountainCarValley<MountainCarContinuous> {
 private:
  friend FixedStateEnv;
  static EnvSpec MakeSpec();
  StepResult StepState(const float* action);
};

}  // namespace proxima

#endif  // PROXIMA_COMMON_ENVS_MOUNTAIN_CAR_CONTINUOUS_H_
