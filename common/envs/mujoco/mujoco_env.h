// MujocoEnv: the base of Gymnasium's MuJoCo locomotion envs, on MuJoCo 2.2.2.
//
// What every env shares, exactly as Gymnasium's MujocoEnv does it:
//   - Step: ctrl = action (as double, unclipped: MuJoCo clamps to the
//     actuator's ctrlrange internally but keeps data.ctrl as written), then
//     mj_step frame_skip times, then mj_rnePostConstraint once (so cacc,
//     cfrc_int and cfrc_ext are valid). Nothing calls mj_forward after a step:
//     derived quantities (xpos, site_xpos, cinert, ...) are the ones MuJoCo left
//     from the last stage of the step, as Gymnasium reads them.
//   - Reset: mj_resetData, qpos = init_qpos + noise, qvel = init_qvel + noise
//     (each env draws its own noise from rng()), mj_forward.
//   - TimeLimit truncation at the registered horizon (Env::TickTimeLimit).
// Observations are computed in double (Gymnasium returns float64); Step() and
// Reset() write them as float32, observation() keeps the double values of the
// last call. Numeric info entries (spec().info_keys) are in info(); entries an
// env does not report at reset are NaN there.
//
// Options: every env declares named numeric parameters with Gymnasium's
// defaults (forward_reward_weight, ctrl_cost_weight, reset_noise_scale, ...;
// booleans are 0/1). An env id may override them Gymnasium-style, as
// "Hopper-v4?ctrl_cost_weight=0.01&terminate_when_unhealthy=0"; an unknown
// name or a value that is not a finite number is an InvalidArgument error
// that names it (see MakeMujocoEnv in mujoco_registry.h).
//
// State (SetState/GetState, state_dim = nq + 2 nv): qpos, qvel and
// qacc_warmstart, the MuJoCo state the next step depends on (the constraint
// solver starts from qacc_warmstart). SetState writes them back exactly and
// refreshes derived quantities with mj_forward on that state (keeping the
// written qpos and qacc_warmstart bit for bit).
//
// Arithmetic follows NumPy 1.24's order (NumpySum) so rewards match
// Gymnasium's bit for bit; compile with -ffp-contract=off.
#ifndef PROXIMA_COMMON_ENVS_MUJOCO_MUJOCO_ENV_H_
#define PROXIMA_COMMON_ENVS_MUJOCO_MUJOCO_ENV_H_

#include <limits>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "common/envs/env.h"
#include "mujoco/mujoco.h"

namespace proxima {

// One declared option of a MuJoCo env and its Gymnasium default.
struct MujocoParam {
  const char* name;
  double value;
};

// The resolved options of one env: its declared defaults, overridden by the
// "?key=value&..." part of an env id.
class MujocoParams {
 public:
  // `query` is the text after '?' (may be empty). Errors name `env_id` and the
  // bad key or value and list the known names.
  static absl::StatusOr<MujocoParams> Parse(absl::string_view env_id,
                                            absl::Span<const MujocoParam> defaults,
                                            absl::string_view query);
  // The value of a declared option (a name not declared is a programming error).
  double Get(absl::string_view name) const;
  bool GetBool(absl::string_view name) const { return Get(name) != 0.0; }
  // The env id these options came with, options included ("Hopper-v4?...").
  const std::string& id() const { return id_; }

 private:
  std::string id_;
  std::map<std::string, double, std::less<>> values_;
};

// NumPy 1.24's np.sum of n contiguous values: for n < 8 left to right from 0;
// up to 128 values eight running partial sums combined pairwise, leftovers
// added last; above 128, split in halves (a multiple of 8 first) recursively.
double NumpySum(const double* x, int n);
float NumpySum(const float* x, int n);

// np.sum(np.square(a)) of a float32 action, summed in float32.
float SumOfSquaresF32(const float* a, int n);
// np.sum(np.square(x)) of n doubles, in NumPy's order. Neither sum of squares
// allocates.
double SumOfSquares(const double* x, int n);

// np.linalg.norm of a 2- or 3-vector: sqrt(x*x + y*y [+ z*z]), summed left to
// right (NumPy's dot product of so few values).
double Norm(double x, double y);
double Norm(double x, double y, double z);

// The info block Ant and Humanoid share, six entries from out[0]:
// x_position, y_position, distance_from_origin (Norm(x, y)), x_velocity,
// y_velocity, forward_reward.
void WritePlanarMotionInfo(double* out, double x, double y, double x_velocity, double y_velocity,
                           double forward_reward);

// Gymnasium's forward velocity etc. use (after - before) / dt: dt is
// opt.timestep * frame_skip, a double product.

class MujocoEnv;

// How the registry (mujoco_registry.h) builds one env id: Gymnasium's
// registration (id, model file, frame skip, TimeLimit, reward threshold), the
// model sizes the env's code relies on (checked when the model is loaded), the
// declared options with their defaults, and the constructor.
struct MujocoEnvDef {
  const char* id;
  const char* xml;
  int frame_skip;
  int max_episode_steps;
  double reward_threshold;  // NaN where Gymnasium registers none
  int nq, nv, nu;
  std::vector<MujocoParam> params;
  std::unique_ptr<MujocoEnv> (*make)(const MujocoEnvDef& def,
                                     std::shared_ptr<const mjModel> model,
                                     const MujocoParams& params);
};

// The MujocoEnvDef::make of an env class E whose constructor is
// E(def, model, params, bool v5): E's v4 (kV5 false) or v5 variant.
template <class E, bool kV5>
std::unique_ptr<MujocoEnv> MakeVersioned(const MujocoEnvDef& def,
                                         std::shared_ptr<const mjModel> model,
                                         const MujocoParams& params) {
  return std::make_unique<E>(def, std::move(model), params, kV5);
}

class MujocoEnv : public Env {
 public:
  ~MujocoEnv() override;
  MujocoEnv(const MujocoEnv&) = delete;
  MujocoEnv& operator=(const MujocoEnv&) = delete;

  const EnvSpec& spec() const override { return spec_; }
  void Reset(float* obs) override;
  StepResult Step(const float* action, float* obs) override;
  absl::Status SetState(absl::Span<const double> state) override;
  void GetState(double* state) const override;

  // Gymnasium's set_state after mj_resetData: starts an episode from exactly
  // this qpos (nq) and qvel (nv), as a recorded reset row does; writes the
  // observation and the reset info, zeroes elapsed_steps().
  absl::Status ResetTo(absl::Span<const double> qpos, absl::Span<const double> qvel, float* obs);

  // Writes qpos, qvel and qacc_warmstart (state_dim values) into MuJoCo's
  // data exactly, with no mj_forward: derived quantities stay those of the
  // previous step, as they are inside Gymnasium between two steps. The golden
  // replay's one-row check.
  absl::Status SetRawState(absl::Span<const double> state);

  // The observation of the last Reset/ResetTo/Step, in double.
  absl::Span<const double> observation() const { return obs_; }
  absl::Span<const double> info() const override { return info_; }
  // The first construction error (SetStatus), e.g. a body the model lacks;
  // MakeMujocoEnv returns it instead of the env.
  absl::Status status() const override { return status_; }

  const mjModel* model() const { return model_.get(); }
  const mjData* data() const { return data_; }
  int frame_skip() const { return frame_skip_; }
  double dt() const { return model_->opt.timestep * frame_skip_; }

 protected:
  // `spec` needs id, max_episode_steps, reward threshold, observation size
  // (as a Box of that size) and info_keys; the action space and state_dim
  // are filled in from the model.
  MujocoEnv(std::shared_ptr<const mjModel> model, EnvSpec spec, int frame_skip);
  // The spec of `def` under the id `params.id()`, with an unbounded float
  // observation Box of `obs_dim` and these info keys (Gymnasium's names).
  static EnvSpec MakeSpec(const MujocoEnvDef& def, const MujocoParams& params, int obs_dim,
                          std::vector<std::string> info_keys);

  // Writes data()->qpos/qvel for a new episode (init + noise from rng()).
  virtual void ResetModel() = 0;
  // One env step: usually reads pre-step quantities, calls DoSimulation,
  // then fills obs_ (via Observe) and info_. Returns reward and termination
  // (truncation is the base class's).
  virtual StepResult StepModel(const float* action) = 0;
  // Writes the observation of the current data into obs_.
  virtual void Observe() = 0;
  // Fills info_ at reset (default: every entry NaN).
  virtual void ResetInfo();

  // ctrl = action; mj_step x frame_skip; mj_rnePostConstraint.
  void DoSimulation(const float* action);
  // DoSimulation then Observe, with the reward `reward()` computed before the
  // step when `reward_before_step` (Gymnasium's v4 Reacher and Pusher: from
  // what MuJoCo left from the previous step), else after Observe.
  template <class RewardFn>
  StepResult StepWithReward(const float* action, bool reward_before_step, RewardFn reward) {
    StepResult r;
    if (reward_before_step) r.reward = reward();
    DoSimulation(action);
    Observe();
    if (!reward_before_step) r.reward = reward();
    return r;
  }
  mjData* mutable_data() { return data_; }
  // Gymnasium's np_random.uniform(low, high, n) / standard_normal(n) stand-ins.
  void AddUniformNoise(double* x, int n, double low, double high);
  void AddNormalNoise(double* x, int n, double scale);
  // The usual reset: qpos += nq draws of U(-scale, scale), then qvel += nv
  // draws of U(-scale, scale) (kUniform) or of scale * N(0, 1) (kNormal).
  enum class QvelNoise { kUniform, kNormal };
  void AddResetNoise(double scale, QvelNoise qvel_noise);

  // Writes qpos[skip_qpos:] then qvel, each clip(qvel, -qvel_clip, qvel_clip)
  // (NaN kept), at obs_[0...]; returns how many values it wrote.
  int ObserveQposQvel(int skip_qpos,
                      double qvel_clip = std::numeric_limits<double>::infinity());

  // Records a construction error (the first one recorded wins): status().
  void SetStatus(absl::Status status);
  // The id of the body `name`; 0, after SetStatus with an error naming the env
  // and the body, if the model has none.
  int BodyId(const char* name);

  std::vector<double> obs_;
  std::vector<double> info_;

 private:
  void Finish(float* obs) const;

  std::shared_ptr<const mjModel> model_;
  mjData* data_ = nullptr;
  int frame_skip_;
  EnvSpec spec_;
  absl::Status status_;
};

}  // namespace proxima

#endif  // PROXIMA_COMMON_ENVS_MUJOCO_MUJOCO_ENV_H_
