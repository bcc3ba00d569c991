#include "learner/server/status_util.h"

#include <algorithm>

namespace proxima {

void SetTimestamp(absl::Time t, google::protobuf::Timestamp* out) {
  const int64_t ns = absl::ToUnixNanos(t);
  out->set_seconds(ns / 1000000000);
  out->set_nanos(static_cast<int32_t>(ns % 1000000000));
}

void SetDuration(double seconds, google::protobuf::Duration* out) {
  const int64_t ns = static_cast<int64_t>(seconds * 1e9);
  out->set_seconds(ns / 1000000000);
  out->set_nanos(static_cast<int32_t>(ns % 1000000000));
}

void AddRateSample(RateWindow* w, ServerClock::time_point now, int64_t steps) {
  w->emplace_back(now, steps);
  while (w->size() > 2 && Seconds(now - w->front().first) > 10) w->pop_front();
}

double RatePerSecond(const RateWindow& w) {
  if (w.size() < 2) return 0;
  return (w.back().second - w.front().second) /
         std::max(1e-9, Seconds(w.back().first - w.front().first));
}

}  // namespace proxima
