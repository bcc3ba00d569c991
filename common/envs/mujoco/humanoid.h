// Humanoid-v4 and Humanoid-v5 (Gymnasium): a 3D humanoid on a free joint,
// rewarded for walking along +x. Observation: qpos[2:] (qpos[0:2] too with
// exclude_current_positions_from_observation=0), qvel, then MuJoCo's cinert,
// cvel, qfrc_actuator and cfrc_ext (unclipped): v4 of every body and dof (376),
// v5 without the world body and the free joint's 6 dofs (348), each block
// optional (include_*_in_observation). Reward: forward_reward_weight * Δx/dt
// of the mass centre (Σ body_mass * xipos / Σ body_mass; the value before the
// step is MuJoCo's leftover from the previous step) + healthy_reward -
// ctrl_cost_weight * sum(ctrl^2) - (v5 only) contact cost
// clip(contact_cost_weight * sum(cfrc_ext^2), contact_cost_range).
// Healthy: healthy_z_range_low < qpos[2] < high. Terminates when unhealthy
// (terminate_when_unhealthy); v4 pays the healthy reward on every step, v5
// only while healthy. TimeLimit 1000. Reset noise U(+-reset_noise_scale) on
// qpos and qvel. v4's info reports the mass centre; v5's qpos[0:2], tendon
// lengths and velocities, and reset info.
//
// HumanoidBody (below) is what Humanoid and HumanoidStandup
// (humanoid_standup.h) share: the observation, the reset noise and the
// tendon info entries.
#ifndef PROXIMA_COMMON_ENVS_MUJOCO_HUMANOID_H_
#define PROXIMA_COMMON_ENVS_MUJOCO_HUMANOID_H_

#include <memory>
#include <string>
#include <vector>

#include "common/envs/mujoco/mujoco_env.h"

namespace proxima {

std::vector<MujocoEnvDef> HumanoidEnvDefs();

// Base of the Humanoid and HumanoidStandup envs.
class HumanoidBody : public MujocoEnv {
 public:
  // Which blocks the observation holds.
  struct ObsLayout {
    bool v5 = false;     // v5: no world body, no free-joint dofs
    int skip_qpos = 2;   // leading qpos entries left out
    bool cinert = true, cvel = true, qfrc_actuator = true, cfrc_ext = true;

    // v4: every block; skip_qpos 2, or 0 when `exclude_xy` is false.
    static ObsLayout V4(bool exclude_xy);
    // v5: from the options exclude_current_positions_from_observation and
    // include_{cinert,cvel,qfrc_actuator,cfrc_ext}_in_observation.
    static ObsLayout V5(const MujocoParams& p);
    // Those five options with Gymnasium's defaults (all 1), appended to `params`.
    static void AddV5Params(std::vector<MujocoParam>* params);
    int Dim(const mjModel& m) const;
  };

  // v5's info keys for tendon lengths and velocities, array entries
  // flattened Gymnasium-style: tendon_length0.., tendon_velocity0...
  static std::vector<std::string> TendonInfoKeys(const mjModel& m);

 protected:
  HumanoidBody(std::shared_ptr<const mjModel> model, EnvSpec spec, int frame_skip,
               ObsLayout layout, double reset_noise_scale);

  // qpos and qvel each + U(-reset_noise_scale, reset_noise_scale).
  void ResetModel() override;
  void Observe() override;
  // Writes ten_length then ten_velocity (2 * ntendon values) at `out`.
  void WriteTendonInfo(double* out) const;

 private:
  const ObsLayout layout_;
  const double noise_;
};

}  // namespace proxima

#endif  // PROXIMA_COMMON_ENVS_MUJOCO_HUMANOID_H_
