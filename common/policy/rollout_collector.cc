#include "common/policy/rollout_collector.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include "common/failpoint.h"

namespace proxima {

RolloutCollector::RolloutCollector(VectorEnv* envs, PolicyInference* policy, Rng* rng,
                                   int rollout_length)
    : envs_(envs),
      policy_(policy),
      rng_(rng),
      num_envs_(envs->num_envs()),
      obs_dim_(envs->spec().obs_dim()),
      action_dim_(envs->spec().action_dim()),
      discrete_(envs->spec().action_space.is_discrete()) {
  batch_ = RolloutBatch::Allocate(rollout_length, num_envs_, obs_dim_, action_dim_, discrete_);
  // A column truncates at most once per max_episode_steps steps (plus one for
  // an episode carried in from the previous rollout); terminations have no
  // such bound, so the episode list starts with room for a few per column
  // and keeps whatever capacity it grows to.
  const int max_steps = envs->spec().max_episode_steps > 0 ? envs->spec().max_episode_steps : 1;
  const size_t truncations = static_cast<size_t>(num_envs_) * (rollout_length / max_steps + 1);
  final_index_.reserve(truncations);
  final_obs_.reserve(truncations * obs_dim_);
  episodes_.reserve(static_cast<size_t>(num_envs_) * 4);
  finished_.reserve(static_cast<size_t>(num_envs_) * 4);
}

int RolloutCollector::Collect(const std::atomic<bool>* stop) {
  const int T = batch_.num_steps, E = num_envs_, D = obs_dim_, A = action_dim_;
  float* obs = batch_.obs.data_ptr<float>();
  float* actions = batch_.actions.data_ptr<float>();
  float* logp = batch_.behaviour_logp.data_ptr<float>();
  float* rewards = batch_.rewards.data_ptr<float>();
  uint8_t* term = batch_.terminated.data_ptr<uint8_t>();
  uint8_t* trunc = batch_.truncated.data_ptr<uint8_t>();
  final_index_.clear();
  final_obs_.clear();
  episodes_.clear();
  steps_ = 0;
  // Where the time goes (docs/learner.md "Overhead"): the env's time is
  // Step() itself, timed on every kEnvTimingStride-th step and scaled to all
  // steps (a fast env steps in a few microseconds: a clock read on every
  // step would cost ~1%); everything else in the loop (the forward pass,
  // copying its inputs and the env's outputs) counts as inference.
  using Clock = std::chrono::steady_clock;
  constexpr int kEnvTimingStride = 8;
  Clock::duration env_sampled{0};
  int env_samples = 0;
  const Clock::time_point loop_start = Clock::now();
  for (int t = 0; t < T; ++t) {
    if (stop != nullptr && stop->load(std::memory_order_relaxed)) break;
    const int64_t row = static_cast<int64_t>(t) * E;
    float* obs_t = obs + row * D;
    float* actions_t = actions + row * A;
    std::memcpy(obs_t, envs_->obs().data(), sizeof(float) * E * D);
    policy_->Act(obs_t, *rng_, actions_t, logp + row);
    if (t % kEnvTimingStride == 0) {
      const Clock::time_point step_start = Clock::now();
      MaybeDelay("actor.env_step");  // test-only: a slow env (common/failpoint.h)
      envs_->Step(actions_t);
      env_sampled += Clock::now() - step_start;
      ++env_samples;
    } else {
      MaybeDelay("actor.env_step");
      envs_->Step(actions_t);
    }
    std::memcpy(rewards + row, envs_->rewards().data(), sizeof(float) * E);
    std::memcpy(term + row, envs_->terminated().data(), E);
    std::memcpy(trunc + row, envs_->truncated().data(), E);
    const uint8_t* te = envs_->terminated().data();
    const uint8_t* tr = envs_->truncated().data();
    for (int e = 0; e < E; ++e) {
      // terminated wins over truncated: a terminal step is never bootstrapped.
      if (tr[e] && !te[e]) {
        final_index_.push_back({t, e});
        const float* f = envs_->final_obs().data() + static_cast<int64_t>(e) * D;
        final_obs_.insert(final_obs_.end(), f, f + D);
      }
    }
    finished_.clear();
    envs_->TakeFinishedEpisodes(&finished_);
    for (const EpisodeStat& ep : finished_) {
      const int e = ep.env_index;
      episodes_.push_back(EpisodeRecord{t, e, ep.episode_return, ep.length,
                                        tr[e] != 0 && te[e] == 0});
    }
    steps_ = t + 1;
    total_env_steps_ += E;
  }
  std::memcpy(batch_.bootstrap_obs.data_ptr<float>(), envs_->obs().data(),
              sizeof(float) * E * D);
  const double loop = std::chrono::duration<double>(Clock::now() - loop_start).count();
  env_seconds_ = env_samples > 0 ? std::chrono::duration<double>(env_sampled).count() *
                                       steps_ / env_samples
                                 : 0.0;
  env_seconds_ = std::min(env_seconds_, loop);
  inference_seconds_ = loop - env_seconds_;
  return steps_;
}

RolloutBatch RolloutCollector::View() const {
  RolloutBatch view;
  view.num_steps = steps_;
  view.num_envs = num_envs_;
  view.obs = batch_.obs.narrow(0, 0, steps_);
  view.actions = batch_.actions.narrow(0, 0, steps_);
  view.behaviour_logp = batch_.behaviour_logp.narrow(0, 0, steps_);
  view.rewards = batch_.rewards.narrow(0, 0, steps_);
  view.terminated = batch_.terminated.narrow(0, 0, steps_);
  view.truncated = batch_.truncated.narrow(0, 0, steps_);
  view.bootstrap_obs = batch_.bootstrap_obs;
  view.final_index = final_index_;
  const int64_t K = static_cast<int64_t>(final_index_.size());
  view.final_obs = at::from_blob(const_cast<float*>(final_obs_.data()), {K, obs_dim_},
                                 at::TensorOptions().dtype(at::kFloat));
  return view;
}

void RolloutCollector::Encode(const ChunkHeader& header, v1::TrajectoryChunk* out) const {
  // EncodeChunk copies the bytes it needs, so the view need not outlive it.
  EncodeChunk(View(), discrete_, header, episodes_, out);
}

}  // namespace proxima
