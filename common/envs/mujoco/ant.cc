#include "common/envs/mujoco/ant.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace proxima {
namespace {

class Ant final : public MujocoEnv {
 public:
  Ant(const MujocoEnvDef& def, std::shared_ptr<const mjModel> model, const MujocoParams& p,
      bool v5)
      : MujocoEnv(model, MakeSpec(def, p, ObsDim(*model, p, v5), InfoKeys(v5)), def.frame_skip),
        v5_(v5),
        forward_weight_(v5 ? p.Get("forward_reward_weight") : 1.0),
        ctrl_weight_(p.Get("ctrl_cost_weight")),
        contact_weight_(p.Get("contact_cost_weight")),
        healthy_reward_(p.Get("healthy_reward")),
        terminate_(p.GetBool("terminate_when_unhealthy")),
        z_low_(p.Get("healthy_z_range_low")),
        z_high_(p.Get("healthy_z_range_high")),
        force_low_(p.Get("contact_force_range_low")),
        force_high_(p.Get("contact_force_range_high")),
        noise_(p.Get("reset_noise_scale")),
        skip_xy_(p.GetBool("exclude_current_positions_from_observation") ? 2 : 0),
        contact_in_obs_(v5 ? p.GetBool("include_cfrc_ext_in_observation")
                           : p.GetBool("use_contact_forces")),
        contact_cost_(v5 || p.GetBool("use_contact_forces")) {
    if (v5) {
      const double b = p.Get("main_body");
      if (b == std::floor(b) && b >= 0 && b < model->nbody) {
        main_body_ = static_cast<int>(b);
      } else {
        SetStatus(absl::InvalidArgumentError(
            absl::StrCat(p.id(), ": main_body=", b, " is not a body index (0..",
                         model->nbody - 1, ")")));
      }
    } else {
      main_body_ = BodyId("torso");
    }
    clipped_.resize(6 * model->nbody);
  }

 private:
  static int ObsDim(const mjModel& m, const MujocoParams& p, bool v5) {
    int n = m.nq + m.nv - (p.GetBool("exclude_current_positions_from_observation") ? 2 : 0);
    if (v5 && p.GetBool("include_cfrc_ext_in_observation")) n += 6 * (m.nbody - 1);
    if (!v5 && p.GetBool("use_contact_forces")) n += 6 * m.nbody;
    return n;
  }

  static std::vector<std::string> InfoKeys(bool v5) {
    if (v5) {
      return {"x_position", "y_position",     "distance_from_origin", "x_velocity", "y_velocity",
              "reward_forward", "reward_ctrl", "reward_contact",      "reward_survive"};
    }
    return {"reward_forward", "reward_ctrl", "reward_survive", "x_position",   "y_position",
            "distance_from_origin", "x_velocity", "y_velocity", "forward_reward"};
  }

  void ResetModel() override { AddResetNoise(noise_, QvelNoise::kNormal); }

  // clip(cfrc_ext, contact_force_range) of every body into clipped_.
  void ClipContactForces() {
    const double* f = data()->cfrc_ext;
    for (size_t i = 0; i < clipped_.size(); ++i) {
      clipped_[i] = std::min(std::max(f[i], force_low_), force_high_);
    }
  }

  void Observe() override {
    int k = ObserveQposQvel(skip_xy_);
    if (contact_in_obs_) {
      ClipContactForces();
      // v5 leaves out the world body (row 0).
      for (size_t i = v5_ ? 6 : 0; i < clipped_.size(); ++i) obs_[k++] = clipped_[i];
    }
  }

  void ResetInfo() override {
    MujocoEnv::ResetInfo();
    if (!v5_) return;
    const double* q = data()->qpos;
    info_[0] = q[0];
    info_[1] = q[1];
    info_[2] = Norm(q[0], q[1]);
  }

  bool IsHealthy() const {
    const mjData* d = data();
    for (int i = 0; i < model()->nq; ++i) {
      if (!std::isfinite(d->qpos[i])) return false;
    }
    for (int i = 0; i < model()->nv; ++i) {
      if (!std::isfinite(d->qvel[i])) return false;
    }
    return z_low_ <= d->qpos[2] && d->qpos[2] <= z_high_;
  }

  // contact_cost_weight * np.sum(np.square(clip(cfrc_ext))).
  double ContactCost() {
    ClipContactForces();
    return contact_weight_ * SumOfSquares(clipped_.data(), static_cast<int>(clipped_.size()));
  }

  StepResult StepModel(const float* action) override {
    const double* xpos = data()->xpos + 3 * main_body_;
    // Before the step xpos is what MuJoCo left from the previous one.
    const double x_before = xpos[0], y_before = xpos[1];
    DoSimulation(action);
    const double x_after = xpos[0], y_after = xpos[1];
    const double x_velocity = (x_after - x_before) / dt();
    const double y_velocity = (y_after - y_before) / dt();
    const bool healthy = IsHealthy();
    const double forward_reward = x_velocity * forward_weight_;
    double healthy_reward;
    if (v5_) {
      healthy_reward = (healthy ? 1.0 : 0.0) * healthy_reward_;
    } else {
      healthy_reward = ((healthy || terminate_) ? 1.0 : 0.0) * healthy_reward_;
    }
    const double rewards = forward_reward + healthy_reward;
    const double ctrl_cost =
        ctrl_weight_ * static_cast<double>(SumOfSquaresF32(action, model()->nu));
    const double contact_cost = contact_cost_ ? ContactCost() : 0.0;
    const double costs = contact_cost_ ? ctrl_cost + contact_cost : ctrl_cost;
    Observe();
    StepResult r;
    r.reward = rewards - costs;
    r.terminated = !healthy && terminate_;
    if (v5_) {
      const double* q = data()->qpos;
      WritePlanarMotionInfo(&info_[0], q[0], q[1], x_velocity, y_velocity, forward_reward);
      info_[6] = -ctrl_cost;
      info_[7] = -contact_cost;
      info_[8] = healthy_reward;
    } else {
      info_[0] = forward_reward;
      // Gymnasium's Ant-v4 overwrites reward_ctrl with the contact cost when
      // contact forces are used; kept as it is.
      info_[1] = contact_cost_ ? -contact_cost : -ctrl_cost;
      info_[2] = healthy_reward;
      WritePlanarMotionInfo(&info_[3], x_after, y_after, x_velocity, y_velocity, forward_reward);
    }
    return r;
  }

  const bool v5_;
  const double forward_weight_, ctrl_weight_, contact_weight_, healthy_reward_;
  const bool terminate_;
  const double z_low_, z_high_, force_low_, force_high_, noise_;
  const int skip_xy_;
  const bool contact_in_obs_, contact_cost_;
  int main_body_ = 1;
  std::vector<double> clipped_;
};

}  // namespace

std::vector<MujocoEnvDef> AntEnvDefs() {
  const std::vector<MujocoParam> v4 = {
      {"ctrl_cost_weight", 0.5},
      {"use_contact_forces", 0.0},
      {"contact_cost_weight", 5e-4},
      {"healthy_reward", 1.0},
      {"terminate_when_unhealthy", 1.0},
      {"healthy_z_range_low", 0.2},
      {"healthy_z_range_high", 1.0},
      {"contact_force_range_low", -1.0},
      {"contact_force_range_high", 1.0},
      {"reset_noise_scale", 0.1},
      {"exclude_current_positions_from_observation", 1.0},
  };
  const std::vector<MujocoParam> v5 = {
      {"forward_reward_weight", 1.0},
      {"ctrl_cost_weight", 0.5},
      {"contact_cost_weight", 5e-4},
      {"healthy_reward", 1.0},
      {"main_body", 1.0},
      {"terminate_when_unhealthy", 1.0},
      {"healthy_z_range_low", 0.2},
      {"healthy_z_range_high", 1.0},
      {"contact_force_range_low", -1.0},
      {"contact_force_range_high", 1.0},
      {"reset_noise_scale", 0.1},
      {"exclude_current_positions_from_observation", 1.0},
      {"include_cfrc_ext_in_observation", 1.0},
  };
  return {
      {"Ant-v4", "ant.xml", 5, 1000, 6000.0, 15, 14, 8, v4, &MakeVersioned<Ant, false>},
      {"Ant-v5", "ant.xml", 5, 1000, 6000.0, 15, 14, 8, v5, &MakeVersioned<Ant, true>},
  };
}

}  // namespace proxima
