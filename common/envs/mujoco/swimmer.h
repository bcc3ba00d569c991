// Swimmer-v4 and Swimmer-v5 (Gymnasium): a three-link swimmer in a viscous
// fluid rewarded for swimming along x. Observation: qpos[2:] and qvel (8;
// qpos[0:2] too with exclude_current_positions_from_observation=0). Reward:
// forward_reward_weight * (x after - x before) / dt - ctrl_cost_weight *
// sum(action^2). Never terminates; TimeLimit 1000. Reset noise: qpos and qvel
// U(+-reset_noise_scale). v4 and v5 differ only in their info: v4 has
// reward_fwd and forward_reward (the same value) first and last, v5 ends with
// reward_forward, reward_ctrl and reports x_position, y_position,
// distance_from_origin at reset.
#ifndef PROXIMA_COMMON_ENVS_MUJOCO_SWIMMER_H_
#define PROXIMA_COMMON_ENVS_MUJOCO_SWIMMER_H_

#include <vector>

#include "common/envs/mujoco/mujoco_env.h"

namespace proxima {

std::vector<MujocoEnvDef> SwimmerEnvDefs();

}  // namespace proxima

#endif  // PROXIMA_COMMON_ENVS_MUJOCO_SWIMMER_H_
