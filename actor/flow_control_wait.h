// AwaitFreshEnough: the wait an async actor makes at a rollout boundary under
// flow control by policy version (actor/policy_lag_gate.h says when a chunk
// would be trained too stale and for how long a wait may last).
//
// While the gate predicts that a chunk collected now with the snapshot held
// would be trained `target` versions stale or more, the actor waits for a
// newer snapshot in the slot, looking again every 5 ms because acks (the
// learner's version and queue) change the prediction too. The wait ends when
// the prediction falls below the target, at the gate's MaxWait (given up:
// the actor collects with what it has), or as soon as `interrupt` is true.
//
// Blocks the calling (stepping) thread for at most MaxWait; the gate is the
// caller's (not thread-safe), the slot and the sender are read thread-safely.
#ifndef PROXIMA_ACTOR_FLOW_CONTROL_WAIT_H_
#define PROXIMA_ACTOR_FLOW_CONTROL_WAIT_H_

#include <atomic>
#include <cstdint>
#include <memory>

#include "absl/time/time.h"
#include "actor/chunk_sender.h"
#include "actor/policy_lag_gate.h"
#include "common/policy/policy_snapshot.h"

namespace proxima {

struct FlowControlWait {
  // What to act with: the snapshot passed in, or a newer one from the slot.
  std::shared_ptr<const PolicySnapshot> snapshot;
  bool waited = false;   // the gate asked to wait at least once
  bool gave_up = false;  // MaxWait passed while the gate still asked to wait
  absl::Duration duration = absl::ZeroDuration();  // of the whole call
};

// `snapshot` is the newest one the actor holds (not null); a chunk carries
// `chunk_transitions` (rollout length × envs), which is how the sender's
// unacknowledged chunks count in the prediction.
FlowControlWait AwaitFreshEnough(PolicyLagGate* gate, SnapshotSlot* slot,
                                 const ChunkSender& sender, uint64_t chunk_transitions,
                                 const std::atomic<bool>& interrupt,
                                 std::shared_ptr<const PolicySnapshot> snapshot);

}  // namespace proxima

#endif  // PROXIMA_ACTOR_FLOW_CONTROL_WAIT_H_
