// Fail points: named places in the code where a test can make the process
// die abruptly, to prove that a crash there leaves nothing half-done behind
// (e.g. a checkpoint killed between writing its temporary file and renaming
// it). TEST-ONLY: production never sets the variable, and then a fail point
// costs one cached environment lookup.
//
//   PROXIMA_FAILPOINT=<name>      the first MaybeFail("<name>") raises SIGKILL
//   PROXIMA_FAILPOINT=<name>:<N>  the N-th one does (N >= 1)
//
// One fail point per process. SIGKILL, not abort(): nothing runs after it (no
// destructors, atexit handlers, buffered-output flushes), like `kill -9` or a
// power cut. A line naming the fail point is written to stderr first.
//
// Fail points in the tree (tests/faults/ uses them):
//   checkpoint.before_rename  checkpoint temp file written and fsynced, not
//                             yet renamed (learner/checkpoint.cc)
//   learner.update_applied    the PPO update changed the model in memory; the
//                             new version is neither counted, published nor
//                             checkpointed (learner/server/learner_server.cc)
//
// Delay points slow a named place down instead, to force a bottleneck
// (tests/faults/bottleneck_verdict_test.cc):
//
//   PROXIMA_DELAYPOINT=<name>:<ms>  every MaybeDelay("<name>") sleeps <ms>
//
//   learner.update            before each PPO update (trainer_loop.cc)
//   actor.env_step            before each rollout's env steps are timed as
//                             env time (rollout_collector.cc)
#ifndef PROXIMA_COMMON_FAILPOINT_H_
#define PROXIMA_COMMON_FAILPOINT_H_

#include "absl/strings/string_view.h"

namespace proxima {

// Kills the process with SIGKILL if PROXIMA_FAILPOINT names `name` and this is
// the hit it asks for. Thread-safe.
void MaybeFail(absl::string_view name);

// Sleeps as PROXIMA_DELAYPOINT asks if it names `name`; otherwise returns at
// once (one cached environment lookup). Thread-safe.
void MaybeDelay(absl::string_view name);

}  // namespace proxima

#endif  // PROXIMA_COMMON_FAILPOINT_H_
