// VectorEnv: N environments of one id stepped in lockstep, on the calling
// thread or, after SetThreads(k), on a team of k threads (common/thread_team.h;
// each thread steps a contiguous range of columns, results are the same).
//
// Env i is seeded with seed + i. Create() resets every env, so obs() is valid
// right away; Reset() starts fresh episodes in all of them.
//
// Step() auto-resets in the SAME step (Gymnasium's "same-step" autoreset
// mode): afterwards, for an env whose episode just ended (terminated or
// truncated), obs() already holds the first observation of its next episode,
// while final_obs() holds the true last observation of the finished episode
// (needed to bootstrap a truncated episode's value). For every other env the
// final_obs() row equals its obs() row. rewards(), terminated() and
// truncated() describe the step just taken.
//
// Episode statistics follow Gymnasium's RecordEpisodeStatistics: a running
// return (sum of rewards, in double) and length per env; each finished episode
// is queued as an EpisodeStat until TakeFinishedEpisodes() drains it.
//
// Action clipping (set_clip_actions, CleanRL's ClipAction wrapper): each Box
// action is clipped to the action space's bounds before the env sees it; the
// caller's action array is left as it is (the rollout keeps the unclipped
// sample for its log-prob). Discrete actions are never touched.
//
// A remote env id (remote://..., common/envs/remote_env.h) is stepped in
// batched sessions (common/envs/remote_env_batch.h): all columns in one
// session, or sessions of VectorEnvOptions::remote_columns_per_session
// columns, each stepped in one round trip with the server auto-resetting in
// the same step (the contract above holds unchanged). A server without
// batched sessions (or VectorEnvOptions::remote_batched false) gets one
// single-env session per column (RemoteEnv), as before batches existed. With threads, the sessions (not the columns) are
// spread over the team.
//
// After Create() nothing allocates per Step() as long as the finished-episode
// queue is drained at least every few steps (it is reserved for 4 * num_envs
// entries and grows only if left undrained). Not thread-safe.
#ifndef PROXIMA_COMMON_ENVS_VECTOR_ENV_H_
#define PROXIMA_COMMON_ENVS_VECTOR_ENV_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "common/envs/env.h"
#include "common/thread_team.h"

namespace proxima {

struct EpisodeStat {
  int env_index = 0;
  double episode_return = 0.0;
  int length = 0;
};

class RemoteEnvBatch;

struct VectorEnvOptions {
  // Remote ids: step the columns in batched sessions (false: one single-env
  // session per column, the exchange from before batches).
  bool remote_batched = true;
  // Remote ids, batched: env columns per session; 0: all in one session.
  int remote_columns_per_session = 0;
};

class VectorEnv {
 public:
  // InvalidArgument for an unknown id, num_envs < 1 or a negative
  // remote_columns_per_session; a remote env's error (unreachable server,
  // failed first reset).
  static absl::StatusOr<std::unique_ptr<VectorEnv>> Create(absl::string_view env_id, int num_envs,
                                                           uint64_t seed,
                                                           const VectorEnvOptions& options = {});
  ~VectorEnv();

  VectorEnv(const VectorEnv&) = delete;
  VectorEnv& operator=(const VectorEnv&) = delete;

  // Starts a new episode in every env (drawing from each env's own Rng) and
  // zeroes the running returns/lengths. Already finished episodes stay queued.
  void Reset();

  // `actions` holds num_envs() * spec().action_dim() floats, env-major.
  void Step(const float* actions);

  // Steps the columns on `threads` threads (the caller's included; 1: all on
  // the calling thread). InvalidArgument outside [1, 256].
  absl::Status SetThreads(int threads);
  int threads() const;
  void set_clip_actions(bool clip) { clip_actions_ = clip && !spec_->action_space.is_discrete(); }
  bool clip_actions() const { return clip_actions_; }

  int num_envs() const { return num_envs_; }
  const EnvSpec& spec() const { return *spec_; }
  // Column i's env; only where each column has its own (batched_sessions()
  // is 0).
  Env& env(int i) { return *envs_[i]; }
  // Batched remote sessions stepping the columns (0: one Env per column).
  int batched_sessions() const { return static_cast<int>(batches_.size()); }

  // num_envs * obs_dim floats, env-major.
  absl::Span<const float> obs() const { return obs_; }
  absl::Span<const float> final_obs() const { return final_obs_; }
  absl::Span<const float> rewards() const { return rewards_; }
  absl::Span<const uint8_t> terminated() const { return terminated_; }
  absl::Span<const uint8_t> truncated() const { return truncated_; }

  // Running return and length of env i's current episode.
  double episode_return(int i) const { return episode_returns_[i]; }
  int episode_length(int i) const { return episode_lengths_[i]; }

  // OK, or the first error among the envs' status() (a remote env whose server
  // failed). Owners check it after each step or rollout and stop on an error.
  absl::Status status() const;

  // Appends the queued finished episodes (in the order they ended) to `out`
  // and empties the queue.
  void TakeFinishedEpisodes(std::vector<EpisodeStat>* out);

  // One env between steps, as checkpoints keep it: its internal state and
  // TimeLimit counter, its Rng, its current observation and the running
  // return and length of its episode.
  struct EnvState {
    std::vector<double> state;  // spec().state_dim values
    int elapsed_steps = 0;
    std::string rng;            // Rng::State()
    std::vector<float> obs;     // obs_dim values
    double episode_return = 0.0;
    int episode_length = 0;
  };
  // Call between steps with the finished-episode queue drained. Remote envs
  // keep their state on their server: FailedPrecondition.
  absl::StatusOr<std::vector<EnvState>> SaveState() const;
  // Puts every env back into a saved state, after which Step() continues as
  // the saved envs would have. InvalidArgument for states of another shape.
  absl::Status RestoreState(const std::vector<EnvState>& states);

 private:
  VectorEnv(std::vector<std::unique_ptr<Env>> envs,
            std::vector<std::unique_ptr<RemoteEnvBatch>> batches);
  // Steps columns [begin, end); marks ended_[i] for finished episodes.
  void StepColumns(const float* actions, int begin, int end);
  // Steps batched sessions [begin, end).
  void StepBatches(const float* actions, int begin, int end);
  // Records column i's step (its final_obs row written), auto-resetting
  // per-column envs whose episode ended.
  void RecordStep(int i, const StepResult& r);

  const EnvSpec* spec_;
  int num_envs_;
  int obs_dim_;
  int action_dim_;
  std::vector<std::unique_ptr<Env>> envs_;                // per column, or
  std::vector<std::unique_ptr<RemoteEnvBatch>> batches_;  // batched sessions
  std::vector<int> batch_begin_;                          // first column of each
  std::vector<StepResult> results_;                       // batches: per column
  std::vector<float> obs_, final_obs_, rewards_;
  std::vector<uint8_t> terminated_, truncated_;
  std::vector<double> episode_returns_;
  std::vector<int> episode_lengths_;
  std::vector<EpisodeStat> finished_;
  std::vector<uint8_t> ended_;        // per column: the last step ended an episode
  std::vector<float> clipped_;        // num_envs * action_dim scratch
  bool clip_actions_ = false;
  std::unique_ptr<ThreadTeam> team_;  // null: one thread
};

}  // namespace proxima

#endif  // PROXIMA_COMMON_ENVS_VECTOR_ENV_H_
