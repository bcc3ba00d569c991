#include "common/envs/mujoco/humanoid.h"

#include <algorithm>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace proxima {

HumanoidBody::ObsLayout HumanoidBody::ObsLayout::V4(bool exclude_xy) {
  ObsLayout l;
  l.skip_qpos = exclude_xy ? 2 : 0;
  return l;
}

HumanoidBody::ObsLayout HumanoidBody::ObsLayout::V5(const MujocoParams& p) {
  ObsLayout l;
  l.v5 = true;
  l.skip_qpos = p.GetBool("exclude_current_positions_from_observation") ? 2 : 0;
  l.cinert = p.GetBool("include_cinert_in_observation");
  l.cvel = p.GetBool("include_cvel_in_observation");
  l.qfrc_actuator = p.GetBool("include_qfrc_actuator_in_observation");
  l.cfrc_ext = p.GetBool("include_cfrc_ext_in_observation");
  return l;
}

void HumanoidBody::ObsLayout::AddV5Params(std::vector<MujocoParam>* params) {
  for (const char* name :
       {"exclude_current_positions_from_observation", "include_cinert_in_observation",
        "include_cvel_in_observation", "include_qfrc_actuator_in_observation",
        "include_cfrc_ext_in_observation"}) {
    params->push_back({name, 1.0});
  }
}

int HumanoidBody::ObsLayout::Dim(const mjModel& m) const {
  const int bodies = v5 ? m.nbody - 1 : m.nbody;
  const int dofs = v5 ? m.nv - 6 : m.nv;
  return m.nq - skip_qpos + m.nv + (cinert ? 10 * bodies : 0) + (cvel ? 6 * bodies : 0) +
         (qfrc_actuator ? dofs : 0) + (cfrc_ext ? 6 * bodies : 0);
}

std::vector<std::string> HumanoidBody::TendonInfoKeys(const mjModel& m) {
  std::vector<std::string> keys;
  for (int i = 0; i < m.ntendon; ++i) keys.push_back(absl::StrCat("tendon_length", i));
  for (int i = 0; i < m.ntendon; ++i) keys.push_back(absl::StrCat("tendon_velocity", i));
  return keys;
}

HumanoidBody::HumanoidBody(std::shared_ptr<const mjModel> model, EnvSpec spec, int frame_skip,
                           ObsLayout layout, double reset_noise_scale)
    : MujocoEnv(std::move(model), std::move(spec), frame_skip),
      layout_(layout),
      noise_(reset_noise_scale) {}

void HumanoidBody::ResetModel() { AddResetNoise(noise_, QvelNoise::kUniform); }

void HumanoidBody::Observe() {
  const mjModel* m = model();
  const mjData* d = data();
  const int body0 = layout_.v5 ? 1 : 0;  // v5 leaves out the world body
  const int dof0 = layout_.v5 ? 6 : 0;   // and the free joint's dofs
  double* o = obs_.data() + ObserveQposQvel(layout_.skip_qpos);
  if (layout_.cinert) o = std::copy(d->cinert + 10 * body0, d->cinert + 10 * m->nbody, o);
  if (layout_.cvel) o = std::copy(d->cvel + 6 * body0, d->cvel + 6 * m->nbody, o);
  if (layout_.qfrc_actuator) o = std::copy(d->qfrc_actuator + dof0, d->qfrc_actuator + m->nv, o);
  if (layout_.cfrc_ext) o = std::copy(d->cfrc_ext + 6 * body0, d->cfrc_ext + 6 * m->nbody, o);
}

void HumanoidBody::WriteTendonInfo(double* out) const {
  const int n = model()->ntendon;
  std::copy(data()->ten_length, data()->ten_length + n, out);
  std::copy(data()->ten_velocity, data()->ten_velocity + n, out + n);
}

namespace {

class Humanoid final : public HumanoidBody {
 public:
  Humanoid(const MujocoEnvDef& def, std::shared_ptr<const mjModel> model, const MujocoParams& p,
           bool v5)
      : HumanoidBody(model,
                     MakeSpec(def, p, Layout(p, v5).Dim(*model), InfoKeys(*model, v5)),
                     def.frame_skip, Layout(p, v5), p.Get("reset_noise_scale")),
        v5_(v5),
        forward_weight_(p.Get("forward_reward_weight")),
        ctrl_weight_(p.Get("ctrl_cost_weight")),
        contact_weight_(v5 ? p.Get("contact_cost_weight") : 0.0),
        contact_low_(v5 ? p.Get("contact_cost_range_low") : 0.0),
        contact_high_(v5 ? p.Get("contact_cost_range_high") : 0.0),
        healthy_reward_(p.Get("healthy_reward")),
        terminate_(p.GetBool("terminate_when_unhealthy")),
        z_low_(p.Get("healthy_z_range_low")),
        z_high_(p.Get("healthy_z_range_high")),
        total_mass_(NumpySum(model->body_mass, model->nbody)) {}

 private:
  static ObsLayout Layout(const MujocoParams& p, bool v5) {
    return v5 ? ObsLayout::V5(p)
              : ObsLayout::V4(p.GetBool("exclude_current_positions_from_observation"));
  }

  static std::vector<std::string> InfoKeys(const mjModel& m, bool v5) {
    if (!v5) {
      return {"reward_linvel", "reward_quadctrl", "reward_alive", "x_position",    "y_position",
              "distance_from_origin", "x_velocity", "y_velocity", "forward_reward"};
    }
    std::vector<std::string> keys = {"x_position", "y_position"};
    for (std::string& k : TendonInfoKeys(m)) keys.push_back(std::move(k));
    for (const char* k : {"distance_from_origin", "x_velocity", "y_velocity", "reward_survive",
                          "reward_forward", "reward_ctrl", "reward_contact"}) {
      keys.push_back(k);
    }
    return keys;
  }

  // Gymnasium's mass_center: Σ_b body_mass[b] * xipos[b] accumulated from
  // body 0, over the (pairwise) sum of body_mass; x and y.
  void MassCentre(double* xy) const {
    const double* mass = model()->body_mass;
    const double* xipos = data()->xipos;
    double num[3] = {0.0, 0.0, 0.0};
    for (int b = 0; b < model()->nbody; ++b) {
      for (int j = 0; j < 3; ++j) num[j] += mass[b] * xipos[3 * b + j];
    }
    xy[0] = num[0] / total_mass_;
    xy[1] = num[1] / total_mass_;
  }

  // x_position, y_position, tendon entries, distance_from_origin: v5's info
  // at reset and the head of its step info. Returns the next index.
  int WriteV5PositionInfo() {
    const double* q = data()->qpos;
    int k = 0;
    info_[k++] = q[0];
    info_[k++] = q[1];
    WriteTendonInfo(&info_[k]);
    k += 2 * model()->ntendon;
    info_[k++] = Norm(q[0], q[1]);
    return k;
  }

  void ResetInfo() override {
    MujocoEnv::ResetInfo();
    if (v5_) WriteV5PositionInfo();
  }

  StepResult StepModel(const float* /*action*/) override;

  const bool v5_;
  const double forward_weight_, ctrl_weight_, contact_weight_, contact_low_, contact_high_;
  const double healthy_reward_;
  const bool terminate_;
  const double z_low_, z_high_;
  const double total_mass_;
};

StepResult Humanoid::StepModel(const float* action) {
  double before[2], after[2];
  // Before the step xipos is what MuJoCo left from the previous one.
  MassCentre(before);
  DoSimulation(action);
  MassCentre(after);
  const double x_velocity = (after[0] - before[0]) / dt();
  const double y_velocity = (after[1] - before[1]) / dt();
  const mjData* d = data();
  const double z = d->qpos[2];
  const bool healthy = z_low_ < z && z < z_high_;
  // Gymnasium's control cost reads data.ctrl (the action as double).
  const double ctrl_cost = ctrl_weight_ * SumOfSquares(d->ctrl, model()->nu);
  const double forward_reward = forward_weight_ * x_velocity;
  StepResult r;
  r.terminated = !healthy && terminate_;
  Observe();
  if (!v5_) {
    const double healthy_reward = ((healthy || terminate_) ? 1.0 : 0.0) * healthy_reward_;
    r.reward = (forward_reward + healthy_reward) - ctrl_cost;
    info_[0] = forward_reward;
    info_[1] = -ctrl_cost;
    info_[2] = healthy_reward;
    WritePlanarMotionInfo(&info_[3], after[0], after[1], x_velocity, y_velocity, forward_reward);
    return r;
  }
  const double healthy_reward = (healthy ? 1.0 : 0.0) * healthy_reward_;
  const double contact_cost = std::min(
      std::max(contact_weight_ * SumOfSquares(d->cfrc_ext, 6 * model()->nbody), contact_low_),
      contact_high_);
  r.reward = (forward_reward + healthy_reward) - (ctrl_cost + contact_cost);
  int k = WriteV5PositionInfo();
  info_[k++] = x_velocity;
  info_[k++] = y_velocity;
  info_[k++] = healthy_reward;
  info_[k++] = forward_reward;
  info_[k++] = -ctrl_cost;
  info_[k++] = -contact_cost;
  return r;
}

}  // namespace

std::vector<MujocoEnvDef> HumanoidEnvDefs() {
  const std::vector<MujocoParam> v4 = {
      {"forward_reward_weight", 1.25},
      {"ctrl_cost_weight", 0.1},
      {"healthy_reward", 5.0},
      {"terminate_when_unhealthy", 1.0},
      {"healthy_z_range_low", 1.0},
      {"healthy_z_range_high", 2.0},
      {"reset_noise_scale", 1e-2},
      {"exclude_current_positions_from_observation", 1.0},
  };
  std::vector<MujocoParam> v5 = {
      {"forward_reward_weight", 1.25},
      {"ctrl_cost_weight", 0.1},
      {"contact_cost_weight", 5e-7},
      {"contact_cost_range_low", -std::numeric_limits<double>::infinity()},
      {"contact_cost_range_high", 10.0},
      {"healthy_reward", 5.0},
      {"terminate_when_unhealthy", 1.0},
      {"healthy_z_range_low", 1.0},
      {"healthy_z_range_high", 2.0},
      {"reset_noise_scale", 1e-2},
  };
  HumanoidBody::ObsLayout::AddV5Params(&v5);
  const double no_threshold = std::numeric_limits<double>::quiet_NaN();
  return {
      {"Humanoid-v4", "humanoid.xml", 5, 1000, no_threshold, 24, 23, 17, v4,
       &MakeVersioned<Humanoid, false>},
      {"Humanoid-v5", "humanoid.xml", 5, 1000, no_threshold, 24, 23, 17, v5,
       &MakeVersioned<Humanoid, true>},
  };
}

}  // namespace proxima
