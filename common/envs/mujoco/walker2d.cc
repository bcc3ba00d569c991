#include "common/envs/mujoco/walker2d.h"

#include <limits>

#include "common/envs/mujoco/hopper.h"

namespace proxima {

std::vector<MujocoEnvDef> Walker2dEnvDefs() {
  const std::vector<MujocoParam> params = {
      {"forward_reward_weight", 1.0},
      {"ctrl_cost_weight", 1e-3},
      {"healthy_reward", 1.0},
      {"terminate_when_unhealthy", 1.0},
      {"healthy_z_range_low", 0.8},
      {"healthy_z_range_high", 2.0},
      {"healthy_angle_range_low", -1.0},
      {"healthy_angle_range_high", 1.0},
      {"reset_noise_scale", 5e-3},
      {"exclude_current_positions_from_observation", 1.0},
  };
  const double no_threshold = std::numeric_limits<double>::quiet_NaN();
  return {
      {"Walker2d-v4", "walker2d.xml", 4, 1000, no_threshold, 9, 9, 6, params,
       &MakeHopperLike<false, /*kHealthyStateTest=*/false>},
      {"Walker2d-v5", "walker2d_v5.xml", 4, 1000, no_threshold, 9, 9, 6, params,
       &MakeHopperLike<true, /*kHealthyStateTest=*/false>},
  };
}

}  // namespace proxima
