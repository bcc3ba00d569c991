// Checkpoints of the in-process trainer (learner/in_process_trainer.h).
//
// One file in the learner's checkpoint format (checkpoint.h): the updater's
// records (model, Adam's moments and step, shuffle generator, normalizer,
// KL β), the meta record with the config and counters, plus a "trainer"
// record with InProcessTrainer::SaveState(): env states and Rngs, the
// sampler's Rng, reward scaling, the episode window. So `proxima export` and
// `proxima eval` read these files like the learner's, and a trainer resumed
// from one continues bit for bit as the saved trainer would have.
#ifndef PROXIMA_LEARNER_TRAINER_CHECKPOINT_H_
#define PROXIMA_LEARNER_TRAINER_CHECKPOINT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "learner/in_process_trainer.h"
#include "learner/checkpoint.h"
#include "learner/resume_config.h"

namespace proxima {

// Writes `trainer`'s checkpoint (named by its update count, and `tag` if not
// empty: SaveCheckpoint's naming) into `dir` and keeps the newest `keep`
// untagged. Call while its Run() is not running. FailedPrecondition for
// remote envs.
absl::StatusOr<SavedCheckpoint> SaveTrainerCheckpoint(const std::string& dir,
                                                      InProcessTrainer& trainer, int keep,
                                                      const std::string& tag = "");

// A trainer built with the config of the newest checkpoint in `dir` and
// restored from it; its Run() continues the saved run. NotFound without a
// checkpoint; FailedPrecondition for a checkpoint without a trainer record
// (one written by proxima-learner).
absl::StatusOr<std::unique_ptr<InProcessTrainer>> ResumeTrainer(const std::string& dir,
                                                                TrainerOptions options);
// The same from a checkpoint already found, built with `point.config` (the
// checkpoint's with the changes given on resuming; learner/resume_config.h).
absl::StatusOr<std::unique_ptr<InProcessTrainer>> ResumeTrainer(const ResumePoint& point,
                                                                TrainerOptions options);

}  // namespace proxima

#endif  // PROXIMA_LEARNER_TRAINER_CHECKPOINT_H_
