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

#include "common/envs/env.h"
#include "common/envs/mountain_car_valley.h"

namespace proxima {

class MountainCar final : public MountainCarValley<MountainCar> {
 private:
  friend FixedStateEnv;
  static EnvSpec MakeSpec();
  StepResult StepState(const float* action);
};

}  // namespace proxima

#endif  // PROXIMA_COMMON_ENVS_MOUNTAIN_CAR_H_
