#include "common/envs/mujoco/swimmer.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace proxima {
namespace {

class Swimmer final : public MujocoEnv {
 public:
  Swimmer(const MujocoEnvDef& def, std::shared_ptr<const mjModel> model, const MujocoParams& p,
          bool v5)
      : MujocoEnv(model,
                  MakeSpec(def, p,
                           model->nq + model->nv -
                               (p.GetBool("exclude_current_positions_from_observation") ? 2 : 0),
                           v5 ? std::vector<std::string>{"x_position", "y_position",
                                                         "distance_from_origin", "x_velocity",
                                                         "y_velocity", "reward_forward",
                                                         "reward_ctrl"}
                              : std::vector<std::string>{"reward_fwd", "reward_ctrl",
                                                         "x_position", "y_position",
                                                         "distance_from_origin", "x_velocity",
                                                         "y_velocity", "forward_reward"}),
                  def.frame_skip),
        v5_(v5),
        forward_weight_(p.Get("forward_reward_weight")),
        ctrl_weight_(p.Get("ctrl_cost_weight")),
        noise_(p.Get("reset_noise_scale")),
        skip_xy_(p.GetBool("exclude_current_positions_from_observation") ? 2 : 0) {}

 private:
  void ResetModel() override { AddResetNoise(noise_, QvelNoise::kUniform); }

  void Observe() override { ObserveQposQvel(skip_xy_); }

  void ResetInfo() override {
    MujocoEnv::ResetInfo();
    if (v5_) {
      const double* qpos = data()->qpos;
      info_[0] = qpos[0];
      info_[1] = qpos[1];
      info_[2] = Norm(qpos[0], qpos[1]);
    }
  }

  StepResult StepModel(const float* action) override {
    const double x_before = data()->qpos[0], y_before = data()->qpos[1];
    DoSimulation(action);
    const double x_after = data()->qpos[0], y_after = data()->qpos[1];
    const double x_velocity = (x_after - x_before) / dt();
    const double y_velocity = (y_after - y_before) / dt();
    const double forward_reward = forward_weight_ * x_velocity;
    const double ctrl_cost =
        ctrl_weight_ * static_cast<double>(SumOfSquaresF32(action, model()->nu));
    const double distance = Norm(x_after, y_after);
    Observe();
    // v4 leads with reward_fwd, reward_ctrl and ends with forward_reward.
    double* info = info_.data();
    if (!v5_) {
      *info++ = forward_reward;
      *info++ = -ctrl_cost;
    }
    *info++ = x_after;
    *info++ = y_after;
    *info++ = distance;
    *info++ = x_velocity;
    *info++ = y_velocity;
    *info++ = forward_reward;
    if (v5_) *info++ = -ctrl_cost;
    StepResult r;
    r.reward = forward_reward - ctrl_cost;
    return r;
  }

  const bool v5_;
  const double forward_weight_, ctrl_weight_, noise_;
  const int skip_xy_;
};

}  // namespace

std::vector<MujocoEnvDef> SwimmerEnvDefs() {
  const std::vector<MujocoParam> params = {
      {"forward_reward_weight", 1.0},
      {"ctrl_cost_weight", 1e-4},
      {"reset_noise_scale", 0.1},
      {"exclude_current_positions_from_observation", 1.0},
  };
  return {
      {"Swimmer-v4", "swimmer.xml", 4, 1000, 360.0, 5, 5, 2, params,
       &MakeVersioned<Swimmer, false>},
      {"Swimmer-v5", "swimmer.xml", 4, 1000, 360.0, 5, 5, 2, params, &MakeVersioned<Swimmer, true>},
  };
}

}  // namespace proxima
