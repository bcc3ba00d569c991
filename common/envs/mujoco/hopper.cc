#include "common/envs/mujoco/hopper.h"

#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace proxima {
namespace {

class HopperLike final : public MujocoEnv {
 public:
  HopperLike(const MujocoEnvDef& def, std::shared_ptr<const mjModel> model,
             const MujocoParams& p, bool v5, bool state_test)
      : MujocoEnv(model,
                  MakeSpec(def, p,
                           model->nq + model->nv -
                               (p.GetBool("exclude_current_positions_from_observation") ? 1 : 0),
                           v5 ? std::vector<std::string>{"x_position", "z_distance_from_origin",
                                                         "x_velocity", "reward_forward",
                                                         "reward_ctrl", "reward_survive"}
                              : std::vector<std::string>{"x_position", "x_velocity"}),
                  def.frame_skip),
        v5_(v5),
        forward_weight_(p.Get("forward_reward_weight")),
        ctrl_weight_(p.Get("ctrl_cost_weight")),
        healthy_reward_(p.Get("healthy_reward")),
        terminate_when_unhealthy_(p.GetBool("terminate_when_unhealthy")),
        state_test_(state_test),
        state_low_(state_test ? p.Get("healthy_state_range_low") : 0.0),
        state_high_(state_test ? p.Get("healthy_state_range_high") : 0.0),
        z_low_(p.Get("healthy_z_range_low")),
        z_high_(p.Get("healthy_z_range_high")),
        angle_low_(p.Get("healthy_angle_range_low")),
        angle_high_(p.Get("healthy_angle_range_high")),
        noise_(p.Get("reset_noise_scale")),
        skip_x_(p.GetBool("exclude_current_positions_from_observation") ? 1 : 0) {}

 private:
  // Gymnasium's is_healthy: every test strict, so NaN is unhealthy.
  bool IsHealthy() const {
    const mjModel* m = model();
    const mjData* d = data();
    if (state_test_) {
      // state_vector()[2:] = qpos[2:], qvel.
      for (int i = 2; i < m->nq; ++i) {
        if (!(state_low_ < d->qpos[i] && d->qpos[i] < state_high_)) return false;
      }
      for (int i = 0; i < m->nv; ++i) {
        if (!(state_low_ < d->qvel[i] && d->qvel[i] < state_high_)) return false;
      }
    }
    const double z = d->qpos[1], angle = d->qpos[2];
    return z_low_ < z && z < z_high_ && angle_low_ < angle && angle < angle_high_;
  }

  void ResetModel() override { AddResetNoise(noise_, QvelNoise::kUniform); }

  void Observe() override { ObserveQposQvel(skip_x_, /*qvel_clip=*/10.0); }

  void ResetInfo() override {
    MujocoEnv::ResetInfo();
    if (v5_) {
      info_[0] = data()->qpos[0];
      info_[1] = data()->qpos[1] - model()->qpos0[1];
    }
  }

  StepResult StepModel(const float* action) override {
    const double x_before = data()->qpos[0];
    DoSimulation(action);
    const double x_after = data()->qpos[0];
    const double x_velocity = (x_after - x_before) / dt();
    const double forward_reward = forward_weight_ * x_velocity;
    const bool healthy = IsHealthy();
    // v4: float(is_healthy or terminate_when_unhealthy) * w; v5: is_healthy * w.
    const bool paid = v5_ ? healthy : (healthy || terminate_when_unhealthy_);
    const double healthy_reward = (paid ? 1.0 : 0.0) * healthy_reward_;
    const double ctrl_cost =
        ctrl_weight_ * static_cast<double>(SumOfSquaresF32(action, model()->nu));
    Observe();
    if (v5_) {
      info_[0] = x_after;
      info_[1] = data()->qpos[1] - model()->qpos0[1];
      info_[2] = x_velocity;
      info_[3] = forward_reward;
      info_[4] = -ctrl_cost;
      info_[5] = healthy_reward;
    } else {
      info_[0] = x_after;
      info_[1] = x_velocity;
    }
    StepResult r;
    r.reward = (forward_reward + healthy_reward) - ctrl_cost;
    r.terminated = terminate_when_unhealthy_ && !healthy;
    return r;
  }

  const bool v5_;
  const double forward_weight_, ctrl_weight_, healthy_reward_;
  const bool terminate_when_unhealthy_;
  const bool state_test_;
  const double state_low_, state_high_, z_low_, z_high_, angle_low_, angle_high_, noise_;
  const int skip_x_;
};

}  // namespace

std::unique_ptr<MujocoEnv> MakeHopperLikeEnv(const MujocoEnvDef& def,
                                             std::shared_ptr<const mjModel> model,
                                             const MujocoParams& params, bool v5,
                                             bool healthy_state_test) {
  return std::make_unique<HopperLike>(def, std::move(model), params, v5, healthy_state_test);
}

std::vector<MujocoEnvDef> HopperEnvDefs() {
  const std::vector<MujocoParam> params = {
      {"forward_reward_weight", 1.0},
      {"ctrl_cost_weight", 1e-3},
      {"healthy_reward", 1.0},
      {"terminate_when_unhealthy", 1.0},
      {"healthy_state_range_low", -100.0},
      {"healthy_state_range_high", 100.0},
      {"healthy_z_range_low", 0.7},
      {"healthy_z_range_high", std::numeric_limits<double>::infinity()},
      {"healthy_angle_range_low", -0.2},
      {"healthy_angle_range_high", 0.2},
      {"reset_noise_scale", 5e-3},
      {"exclude_current_positions_from_observation", 1.0},
  };
  return {
      {"Hopper-v4", "hopper.xml", 4, 1000, 3800.0, 6, 6, 3, params,
       &MakeHopperLike<false, /*kHealthyStateTest=*/true>},
      {"Hopper-v5", "hopper.xml", 4, 1000, 3800.0, 6, 6, 3, params,
       &MakeHopperLike<true, /*kHealthyStateTest=*/true>},
  };
}

}  // namespace proxima
