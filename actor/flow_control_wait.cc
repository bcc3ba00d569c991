#include "actor/flow_control_wait.h"

#include <algorithm>
#include <optional>
#include <utility>

namespace proxima {

FlowControlWait AwaitFreshEnough(PolicyLagGate* gate, SnapshotSlot* slot,
                                 const ChunkSender& sender, uint64_t chunk_transitions,
                                 const std::atomic<bool>& interrupt,
                                 std::shared_ptr<const PolicySnapshot> snapshot) {
  FlowControlWait out;
  const absl::Time start = absl::Now();
  gate->SawVersion(snapshot->version, start);
  const absl::Time deadline = start + gate->MaxWait();
  while (!interrupt.load()) {
    const ChunkSender::Stats cs = sender.stats();
    std::optional<PolicyLagGate::AckView> ack;
    if (cs.acked > 0) ack = PolicyLagGate::AckView{cs.learner_version, cs.learner_queued_transitions};
    if (!gate->ShouldWait(snapshot->version, ack, cs.unacked * chunk_transitions)) break;
    const absl::Time now = absl::Now();
    if (now >= deadline) {
      out.gave_up = true;
      break;
    }
    out.waited = true;
    // Acks can change the prediction too: look again every few ms.
    std::shared_ptr<const PolicySnapshot> newer = slot->WaitNewerUntil(
        snapshot->version, interrupt, std::min(deadline, now + absl::Milliseconds(5)));
    if (newer != nullptr) {
      snapshot = std::move(newer);
      gate->SawVersion(snapshot->version, absl::Now());
    }
  }
  out.duration = absl::Now() - start;
  out.snapshot = std::move(snapshot);
  return out;
}

}  // namespace proxima
