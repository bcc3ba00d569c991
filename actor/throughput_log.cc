#include "actor/throughput_log.h"

#include <algorithm>

#include "absl/strings/str_format.h"

namespace proxima {

bool ThroughputLog::Due(absl::Time now, bool force) const {
  if (interval_ <= absl::ZeroDuration()) return false;
  return force || now - last_time_ >= interval_;
}

std::string ThroughputLog::Line(absl::Time now, const Sample& s) {
  const double seconds = std::max(absl::ToDoubleSeconds(now - last_time_), 1e-9);
  const double waited = s.flow_control_wait_seconds - last_wait_seconds_;
  std::string line = absl::StrFormat(
      "%.0f env steps/s, acting with version %d (learner at %d), %d chunks acked, %d "
      "unacked, %d episodes, %.0f%% waiting for newer weights%s",
      static_cast<double>(s.env_steps - last_steps_) / seconds, s.policy_version,
      s.learner_version, s.chunks_acked, s.unacked, s.episodes - last_episodes_,
      100.0 * waited / seconds,
      return_count_ > 0 ? absl::StrFormat(", mean return %.1f",
                                          return_sum_ / static_cast<double>(return_count_))
                        : std::string());
  last_time_ = now;
  last_steps_ = s.env_steps;
  last_wait_seconds_ = s.flow_control_wait_seconds;
  last_episodes_ = s.episodes;
  return_sum_ = 0;
  return_count_ = 0;
  return line;
}

}  // namespace proxima
