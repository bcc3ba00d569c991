// InProcessTrainer: vector env + current policy + PPO update in one process, no
// network. The reference for learning results (same env, policy, GAE and loss
// code as the distributed path) and the throughput ceiling the cluster is
// measured against.
//
// Rollouts are collected by the actor's own RolloutCollector and
// PolicyInference (common/policy/), so the ceiling measures the code an actor
// runs: before every rollout the trainer binds the current version — the
// updater's weights (shared on CPU, copied to a CPU network otherwise) and
// its normalizer statistics — as a PolicySnapshot, exactly what an actor
// would act with after applying the learner's publication. Episodes are
// counted when their rollout ends (as the learner counts them when a chunk
// arrives), each at the env step at which it ended.
//
// Run() blocks until the step budget is spent (or the env is solved, with
// stop_when_solved, or stop_after_update is reached), writing the run
// directory as it goes: metrics.csv (a trainer that continues a run keeps
// the rows of its earlier updates and appends), a TensorBoard event file,
// summary.json, and checkpoints in the learner's format and cadence
// (RUN_DIR/checkpoints, learner/trainer_checkpoint.h): every
// checkpoint_every_seconds / checkpoint_every_updates and when Run() returns
// (not for remote envs, whose state is not here: a log line says so), and
// with options.eval an evaluation every N updates whose best is kept
// (learner/periodic_eval.h). A
// trainer whose Run() returned early can Run() again, or save its state
// (SaveState() plus the updater's checkpoint; both together in
// learner/trainer_checkpoint.h) and continue in a fresh trainer:
// either way the weights come out bit for bit as in one uninterrupted Run().
#ifndef PROXIMA_LEARNER_IN_PROCESS_TRAINER_H_
#define PROXIMA_LEARNER_IN_PROCESS_TRAINER_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/envs/vector_env.h"
#include "common/policy/policy_inference.h"
#include "common/policy/rollout_collector.h"
#include "learner/episode_tracker.h"
#include "learner/periodic_eval.h"
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
  // > 0: Run() returns once this many updates (counted over the whole run,
  // resumed ones included) are done, before the step budget is spent.
  int64_t stop_after_update = 0;
  // Checkpoints, with run_dir (as the learner's flags of the same names).
  double checkpoint_every_seconds = 300;  // 0: off
  int64_t checkpoint_every_updates = 0;   // 0: off
  int keep_checkpoints = 3;
  // Evaluation during training (learner/periodic_eval.h): after every
  // eval.every-th update, inline on Run()'s thread; the best one is kept as
  // a checkpoint tagged "best" (with run_dir).
  PeriodicEvalOptions eval;
};

class InProcessTrainer {
 public:
  static absl::StatusOr<std::unique_ptr<InProcessTrainer>> Create(const PpoConfig& config,
                                                                  TrainerOptions options);

  absl::StatusOr<RunSummary> Run();

  PpoUpdater& updater() { return *updater_; }

  // Everything besides the updater that the next update depends on: each
  // env's state and Rng, the sampler's Rng, reward scaling, the episode
  // window and the counters, as a JSON document. Call while Run() is not
  // running. FailedPrecondition for remote envs (their state is not here).
  absl::StatusOr<std::string> SaveState() const;
  // Restores SaveState()'s document into a trainer created with the same
  // config (and an updater restored from the same moment); the next Run()
  // continues where the saved trainer stopped. InvalidArgument for a
  // document that does not fit this trainer.
  absl::Status RestoreState(const std::string& state);

  int64_t updates() const { return updates_; }
  int64_t env_steps() const { return env_steps_; }
  int64_t episodes() const { return tracker_->episodes(); }
  double wall_seconds() const { return wall_seconds_; }

 private:
  InProcessTrainer(const PpoConfig& config, TrainerOptions options)
      : config_(config), options_(std::move(options)) {}
  // Binds the current version to policy_ and collects one rollout of
  // rollout_length steps; its episodes go to the tracker. The batch is a view
  // of collector_'s buffers (rewards scaled, when on, in a copy of their own),
  // valid until the next call.
  absl::StatusOr<RolloutBatch> CollectRollout();
  // Writes a checkpoint into RUN_DIR/checkpoints (wall_seconds_ brought up to
  // now first). Remote envs: logs once and turns checkpoints off.
  absl::Status Checkpoint(const std::string& tag = "");

  PpoConfig config_;
  TrainerOptions options_;
  std::unique_ptr<VectorEnv> envs_;
  std::unique_ptr<PpoUpdater> updater_;
  std::unique_ptr<EpisodeTracker> tracker_;
  std::unique_ptr<RewardScaler> reward_scaler_;
  Rng rng_;  // the sampler's
  std::unique_ptr<PolicyInference> policy_;
  std::unique_ptr<RolloutCollector> collector_;
  std::unique_ptr<PeriodicEvaluator> evaluator_;  // null without --eval-every
  ActorCritic cpu_model_{nullptr};  // the snapshot's network when training off the CPU
  double start_seconds_ = 0;
  double wall_seconds_ = 0;  // training time of the Run()s so far
  int64_t env_steps_ = 0;
  int64_t updates_ = 0;
  bool checkpoints_off_ = false;  // remote envs
};

}  // namespace proxima

#endif  // PROXIMA_LEARNER_IN_PROCESS_TRAINER_H_
