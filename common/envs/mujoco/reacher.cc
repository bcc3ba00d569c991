#include "common/envs/mujoco/reacher.h"

#include <cmath>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace proxima {
namespace {

// The id of the body `name`; 0, with *status set, if the model has none.
int BodyId(const mjModel& m, const char* name, const std::string& env_id, absl::Status* status) {
  const int id = mj_name2id(&m, mjOBJ_BODY, name);
  if (id >= 0) return id;
  *status = absl::InvalidArgumentError(
      absl::StrCat(env_id, ": the model has no body named \"", name, "\""));
  return 0;
}

class Reacher final : public MujocoEnv {
 public:
  Reacher(const MujocoEnvDef& def, std::shared_ptr<const mjModel> model, const MujocoParams& p,
          bool v5)
      : MujocoEnv(model, MakeSpec(def, p, v5 ? 10 : 11, {"reward_dist", "reward_ctrl"}),
                  def.frame_skip),
        v5_(v5),
        dist_weight_(v5 ? p.Get("reward_dist_weight") : 1.0),
        ctrl_weight_(v5 ? p.Get("reward_control_weight") : 1.0) {
    fingertip_ = BodyId(*model, "fingertip", p.id(), &status_);
    target_ = BodyId(*model, "target", p.id(), &status_);
  }

  absl::Status status() const override { return status_; }

 private:
  void ResetModel() override {
    const mjModel* m = model();
    mjData* d = mutable_data();
    AddUniformNoise(d->qpos, m->nq, -0.1, 0.1);
    double gx, gy;
    do {
      gx = rng().Uniform(-0.2, 0.2);
      gy = rng().Uniform(-0.2, 0.2);
    } while (!(std::sqrt(gx * gx + gy * gy) < 0.2));
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
    // np.linalg.norm: sqrt of the dot product, summed left to right.
    const double dist = std::sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
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
    StepResult r;
    if (!v5_) r.reward = Reward(action);  // before the step, as v4 does
    DoSimulation(action);
    Observe();
    if (v5_) r.reward = Reward(action);
    return r;
  }

  const bool v5_;
  const double dist_weight_, ctrl_weight_;
  int fingertip_, target_;
  absl::Status status_;
};

template <bool kV5>
std::unique_ptr<MujocoEnv> Make(const MujocoEnvDef& def, std::shared_ptr<const mjModel> model,
                                const MujocoParams& p) {
  return std::make_unique<Reacher>(def, std::move(model), p, kV5);
}

}  // namespace

std::vector<MujocoEnvDef> ReacherEnvDefs() {
  // v4's constructor takes no options.
  const std::vector<MujocoParam> v5_params = {
      {"reward_dist_weight", 1.0},
      {"reward_control_weight", 1.0},
  };
  return {
      {"Reacher-v4", "reacher.xml", 2, 50, -3.75, 4, 4, 2, {}, &Make<false>},
      {"Reacher-v5", "reacher.xml", 2, 50, -3.75, 4, 4, 2, v5_params, &Make<true>},
  };
}

}  // namespace proxima
