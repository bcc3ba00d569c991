// InvertedDoublePendulum-v4 and InvertedDoublePendulum-v5 (Gymnasium): a cart
// balancing two chained poles. Observation: cart x, sin and cos of the two
// hinge angles, clip(qvel, +-10) and clip(qfrc_constraint, +-10) (v4: all 3
// entries, 11 values; v5: only the first, 9). Reward: alive bonus 10 (v5:
// healthy_reward, paid only while not terminated) - (0.01 x^2 + (y - 2)^2)
// - (1e-3 qvel[1]^2 + 5e-3 qvel[2]^2), with (x, y) the tip site's x and z from
// site_xpos (left from the step's last stage, as Gymnasium reads it).
// Terminates when y <= 1; TimeLimit 1000. Reset noise: qpos U(+-0.1), qvel
// 0.1 N(0, 1) (v5: reset_noise_scale). v5 reports reward_survive,
// distance_penalty and velocity_penalty; v4 no info and no options.
#ifndef PROXIMA_COMMON_ENVS_MUJOCO_INVERTED_DOUBLE_PENDULUM_H_
#define PROXIMA_COMMON_ENVS_MUJOCO_INVERTED_DOUBLE_PENDULUM_H_

#include <vector>

#include "common/envs/mujoco/mujoco_env.h"

namespace proxima {

std::vector<MujocoEnvDef> InvertedDoublePendulumEnvDefs();

}  // namespace proxima

#endif  // PROXIMA_COMMON_ENVS_MUJOCO_INVERTED_DOUBLE_PENDULUM_H_
