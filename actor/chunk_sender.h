// ChunkSender: the actor's side of Learner.StreamTrajectories for one session.
//
// The stepping loop Push()es encoded chunks into a bounded send window
// (ChannelHints.max_unacked_chunks). A writer thread sends them on the
// session's bidi stream oldest first; a reader thread takes the ChunkAcks and
// frees every chunk the learner has processed. The window holds chunks from
// the moment they are pushed until they are acknowledged, so it is also the
// resend buffer, and a full window is how the learner's backpressure reaches
// the stepping loop (Push blocks) — the stepping loop never waits on the
// network otherwise.
//
// Stream lifecycle (a supervisor thread):
//  * A broken stream (learner restarted or unreachable, keepalive failure, or
//    the oldest sent chunk waited longer than ack_timeout) is cancelled and
//    reopened after an exponential backoff with jitter; every unacknowledged
//    chunk is resent, oldest first. The learner acknowledges chunks it had
//    already processed as DUPLICATE, so resends are safe.
//  * REJECTED_UNKNOWN_SESSION / REJECTED_STALE_SESSION acks, and a stream
//    ending with NOT_FOUND or ABORTED, mean the session is gone: the sender
//    stops, marks session_lost() and calls on_session_lost (outside its lock);
//    the owner registers again and starts a new sender (seq 0), dropping this
//    one's unacknowledged chunks.
//  * REJECTED_OUT_OF_ORDER rewinds to the ack's next_expected_seq (once per
//    gap, not once per in-flight chunk); REJECTED_INVALID is logged — it is a
//    bug on the actor's side — and the chunk is dropped like an accepted one.
//  * Shutdown() half-closes the stream once everything is acknowledged and
//    gives the learner a grace period to end it, then cancels.
#ifndef PROXIMA_ACTOR_CHUNK_SENDER_H_
#define PROXIMA_ACTOR_CHUNK_SENDER_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>  // std::once_flag
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/client_context.h"
#include "proxima/v1/learner_service.grpc.pb.h"

namespace proxima {

class ChunkSender {
 public:
  struct Options {
    uint32_t actor_id = 0;
    uint64_t session_id = 0;
    // Most chunks pushed but not yet acknowledged (0 → 8).
    int window = 8;
    // Zero: disabled (keepalive alone finds dead connections).
    absl::Duration ack_timeout = absl::ZeroDuration();
    absl::Duration backoff_initial = absl::Milliseconds(100);
    absl::Duration backoff_max = absl::Seconds(5);
    // One line per event (reconnects, rejections); never per chunk.
    std::function<void(absl::string_view)> log;
    // Called once, from a sender thread and without any sender lock held,
    // when the learner says the session is unknown or superseded.
    std::function<void(absl::string_view reason)> on_session_lost;
  };

  struct Stats {
    uint64_t pushed = 0;
    uint64_t writes = 0;        // including resends
    uint64_t acked = 0;         // acks received, any outcome
    uint64_t accepted = 0;
    uint64_t duplicates = 0;
    uint64_t rejected = 0;      // REJECTED_INVALID, REJECTED_TOO_LARGE
    uint64_t dropped = 0;       // policy lag, late for round, shutting down
    uint64_t reconnects = 0;    // streams opened after the first
    uint64_t learner_version = 0;  // from the newest ack
    uint64_t learner_queued_transitions = 0;  // from the newest ack
    // The learner said it is shutting down (a SHUTTING_DOWN ack, or it ended
    // the stream): it takes no more data.
    bool learner_stopping = false;
    uint64_t unacked = 0;          // in the window now
  };

  // `stub` must outlive the sender. Nothing happens before Start().
  ChunkSender(v1::Learner::StubInterface* stub, Options options);
  // Cancels the stream and joins every thread (no grace period).
  ~ChunkSender();

  ChunkSender(const ChunkSender&) = delete;
  ChunkSender& operator=(const ChunkSender&) = delete;

  // Starts the supervisor, which opens the stream at once.
  void Start();

  // Queues *chunk (its seq must be the previous one's + 1), taking it only
  // when queued. Blocks while the window is full. Returns OK once queued;
  // Cancelled (not queued) once `interrupt` is true, also when an ack made
  // room in the meantime; Aborted (not queued) when the session is lost (the
  // message then names why, as on_session_lost does) or the sender is
  // shutting down.
  absl::Status Push(std::unique_ptr<v1::TrajectoryChunk>* chunk,
                    const std::atomic<bool>& interrupt);

  // Queues the session's final chunk even if the window is full (it is one
  // more chunk, once). Aborted (not queued) if the session is lost.
  absl::Status PushFinal(std::unique_ptr<v1::TrajectoryChunk>* chunk);

  // Blocks until every queued chunk is acknowledged (true), or the deadline
  // passes, the session is lost, or the learner has said it stopped (a
  // REJECTED_SHUTTING_DOWN ack, or the stream ended with OK without our
  // half-close) and has not come back since (false).
  bool WaitAllAcked(absl::Time deadline);

  // Half-closes the stream once the window is empty, waits up to `grace` for
  // the learner to end it, then cancels whatever is left and joins. Chunks
  // still unacknowledged are given up. Idempotent.
  void Shutdown(absl::Duration grace);

  // Makes Push() re-check its interrupt flag. Call after setting it.
  void Wake();

  bool session_lost() const;
  size_t unacked() const;
  Stats stats() const;

 private:
  struct Entry {
    std::shared_ptr<const v1::TrajectoryChunk> chunk;
    uint64_t seq = 0;
    bool sent = false;  // on the current stream
    absl::Time sent_at;
  };
  // One open stream: its threads report through these (guarded by mu_).
  struct StreamState {
    bool reader_done = false;  // Read() returned false: the call is over
    bool writer_failed = false;
    absl::Time writer_failed_at;
    bool got_ack = false;
    bool half_closed = false;
  };

  void SupervisorLoop();
  void WriterLoop(grpc::ClientReaderWriterInterface<v1::TrajectoryChunk, v1::ChunkAck>* stream,
                  StreamState* state);
  void ReaderLoop(grpc::ClientReaderWriterInterface<v1::TrajectoryChunk, v1::ChunkAck>* stream,
                  StreamState* state);
  // Moves `*chunk` (seq `seq`) to the back of the window.
  void AppendLocked(std::unique_ptr<v1::TrajectoryChunk>* chunk, uint64_t seq)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Applies one ack. Returns a non-empty reason when the session is lost.
  std::string HandleAck(const v1::ChunkAck& ack) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void LoseSession(const std::string& reason);
  void Log(const std::string& line) const;

  v1::Learner::StubInterface* const stub_;
  const Options options_;

  mutable absl::Mutex mu_;
  absl::CondVar cv_;
  std::deque<Entry> window_ ABSL_GUARDED_BY(mu_);  // increasing seq
  std::deque<uint64_t> in_flight_ ABSL_GUARDED_BY(mu_);  // written on this stream, not acked
  size_t ignore_out_of_order_ ABSL_GUARDED_BY(mu_) = 0;  // acks to skip after a rewind
  bool closing_ ABSL_GUARDED_BY(mu_) = false;            // half-close when empty
  bool shutdown_ ABSL_GUARDED_BY(mu_) = false;           // stop everything now
  bool session_lost_ ABSL_GUARDED_BY(mu_) = false;
  std::string lost_reason_ ABSL_GUARDED_BY(mu_);  // the first LoseSession()'s
  bool supervisor_done_ ABSL_GUARDED_BY(mu_) = false;
  bool warned_shutting_down_ ABSL_GUARDED_BY(mu_) = false;
  bool learner_stopped_ ABSL_GUARDED_BY(mu_) = false;    // see WaitAllAcked
  grpc::ClientContext* context_ ABSL_GUARDED_BY(mu_) = nullptr;  // the open stream's
  Stats stats_ ABSL_GUARDED_BY(mu_);
  std::thread supervisor_;
  std::once_flag lost_once_;
};

}  // namespace proxima

#endif  // PROXIMA_ACTOR_CHUNK_SENDER_H_
