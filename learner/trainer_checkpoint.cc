#include "learner/trainer_checkpoint.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace proxima {

absl::StatusOr<SavedCheckpoint> SaveTrainerCheckpoint(const std::string& dir,
                                                      InProcessTrainer& trainer, int keep,
                                                      const std::string& tag) {
  PROXIMA_ASSIGN_OR_RETURN(std::string state, trainer.SaveState());
  CheckpointCounters c;
  c.policy_version = static_cast<uint64_t>(trainer.updates());
  c.env_steps = trainer.env_steps();
  c.transitions_trained = trainer.env_steps();  // every step is trained on
  c.updates = trainer.updates();
  c.episodes = trainer.episodes();
  c.wall_seconds = trainer.wall_seconds();
  return SaveCheckpoint(dir, trainer.updater(), c, keep, state, tag);
}

absl::StatusOr<std::unique_ptr<InProcessTrainer>> ResumeTrainer(const std::string& dir,
                                                                TrainerOptions options) {
  ResumePoint point;
  PROXIMA_ASSIGN_OR_RETURN(point.checkpoint, FindLatestCheckpoint(dir));
  point.config = point.checkpoint.config;
  return ResumeTrainer(point, std::move(options));
}

absl::StatusOr<std::unique_ptr<InProcessTrainer>> ResumeTrainer(const ResumePoint& point,
                                                                TrainerOptions options) {
  const LoadedCheckpoint& latest = point.checkpoint;
  PROXIMA_ASSIGN_OR_RETURN(std::unique_ptr<InProcessTrainer> trainer,
                           InProcessTrainer::Create(point.config, std::move(options)));
  std::string state;
  PROXIMA_RETURN_IF_ERROR(RestoreCheckpoint(latest.path, trainer->updater(), &state));
  if (state.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat(latest.path, " has no in-process trainer state (it was written by "
                                  "proxima-learner; resume it with proxima-learner --resume)"));
  }
  absl::Status restored = trainer->RestoreState(state);
  if (!restored.ok()) return absl::DataLossError(absl::StrCat(latest.path, ": ", restored.message()));
  return trainer;
}

}  // namespace proxima
