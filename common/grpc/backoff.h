// Backoff: exponential reconnect delays with jitter, for Register retries and
// broken streams (ChannelHints.reconnect_backoff_initial / _max).
//
// Each Next() returns a delay drawn uniformly from [d/2, d] ("equal jitter")
// and then doubles d up to the maximum. The jitter keeps a fleet of actors
// that lost the same learner from reconnecting in lockstep; the lower bound
// keeps a single actor from hammering it. Not thread-safe: one per loop.
#ifndef PROXIMA_COMMON_GRPC_BACKOFF_H_
#define PROXIMA_COMMON_GRPC_BACKOFF_H_

#include <cstdint>

#include "absl/time/time.h"
#include "common/rng.h"
#include "proxima/v1/config.pb.h"

namespace proxima {

class Backoff {
 public:
  // A non-positive `initial` becomes 100 ms; `max` is raised to `initial`.
  Backoff(absl::Duration initial, absl::Duration max, uint64_t seed);

  // The hints' backoff, with 100 ms / 5 s where a field is unset or zero.
  static Backoff FromHints(const v1::ChannelHints& hints, uint64_t seed);

  absl::Duration Next();
  // Back to `initial` (after a success).
  void Reset() { current_ = initial_; }

  absl::Duration initial() const { return initial_; }
  absl::Duration max() const { return max_; }

 private:
  absl::Duration initial_;
  absl::Duration max_;
  absl::Duration current_;
  Rng rng_;
};

// Reconnect logging without a line per attempt: the first failure of an
// outage is reported, then at most one per `every`; the first success after
// failures reports how many attempts the outage took. Not thread-safe.
class OutageLog {
 public:
  explicit OutageLog(absl::Duration every = absl::Seconds(10)) : every_(every) {}

  // Counts a failed attempt; true if it should be logged now.
  bool Failure(absl::Time now);
  // True if this success ends an outage (then attempts()/since() describe it
  // until the next Failure); resets the outage.
  bool Success(absl::Time now);

  int attempts() const { return attempts_; }
  absl::Duration duration() const { return duration_; }

 private:
  absl::Duration every_;
  int failures_ = 0;
  absl::Time start_;
  absl::Time last_logged_ = absl::InfinitePast();
  int attempts_ = 0;
  absl::Duration duration_;
};

// google.protobuf.Duration -> absl::Duration (zero when unset).
absl::Duration DurationFromProto(int64_t seconds, int32_t nanos);

// A seed that differs between processes and calls (for jitter only: never
// for anything that must be reproducible).
uint64_t JitterSeed();

}  // namespace proxima

#endif  // PROXIMA_COMMON_GRPC_BACKOFF_H_
