// Policy evaluation of trained policies on Proxima's C++ environments
// (`proxima eval`): the two sources of an EvalPolicy, played by Evaluate()
// (learner/eval_episodes.h, shared with evaluation during training):
//   * a learner checkpoint (LoadCheckpointEvalPolicy): the actor's own
//     inference path, PolicyInference over the checkpoint's PolicySnapshot
//     (MakeSnapshotEvalPolicy); stochastic actions are drawn from Proxima's
//     Rng exactly as actors draw them;
//   * an exported TorchScript policy (LoadTorchScriptEvalPolicy): the module's
//     forward() (deterministic) or act() (stochastic; LibTorch's generator).
// Deterministic runs of a checkpoint and of its export agree exactly for the
// same seed (same kernels on the same inputs); stochastic runs are each
// reproducible for a seed but draw from different generators.
//
// Action clipping (eval_episodes.h): the setting comes from the checkpoint's
// config or the export's `clip_action` attribute (absent in files written
// before it existed: no clipping); EvalOptions::clip_action overrides it.
#ifndef PROXIMA_LEARNER_EXPORT_POLICY_EVALUATOR_H_
#define PROXIMA_LEARNER_EXPORT_POLICY_EVALUATOR_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "learner/eval_episodes.h"

namespace proxima {

// A checkpoint file, checkpoints dir or run dir (checkpoint_policy.h).
absl::StatusOr<std::unique_ptr<EvalPolicy>> LoadCheckpointEvalPolicy(const std::string& path);

// A module written by ExportTorchScriptPolicy. NotFound if `path` does not
// exist, InvalidArgument if it is not a Proxima TorchScript policy.
absl::StatusOr<std::unique_ptr<EvalPolicy>> LoadTorchScriptEvalPolicy(const std::string& path);

}  // namespace proxima

#endif  // PROXIMA_LEARNER_EXPORT_POLICY_EVALUATOR_H_
