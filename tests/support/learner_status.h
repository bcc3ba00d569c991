// Reading a v1::LearnerStatus in tests: one actor's entry, drop counts by
// reason, the total dropped.
#ifndef PROXIMA_TESTS_SUPPORT_LEARNER_STATUS_H_
#define PROXIMA_TESTS_SUPPORT_LEARNER_STATUS_H_

#include <cstdint>
#include <string>

#include "proxima/v1/status.pb.h"

namespace proxima::testing {

// The entry of the actor called `name`, or nullptr (points into `st`).
const v1::ActorInfo* FindActor(const v1::LearnerStatus& st, const std::string& name);

// Chunks dropped for `reason` (0 if none).
uint64_t Dropped(const v1::LearnerStatus& st, v1::ChunkOutcome reason);

// Chunks dropped for any reason.
uint64_t DroppedTotal(const v1::LearnerStatus& st);

}  // namespace proxima::testing

#endif  // PROXIMA_TESTS_SUPPORT_LEARNER_STATUS_H_
