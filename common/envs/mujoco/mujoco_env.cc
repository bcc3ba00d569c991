#include "common/envs/mujoco/mujoco_env.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace proxima {
namespace {

// NumPy's pairwise sum of value(begin), ..., value(begin + n - 1), each value
// of type T computed once (a sum of squares needs no array of the squares).
template <typename T, typename Value>
T PairwiseSum(const Value& value, int begin, int n) {
  if (n < 8) {
    T res = 0;
    for (int i = 0; i < n; ++i) res += value(begin + i);
    return res;
  }
  if (n <= 128) {
    T r[8];
    for (int j = 0; j < 8; ++j) r[j] = value(begin + j);
    int i = 8;
    for (; i < n - (n % 8); i += 8) {
      for (int j = 0; j < 8; ++j) r[j] += value(begin + i + j);
    }
    T res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) res += value(begin + i);
    return res;
  }
  int n2 = n / 2;
  n2 -= n2 % 8;
  return PairwiseSum<T>(value, begin, n2) + PairwiseSum<T>(value, begin + n2, n - n2);
}

}  // namespace

double NumpySum(const double* x, int n) {
  return 0.0 + PairwiseSum<double>([x](int i) { return x[i]; }, 0, n);
}
float NumpySum(const float* x, int n) {
  return 0.0f + PairwiseSum<float>([x](int i) { return x[i]; }, 0, n);
}

// Each square is rounded to T before it is added (-ffp-contract=off), as
// NumPy's np.square then np.sum do.
float SumOfSquaresF32(const float* a, int n) {
  return 0.0f + PairwiseSum<float>([a](int i) -> float { return a[i] * a[i]; }, 0, n);
}
double SumOfSquares(const double* x, int n) {
  return 0.0 + PairwiseSum<double>([x](int i) -> double { return x[i] * x[i]; }, 0, n);
}

double Norm(double x, double y) { return std::sqrt(x * x + y * y); }
double Norm(double x, double y, double z) { return std::sqrt(x * x + y * y + z * z); }

void WritePlanarMotionInfo(double* out, double x, double y, double x_velocity, double y_velocity,
                           double forward_reward) {
  out[0] = x;
  out[1] = y;
  out[2] = Norm(x, y);
  out[3] = x_velocity;
  out[4] = y_velocity;
  out[5] = forward_reward;
}

absl::StatusOr<MujocoParams> MujocoParams::Parse(absl::string_view env_id,
                                                 absl::Span<const MujocoParam> defaults,
                                                 absl::string_view query) {
  MujocoParams p;
  p.id_ = query.empty() ? std::string(env_id) : absl::StrCat(env_id, "?", query);
  std::vector<std::string> names;
  for (const MujocoParam& d : defaults) {
    p.values_[d.name] = d.value;
    names.emplace_back(d.name);
  }
  if (query.empty()) return p;
  for (absl::string_view item : absl::StrSplit(query, '&')) {
    const std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(item, '=');
    auto it = p.values_.find(kv.first);
    if (it == p.values_.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat(env_id, ": unknown option \"", kv.first, "\"; options: ",
                       names.empty() ? "(none)" : absl::StrJoin(names, ", ")));
    }
    double v;
    if (kv.second == "true" || kv.second == "True") {
      v = 1.0;
    } else if (kv.second == "false" || kv.second == "False") {
      v = 0.0;
    } else if (!absl::SimpleAtod(kv.second, &v) || !std::isfinite(v)) {
      return absl::InvalidArgumentError(absl::StrCat(env_id, ": option ", kv.first, "=\"",
                                                     kv.second, "\" is not a finite number"));
    }
    it->second = v;
  }
  return p;
}

double MujocoParams::Get(absl::string_view name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::numeric_limits<double>::quiet_NaN() : it->second;
}

EnvSpec MujocoEnv::MakeSpec(const MujocoEnvDef& def, const MujocoParams& params, int obs_dim,
                            std::vector<std::string> info_keys) {
  EnvSpec spec;
  spec.id = params.id().empty() ? std::string(def.id) : params.id();
  const float inf = std::numeric_limits<float>::infinity();
  spec.observation_space = Space::Box(std::vector<float>(obs_dim, -inf),
                                      std::vector<float>(obs_dim, inf));
  spec.max_episode_steps = def.max_episode_steps;
  spec.has_reward_threshold = !std::isnan(def.reward_threshold);
  spec.reward_threshold = spec.has_reward_threshold ? def.reward_threshold : 0.0;
  spec.info_keys = std::move(info_keys);
  return spec;
}

MujocoEnv::MujocoEnv(std::shared_ptr<const mjModel> model, EnvSpec spec, int frame_skip)
    : model_(std::move(model)), frame_skip_(frame_skip), spec_(std::move(spec)) {
  data_ = mj_makeData(model_.get());
  const mjModel* m = model_.get();
  std::vector<float> low(m->nu), high(m->nu);
  for (int i = 0; i < m->nu; ++i) {
    // Gymnasium's action space: the actuators' ctrlrange, as float32.
    low[i] = static_cast<float>(m->actuator_ctrlrange[2 * i]);
    high[i] = static_cast<float>(m->actuator_ctrlrange[2 * i + 1]);
  }
  spec_.action_space = Space::Box(std::move(low), std::move(high));
  spec_.state_dim = m->nq + 2 * m->nv;
  obs_.assign(spec_.obs_dim(), 0.0);
  info_.assign(spec_.info_keys.size(), std::numeric_limits<double>::quiet_NaN());
}

MujocoEnv::~MujocoEnv() { mj_deleteData(data_); }

void MujocoEnv::DoSimulation(const float* action) {
  for (int i = 0; i < model_->nu; ++i) data_->ctrl[i] = static_cast<double>(action[i]);
  for (int k = 0; k < frame_skip_; ++k) mj_step(model_.get(), data_);
  mj_rnePostConstraint(model_.get(), data_);
}

void MujocoEnv::AddUniformNoise(double* x, int n, double low, double high) {
  for (int i = 0; i < n; ++i) x[i] += rng_.Uniform(low, high);
}

void MujocoEnv::AddNormalNoise(double* x, int n, double scale) {
  for (int i = 0; i < n; ++i) x[i] += scale * rng_.Normal();
}

void MujocoEnv::AddResetNoise(double scale, QvelNoise qvel_noise) {
  AddUniformNoise(data_->qpos, model_->nq, -scale, scale);
  if (qvel_noise == QvelNoise::kNormal) {
    AddNormalNoise(data_->qvel, model_->nv, scale);
  } else {
    AddUniformNoise(data_->qvel, model_->nv, -scale, scale);
  }
}

int MujocoEnv::ObserveQposQvel(int skip_qpos, double qvel_clip) {
  const mjModel* m = model_.get();
  int k = 0;
  for (int i = skip_qpos; i < m->nq; ++i) obs_[k++] = data_->qpos[i];
  // np.clip keeps NaN; so does max-then-min written this way round (and an
  // infinite bound leaves every value as it is).
  for (int i = 0; i < m->nv; ++i) {
    obs_[k++] = std::min(std::max(data_->qvel[i], -qvel_clip), qvel_clip);
  }
  return k;
}

void MujocoEnv::SetStatus(absl::Status status) {
  if (status_.ok()) status_ = std::move(status);
}

int MujocoEnv::BodyId(const char* name) {
  const int id = mj_name2id(model_.get(), mjOBJ_BODY, name);
  if (id >= 0) return id;
  SetStatus(absl::InvalidArgumentError(
      absl::StrCat(spec_.id, ": the model has no body named \"", name, "\"")));
  return 0;
}

void MujocoEnv::ResetInfo() {
  std::fill(info_.begin(), info_.end(), std::numeric_limits<double>::quiet_NaN());
}

void MujocoEnv::Finish(float* obs) const {
  for (size_t i = 0; i < obs_.size(); ++i) obs[i] = static_cast<float>(obs_[i]);
}

void MujocoEnv::Reset(float* obs) {
  mj_resetData(model_.get(), data_);
  ResetModel();
  mj_forward(model_.get(), data_);
  elapsed_steps_ = 0;
  Observe();
  ResetInfo();
  Finish(obs);
}

absl::Status MujocoEnv::ResetTo(absl::Span<const double> qpos, absl::Span<const double> qvel,
                                float* obs) {
  const mjModel* m = model_.get();
  if (static_cast<int>(qpos.size()) != m->nq || static_cast<int>(qvel.size()) != m->nv) {
    return absl::InvalidArgumentError(absl::StrCat(spec_.id, ": ResetTo needs ", m->nq,
                                                   " qpos and ", m->nv, " qvel values, got ",
                                                   qpos.size(), " and ", qvel.size()));
  }
  mj_resetData(m, data_);
  std::copy(qpos.begin(), qpos.end(), data_->qpos);
  std::copy(qvel.begin(), qvel.end(), data_->qvel);
  mj_forward(m, data_);
  elapsed_steps_ = 0;
  Observe();
  ResetInfo();
  Finish(obs);
  return absl::OkStatus();
}

StepResult MujocoEnv::Step(const float* action, float* obs) {
  StepResult r = StepModel(action);
  r.truncated = TickTimeLimit();
  Finish(obs);
  return r;
}

absl::Status MujocoEnv::SetState(absl::Span<const double> state) {
  const mjModel* m = model_.get();
  if (static_cast<int>(state.size()) != spec_.state_dim) {
    return absl::InvalidArgumentError(absl::StrCat(spec_.id, ": state has ", state.size(),
                                                   " values, expected ", spec_.state_dim,
                                                   " (qpos, qvel, qacc_warmstart)"));
  }
  const double* qpos = state.data();
  const double* qvel = qpos + m->nq;
  const double* warm = qvel + m->nv;
  std::copy(qpos, qpos + m->nq, data_->qpos);
  std::copy(qvel, qvel + m->nv, data_->qvel);
  mj_forward(m, data_);
  // mj_forward normalises free-joint quaternions in qpos and overwrites
  // qacc_warmstart: put back exactly what was saved.
  std::copy(qpos, qpos + m->nq, data_->qpos);
  std::copy(warm, warm + m->nv, data_->qacc_warmstart);
  Observe();
  return absl::OkStatus();
}

absl::Status MujocoEnv::SetRawState(absl::Span<const double> state) {
  const mjModel* m = model_.get();
  if (static_cast<int>(state.size()) != spec_.state_dim) {
    return absl::InvalidArgumentError(absl::StrCat(spec_.id, ": state has ", state.size(),
                                                   " values, expected ", spec_.state_dim));
  }
  std::copy(state.data(), state.data() + m->nq, data_->qpos);
  std::copy(state.data() + m->nq, state.data() + m->nq + m->nv, data_->qvel);
  std::copy(state.data() + m->nq + m->nv, state.data() + spec_.state_dim, data_->qacc_warmstart);
  return absl::OkStatus();
}

void MujocoEnv::GetState(double* state) const {
  const mjModel* m = model_.get();
  std::copy(data_->qpos, data_->qpos + m->nq, state);
  std::copy(data_->qvel, data_->qvel + m->nv, state + m->nq);
  std::copy(data_->qacc_warmstart, data_->qacc_warmstart + m->nv, state + m->nq + m->nv);
}

}  // namespace proxima
