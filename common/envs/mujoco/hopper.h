// Hopper-v4 and Hopper-v5 (Gymnasium): a planar one-legged hopper rewarded
// for hopping forward. Observation: qpos[1:] and qvel clipped to +-10 (11;
// qpos[0] too with exclude_current_positions_from_observation=0). Reward:
// (forward_reward_weight * (x after - x before) / dt + healthy reward) -
// ctrl_cost_weight * sum(action^2). Healthy: every strict test z in
// healthy_z_range, angle qpos[2] in healthy_angle_range, each of qpos[2:]
// and qvel in healthy_state_range; unhealthy terminates (with
// terminate_when_unhealthy). TimeLimit 1000. Reset noise: qpos and qvel
// U(+-reset_noise_scale). v4 pays the healthy reward on every step while
// terminate_when_unhealthy is set (even the terminating one), v5 only while
// healthy; v5 reports more info (z_distance_from_origin, the reward terms)
// and x_position, z_distance_from_origin at reset.
#ifndef PROXIMA_COMMON_ENVS_MUJOCO_HOPPER_H_
#define PROXIMA_COMMON_ENVS_MUJOCO_HOPPER_H_

#include <memory>
#include <utility>
#include <vector>

#include "common/envs/mujoco/mujoco_env.h"

namespace proxima {

std::vector<MujocoEnvDef> HopperEnvDefs();

// Hopper's env for any model of its kind: Walker2d (walker2d.h) is the same
// env but for the model, the healthy ranges and the missing
// healthy_state_range test (healthy_state_test = false; then `params` need
// not declare healthy_state_range_low/high). `params` declares the other
// options HopperEnvDefs declares.
std::unique_ptr<MujocoEnv> MakeHopperLikeEnv(const MujocoEnvDef& def,
                                             std::shared_ptr<const mjModel> model,
                                             const MujocoParams& params, bool v5,
                                             bool healthy_state_test);

// MakeHopperLikeEnv as a MujocoEnvDef::make.
template <bool kV5, bool kHealthyStateTest>
std::unique_ptr<MujocoEnv> MakeHopperLike(const MujocoEnvDef& def,
                                          std::shared_ptr<const mjModel> model,
                                          const MujocoParams& params) {
  return MakeHopperLikeEnv(def, std::move(model), params, kV5, kHealthyStateTest);
}

}  // namespace proxima

#endif  // PROXIMA_COMMON_ENVS_MUJOCO_HOPPER_H_
