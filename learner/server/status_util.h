// Small helpers shared by the learner server's status writers: protobuf
// timestamps and durations, and a steps-per-second window.
//
// RateWindow is a plain value (not thread-safe); its owner guards it.
#ifndef PROXIMA_LEARNER_SERVER_STATUS_UTIL_H_
#define PROXIMA_LEARNER_SERVER_STATUS_UTIL_H_

#include <google/protobuf/duration.pb.h>
#include <google/protobuf/timestamp.pb.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <utility>

#include "absl/time/time.h"

namespace proxima {

using ServerClock = std::chrono::steady_clock;

inline double Seconds(ServerClock::duration d) {
  return std::chrono::duration<double>(d).count();
}

void SetTimestamp(absl::Time t, google::protobuf::Timestamp* out);
void SetDuration(double seconds, google::protobuf::Duration* out);

// Steps/s over a window of (time, cumulative steps) samples: the newest
// sample is appended and samples older than 10 s dropped (two are kept).
using RateWindow = std::deque<std::pair<ServerClock::time_point, int64_t>>;
void AddRateSample(RateWindow* w, ServerClock::time_point now, int64_t steps);
double RatePerSecond(const RateWindow& w);

}  // namespace proxima

#endif  // PROXIMA_LEARNER_SERVER_STATUS_UTIL_H_
