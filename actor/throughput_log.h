// ThroughputLog: the actor's periodic progress line, e.g.
//
//   "2400 env steps/s, acting with version 12 (learner at 13), 40 chunks
//    acked, 2 unacked, 7 episodes, 3% waiting for newer weights, mean
//    return 187.5"
//
// Rates and counts are over the interval since the previous line: env steps
// per second, episodes ended, the share of the time spent in flow-control
// waits, and the mean return of the episodes ended (left out when none did).
// Acknowledged chunks are a running total. The caller passes the totals it
// keeps (a Sample); this class keeps only what the previous line saw.
//
// Not thread-safe: the actor's stepping thread owns it.
#ifndef PROXIMA_ACTOR_THROUGHPUT_LOG_H_
#define PROXIMA_ACTOR_THROUGHPUT_LOG_H_

#include <cstdint>
#include <string>

#include "absl/time/time.h"

namespace proxima {

class ThroughputLog {
 public:
  // Running totals at the time of a line.
  struct Sample {
    int64_t env_steps = 0;
    uint64_t policy_version = 0;    // acting with
    uint64_t learner_version = 0;   // from the newest ack
    uint64_t chunks_acked = 0;
    uint64_t unacked = 0;           // chunks in the send window now
    uint64_t episodes = 0;
    double flow_control_wait_seconds = 0;
  };

  // A line every `interval`; zero or negative: never.
  explicit ThroughputLog(absl::Duration interval) : interval_(interval) {}

  // The first interval starts at `now`.
  void Start(absl::Time now) { last_time_ = now; }

  // An episode ended with this return (for the next line's mean).
  void AddEpisodeReturn(double episode_return) {
    return_sum_ += episode_return;
    ++return_count_;
  }

  // True when a line is due at `now` (or `force`, as at the end of a run) and
  // lines are on. Cheap: call it before gathering a Sample.
  bool Due(absl::Time now, bool force) const;

  // The line for `sample` at `now`; starts the next interval. Call when Due().
  std::string Line(absl::Time now, const Sample& sample);

 private:
  const absl::Duration interval_;
  absl::Time last_time_;
  int64_t last_steps_ = 0;
  double last_wait_seconds_ = 0;
  uint64_t last_episodes_ = 0;
  double return_sum_ = 0;
  uint64_t return_count_ = 0;
};

}  // namespace proxima

#endif  // PROXIMA_ACTOR_THROUGHPUT_LOG_H_
