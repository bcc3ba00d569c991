// MountainCarValley: what MountainCar-v0 and MountainCarContinuous-v0 share,
// as Gymnasium defines them: a car in a valley, state (p, v) with p in
// [-1.2, 0.6] and |v| <= 0.07, observed as (p, v) in float32; reset draws
// p ~ U(-0.6, -0.4) with v = 0; one step moves the car the same way once the
// env has worked out its acceleration (Drive()); and the goal test (AtGoal()).
// The envs derive from it (CRTP, through FixedStateEnv) and add their action,
// goal position and reward.
//
// Not thread-safe and never blocks, like every local Env.
#ifndef PROXIMA_COMMON_ENVS_MOUNTAIN_CAR_VALLEY_H_
#define PROXIMA_COMMON_ENVS_MOUNTAIN_CAR_VALLEY_H_

#include "common/envs/env.h"
#include "common/envs/fixed_state_env.h"

namespace proxima {

template <typename Derived>
class MountainCarValley : public FixedStateEnv<Derived, 2> {
 public:
  static constexpr double kMinPosition = -1.2;
  static constexpr double kMaxPosition = 0.6;
  static constexpr double kMaxSpeed = 0.07;

  // Box([kMinPosition, -kMaxSpeed], [kMaxPosition, kMaxSpeed]) in float32.
  static Space ObservationSpace() {
    return Space::Box({static_cast<float>(kMinPosition), static_cast<float>(-kMaxSpeed)},
                      {static_cast<float>(kMaxPosition), static_cast<float>(kMaxSpeed)});
  }

 protected:
  friend FixedStateEnv<Derived, 2>;
  enum StateIndex { kPosition, kVelocity };

  void ResetState() {
    this->state_[kPosition] = this->rng_.Uniform(-0.6, -0.4);  // float64 until a step
    this->state_[kVelocity] = 0.0;
  }

  // One step of the car given its acceleration: v += accel, v is clipped to
  // +-kMaxSpeed, p += v, p is clipped to [kMinPosition, kMaxPosition], and a
  // car that hits the left wall stops.
  void Drive(double accel) {
    double& p = this->state_[kPosition];
    double& v = this->state_[kVelocity];
    v += accel;
    if (v > kMaxSpeed) v = kMaxSpeed;
    if (v < -kMaxSpeed) v = -kMaxSpeed;
    p += v;
    if (p > kMaxPosition) p = kMaxPosition;
    if (p < kMinPosition) p = kMinPosition;
    if (p == kMinPosition && v < 0) v = 0.0;
  }

  // Gymnasium's termination: p >= goal_position, moving right or standing.
  bool AtGoal(double goal_position) const {
    return this->state_[kPosition] >= goal_position && this->state_[kVelocity] >= 0.0;
  }
};

}  // namespace proxima

#endif  // PROXIMA_COMMON_ENVS_MOUNTAIN_CAR_VALLEY_H_
