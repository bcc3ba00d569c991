// Where a learner's run lives and whether it continues an earlier one:
//   --resume DIR with a checkpoint in it   continues that run: its config,
//                                          with the settings given again
//                                          applied or refused
//                                          (learner/resume_config.h), and
//                                          the checkpoint to restore;
//   --resume DIR without one               InvalidArgument naming DIR; with
//                                          --resume-or-start a new run there;
//   otherwise                              a new run: NewRunDir
//                                          (learner/run_files.h) of --run-dir
//                                          and runs/<env>-<seed>.
//
// A function of the options and the files (thread-compatible); it reads the
// checkpoint directory, removes an old run's files with --overwrite, and
// prints what it chose to stderr.
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
