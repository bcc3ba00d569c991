#include "learner/server/run_origin.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "learner/resume_config.h"
#include "learner/run_files.h"

namespace proxima {

absl::StatusOr<RunOrigin> ResolveRunOrigin(const LearnerOptions& options, PpoConfig* config) {
  RunOrigin out;
  if (options.resume_dir.empty()) {
    const std::string default_dir = DefaultRunDir(config->env_id, config->seed);
    PROXIMA_ASSIGN_OR_RETURN(out.run_dir,
                             NewRunDir(options.run_dir, default_dir, options.overwrite));
    if (options.run_dir.empty() && out.run_dir != default_dir) {
      LogInfo(absl::StrCat(default_dir, " holds another run; this one goes to ", out.run_dir));
    }
    return out;
  }
  out.run_dir = options.resume_dir;
  if (options.resume_or_start && ListCheckpoints(out.run_dir + "/checkpoints").empty()) {
    LogInfo(absl::StrCat("no checkpoint in ", out.run_dir,
                         "/checkpoints; starting a new run (--resume-or-start)"));
    return out;
  }
  PROXIMA_ASSIGN_OR_RETURN(ResumePoint point,
                           FindResumePoint(options.resume_dir, options.resume_changes));
  *config = point.config;
  out.resume = std::move(point.checkpoint);
  return out;
}

}  // namespace proxima
