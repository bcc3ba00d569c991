#include "learner/resume_config.h"

#include <filesystem>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "learner/ppo_config_fields.h"
#include "learner/run_files.h"

namespace proxima {
namespace {

// The flag users type for a config key.
std::string FlagOf(const PpoConfigField& row) {
  return absl::StrCat("--", absl::StrReplaceAll(row.flag != nullptr ? row.flag : row.key,
                                                {{"_", "-"}}));
}

// A field's value as config.json writes it.
std::string Shown(const PpoConfig& c, const PpoConfigField& row) {
  const nlohmann::json v = ConfigToJson(c)[row.key];
  return v.is_string() ? v.get<std::string>() : v.dump();
}

bool TakenOnResume(const PpoConfigField& row) {
  const std::string key = row.key;
  return row.settable_while_training || key == "total_steps" || key == "engine" ||
         key == "device" || key == "torch_threads";
}

const PpoConfigField* FindRow(const std::string& key) {
  for (const PpoConfigField& row : PpoConfigFields()) {
    if (key == row.key) return &row;
  }
  return nullptr;
}

}  // namespace

absl::StatusOr<PpoConfig> ApplyResumeChanges(const PpoConfig& saved, const ResumeChanges& changes,
                                             int64_t env_steps_done) {
  PpoConfig out = saved;
  for (const auto& [key, value] : changes) {
    const PpoConfigField* row = FindRow(key);
    if (row == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("no hyperparameter '", key, "'"));
    }
    PpoConfig wanted = saved;
    if (key == "env") {
      wanted.env_id = value;
    } else {
      PROXIMA_RETURN_IF_ERROR(SetPpoFieldFromString(*row, value, &wanted));
    }
    const std::string was = Shown(saved, *row);
    const std::string now = Shown(wanted, *row);
    if (was == now) continue;
    if (!TakenOnResume(*row)) {
      return absl::InvalidArgumentError(absl::StrCat(
          FlagOf(*row), " cannot change when resuming: the checkpoint's run has ", was,
          ", got ", now, " (it defines what is trained; start a new run instead)"));
    }
    PROXIMA_RETURN_IF_ERROR(SetPpoFieldFromString(*row, value, &out));
    if (key == "total_steps") {
      if (out.total_steps < env_steps_done) {
        return absl::InvalidArgumentError(absl::StrCat(
            "--total-steps ", out.total_steps, " is below the ", env_steps_done,
            " env steps the resumed run has already done"));
      }
      LogInfo(absl::StrFormat("step budget %s (was %s in the checkpoint)", now, was));
    } else if (key == "engine") {
      LogInfo(absl::StrFormat("update engine %s (was %s in the checkpoint)", now, was));
    } else {
      LogInfo(absl::StrFormat("%s %s (was %s in the checkpoint)", FlagOf(*row), now, was));
    }
  }
  PROXIMA_RETURN_IF_ERROR(out.Validate());
  return out;
}

absl::StatusOr<ResumePoint> FindResumePoint(const std::string& run_dir,
                                            const ResumeChanges& changes) {
  std::error_code ec;
  if (!std::filesystem::is_directory(run_dir, ec)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--resume ", run_dir, ": no such directory (nothing to continue)"));
  }
  absl::StatusOr<LoadedCheckpoint> found = FindLatestCheckpoint(run_dir + "/checkpoints");
  if (absl::IsNotFound(found.status())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--resume ", run_dir, ": ", found.status().message(),
        " (nothing to continue; to start a new run there, use --run-dir)"));
  }
  if (!found.ok()) return found.status();
  ResumePoint out;
  out.checkpoint = *std::move(found);
  absl::StatusOr<PpoConfig> config =
      ApplyResumeChanges(out.checkpoint.config, changes, out.checkpoint.counters.env_steps);
  if (!config.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--resume ", run_dir, ": ", config.status().message()));
  }
  out.config = *std::move(config);
  return out;
}

}  // namespace proxima
