// InvertedPendulum-v4 and InvertedPendulum-v5 (Gymnasium): a cart on a rail
// keeping a hinged pole upright. Observation: qpos and qvel (4: cart x, pole
// angle, their velocities). Terminates when the observation is not finite or
// |pole angle| > 0.2; TimeLimit 1000. Reward: v4 1 on every step (the
// terminating one too), v5 1 while not terminated and 0 on the terminating
// step (info reward_survive). Reset noise: qpos and qvel U(+-0.01) (v5:
// reset_noise_scale; v4 has no options).
#ifndef PROXIMA_COMMON_ENVS_MUJOCO_INVERTED_PENDULUM_H_
#define PROXIMA_COMMON_ENVS_MUJOCO_INVERTED_PENDULUM_H_

#include <vector>

#include "common/envs/mujoco/mujoco_env.h"

namespace proxima {

std::vector<MujocoEnvDef> InvertedPendulumEnvDefs();

}  // namespace proxima

#endif  // PROXIMA_COMMON_ENVS_MUJOCO_INVERTED_PENDULUM_H_
