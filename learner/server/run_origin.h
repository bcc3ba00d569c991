// Where a learner's run lives and whether it continues an earlier one:
//   --resume-dir with a checkpoint in it   continues that run: its config
//                                          (--total-steps may change the
//                                          budget, --engine the update
//                                          engine) and the checkpoint to
//                                          restore;
//   --resume-dir without one               starts a new run there;
//   otherwise                              --run-dir, or runs/<env>-<seed>.
//
// A pure function of the options and the files (thread-compatible); it only
// reads the checkpoint directory and prints what it chose to stderr.
#ifndef PROXIMA_LEARNER_SERVER_RUN_ORIGIN_H_
#define PROXIMA_LEARNER_SERVER_RUN_ORIGIN_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "learner/ppo_config.h"
#include "learner/checkpoint.h"
#include "learner/server/learner_options.h"

namespace proxima {

struct RunOrigin {
  std::string run_dir;
  std::optional<LoadedCheckpoint> resume;  // the checkpoint to continue from
};

// Resolves the run directory; when it resumes, `config` becomes the
// checkpoint's.
absl::StatusOr<RunOrigin> ResolveRunOrigin(const LearnerOptions& options, PpoConfig* config);

}  // namespace proxima

#endif  // PROXIMA_LEARNER_SERVER_RUN_ORIGIN_H_
