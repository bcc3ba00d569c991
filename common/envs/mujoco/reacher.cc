#include "common/envs/mujoco/reacher.h"

#include <cmath>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace proxima {
namespace {

class Reacher final : public MujocoEnv {
 public:
  Reacher(const MujocoEnvDef& def, std::shared_ptr<const mjModel> model, const MujocoParams& p,
          bool v5)
      : MujocoEnv(model, MakeSpec(def, p, v5 ? 10 : 11, {"reward_dist", "reward_ctrl"}),
                  def.frame_skip),
        v5_(v5),
        dist_weight_(v5 ? p.Get("reward_dist_weight") : 1.0),
        ctrl_weight_(v5 ? p.Get("reward_control_weight") : 1.0) {
    fingertip_ = BodyId("fingertip");
    target_ = BodyId("target");
  }

 private:
  void ResetModel() override {
    const mjModel* m = model();
    mjData* d = mutable_data();
    AddUniformNoise(d->qpos, m->nq, -0.1, 0.1);
    double gx, gy;
    do {
      gx = rng().Uniform(-0.2, 0.2);
      gy = rng().Uniform(-0.2, 0.2);
    } while (!(Norm(gx, gy) < 0.2));
    d->qpos[m->nq - 2] = gx;
    d->qpos[m->nq - 1] = gy;
    AddUniformNoise(d->qvel, m->nv, -0.005, 0.005);
    d->qvel[m->nv - 2] = 0.0;
    d->qvel[m->nv - 1] = 0.0;
  }

  // fingertip xpos - target xpos, as MuJoCo's data holds them now.
  void Vec(double v[3]) const {
    const double* f = data()->xpos + 3 * fingertip_;
    const double* t = data()->xpos + 3 * target_;
    for (int i = 0; i < 3; ++i) v[i] = f[i] - t[i];
  }

  void Observe() override {
    const mjData* d = data();
    int k = 0;
    for (int i = 0; i < 2; ++i) obs_[k++] = std::cos(d->qpos[i]);
    for (int i = 0; i < 2; ++i) obs_[k++] = std::sin(d->qpos[i]);
    for (int i = 2; i < model()->nq; ++i) obs_[k++] = d->qpos[i];
    for (int i = 0; i < 2; ++i) obs_[k++] = d->qvel[i];
    double v[3];
    Vec(v);
    for (int i = 0; i < (v5_ ? 2 : 3); ++i) obs_[k++] = v[i];
  }

  // Sets reward_dist, reward_ctrl (info) and returns the reward, from the
  // body positions in data() now.
  double Reward(const float* action) {
    double v[3];
    Vec(v);
    const double dist = Norm(v[0], v[1], v[2]);
    const float sq = SumOfSquaresF32(action, model()->nu);
    double reward_dist, reward_ctrl;
    if (v5_) {
      reward_dist = -dist * dist_weight_;
      reward_ctrl = static_cast<double>(-sq) * ctrl_weight_;
    } else {
      reward_dist = -dist;
      reward_ctrl = static_cast<double>(-sq);
    }
    info_[0] = reward_dist;
    info_[1] = reward_ctrl;
    return reward_dist + reward_ctrl;
  }

  StepResult StepModel(const float* action) override {
    return StepWithReward(action, /*reward_before_step=*/!v5_, [&] { return Reward(action); });
  }

  const bool v5_;
  const double dist_weight_, ctrl_weight_;
  int fingertip_, target_;
};

}  // namespace

std::vector<MujocoEnvDef> ReacherEnvDefs() {
  // v4's constructor takes no options.
  const std::vector<MujocoParam> v5_params = {
      {"reward_dist_weight", 1.0},
      {"reward_control_weight", 1.0},
  };
  return {
      {"Reacher-v4", "reacher.xml", 2, 50, -3.75, 4, 4, 2, {}, &MakeVersioned<Reacher, false>},
      {"Reacher-v5", "reacher.xml", 2, 50, -3.75, 4, 4, 2, v5_params,
       &MakeVersioned<Reacher, true>},
  };
}

}  // namespace proxima
