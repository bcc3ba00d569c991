// TrajectoryQueue: the bounded, closable queue between the trajectory
// reactors (producers) and the trainer thread (the one consumer).
//
// Capacity is counted in transitions. A chunk that does not fit is not
// dropped: the queue holds it, together with the HeldChunkOwner that sent it
// (a trajectory stream, which then reads nothing more: backpressure), and
// moves it into the queue, in arrival order, once the consumer has made room.
// The pop that makes room hands the owners of the chunks it moved in back to
// the caller, which acknowledges them outside every lock. An empty queue
// accepts one chunk of any size, so a chunk larger than the capacity still
// passes.
//
// Waking the trainer: Push() and Close() signal the queue's condition
// variable, and so does Wake(), which the owners of other things the trainer
// waits for (pause, admin requests, sessions) call after changing them. A
// waiter reads generation() before it checks those things and passes it to
// Wait(), so no wake-up between the check and the wait is lost, and nothing
// polls.
//
// Close() is the shutdown path: the consumer's Wait() returns at once and
// TryPop() returns nothing; Push() answers kClosed; Drain() takes out
// whatever was queued or held so the caller can count it.
//
// Thread-safe; every method takes the queue's own mutex (a leaf: nothing is
// called with it held). Wait() blocks; nothing else does.
#ifndef PROXIMA_LEARNER_SERVER_TRAJECTORY_QUEUE_H_
#define PROXIMA_LEARNER_SERVER_TRAJECTORY_QUEUE_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/wire/rollout_batch.h"
#include "common/wire/seq_chunk_codec.h"

namespace proxima {

namespace v1 {
class ChunkAck;
}  // namespace v1

// A decoded, accepted chunk on its way to a batch.
struct QueuedChunk {
  uint64_t session_id = 0;
  uint32_t actor_id = 0;
  std::string actor_name;
  uint64_t seq = 0;
  uint64_t policy_version = 0;
  int64_t transitions = 0;  // a sequence chunk's: its completion tokens
  RolloutBatch batch;       // a step chunk's data
  // A sequence chunk's data (protocol revision 2); null for a step chunk.
  std::shared_ptr<const SequenceChunk> sequences;
};

// Whoever sent a chunk the queue had to hold (a trajectory stream). The
// queue never calls it; it returns it when the chunk's fate is known so that
// the caller can acknowledge the chunk.
class HeldChunkOwner {
 public:
  virtual ~HeldChunkOwner() = default;
  // The held chunk's ack: read on.
  virtual void Resume(const v1::ChunkAck& ack) = 0;
};

class TrajectoryQueue {
 public:
  // `capacity`: transitions queued at most (held chunks are not counted).
  explicit TrajectoryQueue(int64_t capacity) : capacity_(capacity) {}

  enum class PushResult {
    kQueued,  // in the queue
    kHeld,    // no room: held until the consumer makes room
    kClosed,  // closed: not taken (the caller still owns the data's fate)
  };
  // Queues `chunk`, or holds it with `owner` when there is no room (or other
  // chunks are held already, to keep arrival order). Wakes the consumer.
  PushResult Push(QueuedChunk chunk, std::shared_ptr<HeldChunkOwner> owner);

  // A held chunk that moved into the queue: its owner is to be acked.
  struct Released {
    std::shared_ptr<HeldChunkOwner> owner;
    uint64_t session_id = 0;
    uint64_t seq = 0;
  };
  // Pops the front chunk (nothing when empty or closed) and moves held chunks
  // in while they fit; their owners are appended to `released`.
  std::optional<QueuedChunk> TryPop(std::vector<Released>* released);

  // Wake-ups of the consumer (see the file comment).
  uint64_t generation() const;
  void Wake();
  // Blocks until the queue is closed, Wake() was called after generation()
  // returned `seen`, `deadline` passes, or — when `want_chunks` — a chunk is
  // queued.
  void Wait(uint64_t seen, bool want_chunks, absl::Time deadline);

  // Stops the consumer and refuses further pushes. Idempotent.
  void Close();
  bool closed() const;

  // Everything queued and held, queue first then held in arrival order; the
  // queue is empty afterwards. For shutdown, after Close().
  struct Held {
    std::shared_ptr<HeldChunkOwner> owner;
    QueuedChunk chunk;
  };
  struct Drained {
    std::vector<QueuedChunk> queued;
    std::vector<Held> held;
  };
  Drained Drain();

  int64_t capacity() const { return capacity_; }
  int64_t transitions() const;  // queued (held chunks not included)
  size_t size() const;          // chunks queued
  size_t held() const;          // chunks held

 private:
  bool FitsLocked(int64_t transitions) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const int64_t capacity_;
  mutable absl::Mutex mu_;
  absl::CondVar cv_;
  std::deque<QueuedChunk> queue_ ABSL_GUARDED_BY(mu_);
  int64_t transitions_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<Held> held_ ABSL_GUARDED_BY(mu_);
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace proxima

#endif  // PROXIMA_LEARNER_SERVER_TRAJECTORY_QUEUE_H_
