#include "learner/cli/bench/latency_watcher.h"

#include <chrono>
#include <utility>

#include "absl/strings/string_view.h"

namespace proxima::bench {

// Forwards WatchWeights()'s reader; on every Read() after the first, the
// snapshot the previous Read() returned has been applied.
class LatencyWatcher::TimingReader : public grpc::ClientReaderInterface<v1::WeightSnapshot> {
 public:
  TimingReader(std::unique_ptr<grpc::ClientReaderInterface<v1::WeightSnapshot>> inner,
               LatencyWatcher* owner)
      : inner_(std::move(inner)), owner_(owner) {}

  bool Read(v1::WeightSnapshot* msg) override {
    if (pending_ && !first_) owner_->Applied(version_, published_ns_);
    if (pending_) first_ = false;
    pending_ = inner_->Read(msg);
    if (pending_) {
      version_ = msg->version();
      published_ns_ = msg->published_at().seconds() * 1000000000 + msg->published_at().nanos();
      if (first_ && owner_->snapshot_bytes_ == 0) owner_->snapshot_bytes_ = msg->ByteSizeLong();
    }
    return pending_;
  }
  bool NextMessageSize(uint32_t* sz) override { return inner_->NextMessageSize(sz); }
  void WaitForInitialMetadata() override { inner_->WaitForInitialMetadata(); }
  grpc::Status Finish() override { return inner_->Finish(); }

 private:
  const std::unique_ptr<grpc::ClientReaderInterface<v1::WeightSnapshot>> inner_;
  LatencyWatcher* const owner_;
  bool first_ = true;     // the message pending_ refers to is the stream's first
  bool pending_ = false;  // the last Read() returned a snapshot
  uint64_t version_ = 0;
  int64_t published_ns_ = 0;
};

// The session's stub, with WatchWeights' reader wrapped in a TimingReader.
class LatencyWatcher::TimingStub : public v1::Learner::StubInterface {
 public:
  TimingStub(v1::Learner::StubInterface* inner, LatencyWatcher* owner)
      : inner_(inner), owner_(owner) {}

  grpc::Status Register(grpc::ClientContext* context, const v1::RegisterRequest& request,
                        v1::RegisterResponse* response) override {
    return inner_->Register(context, request, response);
  }
  async_interface* async() override { return inner_->async(); }

 private:
  using Ack = v1::ChunkAck;
  using Chunk = v1::TrajectoryChunk;
  using Snapshot = v1::WeightSnapshot;

  grpc::ClientReaderInterface<Snapshot>* WatchWeightsRaw(
      grpc::ClientContext* context, const v1::WatchWeightsRequest& request) override {
    return new TimingReader(inner_->WatchWeights(context, request), owner_);
  }
  grpc::ClientAsyncResponseReaderInterface<v1::RegisterResponse>* AsyncRegisterRaw(
      grpc::ClientContext* context, const v1::RegisterRequest& request,
      grpc::CompletionQueue* cq) override {
    return inner_->AsyncRegister(context, request, cq).release();
  }
  grpc::ClientAsyncResponseReaderInterface<v1::RegisterResponse>* PrepareAsyncRegisterRaw(
      grpc::ClientContext* context, const v1::RegisterRequest& request,
      grpc::CompletionQueue* cq) override {
    return inner_->PrepareAsyncRegister(context, request, cq).release();
  }
  grpc::ClientReaderWriterInterface<Chunk, Ack>* StreamTrajectoriesRaw(
      grpc::ClientContext* context) override {
    return inner_->StreamTrajectories(context).release();
  }
  grpc::ClientAsyncReaderWriterInterface<Chunk, Ack>* AsyncStreamTrajectoriesRaw(
      grpc::ClientContext* context, grpc::CompletionQueue* cq, void* tag) override {
    return inner_->AsyncStreamTrajectories(context, cq, tag).release();
  }
  grpc::ClientAsyncReaderWriterInterface<Chunk, Ack>* PrepareAsyncStreamTrajectoriesRaw(
      grpc::ClientContext* context, grpc::CompletionQueue* cq) override {
    return inner_->PrepareAsyncStreamTrajectories(context, cq).release();
  }
  grpc::ClientAsyncReaderInterface<Snapshot>* AsyncWatchWeightsRaw(
      grpc::ClientContext* context, const v1::WatchWeightsRequest& request,
      grpc::CompletionQueue* cq, void* tag) override {
    return inner_->AsyncWatchWeights(context, request, cq, tag).release();
  }
  grpc::ClientAsyncReaderInterface<Snapshot>* PrepareAsyncWatchWeightsRaw(
      grpc::ClientContext* context, const v1::WatchWeightsRequest& request,
      grpc::CompletionQueue* cq) override {
    return inner_->PrepareAsyncWatchWeights(context, request, cq).release();
  }

  v1::Learner::StubInterface* const inner_;
  LatencyWatcher* const owner_;
};

LatencyWatcher::LatencyWatcher(Session session)
    : session_(std::move(session)),
      stub_(std::make_unique<TimingStub>(session_.stub.get(), this)) {
  WeightWatcher::Options o;
  o.actor_id = session_.registration.actor_id();
  o.session_id = session_.registration.session_id();
  o.shape = PolicyShape{session_.config.env_spec.obs_dim(), session_.config.env_spec.action_space,
                        session_.config.model};
  o.log = [this](absl::string_view line) {
    absl::MutexLock lock(&mu_);
    if (first_event_.empty()) first_event_ = std::string(line);
  };
  watcher_ = std::make_unique<WeightWatcher>(stub_.get(), &slot_, std::move(o));
}

LatencyWatcher::~LatencyWatcher() { Stop(); }

void LatencyWatcher::Start() { watcher_->Start(); }

void LatencyWatcher::Stop() { watcher_->Stop(); }

int64_t LatencyWatcher::failures() const {
  return static_cast<int64_t>(watcher_->stats().discarded);
}

std::string LatencyWatcher::first_event() const {
  absl::MutexLock lock(&mu_);
  return first_event_;
}

void LatencyWatcher::Applied(uint64_t version, int64_t published_ns) {
  if (!recording_) return;
  const int64_t now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  samples_.push_back({version, static_cast<double>(now_ns - published_ns) / 1e6});
}

}  // namespace proxima::bench
