// RolloutCollector: the actor's stepping loop over one rollout (T steps × E
// env columns) and the chunk it becomes.
//
// Per step t: the raw observations are stored (obs[t] is the observation the
// action was chosen from), the policy acts on them (PolicyInference normalizes
// a copy), the vector env steps (same-step auto-reset), and rewards, flags,
// the final observation of every episode truncated at t and one EpisodeRecord
// per episode that ended at t (return and length over the whole episode,
// possibly spanning earlier chunks) are recorded. After the last step (or an
// early stop) the current observations become the bootstrap observations.
//
// Buffers are allocated once; after the first few rollouts (when the episode
// and truncation lists have reached their high-water capacity) Collect()
// allocates nothing per step (rollout_no_alloc_test). Collect() also times
// the env and the policy (env_seconds(), inference_seconds()) for the
// learner's time breakdown. Not thread-safe.
#ifndef PROXIMA_COMMON_POLICY_ROLLOUT_COLLECTOR_H_
#define PROXIMA_COMMON_POLICY_ROLLOUT_COLLECTOR_H_

#include <atomic>
#include <vector>

#include "common/wire/chunk_codec.h"
#include "common/envs/vector_env.h"
#include "common/policy/policy_inference.h"
#include "common/wire/rollout_batch.h"
#include "common/rng.h"
#include "proxima/v1/trajectory.pb.h"

namespace proxima {

class RolloutCollector {
 public:
  // `envs`, `policy` and `rng` must outlive the collector; `policy` must have
  // batch() == envs->num_envs() and a snapshot bound before Collect().
  RolloutCollector(VectorEnv* envs, PolicyInference* policy, Rng* rng, int rollout_length);

  // Starts a new rollout and steps until rollout_length steps are stored or
  // `stop` is true (checked before every step; null: never). Returns the
  // number of steps collected (0 if `stop` was already set).
  int Collect(const std::atomic<bool>* stop);

  // Steps in the current rollout (≤ rollout_length).
  int steps() const { return steps_; }
  int rollout_length() const { return batch_.num_steps; }
  // Env steps taken since construction (steps × columns).
  int64_t total_env_steps() const { return total_env_steps_; }

  // Wall-clock seconds the current rollout spent in VectorEnv::Step
  // (timed on every 8th step, scaled to all), and in the rest of the
  // stepping loop (PolicyInference::Act and the copies around it): steady
  // clock, read 2 + T/4 times per rollout of T steps.
  double env_seconds() const { return env_seconds_; }
  double inference_seconds() const { return inference_seconds_; }

  // Episodes that ended in the current rollout, in increasing (t, e) order.
  const std::vector<EpisodeRecord>& episodes() const { return episodes_; }

  // The current rollout (its first steps() steps) as a RolloutBatch whose
  // tensors are views of the collector's buffers (no copy): valid and
  // unchanged until the next Collect(); treat them as read-only. The
  // in-process trainer trains on it directly; Encode() turns it into a chunk.
  RolloutBatch View() const;

  // Encodes the current rollout (its first steps() steps) with `header`.
  void Encode(const ChunkHeader& header, v1::TrajectoryChunk* out) const;

 private:
  VectorEnv* envs_;
  PolicyInference* policy_;
  Rng* rng_;
  int num_envs_;
  int obs_dim_;
  int action_dim_;
  bool discrete_;
  RolloutBatch batch_;  // T rows; the first steps_ are valid
  int steps_ = 0;
  int64_t total_env_steps_ = 0;
  double env_seconds_ = 0;
  double inference_seconds_ = 0;
  std::vector<RolloutBatch::FinalObsIndex> final_index_;
  std::vector<float> final_obs_;
  std::vector<EpisodeRecord> episodes_;
  std::vector<EpisodeStat> finished_;  // scratch for TakeFinishedEpisodes
};

}  // namespace proxima

#endif  // PROXIMA_COMMON_POLICY_ROLLOUT_COLLECTOR_H_
