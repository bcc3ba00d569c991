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
#ifndef PROXIMA_COMMON_FAILPOINT_H_
#define PROXIMA_COMMON_FAILPOINT_H_

#include "absl/strings/string_view.h"

namespace proxima {

// Kills the process with SIGKILL if PROXIMA_FAILPOINT names `name` and this is
// the hit it asks for. Thread-safe.
void MaybeFail(absl::string_view name);

}  // namespace proxima

#endif  // PROXIMA_COMMON_FAILPOINT_H_
