#include "common/envs/mujoco/humanoid_standup.h"

#include <algorithm>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/envs/mujoco/humanoid.h"

namespace proxima {
namespace {

class HumanoidStandup final : public HumanoidBody {
 public:
  HumanoidStandup(const MujocoEnvDef& def, std::shared_ptr<const mjModel> model,
                  const MujocoParams& p, bool v5)
      : HumanoidBody(model, MakeSpec(def, p, Layout(p, v5).Dim(*model), InfoKeys(*model, v5)),
                     def.frame_skip, Layout(p, v5), v5 ? p.Get("reset_noise_scale") : 0.01),
        v5_(v5),
        ctrl_weight_(v5 ? p.Get("ctrl_cost_weight") : 0.1),
        impact_weight_(v5 ? p.Get("impact_cost_weight") : 0.5e-6),
        impact_low_(v5 ? p.Get("impact_cost_range_low")
                       : -std::numeric_limits<double>::infinity()),
        impact_high_(v5 ? p.Get("impact_cost_range_high") : 10.0) {}

 private:
  static ObsLayout Layout(const MujocoParams& p, bool v5) {
    return v5 ? ObsLayout::V5(p) : ObsLayout::V4(/*exclude_xy=*/true);
  }

  static std::vector<std::string> InfoKeys(const mjModel& m, bool v5) {
    std::vector<std::string> keys;
    if (v5) {
      keys = {"x_position", "y_position", "z_distance_from_origin"};
      for (std::string& k : HumanoidBody::TendonInfoKeys(m)) keys.push_back(std::move(k));
    }
    for (const char* k : {"reward_linup", "reward_quadctrl", "reward_impact"}) keys.push_back(k);
    return keys;
  }

  // x_position, y_position, z_distance_from_origin and the tendon entries:
  // v5's info at reset and the head of its step info. Returns the next index.
  int WriteV5PositionInfo() {
    const double* q = data()->qpos;
    info_[0] = q[0];
    info_[1] = q[1];
    info_[2] = q[2] - model()->qpos0[2];
    WriteTendonInfo(&info_[3]);
    return 3 + 2 * model()->ntendon;
  }

  void ResetInfo() override {
    MujocoEnv::ResetInfo();
    if (v5_) WriteV5PositionInfo();
  }

  StepResult StepModel(const float* action) override {
    DoSimulation(action);
    const mjData* d = data();
    const double uph_cost = (d->qpos[2] - 0.0) / model()->opt.timestep;
    // Gymnasium's control cost reads data.ctrl (the action as double).
    const double ctrl_cost = ctrl_weight_ * SumOfSquares(d->ctrl, model()->nu);
    const double impact_cost = std::min(
        std::max(impact_weight_ * SumOfSquares(d->cfrc_ext, 6 * model()->nbody), impact_low_),
        impact_high_);
    StepResult r;
    r.reward = uph_cost - ctrl_cost - impact_cost + 1.0;
    const int k = v5_ ? WriteV5PositionInfo() : 0;
    info_[k] = uph_cost;
    info_[k + 1] = -ctrl_cost;
    info_[k + 2] = -impact_cost;
    Observe();
    return r;
  }

  const bool v5_;
  const double ctrl_weight_, impact_weight_, impact_low_, impact_high_;
};

}  // namespace

std::vector<MujocoEnvDef> HumanoidStandupEnvDefs() {
  std::vector<MujocoParam> v5 = {
      {"uph_cost_weight", 1.0},
      {"ctrl_cost_weight", 0.1},
      {"impact_cost_weight", 0.5e-6},
      {"impact_cost_range_low", -std::numeric_limits<double>::infinity()},
      {"impact_cost_range_high", 10.0},
      {"reset_noise_scale", 1e-2},
  };
  HumanoidBody::ObsLayout::AddV5Params(&v5);
  const double no_threshold = std::numeric_limits<double>::quiet_NaN();
  return {
      {"HumanoidStandup-v4", "humanoidstandup.xml", 5, 1000, no_threshold, 24, 23, 17, {},
       &MakeVersioned<HumanoidStandup, false>},
      {"HumanoidStandup-v5", "humanoidstandup.xml", 5, 1000, no_threshold, 24, 23, 17, v5,
       &MakeVersioned<HumanoidStandup, true>},
  };
}

}  // namespace proxima
