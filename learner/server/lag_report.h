// How stale a run's data is and how much of it was dropped, in the forms an
// operator reads: the display name of a drop reason (the Prometheus label
// `outcome`, summary.json's transitions_dropped_by_reason keys), the run's
// dropped fraction from a LearnerStatus's counters, the short
// "lag 1.02 (max 2) dropped 0.4%" text of the progress lines, the progress
// line itself, and the accounting fields of the run summary.
//
// Pure functions of their arguments: thread-compatible, nothing blocks. The
// header pulls in no torch (learner/cli's client commands use it).
#ifndef PROXIMA_LEARNER_SERVER_LAG_REPORT_H_
#define PROXIMA_LEARNER_SERVER_LAG_REPORT_H_

#include <cstdint>
#include <string>

#include "proxima/v1/status.pb.h"
#include "proxima/v1/trajectory.pb.h"

namespace proxima {

struct RunSummary;  // learner/run_files.h

// The ChunkOutcome value's name without CHUNK_OUTCOME_, lower case
// ("dropped_policy_lag"); a number this build does not know is
// "outcome_<number>".
std::string ChunkOutcomeLabel(v1::ChunkOutcome outcome);

// Σ chunks_dropped[*].transitions.
int64_t TransitionsDropped(const v1::LearnerStatus& st);

// Transitions dropped over transitions received, this process so far; 0
// before anything was received.
double RunDroppedFraction(const v1::LearnerStatus& st);

// "lag <mean> (max <max>) dropped <percent>%": the newest update's lag and
// the run's dropped fraction (RunDroppedFraction).
std::string LagAndDropsText(const v1::LearnerStatus& st);

// The progress line the learner and `proxima train` print: "[env] steps
// <done>/<total>  <rate> steps/s  return <mean>  version <v>  <lag and drops>
// actors <n>  ETA <s>", and "  PAUSED" when paused. With no episode yet the
// return is "-" (not nan); with no rate yet the ETA is "-" (not 0s).
std::string ProgressLine(const v1::LearnerStatus& st, const std::string& env_id,
                         int64_t total_steps);

// The same for a sequence run (`proxima train --env lm/...`): "[task] update
// <version>/<max>  reward <r>  solved <s>  held-out <acc>% (v<version>)
// KL <k>/seq  <rate> tokens/s  <lag and drops>  actors <n>", held-out "-"
// before the first evaluation.
std::string SeqProgressLine(const v1::LearnerStatus& st, const std::string& env_id,
                            int64_t max_updates);

// The accounting fields of `summary` (transitions_collected / _trained /
// _dropped / _dropped_by_reason) from the counters in `st`
// (ChunkAccounting::FillStatus).
void FillSummaryAccounting(const v1::LearnerStatus& st, RunSummary* summary);

}  // namespace proxima

#endif  // PROXIMA_LEARNER_SERVER_LAG_REPORT_H_
