#include "common/envs/mujoco/half_cheetah.h"

#include <limits>
#include <memory>
#include <utility>

namespace proxima {
namespace {

class HalfCheetah final : public MujocoEnv {
 public:
  HalfCheetah(const MujocoEnvDef& def, std::shared_ptr<const mjModel> model,
              const MujocoParams& p, bool v5)
      : MujocoEnv(model,
                  MakeSpec(def, p, model->nq + model->nv -
                                    (p.GetBool("exclude_current_positions_from_observation") ? 1 : 0),
                           {"x_position", "x_velocity", v5 ? "reward_forward" : "reward_run",
                            "reward_ctrl"}),
                  def.frame_skip),
        v5_(v5),
        forward_weight_(p.Get("forward_reward_weight")),
        ctrl_weight_(p.Get("ctrl_cost_weight")),
        noise_(p.Get("reset_noise_scale")),
        skip_x_(p.GetBool("exclude_current_positions_from_observation") ? 1 : 0) {}

 private:
  void ResetModel() override { AddResetNoise(noise_, QvelNoise::kNormal); }

  void Observe() override { ObserveQposQvel(skip_x_); }

  void ResetInfo() override {
    MujocoEnv::ResetInfo();
    if (v5_) info_[0] = data()->qpos[0];
  }

  StepResult StepModel(const float* action) override {
    const double x_before = data()->qpos[0];
    DoSimulation(action);
    const double x_after = data()->qpos[0];
    const double x_velocity = (x_after - x_before) / dt();
    const double ctrl_cost =
        ctrl_weight_ * static_cast<double>(SumOfSquaresF32(action, model()->nu));
    const double forward_reward = forward_weight_ * x_velocity;
    Observe();
    info_[0] = x_after;
    info_[1] = x_velocity;
    info_[2] = forward_reward;
    info_[3] = -ctrl_cost;
    StepResult r;
    r.reward = forward_reward - ctrl_cost;
    return r;
  }

  const bool v5_;
  const double forward_weight_, ctrl_weight_, noise_;
  const int skip_x_;
};

}  // namespace

std::vector<MujocoEnvDef> HalfCheetahEnvDefs() {
  const std::vector<MujocoParam> params = {
      {"forward_reward_weight", 1.0},
      {"ctrl_cost_weight", 0.1},
      {"reset_noise_scale", 0.1},
      {"exclude_current_positions_from_observation", 1.0},
  };
  return {
      {"HalfCheetah-v4", "half_cheetah.xml", 5, 1000, 4800.0, 9, 9, 6, params,
       &MakeVersioned<HalfCheetah, false>},
      {"HalfCheetah-v5", "half_cheetah.xml", 5, 1000, 4800.0, 9, 9, 6, params,
       &MakeVersioned<HalfCheetah, true>},
  };
}

}  // namespace proxima
