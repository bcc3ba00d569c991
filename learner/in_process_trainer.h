// InProcessTrainer: vector env + current policy + PPO update in one process, no
// network. The reference for learning results (same env, policy, GAE and loss
// code as the distributed path) and the throughput ceiling the cluster is
// measured against.
//
// Run() blocks until the step budget is spent (or the env is solved, with
// stop_when_solved), writing the run directory as it goes.
#ifndef PROXIMA_LEARNER_IN_PROCESS_TRAINER_H_
#define PROXIMA_LEARNER_IN_PROCESS_TRAINER_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "actor/envs/vector_env.h"
#include "learner/episode_tracker.h"
#include "learner/ppo_config.h"
#include "learner/ppo_updater.h"
#include "learner/run_files.h"

namespace proxima {

struct TrainerOptions {
  std::string run_dir;            // empty: write no files
  bool stop_when_solved = false;
  bool progress = false;          // live progress line on stderr
  // Called after every update (tests use it to inspect the trainer).
  std::function<void(const MetricsRow&)> on_update;
};

class InProcessTrainer {
 public:
  static absl::StatusOr<std::unique_ptr<InProcessTrainer>> Create(const PpoConfig& config,
                                                                  TrainerOptions options);

  absl::StatusOr<RunSummary> Run();

  PpoUpdater& updater() { return *updater_; }

 private:
  InProcessTrainer(const PpoConfig& config, TrainerOptions options)
      : config_(config), options_(std::move(options)) {}
  // Fills batch_ with one rollout of rollout_length steps.
  void CollectRollout(int64_t* env_steps);

  PpoConfig config_;
  TrainerOptions options_;
  std::unique_ptr<VectorEnv> envs_;
  std::unique_ptr<PpoUpdater> updater_;
  std::unique_ptr<EpisodeTracker> tracker_;
  std::unique_ptr<RewardScaler> reward_scaler_;
  RolloutBatch batch_;
  Rng rng_;
  std::vector<EpisodeStat> finished_;
  std::vector<float> step_actions_;
  std::vector<float> step_logp_;
  std::vector<float> scaled_rewards_;
  std::vector<float> finals_;  // scratch for truncated final observations
  double start_seconds_ = 0;
};

}  // namespace proxima

#endif  // PROXIMA_LEARNER_IN_PROCESS_TRAINER_H_
