#include "common/envs/vector_env.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/envs/registry.h"
#include "common/envs/remote_env_batch.h"
#include "common/status_macros.h"

namespace proxima {

namespace {

int TotalColumns(const std::vector<std::unique_ptr<RemoteEnvBatch>>& batches) {
  int n = 0;
  for (const std::unique_ptr<RemoteEnvBatch>& b : batches) n += b->num_envs();
  return n;
}

// Batched sessions of `per_session` columns (0: one) for a remote id, seeded
// so that column i gets seed + i; an empty vector if the server has no
// batched sessions (UNIMPLEMENTED from the first Connect).
absl::StatusOr<std::vector<std::unique_ptr<RemoteEnvBatch>>> ConnectBatches(
    absl::string_view env_id, int num_envs, uint64_t seed, int per_session) {
  std::vector<std::unique_ptr<RemoteEnvBatch>> batches;
  if (per_session == 0) per_session = num_envs;
  for (int begin = 0; begin < num_envs; begin += per_session) {
    absl::StatusOr<std::unique_ptr<RemoteEnvBatch>> batch =
        RemoteEnvBatch::Connect(env_id, std::min(per_session, num_envs - begin));
    if (begin == 0 && batch.status().code() == absl::StatusCode::kUnimplemented) {
      return batches;
    }
    if (!batch.ok()) return batch.status();
    (*batch)->Seed(seed + static_cast<uint64_t>(begin));
    batches.push_back(*std::move(batch));
  }
  return batches;
}

}  // namespace

absl::StatusOr<std::unique_ptr<VectorEnv>> VectorEnv::Create(absl::string_view env_id, int num_envs,
                                                             uint64_t seed,
                                                             const VectorEnvOptions& options) {
  if (num_envs < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("VectorEnv for ", env_id, ": num_envs must be >= 1, got ", num_envs));
  }
  if (options.remote_columns_per_session < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("VectorEnv for ", env_id, ": remote columns per session must be >= 0, got ",
                     options.remote_columns_per_session));
  }
  std::vector<std::unique_ptr<Env>> envs;
  std::vector<std::unique_ptr<RemoteEnvBatch>> batches;
  if (IsRemoteEnvId(env_id) && options.remote_batched) {
    PROXIMA_ASSIGN_OR_RETURN(
        batches, ConnectBatches(env_id, num_envs, seed, options.remote_columns_per_session));
  }
  if (batches.empty()) {
    envs.reserve(num_envs);
    for (int i = 0; i < num_envs; ++i) {
      PROXIMA_ASSIGN_OR_RETURN(std::unique_ptr<Env> env, MakeEnv(env_id));
      env->Seed(seed + static_cast<uint64_t>(i));
      envs.push_back(std::move(env));
    }
  }
  std::unique_ptr<VectorEnv> v(new VectorEnv(std::move(envs), std::move(batches)));
  v->Reset();
  PROXIMA_RETURN_IF_ERROR(v->status());
  return v;
}

VectorEnv::VectorEnv(std::vector<std::unique_ptr<Env>> envs,
                     std::vector<std::unique_ptr<RemoteEnvBatch>> batches)
    : spec_(envs.empty() ? &batches.front()->spec() : &envs.front()->spec()),
      num_envs_(envs.empty() ? TotalColumns(batches) : static_cast<int>(envs.size())),
      obs_dim_(spec_->obs_dim()),
      action_dim_(spec_->action_dim()),
      envs_(std::move(envs)),
      batches_(std::move(batches)),
      obs_(static_cast<size_t>(num_envs_) * obs_dim_, 0.0f),
      final_obs_(static_cast<size_t>(num_envs_) * obs_dim_, 0.0f),
      rewards_(num_envs_, 0.0f),
      terminated_(num_envs_, 0),
      truncated_(num_envs_, 0),
      episode_returns_(num_envs_, 0.0),
      episode_lengths_(num_envs_, 0),
      ended_(num_envs_, 0),
      clipped_(static_cast<size_t>(num_envs_) * action_dim_, 0.0f) {
  int begin = 0;
  for (const std::unique_ptr<RemoteEnvBatch>& b : batches_) {
    batch_begin_.push_back(begin);
    begin += b->num_envs();
  }
  if (!batches_.empty()) results_.resize(num_envs_);
  finished_.reserve(4 * static_cast<size_t>(num_envs_));
}

VectorEnv::~VectorEnv() = default;

void VectorEnv::Reset() {
  for (size_t k = 0; k < batches_.size(); ++k) {
    batches_[k]->Reset(obs_.data() + static_cast<size_t>(batch_begin_[k]) * obs_dim_);
  }
  for (int i = 0; i < num_envs_; ++i) {
    float* row = obs_.data() + static_cast<size_t>(i) * obs_dim_;
    if (batches_.empty()) envs_[i]->Reset(row);
    std::copy(row, row + obs_dim_, final_obs_.data() + static_cast<size_t>(i) * obs_dim_);
    episode_returns_[i] = 0.0;
    episode_lengths_[i] = 0;
    rewards_[i] = 0.0f;
    terminated_[i] = 0;
    truncated_[i] = 0;
  }
}

void VectorEnv::Step(const float* actions) {
  if (clip_actions_) {
    const std::vector<float>& low = spec_->action_space.low;
    const std::vector<float>& high = spec_->action_space.high;
    for (int i = 0; i < num_envs_; ++i) {
      for (int j = 0; j < action_dim_; ++j) {
        const size_t k = static_cast<size_t>(i) * action_dim_ + j;
        // std::clamp keeps NaN as it is (the env then sees it, as without clipping).
        clipped_[k] = std::clamp(actions[k], low[j], high[j]);
      }
    }
    actions = clipped_.data();
  }
  if (!batches_.empty()) {
    const int n = static_cast<int>(batches_.size());
    if (team_ == nullptr) {
      StepBatches(actions, 0, n);
    } else {
      team_->Run(n, [&](int begin, int end) { StepBatches(actions, begin, end); });
    }
  } else if (team_ == nullptr) {
    StepColumns(actions, 0, num_envs_);
  } else {
    team_->Run(num_envs_, [&](int begin, int end) { StepColumns(actions, begin, end); });
  }
  for (int i = 0; i < num_envs_; ++i) {
    if (!ended_[i]) continue;
    finished_.push_back(EpisodeStat{i, episode_returns_[i], episode_lengths_[i]});
    episode_returns_[i] = 0.0;
    episode_lengths_[i] = 0;
  }
}

void VectorEnv::StepColumns(const float* actions, int begin, int end) {
  for (int i = begin; i < end; ++i) {
    float* final_row = final_obs_.data() + static_cast<size_t>(i) * obs_dim_;
    RecordStep(i, envs_[i]->Step(actions + static_cast<size_t>(i) * action_dim_, final_row));
  }
}

void VectorEnv::StepBatches(const float* actions, int begin, int end) {
  for (int k = begin; k < end; ++k) {
    const size_t first = static_cast<size_t>(batch_begin_[k]);
    batches_[k]->Step(actions + first * action_dim_, obs_.data() + first * obs_dim_,
                      final_obs_.data() + first * obs_dim_, results_.data() + first);
    const int n = batches_[k]->num_envs();
    for (int i = batch_begin_[k]; i < batch_begin_[k] + n; ++i) RecordStep(i, results_[i]);
  }
}

void VectorEnv::RecordStep(int i, const StepResult& r) {
  rewards_[i] = static_cast<float>(r.reward);
  terminated_[i] = r.terminated ? 1 : 0;
  truncated_[i] = r.truncated ? 1 : 0;
  episode_returns_[i] += r.reward;
  episode_lengths_[i] += 1;
  ended_[i] = (r.terminated || r.truncated) ? 1 : 0;
  if (!batches_.empty()) return;  // the server auto-reset; obs_ is written
  const float* final_row = final_obs_.data() + static_cast<size_t>(i) * obs_dim_;
  float* obs_row = obs_.data() + static_cast<size_t>(i) * obs_dim_;
  if (ended_[i]) {
    envs_[i]->Reset(obs_row);
  } else {
    std::copy(final_row, final_row + obs_dim_, obs_row);
  }
}

absl::Status VectorEnv::SetThreads(int threads) {
  if (threads < 1 || threads > 256) {
    return absl::InvalidArgumentError(
        absl::StrCat("env threads must be in [1, 256] (got ", threads, ")"));
  }
  team_.reset();
  if (threads > 1) team_ = std::make_unique<ThreadTeam>(std::min(threads, num_envs_));
  return absl::OkStatus();
}

int VectorEnv::threads() const { return team_ == nullptr ? 1 : team_->size(); }

absl::Status VectorEnv::status() const {
  for (const std::unique_ptr<Env>& env : envs_) {
    absl::Status s = env->status();
    if (!s.ok()) return s;
  }
  for (const std::unique_ptr<RemoteEnvBatch>& batch : batches_) {
    absl::Status s = batch->status();
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<VectorEnv::EnvState>> VectorEnv::SaveState() const {
  if (spec_->state_dim == 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        spec_->id, ": the env's state lives in its server, so it cannot be checkpointed"));
  }
  std::vector<EnvState> out(num_envs_);
  for (int i = 0; i < num_envs_; ++i) {
    EnvState& s = out[i];
    s.state.resize(spec_->state_dim);
    envs_[i]->GetState(s.state.data());
    s.elapsed_steps = envs_[i]->elapsed_steps();
    s.rng = envs_[i]->rng().State();
    const float* row = obs_.data() + static_cast<size_t>(i) * obs_dim_;
    s.obs.assign(row, row + obs_dim_);
    s.episode_return = episode_returns_[i];
    s.episode_length = episode_lengths_[i];
  }
  return out;
}

absl::Status VectorEnv::RestoreState(const std::vector<EnvState>& states) {
  if (!batches_.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        spec_->id, ": the env's state lives in its server, so it cannot be restored"));
  }
  if (static_cast<int>(states.size()) != num_envs_) {
    return absl::InvalidArgumentError(
        absl::StrCat("env state: ", states.size(), " envs saved, ", num_envs_, " here"));
  }
  for (const EnvState& s : states) {
    if (static_cast<int>(s.obs.size()) != obs_dim_ ||
        static_cast<int>(s.state.size()) != spec_->state_dim) {
      return absl::InvalidArgumentError(absl::StrCat("env state: wrong shape for ", spec_->id));
    }
    Rng check;
    PROXIMA_RETURN_IF_ERROR(check.SetState(s.rng));
  }
  for (int i = 0; i < num_envs_; ++i) {
    const EnvState& s = states[i];
    PROXIMA_RETURN_IF_ERROR(envs_[i]->SetState(s.state));
    PROXIMA_RETURN_IF_ERROR(envs_[i]->rng().SetState(s.rng));
    envs_[i]->set_elapsed_steps(s.elapsed_steps);
    std::copy(s.obs.begin(), s.obs.end(), obs_.begin() + static_cast<size_t>(i) * obs_dim_);
    std::copy(s.obs.begin(), s.obs.end(), final_obs_.begin() + static_cast<size_t>(i) * obs_dim_);
    episode_returns_[i] = s.episode_return;
    episode_lengths_[i] = s.episode_length;
    rewards_[i] = 0.0f;
    terminated_[i] = 0;
    truncated_[i] = 0;
  }
  return absl::OkStatus();
}

void VectorEnv::TakeFinishedEpisodes(std::vector<EpisodeStat>* out) {
  out->insert(out->end(), finished_.begin(), finished_.end());
  finished_.clear();
}

}  // namespace proxima
