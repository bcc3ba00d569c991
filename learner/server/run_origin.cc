#include "learner/server/run_origin.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/logging.h"
#include "learner/run_files.h"

namespace proxima {

absl::StatusOr<RunOrigin> ResolveRunOrigin(const LearnerOptions& options, PpoConfig* config) {
  RunOrigin out;
  if (options.resume_dir.empty()) {
    out.run_dir = options.run_dir.empty() ? DefaultRunDir(config->env_id, config->seed)
                                          : options.run_dir;
    return out;
  }
  out.run_dir = options.resume_dir;
  absl::StatusOr<LoadedCheckpoint> found = FindLatestCheckpoint(out.run_dir + "/checkpoints");
  if (found.ok()) {
    out.resume = std::move(*found);
    *config = out.resume->config;
    if (options.resume_total_steps.has_value() &&
        *options.resume_total_steps != config->total_steps) {
      LogInfo(absl::StrFormat("step budget %lld (was %lld in the checkpoint)",
                              static_cast<long long>(*options.resume_total_steps),
                              static_cast<long long>(config->total_steps)));
      config->total_steps = *options.resume_total_steps;
    }
    if (options.resume_engine.has_value() && *options.resume_engine != config->engine) {
      LogInfo(absl::StrFormat("update engine %s (was %s in the checkpoint)",
                              *options.resume_engine, config->engine));
      config->engine = *options.resume_engine;
    }
  } else if (found.status().code() == absl::StatusCode::kNotFound) {
    LogInfo(absl::StrCat("no checkpoint in ", out.run_dir, "/checkpoints; starting a new run"));
  } else {
    return found.status();
  }
  return out;
}

}  // namespace proxima
