// TorchScript export: turns a checkpoint's acting policy into a self-contained
// TorchScript module (`policy.pt`) that Python loads with torch.jit.load and
// C++ with torch::jit::load — no Proxima code needed to run it.
//
// The module is built directly as a torch::jit::Module: every network
// parameter is registered under its checkpoint name with '.' replaced by '_'
// (policy_trunk_0_weight, value_head_bias, log_std, ...), the normalizer's
// statistics as float64 buffers (obs_mean, obs_var), metadata as attributes,
// and the methods are TorchScript source generated for the network's shape
// (hidden sizes, activation, shared or separate trunk, Categorical or
// diagonal-Gaussian head). The computation is op for op the one ActorCritic
// and PolicyInference run — normalization in float64 as
// RunningMeanStd::Normalize does, torch.linear (addmm), log_softmax, the same
// Gaussian log-density expression — so on the same inputs the module
// reproduces the live policy to float rounding. docs/export.md lists the
// method contracts and attributes.
//
// After writing, the export loads the file back and compares dist_params and
// value against the live network on random observations (self_check_max_abs_diff).
#ifndef PROXIMA_LEARNER_EXPORT_TORCHSCRIPT_EXPORT_H_
#define PROXIMA_LEARNER_EXPORT_TORCHSCRIPT_EXPORT_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace proxima {

struct CheckpointPolicy;

// Bumped whenever a method contract or attribute changes.
inline constexpr int kTorchScriptPolicyFormat = 1;

struct TorchScriptExportInfo {
  std::string path;            // the file written
  std::string checkpoint;      // the checkpoint it came from
  std::string env_id;
  int obs_dim = 0;
  std::string action_space;    // Space::DebugString()
  uint64_t policy_version = 0;
  int64_t size_bytes = 0;
  // max |exported − live| over dist_params and value on the self-check batch.
  double self_check_max_abs_diff = 0;
};

// Writes `policy` as a TorchScript module to `out_path` (atomically).
// InvalidArgument if the network is not one Proxima builds; Internal if the
// self-check finds a difference above 1e-5 (nothing is written then).
absl::StatusOr<TorchScriptExportInfo> ExportTorchScriptPolicy(const CheckpointPolicy& policy,
                                                              const std::string& out_path);

// LoadCheckpointPolicy(checkpoint_path) (file, checkpoints dir or run dir),
// then ExportTorchScriptPolicy.
absl::StatusOr<TorchScriptExportInfo> ExportCheckpointToTorchScript(
    const std::string& checkpoint_path, const std::string& out_path);

}  // namespace proxima

#endif  // PROXIMA_LEARNER_EXPORT_TORCHSCRIPT_EXPORT_H_
