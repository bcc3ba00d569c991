#include "actor/policy_lag_gate.h"

#include <algorithm>

namespace proxima {

double PolicyLagGate::PredictedLag(uint64_t snapshot_version, const std::optional<AckView>& ack,
                                   uint64_t unacked_transitions) const {
  if (batch_ == 0) return 0;
  const uint64_t acked_version = ack.has_value() ? ack->learner_version : 0;
  const uint64_t newest = std::max(acked_version, snapshot_version);
  double queued = static_cast<double>(unacked_transitions);
  if (ack.has_value()) {
    queued += static_cast<double>(ack->queued_transitions);
    // Versions published since the ack each trained one batch of the queue.
    queued -= static_cast<double>(newest - acked_version) * static_cast<double>(batch_);
  }
  queued = std::max(0.0, queued);
  return static_cast<double>(newest - snapshot_version) + queued / static_cast<double>(batch_);
}

void PolicyLagGate::SawVersion(uint64_t version, absl::Time now) {
  if (last_version_.has_value()) {
    if (version <= *last_version_) return;
    interval_ = now - last_version_time_;
  }
  last_version_ = version;
  last_version_time_ = now;
}

absl::Duration PolicyLagGate::MaxWait() const {
  return std::clamp(4 * interval_, absl::Seconds(1), absl::Seconds(60));
}

}  // namespace proxima
