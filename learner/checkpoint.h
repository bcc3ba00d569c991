// Learner checkpoints: everything needed to continue a run exactly where it
// stopped — model parameters, Adam state, the minibatch-shuffle generator,
// observation-normalizer statistics,
// KL β, the policy version, counters, the resolved config and the actor-name →
// id map (so restarted actors keep their ids and seeds).
//
// Files are RUN_DIR/checkpoints/ckpt-<version, 12 digits>.pt, or
// ckpt-<version>-<tag>.pt for a tagged one (`proxima checkpoint --tag T`),
// each one a LibTorch archive written atomically (temp file, fsync, rename,
// fsync dir; common/file_util.h), so a reader never sees a torn file under
// that name. The newest K untagged ones are kept; tagged ones are never
// pruned. Loading takes the newest file that parses (tagged ones included;
// at one version the untagged file first); files that do not (or temp files)
// are skipped with a log line.
#ifndef PROXIMA_LEARNER_CHECKPOINT_H_
#define PROXIMA_LEARNER_CHECKPOINT_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "learner/checkpoint_names.h"
#include "learner/ppo_config.h"
#include "learner/ppo_updater.h"
#include "nlohmann/json_fwd.hpp"

namespace proxima {

struct CheckpointCounters {
  uint64_t policy_version = 0;
  int64_t env_steps = 0;            // accepted env steps
  int64_t transitions_trained = 0;
  int64_t updates = 0;
  int64_t episodes = 0;
  double wall_seconds = 0;          // training time before this process
  std::map<std::string, uint32_t> actor_ids;  // actor name → id
};

struct SavedCheckpoint {
  std::string path;
  int64_t size_bytes = 0;
};

// Writes a checkpoint of `updater` + `counters` into `dir` (created if
// needed) and deletes all but the newest `keep` untagged checkpoints. A
// non-empty `trainer_state` (the in-process trainer's,
// learner/trainer_checkpoint.h) is stored as one more record. A non-empty
// `tag` names the file ckpt-<version>-<tag>.pt and keeps it from pruning
// (InvalidArgument unless CheckCheckpointTag accepts it).
absl::StatusOr<SavedCheckpoint> SaveCheckpoint(const std::string& dir, PpoUpdater& updater,
                                               const CheckpointCounters& counters, int keep,
                                               const std::string& trainer_state = "",
                                               const std::string& tag = "");

struct LoadedCheckpoint {
  std::string path;
  PpoConfig config;
  CheckpointCounters counters;
};

// Reads the config and counters of the newest loadable checkpoint in `dir`
// (NotFound if there is none; its message names every file skipped and why).
absl::StatusOr<LoadedCheckpoint> FindLatestCheckpoint(const std::string& dir);

// The counters of a checkpoint's meta record, range-checked: every count an
// integer in [0, INT64_MAX] (actor ids within uint32), wall_seconds a number
// >= 0. DataLoss naming the field otherwise; nlohmann::json exceptions for a
// missing field.
absl::Status ReadCheckpointCounters(const nlohmann::json& meta, CheckpointCounters* out);

// Loads model, optimizer (Adam's moments and step), normalizer, KL β and the
// minibatch-shuffle generator from `path` into `updater` (built with the
// checkpoint's config): the next Update() on the same batch gives the
// same weights, bit for bit, as it would have without the round trip.
// With `trainer_state`, also returns the trainer record ("" when absent).
absl::Status RestoreCheckpoint(const std::string& path, PpoUpdater& updater,
                               std::string* trainer_state = nullptr);

}  // namespace proxima

#endif  // PROXIMA_LEARNER_CHECKPOINT_H_
