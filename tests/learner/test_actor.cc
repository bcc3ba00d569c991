#include "tests/learner/test_actor.h"

#include <unistd.h>

#include <chrono>

#include "common/wire/chunk_codec.h"
#include "common/grpc/grpc_util.h"

namespace proxima::testing {

TestActor::TestActor(std::shared_ptr<grpc::Channel> channel, std::string name, int num_envs)
    : channel_(std::move(channel)),
      stub_(v1::Learner::NewStub(channel_)),
      name_(std::move(name)),
      num_envs_(num_envs) {}

TestActor::~TestActor() {
  if (stream_) {
    stream_ctx_->TryCancel();
    (void)stream_->Finish();
  }
  StopWatch();
}

absl::Status TestActor::Register() {
  StopWatch();
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  v1::RegisterRequest req;
  req.set_actor_name(name_);
  req.set_num_envs(static_cast<uint32_t>(num_envs_));
  req.set_protocol_version(v1::PROTOCOL_VERSION_1);
  req.set_pid(static_cast<uint32_t>(::getpid()));
  grpc::Status s = stub_->Register(&ctx, req, &reg_);
  if (!s.ok()) return ToAbslStatus(s);
  auto c = ActorRunConfigFromProto(reg_.config());
  if (!c.ok()) return c.status();
  config_ = *c;
  auto envs = VectorEnv::Create(config_.env_id, config_.num_envs, config_.env_seed_base);
  if (!envs.ok()) return envs.status();
  envs_ = std::move(*envs);
  shape_ = PolicyShape{config_.env_spec.obs_dim(), config_.env_spec.action_space, config_.model};
  policy_ = std::make_unique<PolicyInference>(shape_, config_.num_envs);
  rng_.Seed(config_.action_seed);
  collector_ = std::make_unique<RolloutCollector>(envs_.get(), policy_.get(), &rng_,
                                                  config_.rollout_length);
  next_seq_ = 0;
  version_ = 0;
  {
    absl::MutexLock l(&mu_);
    latest_.reset();
    received_.clear();
  }
  return absl::OkStatus();
}

void TestActor::StartWatch() {
  StopWatch();
  auto ctx = std::make_unique<grpc::ClientContext>();
  {
    absl::MutexLock l(&mu_);
    watch_ctx_ = ctx.get();
  }
  watch_thread_ = std::thread([this, c = std::move(ctx)]() mutable { WatchLoop(std::move(c)); });
}

void TestActor::StopWatch() {
  {
    absl::MutexLock l(&mu_);
    if (watch_ctx_ != nullptr) watch_ctx_->TryCancel();
    watch_paused_ = false;
  }
  if (watch_thread_.joinable()) watch_thread_.join();
}

void TestActor::WatchLoop(std::unique_ptr<grpc::ClientContext> ctx) {
  v1::WatchWeightsRequest req;
  req.set_actor_id(reg_.actor_id());
  req.set_session_id(reg_.session_id());
  auto reader = stub_->WatchWeights(ctx.get(), req);
  v1::WeightSnapshot snap;
  while (true) {
    {
      absl::MutexLock l(&mu_);
      auto not_paused = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return !watch_paused_; };
      mu_.Await(absl::Condition(&not_paused));
    }
    if (!reader->Read(&snap)) break;
    absl::MutexLock l(&mu_);
    received_.push_back(snap.version());
    latest_ = snap;
  }
  (void)reader->Finish();
  absl::MutexLock l(&mu_);
  watch_ctx_ = nullptr;
}

void TestActor::PauseWatch(bool paused) {
  absl::MutexLock l(&mu_);
  watch_paused_ = paused;
}

int TestActor::snapshots_received() const {
  absl::MutexLock l(&mu_);
  return static_cast<int>(received_.size());
}

std::vector<uint64_t> TestActor::versions_received() const {
  absl::MutexLock l(&mu_);
  return received_;
}

bool TestActor::WaitForWeights(uint64_t min_version, double timeout_seconds) {
  absl::MutexLock l(&mu_);
  auto ready = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return latest_.has_value() && latest_->version() >= min_version;
  };
  if (!mu_.AwaitWithTimeout(absl::Condition(&ready), absl::Seconds(timeout_seconds))) {
    return false;
  }
  auto snapshot = DecodeSnapshot(*latest_, shape_);
  if (!snapshot.ok() || !policy_->SetPolicy(*snapshot).ok()) return false;
  version_ = latest_->version();
  return true;
}

void TestActor::OpenStream() {
  if (stream_) {
    stream_ctx_->TryCancel();
    (void)stream_->Finish();
  }
  stream_ctx_ = std::make_unique<grpc::ClientContext>();
  stream_ = stub_->StreamTrajectories(stream_ctx_.get());
}

v1::TrajectoryChunk TestActor::Rollout() {
  collector_->Collect(nullptr);
  ChunkHeader h;
  h.actor_id = reg_.actor_id();
  h.session_id = reg_.session_id();
  h.seq = next_seq_++;
  h.policy_version = version_;
  v1::TrajectoryChunk chunk;
  collector_->Encode(h, &chunk);
  return chunk;
}

std::optional<v1::ChunkAck> TestActor::Send(const v1::TrajectoryChunk& chunk) {
  if (!stream_->Write(chunk)) return std::nullopt;
  v1::ChunkAck ack;
  if (!stream_->Read(&ack)) return std::nullopt;
  return ack;
}

grpc::Status TestActor::CloseStream() {
  stream_->WritesDone();
  v1::ChunkAck ack;
  while (stream_->Read(&ack)) {
  }
  grpc::Status s = stream_->Finish();
  stream_.reset();
  return s;
}

}  // namespace proxima::testing
