// CheckpointPolicy: the acting policy stored in a learner checkpoint
// (learner/checkpoint.h) — network weights plus observation-normalizer
// statistics, i.e. one policy version — loaded on the CPU for export
// (torchscript_export.h) and evaluation (policy_evaluator.h).
//
// The network and normalizer are restored by the learner's own
// RestoreCheckpoint into a PpoUpdater built from the checkpoint's resolved
// config, and handed out as the PolicySnapshot the actor acts with
// (PolicyInference), so exported and evaluated policies are exactly the ones
// the actors ran.
#ifndef PROXIMA_LEARNER_EXPORT_CHECKPOINT_POLICY_H_
#define PROXIMA_LEARNER_EXPORT_CHECKPOINT_POLICY_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/envs/env.h"
#include "common/policy/policy_snapshot.h"
#include "learner/ppo_config.h"

namespace proxima {

struct CheckpointPolicy {
  std::string path;         // the checkpoint file read
  PpoConfig config;         // the run's resolved config
  EnvSpec env;              // spec of config.env_id
  uint64_t policy_version = 0;
  int64_t env_steps = 0;
  // Network (CPU, eval mode) + normalizer (enabled = config.normalize_obs,
  // clip = config.obs_clip). Never null.
  std::shared_ptr<const PolicySnapshot> snapshot;

  PolicyShape shape() const;
};

// `path` names a checkpoint file, a directory of checkpoints, or a run
// directory (its checkpoints/ folder); a directory resolves to its newest
// loadable checkpoint. DIR/best, where no such file exists, names the best
// evaluation's checkpoint (ckpt-<version>-best.pt, --eval-every;
// learner/periodic_eval.h) in DIR or DIR/checkpoints. NotFound when nothing
// is there.
absl::StatusOr<std::string> ResolveCheckpointPath(const std::string& path);

// Resolves `path` as above and loads the policy. NotFound for a missing file,
// DataLoss for a file that is not a readable checkpoint, InvalidArgument for
// a checkpoint whose config or tensors do not fit together.
absl::StatusOr<CheckpointPolicy> LoadCheckpointPolicy(const std::string& path);

}  // namespace proxima

#endif  // PROXIMA_LEARNER_EXPORT_CHECKPOINT_POLICY_H_
