// Evaluation during training (--eval-every N, --eval-episodes K): every Nth
// update the learner — the in-process trainer's thread or the learner
// server's trainer thread, inline after the update (docs/learner.md
// "Evaluation during training" says why and what it costs) — plays K
// deterministic episodes (the Gaussian mean / the argmax) of the policy it
// has just trained, on an env of its own (Evaluate(), learner/eval_episodes.h:
// a fresh env instance, never a training env), with the run's observation
// normalization (the updater's statistics, as actors get them) and action
// clipping (PpoConfig::clip_action).
//
// Seeds: every evaluation seeds its env with EvalSeed(config.seed), a stream
// of its own (training envs use seed + i), so all evaluations of a run play
// the same K starts and their returns compare policies, not luck; and
// `proxima eval --checkpoint RUN_DIR/best --deterministic --seed S
// --episodes K` reproduces the best evaluation's return exactly.
//
// The best evaluation so far (highest mean return; the earlier one on a tie)
// is kept as a tagged checkpoint RUN_DIR/checkpoints/ckpt-<version>-best.pt
// (learner/checkpoint.h naming; never pruned, the previous best file is
// removed once the new one is written) with its numbers in
// RUN_DIR/checkpoints/best.json {eval_return, eval_return_std, update,
// env_steps, checkpoint, eval_seed, eval_episodes}, which a resumed run
// reads back so that its best stays the best of the whole run. summary.json
// carries best_eval_return, best_eval_update and eval_seed (null without
// --eval-every).
//
// Used by one thread (the one that owns the updater): thread-compatible.
#ifndef PROXIMA_LEARNER_PERIODIC_EVAL_H_
#define PROXIMA_LEARNER_PERIODIC_EVAL_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/envs/env.h"
#include "common/policy/policy_snapshot.h"
#include "learner/periodic_eval_options.h"
#include "learner/ppo_config.h"
#include "learner/ppo_updater.h"
#include "learner/run_files.h"
#include "learner/update_metrics.h"

namespace proxima {

// The tag of the best checkpoint (ckpt-<version>-best.pt).
inline constexpr char kBestCheckpointTag[] = "best";

// The evaluation env's seed for a run seeded `run_seed`.
uint64_t EvalSeed(uint64_t run_seed);

// The updater's current policy version as an actor acts with it: weights
// plus normalizer statistics (enabled = normalize_obs, clip = obs_clip).
// On the CPU the network is the updater's own (shared: do not train while
// it acts); otherwise its parameters are copied into `cpu_copy`, a network
// of the same shape, which the snapshot then holds.
std::shared_ptr<const PolicySnapshot> CurrentPolicySnapshot(PpoUpdater& updater,
                                                            uint64_t version,
                                                            ActorCritic* cpu_copy);

class PeriodicEvaluator {
 public:
  // Null when options.every is 0. `checkpoints_dir` ("" for none): where the
  // best checkpoint goes; its best.json, if any, is read back (a resumed
  // run). InvalidArgument for bad options or an env id MakeEnv rejects.
  static absl::StatusOr<std::unique_ptr<PeriodicEvaluator>> Create(
      const PpoConfig& config, const PeriodicEvalOptions& options,
      std::string checkpoints_dir);

  // Whether update number `update` (1-based, counted over the whole run)
  // evaluates.
  bool Due(int64_t update) const { return update > 0 && update % options_.every == 0; }

  struct Outcome {
    EvalRow row;
    bool best = false;  // the best so far: the caller writes the best checkpoint
  };
  // Evaluates the updater's current policy, trained by `update` updates.
  absl::StatusOr<Outcome> Evaluate(PpoUpdater& updater, int64_t update, int64_t env_steps);

  // After the caller wrote the best checkpoint to `path`: removes the
  // earlier best checkpoints and writes best.json.
  absl::Status BestSaved(const std::string& path);

  // best_eval_return, best_eval_update and eval_seed of the run so far.
  void FillSummary(RunSummary* s) const;

  uint64_t seed() const { return seed_; }

 private:
  PeriodicEvaluator(const PpoConfig& config, const PeriodicEvalOptions& options,
                    std::string checkpoints_dir);
  absl::Status ReadBest();

  const PpoConfig config_;
  const PeriodicEvalOptions options_;
  const std::string checkpoints_dir_;
  EnvSpec spec_;
  uint64_t seed_ = 0;
  ActorCritic cpu_copy_{nullptr};  // the updater trains off the CPU
  std::optional<EvalRow> best_;
  int64_t best_update_ = 0;
  int64_t best_env_steps_ = 0;
};

}  // namespace proxima

#endif  // PROXIMA_LEARNER_PERIODIC_EVAL_H_
