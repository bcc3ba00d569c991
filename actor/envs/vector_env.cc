#include "actor/envs/vector_env.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "actor/envs/registry.h"
#include "common/status_macros.h"

namespace proxima {

absl::StatusOr<std::unique_ptr<VectorEnv>> VectorEnv::Create(absl::string_view env_id, int num_envs,
                                                             uint64_t seed) {
  if (num_envs < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("VectorEnv for ", env_id, ": num_envs must be >= 1, got ", num_envs));
  }
  std::vector<std::unique_ptr<Env>> envs;
  envs.reserve(num_envs);
  for (int i = 0; i < num_envs; ++i) {
    PROXIMA_ASSIGN_OR_RETURN(std::unique_ptr<Env> env, MakeEnv(env_id));
    env->Seed(seed + static_cast<uint64_t>(i));
    envs.push_back(std::move(env));
  }
  std::unique_ptr<VectorEnv> v(new VectorEnv(std::move(envs)));
  v->Reset();
  PROXIMA_RETURN_IF_ERROR(v->status());
  return v;
}

VectorEnv::VectorEnv(std::vector<std::unique_ptr<Env>> envs)
    : spec_(&envs.front()->spec()),
      num_envs_(static_cast<int>(envs.size())),
      obs_dim_(spec_->obs_dim()),
      action_dim_(spec_->action_dim()),
      envs_(std::move(envs)),
      obs_(static_cast<size_t>(num_envs_) * obs_dim_, 0.0f),
      final_obs_(static_cast<size_t>(num_envs_) * obs_dim_, 0.0f),
      rewards_(num_envs_, 0.0f),
      terminated_(num_envs_, 0),
      truncated_(num_envs_, 0),
      episode_returns_(num_envs_, 0.0),
      episode_lengths_(num_envs_, 0) {
  finished_.reserve(4 * static_cast<size_t>(num_envs_));
}

void VectorEnv::Reset() {
  for (int i = 0; i < num_envs_; ++i) {
    float* row = obs_.data() + static_cast<size_t>(i) * obs_dim_;
    envs_[i]->Reset(row);
    std::copy(row, row + obs_dim_, final_obs_.data() + static_cast<size_t>(i) * obs_dim_);
    episode_returns_[i] = 0.0;
    episode_lengths_[i] = 0;
    rewards_[i] = 0.0f;
    terminated_[i] = 0;
    truncated_[i] = 0;
  }
}

void VectorEnv::Step(const float* actions) {
  for (int i = 0; i < num_envs_; ++i) {
    float* final_row = final_obs_.data() + static_cast<size_t>(i) * obs_dim_;
    float* obs_row = obs_.data() + static_cast<size_t>(i) * obs_dim_;
    const StepResult r = envs_[i]->Step(actions + static_cast<size_t>(i) * action_dim_, final_row);
    rewards_[i] = static_cast<float>(r.reward);
    terminated_[i] = r.terminated ? 1 : 0;
    truncated_[i] = r.truncated ? 1 : 0;
    episode_returns_[i] += r.reward;
    episode_lengths_[i] += 1;
    if (r.terminated || r.truncated) {
      finished_.push_back(EpisodeStat{i, episode_returns_[i], episode_lengths_[i]});
      episode_returns_[i] = 0.0;
      episode_lengths_[i] = 0;
      envs_[i]->Reset(obs_row);
    } else {
      std::copy(final_row, final_row + obs_dim_, obs_row);
    }
  }
}

absl::Status VectorEnv::status() const {
  for (const std::unique_ptr<Env>& env : envs_) {
    absl::Status s = env->status();
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

void VectorEnv::TakeFinishedEpisodes(std::vector<EpisodeStat>* out) {
  out->insert(out->end(), finished_.begin(), finished_.end());
  finished_.clear();
}

}  // namespace proxima
