// The learner's streaming reactors (gRPC callback API):
//   TrajectoryStream  Learner.StreamTrajectories: reads chunks, hands each to
//                     its TrajectoryHost (chunk intake), writes the acks; holds
//                     off reading while its chunk is held by a full queue
//                     (backpressure) or its actor is over the rate limit.
//   WeightStream      Learner.WatchWeights: writes the newest published
//                     version it has not sent (latest-wins).
//   MetricsStream     Monitor.WatchMetrics: every UpdateMetrics after the
//                     one the client has, in order.
//
// Lifetime: each is owned by a shared_ptr (its `self_` plus any copies the
// server holds); OnDone drops `self_`. Finish() may run OnDone inline, so it
// is only ever called with no lock held, by the one caller that claimed it
// (FinishOnce below) — everyone else checks FinishOnce::ending() under the
// reactor's mutex before StartRead/StartWrite.
//
// Lock order: a reactor's mutex is taken before the host calls documented
// "with the stream's mutex held" (which take only leaf locks: the
// publisher's, the run progress', the exporter's); every other host call is
// made with no reactor lock held.
#ifndef PROXIMA_LEARNER_SERVER_STREAM_REACTORS_H_
#define PROXIMA_LEARNER_SERVER_STREAM_REACTORS_H_

#include <grpcpp/alarm.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/server_callback.h>

#include <atomic>
#include <deque>
#include <memory>
#include <optional>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "learner/server/status_util.h"
#include "learner/server/trajectory_queue.h"
#include "learner/server/weight_publisher.h"
#include "proxima/v1/learner_service.pb.h"
#include "proxima/v1/monitor_service.pb.h"

namespace proxima {

class TrajectoryStream;
class WeightStream;
class MetricsStream;

// When a server reactor finishes: exactly once, never while a write is in
// flight (that write's completion finishes instead), and with no lock held
// (Finish may run OnDone inline). Kept under its reactor's mutex; each call
// returns the status the caller must pass to Finish() once it has unlocked,
// or nothing when it must not finish now.
class FinishOnce {
 public:
  // Finishing was asked for (or has begun): start no more reads or writes.
  bool ending() const { return wanted_ || claimed_; }
  bool wanted() const { return wanted_; }

  // Asks to finish with `status` (the first status asked for wins); finishes
  // now unless `writing`.
  std::optional<grpc::Status> Request(grpc::Status status, bool writing) {
    if (claimed_) return std::nullopt;
    if (!wanted_) {
      wanted_ = true;
      status_ = std::move(status);
    }
    if (writing) return std::nullopt;
    claimed_ = true;
    return status_;
  }

  // No write is in flight any more: finishes now if that was asked for.
  std::optional<grpc::Status> ClaimIfWanted() {
    if (!wanted_ || claimed_) return std::nullopt;
    claimed_ = true;
    return status_;
  }

 private:
  bool wanted_ = false;
  bool claimed_ = false;
  grpc::Status status_;
};

// What chunk intake decided for one chunk.
struct ChunkDecision {
  v1::ChunkAck ack;
  bool blocked = false;  // held until the queue has room; the ack comes later
};

// What a trajectory stream needs from the learner (ChunkIntake). Called
// with no reactor lock held.
class TrajectoryHost {
 public:
  virtual ~TrajectoryHost() = default;
  virtual void StreamStarted(const std::shared_ptr<TrajectoryStream>& stream) = 0;
  // `wire_bytes`: the chunk's serialized size as received.
  virtual ChunkDecision HandleChunk(const std::shared_ptr<TrajectoryStream>& stream,
                                    const v1::TrajectoryChunk& chunk, size_t wire_bytes) = 0;
  // A message that does not parse as a chunk (the stream then ends).
  virtual void CountUnparsable(uint64_t session_id, size_t wire_bytes) = 0;
  virtual void StreamDone(TrajectoryStream* stream, uint64_t session_id) = 0;
};

// What a weight stream needs (LearnerServer's wiring). LatestWeights and
// WeightsDelivered are called with the stream's mutex held.
class WeightHost {
 public:
  virtual ~WeightHost() = default;
  virtual std::shared_ptr<const PublishedWeights> LatestWeights() const = 0;
  virtual void WeightsDelivered(ServerClock::time_point published) = 0;
  virtual void WatchDone(WeightStream* watch, uint64_t session_id) = 0;
};

// What a metrics stream needs (MetricsFeed). NextMetrics is called with the
// stream's mutex held.
class MetricsHost {
 public:
  virtual ~MetricsHost() = default;
  virtual bool NextMetrics(uint64_t after, v1::UpdateMetrics* out) const = 0;
  virtual void MetricsWatchDone(MetricsStream* stream) = 0;
};

class TrajectoryStream : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>,
                         public HeldChunkOwner {
 public:
  static TrajectoryStream* Create(TrajectoryHost* host);

  // The server ends this stream (superseded session, replaced stream,
  // shutdown). Takes effect once the write in flight, if any, completes.
  void Abort(grpc::Status status);
  // A held (backpressured) chunk's fate is known: ack it and read on.
  void Resume(const v1::ChunkAck& ack) override;
  // The actor's rate limit (--max-chunks-per-second): the next chunk is read
  // no earlier than `t`. Lock-free; called by chunk intake before it returns.
  void DelayNextRead(ServerClock::time_point t) {
    read_not_before_.store(t.time_since_epoch().count(), std::memory_order_relaxed);
  }

 private:
  explicit TrajectoryStream(TrajectoryHost* host) : host_(host) {}

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  // The peer is gone (connection closed, keepalive timeout, deadline). A
  // stream whose chunk is held by backpressure has no read or write pending,
  // so no other callback would tell it: without this its session would look
  // connected until the queue drains. The held chunk stays held (received).
  void OnCancel() override { Abort(grpc::Status::CANCELLED); }
  void OnDone() override;

  // Reads no more, sends the acks still queued, then finishes with `status`.
  void EndAfterAcks(grpc::Status status);
  void QueueAckLocked(const v1::ChunkAck& ack) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void WriteLocked(const v1::ChunkAck& ack) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Reads the next chunk now, or — when the actor is over its rate limit —
  // once DelayNextRead's time has come (a one-shot alarm; nothing polls).
  void ReadNextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ReadAfterDelay();

  TrajectoryHost* const host_;
  std::shared_ptr<TrajectoryStream> self_;
  grpc::ByteBuffer in_raw_;
  v1::TrajectoryChunk in_;
  uint64_t session_id_ = 0;  // of the first chunk (touched by reactor callbacks only)
  uint64_t messages_ = 0;    // messages read (reactor callbacks only)
  std::atomic<ServerClock::rep> read_not_before_{0};
  absl::Mutex mu_;
  grpc::ByteBuffer current_ ABSL_GUARDED_BY(mu_);
  std::deque<v1::ChunkAck> acks_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<grpc::Alarm> alarm_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool reads_done_ ABSL_GUARDED_BY(mu_) = false;
  bool flush_acks_ ABSL_GUARDED_BY(mu_) = false;  // send queued acks before finishing
  FinishOnce finish_ ABSL_GUARDED_BY(mu_);
};

// A server stream that pulls its next message when the previous write is
// done or Notify() says there may be a new one — so a slow client never
// builds a backlog: it gets whatever is next when it is ready.
template <typename Msg>
class PullWriter : public grpc::ServerWriteReactor<Msg> {
 public:
  void Notify() {
    absl::MutexLock l(&mu_);
    MaybeWriteLocked();
  }

  void Abort(grpc::Status status) {
    std::optional<grpc::Status> finish;
    {
      absl::MutexLock l(&mu_);
      finish = finish_.Request(std::move(status), writing_);
    }
    if (finish) this->Finish(*finish);
  }

 protected:
  // The next message, or null when there is none yet. Called with mu_ held;
  // the message must stay valid until the next call.
  virtual const Msg* NextLocked() = 0;
  // The message NextLocked() returned last was written. Called with mu_ held.
  virtual void WrittenLocked() {}

  absl::Mutex mu_;

 private:
  void MaybeWriteLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (writing_ || finish_.ending()) return;
    const Msg* next = NextLocked();
    if (next == nullptr) return;
    writing_ = true;
    this->StartWrite(next);
  }

  void OnWriteDone(bool ok) override {
    std::optional<grpc::Status> finish;
    {
      absl::MutexLock l(&mu_);
      writing_ = false;
      if (ok) WrittenLocked();
      finish = ok ? finish_.ClaimIfWanted()
                  : finish_.Request(grpc::Status(grpc::StatusCode::UNAVAILABLE, "write failed"),
                                    /*writing=*/false);
      MaybeWriteLocked();  // unless finishing
    }
    if (finish) this->Finish(*finish);
  }

  void OnCancel() override { Abort(grpc::Status::CANCELLED); }

  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  FinishOnce finish_ ABSL_GUARDED_BY(mu_);
};

// WatchWeights: the newest published version it has not sent yet.
class WeightStream : public PullWriter<grpc::ByteBuffer>, public PublicationListener {
 public:
  static std::shared_ptr<WeightStream> Make(WeightHost* host, uint64_t session_id,
                                            std::optional<uint64_t> have);
  void NewVersion() override { Notify(); }
  void Close() override { Abort(grpc::Status::OK); }

 private:
  WeightStream(WeightHost* host, uint64_t session_id, std::optional<uint64_t> have)
      : host_(host), session_id_(session_id), sent_(have) {}

  const grpc::ByteBuffer* NextLocked() override ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void WrittenLocked() override ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void OnDone() override;

  WeightHost* const host_;
  std::shared_ptr<WeightStream> self_;
  const uint64_t session_id_;
  const ServerClock::time_point attached_ = ServerClock::now();
  std::optional<uint64_t> sent_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<const PublishedWeights> current_ ABSL_GUARDED_BY(mu_);
};

// WatchMetrics: every UpdateMetrics after `after_update`, in order.
class MetricsStream : public PullWriter<v1::UpdateMetrics> {
 public:
  static std::shared_ptr<MetricsStream> Make(MetricsHost* host, uint64_t after);

 private:
  MetricsStream(MetricsHost* host, uint64_t after) : host_(host), after_(after) {}

  const v1::UpdateMetrics* NextLocked() override ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void OnDone() override;

  MetricsHost* const host_;
  std::shared_ptr<MetricsStream> self_;
  uint64_t after_ ABSL_GUARDED_BY(mu_);
  v1::UpdateMetrics current_ ABSL_GUARDED_BY(mu_);
};

}  // namespace proxima

#endif  // PROXIMA_LEARNER_SERVER_STREAM_REACTORS_H_
