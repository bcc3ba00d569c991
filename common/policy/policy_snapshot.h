// PolicySnapshot: one decoded, verified policy version as the actor acts with
// it, and SnapshotSlot, the single "latest" slot the weight receiver fills.
//
// A policy version is the network weights AND the observation-normalizer
// statistics (weights.proto); a PolicySnapshot always carries both, built by
// DecodeSnapshot into a fresh network (ApplyWeights verifies the checksum,
// names and shapes first, so a bad snapshot never reaches the slot). Once
// published a snapshot is immutable and shared (shared_ptr<const>): the
// stepping loop keeps the one it acts with alive while the receiver already
// decodes the next.
#ifndef PROXIMA_COMMON_POLICY_POLICY_SNAPSHOT_H_
#define PROXIMA_COMMON_POLICY_POLICY_SNAPSHOT_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/policy/actor_critic.h"
#include "common/envs/env.h"
#include "common/wire/model_spec.h"
#include "common/policy/weight_codec.h"
#include "proxima/v1/weights.pb.h"

namespace proxima {

// What determines the network's parameter names and shapes.
struct PolicyShape {
  int obs_dim = 0;
  Space action_space;
  ModelSpec model;
};

struct PolicySnapshot {
  uint64_t version = 0;
  ActorCritic model{nullptr};
  NormalizerState normalizer;
  // A sequence run's snapshot (protocol revision 2) as it came: the actor's
  // SequenceGenerator verifies and loads it (actor/seq_generator.h); `model`
  // is then null.
  std::shared_ptr<const v1::WeightSnapshot> sequence;
};

// Builds a network of `shape` and loads `proto` into it (see ApplyWeights for
// the checks; their errors are returned unchanged).
absl::StatusOr<std::shared_ptr<const PolicySnapshot>> DecodeSnapshot(
    const v1::WeightSnapshot& proto, const PolicyShape& shape);

// The newest snapshot received, latest-wins: a Put replaces whatever was not
// taken yet, so a slow stepping loop skips intermediate versions instead of
// queueing them. Thread-safe.
class SnapshotSlot {
 public:
  // Stores `s` unless the slot already holds a version >= s->version
  // (versions only grow within a learner process; an older one arriving late
  // is stale). Wakes waiters. Returns whether it was stored.
  bool Put(std::shared_ptr<const PolicySnapshot> s);

  // The newest snapshot, or null. Never blocks (beyond the slot's mutex).
  std::shared_ptr<const PolicySnapshot> Latest() const;

  // Blocks until the slot holds a snapshot whose version is > `after` (any
  // snapshot when `after` is empty) and returns it; returns null as soon as
  // `interrupt` is true (checked on entry and on every Wake()).
  std::shared_ptr<const PolicySnapshot> WaitNewer(std::optional<uint64_t> after,
                                                  const std::atomic<bool>& interrupt);
  // Like WaitNewer, but also returns null once `deadline` has passed.
  std::shared_ptr<const PolicySnapshot> WaitNewerUntil(std::optional<uint64_t> after,
                                                       const std::atomic<bool>& interrupt,
                                                       absl::Time deadline);

  // Makes waiters re-check their interrupt flag. Call after setting it.
  void Wake();

  // Empties the slot (a new session starts from the learner's snapshot).
  void Clear();

 private:
  mutable absl::Mutex mu_;
  absl::CondVar cv_;
  std::shared_ptr<const PolicySnapshot> latest_ ABSL_GUARDED_BY(mu_);
};

}  // namespace proxima

#endif  // PROXIMA_COMMON_POLICY_POLICY_SNAPSHOT_H_
