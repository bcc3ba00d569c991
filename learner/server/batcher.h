// Batcher: assembles the trainer's next batch from the TrajectoryQueue.
//
//   async: chunks in arrival order until the batch holds batch_size
//          transitions; a chunk whose lag (learner version − chunk version)
//          is above --max-policy-lag by the time it is taken is dropped
//          (DROPPED_POLICY_LAG) — the lag cut. The first batch waits, before
//          it takes a chunk, until --min-actors sessions are live, or
//          --sync-round-timeout after a chunk was first there (so that a
//          short local-cluster run is not over before its last actor is in).
//   sync:  one round: a rollout from every live session at the current
//          version (anything older is DROPPED_LATE_FOR_ROUND). The first
//          round also waits for --min-actors. When sessions are missing
//          --sync-round-timeout after the round's first chunk arrived, the
//          round goes ahead without them (they are counted, per session and
//          in exclusions()). The chunks are sorted by actor id so that the
//          batch is independent of arrival order.
//
// The batcher runs on the trainer thread and blocks in
// TrajectoryQueue::Wait(): it is woken by a push, by Close() (then Assemble
// returns false), by Wake() (pause, admin requests, sessions changed) or by
// the round's deadline. Nothing polls. It asks the trainer, through
// Callbacks, whether it is paused and whether requests wait to be served
// (they are served inline, between chunks, and the batch so far is kept).
//
// Thread-safety: Assemble*() are called by one thread (the trainer). The
// round counters are under the batcher's own mutex, a leaf, so Status() may
// read them from any thread. Callbacks are called with no lock held.
#ifndef PROXIMA_LEARNER_SERVER_BATCHER_H_
#define PROXIMA_LEARNER_SERVER_BATCHER_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "learner/server/trajectory_queue.h"
#include "proxima/v1/status.pb.h"

namespace proxima {

class Batcher {
 public:
  struct Callbacks {
    // True while training is paused (nothing is taken from the queue).
    std::function<bool()> paused;
    // True when requests (checkpoint, hyperparameters) wait; serve() serves
    // them.
    std::function<bool()> has_requests;
    std::function<void()> serve;
    // The current --max-policy-lag (may change when requests are served).
    std::function<int()> max_policy_lag;
    // A taken chunk is dropped for `reason` (count it).
    std::function<void(const QueuedChunk&, v1::ChunkOutcome reason)> drop;
    // Held chunks that moved into the queue: ack their owners.
    std::function<void(std::vector<TrajectoryQueue::Released>)> released;
    // Sync: the sessions a round waits for (registered, connected, not done),
    // and those a round went ahead without.
    std::function<std::vector<uint64_t>()> live_sessions;
    std::function<void(const std::vector<uint64_t>&)> missed_round;
  };
  struct Options {
    int min_actors = 1;                                // the first round / batch
    absl::Duration round_timeout = absl::Seconds(10);  // sync; async's first batch
  };

  Batcher(TrajectoryQueue* queue, Callbacks callbacks, Options options)
      : queue_(queue), cb_(std::move(callbacks)), options_(options) {}

  // Appends chunks to `parts` until they hold at least `want` transitions.
  // False when the queue was closed (parts keeps what it had taken).
  bool AssembleAsync(int64_t want, uint64_t version, std::vector<QueuedChunk>* parts);
  // Collects one sync round at `version` into `parts` (false: closed).
  bool AssembleSync(uint64_t version, std::vector<QueuedChunk>* parts);

  uint64_t rounds() const;
  uint64_t exclusions() const;  // sessions left out of rounds, summed

 private:
  TrajectoryQueue* const queue_;
  const Callbacks cb_;
  const Options options_;
  mutable absl::Mutex mu_;
  uint64_t rounds_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t exclusions_ ABSL_GUARDED_BY(mu_) = 0;
  // Async's wait for --min-actors (the trainer thread's only).
  bool async_started_ = false;
  std::optional<absl::Time> async_first_arrival_;
};

}  // namespace proxima

#endif  // PROXIMA_LEARNER_SERVER_BATCHER_H_
