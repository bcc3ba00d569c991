#include "common/envs/mujoco/pusher.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace proxima {
namespace {

// np.linalg.norm(a - b) of two 3-vectors.
double Distance(const double* a, const double* b) {
  return Norm(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
}

class Pusher final : public MujocoEnv {
 public:
  Pusher(const MujocoEnvDef& def, std::shared_ptr<const mjModel> model, const MujocoParams& p,
         bool v5)
      : MujocoEnv(model,
                  MakeSpec(def, p, 23,
                           v5 ? std::vector<std::string>{"reward_dist", "reward_ctrl",
                                                         "reward_near"}
                              : std::vector<std::string>{"reward_dist", "reward_ctrl"}),
                  def.frame_skip),
        v5_(v5),
        near_weight_(v5 ? p.Get("reward_near_weight") : 0.5),
        dist_weight_(v5 ? p.Get("reward_dist_weight") : 1.0),
        ctrl_weight_(v5 ? p.Get("reward_control_weight") : 0.1) {
    tips_arm_ = BodyId("tips_arm");
    object_ = BodyId("object");
    goal_ = BodyId("goal");
  }

 private:
  void ResetModel() override {
    const mjModel* m = model();
    mjData* d = mutable_data();
    // qpos stays init_qpos but for the cylinder and the goal.
    double cx, cy;
    do {
      cx = rng().Uniform(-0.3, 0.0);
      cy = rng().Uniform(-0.2, 0.2);
    } while (!(Norm(cx, cy) > 0.17));
    d->qpos[m->nq - 4] = cx;
    d->qpos[m->nq - 3] = cy;
    d->qpos[m->nq - 2] = 0.0;
    d->qpos[m->nq - 1] = 0.0;
    AddUniformNoise(d->qvel, m->nv, -0.005, 0.005);
    for (int i = m->nv - 4; i < m->nv; ++i) d->qvel[i] = 0.0;
  }

  const double* BodyPos(int body) const { return data()->xpos + 3 * body; }

  void Observe() override {
    const mjData* d = data();
    int k = 0;
    for (int i = 0; i < 7; ++i) obs_[k++] = d->qpos[i];
    for (int i = 0; i < 7; ++i) obs_[k++] = d->qvel[i];
    for (int body : {tips_arm_, object_, goal_}) {
      for (int i = 0; i < 3; ++i) obs_[k++] = BodyPos(body)[i];
    }
  }

  // Fills the info and returns the reward, from the body positions in data()
  // now, in Gymnasium's order of operations.
  double Reward(const float* action) {
    const double near = Distance(BodyPos(object_), BodyPos(tips_arm_));
    const double dist = Distance(BodyPos(object_), BodyPos(goal_));
    const float neg_sq = -SumOfSquaresF32(action, model()->nu);
    info_[1] = v5_ ? static_cast<double>(neg_sq) * ctrl_weight_ : static_cast<double>(neg_sq);
    if (v5_) {
      const double reward_near = -near * near_weight_;
      const double reward_dist = -dist * dist_weight_;
      info_[0] = reward_dist;
      info_[2] = reward_near;
      return reward_dist + info_[1] + reward_near;
    }
    info_[0] = -dist;
    return -dist + ctrl_weight_ * info_[1] + near_weight_ * -near;
  }

  StepResult StepModel(const float* action) override {
    return StepWithReward(action, /*reward_before_step=*/!v5_, [&] { return Reward(action); });
  }

  const bool v5_;
  const double near_weight_, dist_weight_, ctrl_weight_;
  int tips_arm_, object_, goal_;
};

}  // namespace

std::vector<MujocoEnvDef> PusherEnvDefs() {
  // v4's constructor takes no options (its weights are fixed at these values).
  const std::vector<MujocoParam> v5_params = {
      {"reward_near_weight", 0.5},
      {"reward_dist_weight", 1.0},
      {"reward_control_weight", 0.1},
  };
  return {
      {"Pusher-v4", "pusher.xml", 5, 100, 0.0, 11, 11, 7, {}, &MakeVersioned<Pusher, false>},
      {"Pusher-v5", "pusher_v5.xml", 5, 100, 0.0, 11, 11, 7, v5_params,
       &MakeVersioned<Pusher, true>},
  };
}

}  // namespace proxima
