// How the actor reads a duration of the learner's ChannelHints
// (proto/proxima/v1/config.proto): unset, zero or negative means "the actor's
// default". Pure function, thread-safe.
#ifndef PROXIMA_ACTOR_CHANNEL_HINTS_H_
#define PROXIMA_ACTOR_CHANNEL_HINTS_H_

#include "absl/time/time.h"
#include "common/grpc/backoff.h"
#include "google/protobuf/duration.pb.h"

namespace proxima {

// `hint`, or `fallback` where it is unset or not positive.
inline absl::Duration HintOr(const google::protobuf::Duration& hint, absl::Duration fallback) {
  const absl::Duration v = DurationFromProto(hint.seconds(), hint.nanos());
  return v > absl::ZeroDuration() ? v : fallback;
}

}  // namespace proxima

#endif  // PROXIMA_ACTOR_CHANNEL_HINTS_H_
