// HumanoidStandup-v4 and HumanoidStandup-v5 (Gymnasium): the humanoid of
// humanoid.h lying on the ground, rewarded for raising its torso. Observation
// as Humanoid's (v4 376: every body and dof; v5 348, blocks optional).
// Reward: qpos[2] / opt.timestep (not dt; v5's uph_cost_weight is declared
// but, as in Gymnasium, not used) - ctrl_cost_weight * sum(ctrl^2) - impact
// cost + 1, impact cost = impact_cost_weight * sum(cfrc_ext^2) clipped to
// impact_cost_range (v4: 0.5e-6, at most 10). Never terminates; TimeLimit
// 1000. Reset noise U(+-reset_noise_scale) on qpos and qvel (v4: 0.01, no
// options at all). v5's info adds qpos[0:2], the height gained since the
// initial pose (z_distance_from_origin) and tendon lengths and velocities,
// also at reset.
#ifndef PROXIMA_COMMON_ENVS_MUJOCO_HUMANOID_STANDUP_H_
#define PROXIMA_COMMON_ENVS_MUJOCO_HUMANOID_STANDUP_H_

#include <vector>

#include "common/envs/mujoco/mujoco_env.h"

namespace proxima {

std::vector<MujocoEnvDef> HumanoidStandupEnvDefs();

}  // namespace proxima

#endif  // PROXIMA_COMMON_ENVS_MUJOCO_HUMANOID_STANDUP_H_
