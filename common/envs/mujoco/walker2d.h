// Walker2d-v4 and Walker2d-v5 (Gymnasium): a planar two-legged walker
// rewarded for walking forward. Observation: qpos[1:] and qvel clipped to
// +-10 (17; qpos[0] too with exclude_current_positions_from_observation=0).
// Reward: (forward_reward_weight * (x after - x before) / dt + healthy
// reward) - ctrl_cost_weight * sum(action^2). Healthy: z in healthy_z_range
// and angle qpos[2] in healthy_angle_range, both strict; unhealthy terminates
// (with terminate_when_unhealthy). No reward threshold; TimeLimit 1000. Reset
// noise: qpos and qvel U(+-reset_noise_scale). The env is Hopper's
// (MakeHopperLikeEnv, hopper.h) without its healthy_state_range test, so v4
// and v5 differ as Hopper's do; v5 also loads walker2d_v5.xml (both feet
// with friction 1.9; v4's right foot has 0.9).
#ifndef PROXIMA_COMMON_ENVS_MUJOCO_WALKER2D_H_
#define PROXIMA_COMMON_ENVS_MUJOCO_WALKER2D_H_

#include <vector>

#include "common/envs/mujoco/mujoco_env.h"

namespace proxima {

std::vector<MujocoEnvDef> Walker2dEnvDefs();

}  // namespace proxima

#endif  // PROXIMA_COMMON_ENVS_MUJOCO_WALKER2D_H_
