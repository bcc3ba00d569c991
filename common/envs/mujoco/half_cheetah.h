// HalfCheetah-v4 and HalfCheetah-v5 (Gymnasium): a planar cheetah rewarded
// for forward speed. Observation: qpos[1:] and qvel (17; qpos[0] too with
// exclude_current_positions_from_observation=0). Reward: forward_reward_weight
// * (x after - x before) / dt - ctrl_cost_weight * sum(action^2). Never
// terminates; TimeLimit 1000. Reset noise: qpos U(+-reset_noise_scale), qvel
// reset_noise_scale * N(0, 1). v4 and v5 differ only in an info key name
// (reward_run vs reward_forward) and v5's reset info (x_position).
#ifndef PROXIMA_COMMON_ENVS_MUJOCO_HALF_CHEETAH_H_
#define PROXIMA_COMMON_ENVS_MUJOCO_HALF_CHEETAH_H_

#include <vector>

#include "common/envs/mujoco/mujoco_env.h"

namespace proxima {

std::vector<MujocoEnvDef> HalfCheetahEnvDefs();

}  // namespace proxima

#endif  // PROXIMA_COMMON_ENVS_MUJOCO_HALF_CHEETAH_H_
