// Continuing a run (`--resume DIR`): which checkpoint it continues from and
// with which config.
//
// A resumed run keeps its checkpoint's config. Settings given again on the
// command line ("changes": config key → value as text, e.g. {"total_steps",
// "200000"}) are compared with it, row by row of the field table
// (learner/ppo_config_fields.h):
//   the same value                  nothing to do;
//   total_steps                     the new step budget; below the env steps
//                                   already done is an error;
//   engine, device, torch_threads   how the update runs: taken;
//   settable while training         taken (what `proxima set` could change);
//   anything else                   (env, seed, model, env columns, ...)
//                                   InvalidArgument naming the flag, the
//                                   checkpoint's value and the one given.
// Each change taken is logged ("step budget N (was M in the checkpoint)").
//
// Shared by the learner server (learner/server/run_origin.h), the in-process
// trainer (learner/trainer_checkpoint.h) and `proxima train`, which checks a
// resume before it starts any process. Reads files; thread-compatible.
#ifndef PROXIMA_LEARNER_RESUME_CONFIG_H_
#define PROXIMA_LEARNER_RESUME_CONFIG_H_

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "learner/checkpoint.h"
#include "learner/ppo_config.h"

namespace proxima {

using ResumeChanges = std::map<std::string, std::string>;

// `saved` with `changes` applied as above, validated. `env_steps_done`: the
// env steps of the checkpoint.
absl::StatusOr<PpoConfig> ApplyResumeChanges(const PpoConfig& saved, const ResumeChanges& changes,
                                             int64_t env_steps_done);

struct ResumePoint {
  LoadedCheckpoint checkpoint;  // checkpoint.config is as saved
  PpoConfig config;             // the config to continue with (changes applied)
};

// The newest checkpoint of the run in `run_dir` (its checkpoints/ folder)
// and the config to continue with. InvalidArgument, naming the path, when
// `run_dir` does not exist, holds no checkpoint or none that loads (each
// file skipped and why), or a change is refused.
absl::StatusOr<ResumePoint> FindResumePoint(const std::string& run_dir,
                                            const ResumeChanges& changes);

}  // namespace proxima

#endif  // PROXIMA_LEARNER_RESUME_CONFIG_H_
