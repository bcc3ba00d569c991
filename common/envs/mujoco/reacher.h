// Reacher-v4 and Reacher-v5 (Gymnasium): a two-link planar arm moving its
// fingertip to a target. Observation: cos and sin of the two joint angles,
// the target's position (qpos[2:4]), the joint velocities, and fingertip xpos
// - target xpos (v4: 3 values, 11 in all; v5: x and y, 10). Reward:
// -|fingertip - target| - sum(action^2) (the control sum in float32); v5
// weighs them by reward_dist_weight and reward_control_weight. v4 computes the
// reward *before* stepping, from the body positions MuJoCo left from the
// previous step (fresh after a reset); v5 after stepping. Never terminates;
// TimeLimit 50. Reset: qpos U(+-0.1), the target (qpos[2:4]) drawn U(+-0.2)^2
// until |goal| < 0.2, qvel U(+-0.005) with the target's qvel 0. Info:
// reward_dist, reward_ctrl (v4: the negated float32 sum). v4 has no options.
#ifndef PROXIMA_COMMON_ENVS_MUJOCO_REACHER_H_
#define PROXIMA_COMMON_ENVS_MUJOCO_REACHER_H_

#include <vector>

#include "common/envs/mujoco/mujoco_env.h"

namespace proxima {

std::vector<MujocoEnvDef> ReacherEnvDefs();

}  // namespace proxima

#endif  // PROXIMA_COMMON_ENVS_MUJOCO_REACHER_H_
