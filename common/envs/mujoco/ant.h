// Ant-v4 and Ant-v5 (Gymnasium): a four-legged ant on a free joint, rewarded
// for moving along +x. Observation: qpos[2:] and qvel (27; qpos[0:2] too with
// exclude_current_positions_from_observation=0), then contact forces
// clip(cfrc_ext, contact_force_range): v5 by default those of bodies 1.. (78,
// obs 105), v4 only with use_contact_forces=1 and of every body (84). Reward:
// forward_reward_weight (v4: 1) * Δx/dt of the main body's xpos (x before the
// step is MuJoCo's leftover from the previous step) + healthy_reward -
// ctrl_cost_weight * sum(action^2) - contact cost (v5 always, v4 only with
// use_contact_forces) contact_cost_weight * sum(clip(cfrc_ext)^2).
// Healthy: qpos and qvel finite and healthy_z_range_low <= z <= high.
// Terminates when unhealthy (terminate_when_unhealthy); v4 pays the healthy
// reward on every step, v5 only while healthy. TimeLimit 1000, reward
// threshold 6000. Reset noise: qpos U(+-reset_noise_scale), qvel
// reset_noise_scale * N(0, 1). v4's info reports the torso position and
// velocity (and, as Gymnasium does, reward_ctrl = -contact cost when contact
// forces are used); v5's reports qpos[0:2], reward_contact, and reset info.
// v5's main_body is a body index (Gymnasium also takes a name; not here).
#ifndef PROXIMA_COMMON_ENVS_MUJOCO_ANT_H_
#define PROXIMA_COMMON_ENVS_MUJOCO_ANT_H_

#include <vector>

#include "common/envs/mujoco/mujoco_env.h"

namespace proxima {

std::vector<MujocoEnvDef> AntEnvDefs();

}  // namespace proxima

#endif  // PROXIMA_COMMON_ENVS_MUJOCO_ANT_H_
