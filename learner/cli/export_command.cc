#include "learner/cli/export_command.h"

#include <string>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "common/flags.h"
#include "learner/export/seq_torchscript_export.h"
#include "learner/export/torchscript_export.h"
#include "learner/lm/seq_checkpoint.h"

ABSL_FLAG(std::string, checkpoint, "",
          "export, eval: a checkpoint file, checkpoints directory or run directory (newest "
          "checkpoint)");
ABSL_FLAG(std::string, out, "", "export: the TorchScript policy file to write (e.g. policy.pt)");

namespace proxima {
namespace {

// A missing or unreadable checkpoint is bad input (exit 2); failing to build
// or write the module is a runtime failure (exit 1).
int Fail(const absl::Status& s, std::ostream& err) {
  switch (s.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kDataLoss:
      ExitWithUsageError("proxima export", s);
    default:
      err << "proxima export: " << s.message() << "\n";
      return 1;
  }
}

}  // namespace

int ExportCommand(std::ostream& out, std::ostream& err) {
  const std::string checkpoint = absl::GetFlag(FLAGS_checkpoint);
  const std::string path = absl::GetFlag(FLAGS_out);
  if (checkpoint.empty()) {
    ExitWithUsageError("proxima export", absl::InvalidArgumentError("--checkpoint PATH is required"));
  }
  if (path.empty()) {
    ExitWithUsageError("proxima export", absl::InvalidArgumentError("--out FILE is required"));
  }
  absl::StatusOr<bool> seq_kind = lm::DetectSeqCheckpoint(checkpoint);
  if (!seq_kind.ok()) return Fail(seq_kind.status(), err);
  if (*seq_kind) {
    absl::StatusOr<SeqExportInfo> seq = ExportSeqCheckpointToTorchScript(checkpoint, path);
    if (!seq.ok()) return Fail(seq.status(), err);
    out << absl::StrFormat(
        "wrote %s (%d bytes): sequence policy for %s, vocab %d, max_seq_len %d, %d parameters, "
        "policy version %d, from %s; self-check max |diff| %.3g\n",
        seq->path, seq->size_bytes, seq->task_id, seq->vocab_size, seq->max_seq_len,
        seq->parameters, seq->policy_version, seq->checkpoint, seq->self_check_max_abs_diff);
    return 0;
  }
  absl::StatusOr<TorchScriptExportInfo> info = ExportCheckpointToTorchScript(checkpoint, path);
  if (!info.ok()) return Fail(info.status(), err);
  out << absl::StrFormat(
      "wrote %s (%d bytes): %s policy, obs_dim %d, actions %s, policy version %d, from %s; "
      "self-check max |diff| %.3g\n",
      info->path, info->size_bytes, info->env_id, info->obs_dim, info->action_space,
      info->policy_version, info->checkpoint, info->self_check_max_abs_diff);
  return 0;
}

}  // namespace proxima
