#include "common/envs/mujoco/inverted_double_pendulum.h"

#include <cmath>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace proxima {
namespace {

// np.clip(x, -10, 10), NaN passing through.
double Clip10(double x) { return x < -10.0 ? -10.0 : (x > 10.0 ? 10.0 : x); }

class InvertedDoublePendulum final : public MujocoEnv {
 public:
  InvertedDoublePendulum(const MujocoEnvDef& def, std::shared_ptr<const mjModel> model,
                         const MujocoParams& p, bool v5)
      : MujocoEnv(model,
                  MakeSpec(def, p, v5 ? 9 : 11,
                           v5 ? std::vector<std::string>{"reward_survive", "distance_penalty",
                                                         "velocity_penalty"}
                              : std::vector<std::string>{}),
                  def.frame_skip),
        v5_(v5),
        healthy_reward_(v5 ? p.Get("healthy_reward") : 10.0),
        noise_(v5 ? p.Get("reset_noise_scale") : 0.1) {}

 private:
  void ResetModel() override { AddResetNoise(noise_, QvelNoise::kNormal); }

  void Observe() override {
    const mjData* d = data();
    int k = 0;
    obs_[k++] = d->qpos[0];
    for (int i = 1; i < 3; ++i) obs_[k++] = std::sin(d->qpos[i]);
    for (int i = 1; i < 3; ++i) obs_[k++] = std::cos(d->qpos[i]);
    for (int i = 0; i < 3; ++i) obs_[k++] = Clip10(d->qvel[i]);
    for (int i = 0; i < (v5_ ? 1 : 3); ++i) obs_[k++] = Clip10(d->qfrc_constraint[i]);
  }

  StepResult StepModel(const float* action) override {
    DoSimulation(action);
    const mjData* d = data();
    // The tip site's position as the step's last mj_forward stage left it.
    const double x = d->site_xpos[0];
    const double y = d->site_xpos[2];
    Observe();
    StepResult r;
    r.terminated = y <= 1.0;
    const double v1 = d->qvel[1];
    const double v2 = d->qvel[2];
    const double dist_penalty = 0.01 * (x * x) + (y - 2.0) * (y - 2.0);
    const double vel_penalty = 1e-3 * (v1 * v1) + 5e-3 * (v2 * v2);
    const double alive_bonus = v5_ ? healthy_reward_ * (r.terminated ? 0.0 : 1.0) : 10.0;
    r.reward = alive_bonus - dist_penalty - vel_penalty;
    if (v5_) {
      info_[0] = alive_bonus;
      info_[1] = -dist_penalty;
      info_[2] = -vel_penalty;
    }
    return r;
  }

  const bool v5_;
  const double healthy_reward_, noise_;
};

}  // namespace

std::vector<MujocoEnvDef> InvertedDoublePendulumEnvDefs() {
  // v4's constructor takes no options.
  const std::vector<MujocoParam> v5_params = {
      {"healthy_reward", 10.0},
      {"reset_noise_scale", 0.1},
  };
  return {
      {"InvertedDoublePendulum-v4", "inverted_double_pendulum.xml", 5, 1000, 9100.0, 3, 3, 1, {},
       &MakeVersioned<InvertedDoublePendulum, false>},
      {"InvertedDoublePendulum-v5", "inverted_double_pendulum.xml", 5, 1000, 9100.0, 3, 3, 1,
       v5_params, &MakeVersioned<InvertedDoublePendulum, true>},
  };
}

}  // namespace proxima
