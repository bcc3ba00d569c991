#include "learner/cli/export_command.h"

#include <string>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "common/flags.h"
#include "learner/export/torchscript_export.h"

ABSL_FLAG(std::string, checkpoint, "",
          "export, eval: a checkpoint file, checkpoints directory or run directory (newest "
          "checkpoint)");
ABSL_FLAG(std::string, out, "", "export: the TorchScript policy file to write (e.g. policy.pt)");

namespace proxima {

int ExportCommand(std::ostream& out, std::ostream& err) {
  const std::string checkpoint = absl::GetFlag(FLAGS_checkpoint);
  const std::string path = absl::GetFlag(FLAGS_out);
  if (checkpoint.empty()) {
    ExitWithUsageError("proxima export", absl::InvalidArgumentError("--checkpoint PATH is required"));
  }
  if (path.empty()) {
    ExitWithUsageError("proxima export", absl::InvalidArgumentError("--out FILE is required"));
  }
  absl::StatusOr<TorchScriptExportInfo> info = ExportCheckpointToTorchScript(checkpoint, path);
  if (!info.ok()) {
    // A missing or unreadable checkpoint is bad input; failing to build or
    // write the module is a runtime failure.
    switch (info.status().code()) {
      case absl::StatusCode::kInvalidArgument:
      case absl::StatusCode::kNotFound:
      case absl::StatusCode::kDataLoss:
        ExitWithUsageError("proxima export", info.status());
      default:
        err << "proxima export: " << info.status().message() << "\n";
        return 1;
    }
  }
  out << absl::StrFormat(
      "wrote %s (%d bytes): %s policy, obs_dim %d, actions %s, policy version %d, from %s; "
      "self-check max |diff| %.3g\n",
      info->path, info->size_bytes, info->env_id, info->obs_dim, info->action_space,
      info->policy_version, info->checkpoint, info->self_check_max_abs_diff);
  return 0;
}

}  // namespace proxima
