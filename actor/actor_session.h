// ActorSession: the parts of an actor that live for one registration — the
// SnapshotSlot the weight stream fills, the WeightWatcher (Learner.WatchWeights)
// and the ChunkSender (Learner.StreamTrajectories) — built together from the
// Register answer (actor id, session id, channel hints) and ended together.
//
// The channel hints set the send window (max_unacked_chunks, 8 when unset),
// the ack timeout (off when unset) and both streams' reconnect backoff
// (100 ms to 5 s when unset). Nothing runs before Start(). Finish() ends the
// streams — gracefully (every chunk acknowledged or final_ack_timeout, then a
// half-close with close_grace for the learner to end the stream) or at once —
// and returns the sender's counters; the destructor stops whatever is still
// running (the watcher, then the sender; the slot last, as both use it).
//
// Thread-safety: slot(), sender() and Wake() may be called from any thread
// while the session exists (the parts are thread-safe); Start() and Finish()
// from its owner only. The on_session_lost callback runs on a stream thread
// with no lock of the session held; the owner must not destroy the session
// under a lock that callback takes.
#ifndef PROXIMA_ACTOR_ACTOR_SESSION_H_
#define PROXIMA_ACTOR_ACTOR_SESSION_H_

#include <cstdint>
#include <functional>
#include <memory>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "actor/chunk_sender.h"
#include "actor/weight_watcher.h"
#include "common/policy/policy_snapshot.h"
#include "proxima/v1/config.pb.h"
#include "proxima/v1/learner_service.grpc.pb.h"

namespace proxima {

class ActorSession {
 public:
  struct Options {
    uint32_t actor_id = 0;
    uint64_t session_id = 0;
    PolicyShape shape;         // what the weight snapshots must fit
    // How a snapshot is decoded (WeightWatcher::Options::decode; null: by shape).
    std::function<absl::StatusOr<std::shared_ptr<const PolicySnapshot>>(
        const v1::WeightSnapshot&)>
        decode;
    v1::ChannelHints hints;    // of the Register answer
    std::function<void(absl::string_view)> log;  // one line per stream event
    // Called at most once per stream, from a stream thread (see the file
    // comment): the learner no longer knows the session.
    std::function<void(absl::string_view reason)> on_session_lost;
  };

  // `stub` must outlive the session.
  ActorSession(v1::Learner::StubInterface* stub, Options options);
  ~ActorSession();

  ActorSession(const ActorSession&) = delete;
  ActorSession& operator=(const ActorSession&) = delete;

  // Opens both streams (their threads start).
  void Start();

  // Makes waiters on the slot and in ChunkSender::Push re-check their
  // interrupt flag. Call after setting it.
  void Wake();

  // Graceful: waits up to `final_ack_timeout` for every pushed chunk's ack
  // (logs how many were left when it gives up), then half-closes and gives
  // the learner `close_grace` to end the stream. Either way the trajectory
  // stream is then cancelled. Returns the sender's counters as they ended.
  ChunkSender::Stats Finish(bool graceful, absl::Duration final_ack_timeout,
                            absl::Duration close_grace);

  SnapshotSlot* slot() const { return slot_.get(); }
  ChunkSender* sender() const { return sender_.get(); }

 private:
  const Options options_;
  // Destroyed in reverse: the watcher and the sender stop before the slot
  // they use goes.
  std::unique_ptr<SnapshotSlot> slot_;
  std::unique_ptr<ChunkSender> sender_;
  std::unique_ptr<WeightWatcher> watcher_;
};

}  // namespace proxima

#endif  // PROXIMA_ACTOR_ACTOR_SESSION_H_
