#include "common/envs/mujoco/inverted_pendulum.h"

#include <cmath>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace proxima {
namespace {

class InvertedPendulum final : public MujocoEnv {
 public:
  InvertedPendulum(const MujocoEnvDef& def, std::shared_ptr<const mjModel> model,
                   const MujocoParams& p, bool v5)
      : MujocoEnv(model,
                  MakeSpec(def, p, model->nq + model->nv,
                           v5 ? std::vector<std::string>{"reward_survive"}
                              : std::vector<std::string>{}),
                  def.frame_skip),
        v5_(v5),
        noise_(v5 ? p.Get("reset_noise_scale") : 0.01) {}

 private:
  void ResetModel() override { AddResetNoise(noise_, QvelNoise::kUniform); }

  void Observe() override { ObserveQposQvel(/*skip_qpos=*/0); }

  StepResult StepModel(const float* action) override {
    DoSimulation(action);
    Observe();
    bool finite = true;
    for (double x : obs_) finite = finite && std::isfinite(x);
    StepResult r;
    r.terminated = !finite || std::fabs(obs_[1]) > 0.2;
    if (v5_) {
      r.reward = r.terminated ? 0.0 : 1.0;
      info_[0] = r.reward;
    } else {
      r.reward = 1.0;
    }
    return r;
  }

  const bool v5_;
  const double noise_;
};

}  // namespace

std::vector<MujocoEnvDef> InvertedPendulumEnvDefs() {
  // v4's constructor takes no options; v5 adds reset_noise_scale.
  const std::vector<MujocoParam> v5_params = {
      {"reset_noise_scale", 0.01},
  };
  return {
      {"InvertedPendulum-v4", "inverted_pendulum.xml", 2, 1000, 950.0, 2, 2, 1, {},
       &MakeVersioned<InvertedPendulum, false>},
      {"InvertedPendulum-v5", "inverted_pendulum.xml", 2, 1000, 950.0, 2, 2, 1, v5_params,
       &MakeVersioned<InvertedPendulum, true>},
  };
}

}  // namespace proxima
