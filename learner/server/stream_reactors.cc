#include "learner/server/stream_reactors.h"

#include <grpcpp/impl/codegen/proto_utils.h>

#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"

namespace proxima {

// ---------------------------------------------------------------------------
// TrajectoryStream

TrajectoryStream* TrajectoryStream::Create(TrajectoryHost* host) {
  auto s = std::shared_ptr<TrajectoryStream>(new TrajectoryStream(host));
  s->self_ = s;
  host->StreamStarted(s);
  s->StartRead(&s->in_raw_);
  return s.get();
}

void TrajectoryStream::Abort(grpc::Status status) {
  std::optional<grpc::Status> finish;
  {
    absl::MutexLock l(&mu_);
    finish = finish_.Request(std::move(status), writing_);
  }
  if (finish) Finish(*finish);
}

void TrajectoryStream::Resume(const v1::ChunkAck& ack) {
  absl::MutexLock l(&mu_);
  if (finish_.ending()) return;
  QueueAckLocked(ack);
  ReadNextLocked();
}

void TrajectoryStream::OnReadDone(bool ok) {
  if (!ok) {  // the client half-closed or is gone
    std::optional<grpc::Status> finish;
    {
      absl::MutexLock l(&mu_);
      reads_done_ = true;
      finish = finish_.Request(grpc::Status::OK, writing_);
    }
    if (finish) Finish(*finish);
    return;
  }
  ++messages_;
  const size_t bytes = in_raw_.Length();
  const bool parsed =
      grpc::SerializationTraits<v1::TrajectoryChunk>::Deserialize(&in_raw_, &in_).ok();
  in_raw_.Clear();
  if (!parsed) {
    host_->CountUnparsable(session_id_, bytes);
    EndAfterAcks(grpc::Status(
        grpc::StatusCode::INVALID_ARGUMENT,
        absl::StrCat("message ", messages_, " on this stream (", bytes,
                     " bytes) does not parse as a proxima.v1.TrajectoryChunk")));
    return;
  }
  if (session_id_ == 0) session_id_ = in_.session_id();
  std::shared_ptr<TrajectoryStream> me = self_;
  if (!me) return;
  ChunkDecision d = host_->HandleChunk(me, in_, bytes);
  if (d.blocked) return;  // Resume() acks and reads on
  absl::MutexLock l(&mu_);
  if (finish_.ending()) return;
  QueueAckLocked(d.ack);
  ReadNextLocked();
}

void TrajectoryStream::OnWriteDone(bool ok) {
  std::optional<grpc::Status> finish;
  {
    absl::MutexLock l(&mu_);
    writing_ = false;
    if (!ok) {
      // The client is gone; the read side will fail too.
      acks_.clear();
    }
    if (!acks_.empty() && (!finish_.wanted() || flush_acks_)) {
      writing_ = true;
      WriteLocked(acks_.front());
      acks_.pop_front();
    } else {
      finish = finish_.ClaimIfWanted();
    }
  }
  if (finish) Finish(*finish);
}

void TrajectoryStream::OnDone() {
  host_->StreamDone(this, session_id_);
  std::shared_ptr<TrajectoryStream> keep = std::move(self_);
}

void TrajectoryStream::EndAfterAcks(grpc::Status status) {
  std::optional<grpc::Status> finish;
  {
    absl::MutexLock l(&mu_);
    reads_done_ = true;
    if (finish_.ending()) return;
    flush_acks_ = true;
    finish = finish_.Request(std::move(status), writing_);
  }
  if (finish) Finish(*finish);
}

void TrajectoryStream::QueueAckLocked(const v1::ChunkAck& ack) {
  if (writing_) {
    acks_.push_back(ack);
    return;
  }
  writing_ = true;
  WriteLocked(ack);
}

void TrajectoryStream::WriteLocked(const v1::ChunkAck& ack) {
  current_.Clear();
  bool own = false;
  (void)grpc::SerializationTraits<v1::ChunkAck>::Serialize(ack, &current_, &own);
  StartWrite(&current_);
}

void TrajectoryStream::ReadNextLocked() {
  if (reads_done_) return;
  const ServerClock::time_point at{
      ServerClock::duration(read_not_before_.load(std::memory_order_relaxed))};
  const ServerClock::duration wait = at - ServerClock::now();
  if (wait <= ServerClock::duration::zero()) {
    StartRead(&in_raw_);
    return;
  }
  // The alarm holds only a weak reference: a stream that ends meanwhile is
  // destroyed, which cancels the alarm, and the callback finds nothing.
  std::weak_ptr<TrajectoryStream> weak = self_;
  alarm_ = std::make_unique<grpc::Alarm>();
  alarm_->Set(std::chrono::system_clock::now() + wait, [weak](bool) {
    if (std::shared_ptr<TrajectoryStream> me = weak.lock()) me->ReadAfterDelay();
  });
}

void TrajectoryStream::ReadAfterDelay() {
  absl::MutexLock l(&mu_);
  if (finish_.ending() || reads_done_) return;
  StartRead(&in_raw_);
}

// ---------------------------------------------------------------------------
// WeightStream

std::shared_ptr<WeightStream> WeightStream::Make(WeightHost* host, uint64_t session_id,
                                                 std::optional<uint64_t> have) {
  auto w = std::shared_ptr<WeightStream>(new WeightStream(host, session_id, have));
  w->self_ = w;
  return w;
}

const grpc::ByteBuffer* WeightStream::NextLocked() {
  std::shared_ptr<const PublishedWeights> p = host_->LatestWeights();
  if (!p || (sent_.has_value() && p->version <= *sent_)) return nullptr;
  current_ = std::move(p);
  sent_ = current_->version;
  return &current_->bytes;
}

// Latency counts from publication, or from when this actor started watching
// if that was later (the first snapshot it gets).
void WeightStream::WrittenLocked() {
  host_->WeightsDelivered(std::max(current_->published, attached_));
}

void WeightStream::OnDone() {
  host_->WatchDone(this, session_id_);
  std::shared_ptr<WeightStream> keep = std::move(self_);
}

// ---------------------------------------------------------------------------
// MetricsStream

std::shared_ptr<MetricsStream> MetricsStream::Make(MetricsHost* host, uint64_t after) {
  auto m = std::shared_ptr<MetricsStream>(new MetricsStream(host, after));
  m->self_ = m;
  return m;
}

const v1::UpdateMetrics* MetricsStream::NextLocked() {
  if (!host_->NextMetrics(after_, &current_)) return nullptr;
  after_ = current_.update();
  return &current_;
}

void MetricsStream::OnDone() {
  host_->MetricsWatchDone(this);
  std::shared_ptr<MetricsStream> keep = std::move(self_);
}

}  // namespace proxima
