// PolicyLagGate: an async actor's flow control by policy version
// (DESIGN.md "Modes"; RunConfig.target_policy_lag in proto/proxima/v1/config.proto).
//
// Before each rollout the actor asks whether the chunk it would collect now
// will be trained too stale. The predicted lag, in versions, is
//
//   (newest version known − the snapshot's version)
//     + (transitions queued ahead of the chunk) / batch_transitions
//
// where "newest known" is the larger of the newest ack's learner version and
// the snapshot's, and "queued ahead" is the newest ack's queued_transitions
// plus the transitions of this actor's chunks not yet acknowledged, less one
// batch for every version published since that ack (async trains one batch
// per version). While the prediction is >= the target the actor waits for a
// newer snapshot. The old rule "async actors never wait" is target 0.
//
// Waiting can only end when the learner trains, and the learner can drain its
// queue without publishing (chunks dropped for lag, a failed update, a paused
// run), so a wait is bounded: MaxWait() is four intervals between the last
// two versions the actor saw, at least one second and at most a minute. An
// actor that gives up collects anyway; the lag limit still applies.
//
// Pure arithmetic on what the caller passes: thread-compatible, no I/O.
#ifndef PROXIMA_ACTOR_POLICY_LAG_GATE_H_
#define PROXIMA_ACTOR_POLICY_LAG_GATE_H_

#include <cstdint>
#include <optional>

#include "absl/time/time.h"

namespace proxima {

class PolicyLagGate {
 public:
  // What the newest ChunkAck of the session said (nothing before the first).
  struct AckView {
    uint64_t learner_version = 0;
    uint64_t queued_transitions = 0;
  };

  // target 0 or batch_transitions 0: disabled (ShouldWait is always false).
  PolicyLagGate(uint32_t target, uint64_t batch_transitions)
      : target_(target), batch_(batch_transitions) {}

  bool enabled() const { return target_ > 0 && batch_ > 0; }
  uint32_t target() const { return target_; }

  // The predicted lag of a chunk collected now with `snapshot_version`.
  double PredictedLag(uint64_t snapshot_version, const std::optional<AckView>& ack,
                      uint64_t unacked_transitions) const;
  bool ShouldWait(uint64_t snapshot_version, const std::optional<AckView>& ack,
                  uint64_t unacked_transitions) const {
    return enabled() &&
           PredictedLag(snapshot_version, ack, unacked_transitions) >= static_cast<double>(target_);
  }

  // Records that the actor saw `version` at `now` (a repeat is ignored).
  void SawVersion(uint64_t version, absl::Time now);
  // How long one wait for a newer snapshot may last.
  absl::Duration MaxWait() const;

 private:
  uint32_t target_;
  uint64_t batch_;
  std::optional<uint64_t> last_version_;
  absl::Time last_version_time_;
  absl::Duration interval_ = absl::ZeroDuration();
};

}  // namespace proxima

#endif  // PROXIMA_ACTOR_POLICY_LAG_GATE_H_
