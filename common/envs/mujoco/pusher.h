// Pusher-v4 and Pusher-v5 (Gymnasium): a 7-joint arm pushing a cylinder
// (object) to a goal on a table. Observation: qpos[:7], qvel[:7] and the xpos
// of the bodies tips_arm, object and goal (23). Reward: -|object - goal| +
// 0.1 * -sum(action^2) + 0.5 * -|object - tips_arm| (the control sum in
// float32); v5 weighs the terms by reward_dist_weight, reward_control_weight
// and reward_near_weight. v4 computes the reward *before* stepping, from the
// body positions MuJoCo left from the previous step (fresh after a reset); v5
// after stepping. Never terminates; TimeLimit 100. Reset: the arm at its
// initial pose, the cylinder (qpos[7:9]) drawn (U(-0.3, 0), U(-0.2, 0.2))
// until its distance from the goal (0, 0) exceeds 0.17, the goal (qpos[9:11])
// at 0, qvel U(+-0.005) with the last 4 entries 0. Info: reward_dist,
// reward_ctrl (v4: the negated float32 sum), v5 also reward_near. v5 loads
// pusher_v5.xml; v4 has no options.
#ifndef PROXIMA_COMMON_ENVS_MUJOCO_PUSHER_H_
#define PROXIMA_COMMON_ENVS_MUJOCO_PUSHER_H_

#include <vector>

#include "common/envs/mujoco/mujoco_env.h"

namespace proxima {

std::vector<MujocoEnvDef> PusherEnvDefs();

}  // namespace proxima

#endif  // PROXIMA_COMMON_ENVS_MUJOCO_PUSHER_H_
