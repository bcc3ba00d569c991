// The learner's status as Monitor.GetStatus, `/metrics` and the progress
// line show it, assembled from the parts that own each field: RunProgress
// (version, steps, episodes, last update), SessionRegistry (actors),
// TrajectoryQueue (fill), ChunkAccounting (chunk counters) and TrainerLoop
// (hyperparameters, checkpoint, pause, mode, sync rounds) and
// TimeBreakdownTracker (where the time goes, the bottleneck line).
//
// BuildStatus takes each part's lock in turn, never two at once, so the
// fields of different parts may be a moment apart; each part's own fields
// (the accounting invariant among them) are consistent.
#ifndef PROXIMA_LEARNER_SERVER_LEARNER_STATUS_H_
#define PROXIMA_LEARNER_SERVER_LEARNER_STATUS_H_

#include <string>

#include "absl/time/time.h"
#include "learner/server/chunk_accounting.h"
#include "learner/server/run_progress.h"
#include "learner/server/session_registry.h"
#include "learner/server/time_breakdown.h"
#include "learner/server/trainer_loop.h"
#include "learner/server/trajectory_queue.h"
#include "proxima/v1/status.pb.h"

namespace proxima {

struct StatusSources {
  const RunProgress* progress;
  const SessionRegistry* sessions;
  const TrajectoryQueue* queue;
  const ChunkAccounting* accounting;
  const TrainerLoop* trainer;  // null: no trainer (a sequence run, for now)
  v1::ServingState serving;
  absl::Time started_at;
  std::string env_id, run_dir, instance_id;
  const TimeBreakdownTracker* times;  // may be null: no time breakdown
};

v1::LearnerStatus BuildStatus(const StatusSources& src, bool include_actors);

// One progress line on stderr ("\r"-rewritten on a terminal): ProgressLine
// of learner/server/lag_report.h (steps, rate, return, version, lag and the
// run's dropped fraction, actors and ETA; "-" where there is no value yet).
void PrintProgressLine(const v1::LearnerStatus& st, const std::string& env_id,
                       int64_t total_steps);

}  // namespace proxima

#endif  // PROXIMA_LEARNER_SERVER_LEARNER_STATUS_H_
