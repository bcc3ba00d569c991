// FakeLearner: a scriptable Learner service for the actor's tests, on a real
// loopback port (the actor dials an address, as in production).
//
// It implements the protocol the way learner_service.proto states it —
// sessions, exactly-once seq tracking (DUPLICATE / OUT_OF_ORDER /
// UNKNOWN_SESSION acks), latest-wins weight streams, NOT_FOUND for unknown
// sessions — and records everything it receives. Failure injection: refuse
// registrations, break the trajectory stream once at a given seq, forget all
// sessions (a learner restart), hold acks (backpressure), publish a new
// version after every accepted chunk (sync mode).
#ifndef PROXIMA_TESTS_SUPPORT_FAKE_LEARNER_H_
#define PROXIMA_TESTS_SUPPORT_FAKE_LEARNER_H_

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/envs/registry.h"
#include "common/wire/run_config.h"
#include "common/policy/weight_codec.h"
#include "common/rng.h"
#include "grpcpp/grpcpp.h"
#include "proxima/v1/learner_service.grpc.pb.h"
#include "tests/actor/actor_test_util.h"

namespace proxima::testing {

class FakeLearner final : public v1::Learner::Service {
 public:
  struct Options {
    std::string env_id = "CartPole-v1";
    int num_envs = 2;
    int rollout_length = 16;
    bool sync = false;
    int window = 4;
    int64_t ack_timeout_ms = 0;
    bool normalize_obs = true;
    // > 0: the hints' reconnect backoff, initial and max alike (else 20 ms
    // initial, 200 ms max).
    int64_t reconnect_backoff_seconds = 0;
    // Async flow control (RunConfig.target_policy_lag; 0: off). With a
    // target, the fake keeps a model of a learner's queue: every accepted
    // chunk adds its transitions, every Publish() trains one batch of
    // batch_transitions off it, and acks report it as queued_transitions.
    int target_policy_lag = 0;
    uint64_t batch_transitions = 0;
  };

  struct Received {
    uint64_t session = 0;
    v1::TrajectoryChunk chunk;
    v1::ChunkOutcome outcome = v1::CHUNK_OUTCOME_UNSPECIFIED;
  };

  explicit FakeLearner(Options options)
      : options_(options),
        shape_(ShapeFor(options.env_id)),
        model_(MakeModel(shape_, 1)),
        rng_(99) {
    Publish();
  }

  // Starts a server on 127.0.0.1:`port` (0: any free port).
  void Start(int port = 0) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:" + std::to_string(port),
                             grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(this);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port_, 0);
  }

  // Ends every call (as a crashed or stopped learner would).
  void Kill() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      killed_ = true;
    }
    cv_.notify_all();
    if (server_) server_->Shutdown(std::chrono::system_clock::now());
    if (server_) server_->Wait();
    server_.reset();
  }

  ~FakeLearner() override { Kill(); }

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }

  // A new policy version (weights unchanged, version + 1).
  void Publish() {
    std::lock_guard<std::mutex> lock(mu_);
    PublishLocked();
  }

  void RefuseRegistrations(grpc::Status status) {
    std::lock_guard<std::mutex> lock(mu_);
    refuse_ = status;
  }
  void BreakStreamOnceAtSeq(uint64_t seq) {
    std::lock_guard<std::mutex> lock(mu_);
    break_at_seq_ = seq;
  }
  void ForgetSessions() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      sessions_.clear();
    }
    cv_.notify_all();
  }
  // The first half of ShutDownGracefully: every further chunk is acked
  // REJECTED_SHUTTING_DOWN and its stream ends with OK, but the server stays.
  void StartShuttingDown() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      shutting_down_ = true;
    }
    cv_.notify_all();
  }
  // An orderly learner exit: every further chunk is acked
  // REJECTED_SHUTTING_DOWN, streams end with OK, then the server goes away.
  void ShutDownGracefully() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      shutting_down_ = true;
    }
    cv_.notify_all();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    Kill();
  }

  void HoldAcks(bool hold) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      hold_acks_ = hold;
    }
    cv_.notify_all();
  }

  // What WaitFor predicates see (under the fake's lock: they must not call
  // its methods).
  struct View {
    const std::vector<Received>& received;
    const std::vector<uint64_t>& sessions;  // issued, in order
  };

  // Waits (bounded) until `pred(View)` holds.
  template <typename Pred>
  bool WaitFor(Pred pred, std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return pred(View{received_, issued_}); });
  }

  std::vector<Received> received() const {
    std::lock_guard<std::mutex> lock(mu_);
    return received_;
  }
  std::vector<v1::RegisterRequest> registrations() const {
    std::lock_guard<std::mutex> lock(mu_);
    return registrations_;
  }
  std::vector<uint64_t> issued_sessions() const {
    std::lock_guard<std::mutex> lock(mu_);
    return issued_;
  }
  uint64_t version() const {
    std::lock_guard<std::mutex> lock(mu_);
    return snapshot_.version();
  }
  int stream_opens() const {
    std::lock_guard<std::mutex> lock(mu_);
    return stream_opens_;
  }

  grpc::Status Register(grpc::ServerContext*, const v1::RegisterRequest* request,
                        v1::RegisterResponse* response) override {
    std::lock_guard<std::mutex> lock(mu_);
    registrations_.push_back(*request);
    if (!refuse_.ok()) return refuse_;
    auto [it, added] = actor_ids_.emplace(request->actor_name(), actor_ids_.size());
    uint64_t session = 0;
    while (session == 0) session = rng_.NextU64();
    sessions_.insert(session);
    issued_.push_back(session);
    cv_.notify_all();
    response->set_actor_id(it->second);
    response->set_session_id(session);
    response->set_protocol_version(v1::PROTOCOL_VERSION_1);
    response->set_policy_version(snapshot_.version());
    v1::RunConfig* c = response->mutable_config();
    const EnvSpec spec = GetEnvSpec(options_.env_id).value();
    c->set_env_id(options_.env_id);
    EnvSpecToProto(spec, c->mutable_env_spec());
    ModelSpecToProto(ModelSpec(), spec.obs_dim(), spec.action_space, c->mutable_model());
    c->set_rollout_length(options_.rollout_length);
    c->set_num_envs(request->num_envs() > 0 ? request->num_envs() : options_.num_envs);
    c->mutable_seeds()->set_run_seed(1);
    c->mutable_seeds()->set_env_seed_base(1 + it->second * 65536ull);
    c->mutable_seeds()->set_action_seed(1000 + it->second);
    c->set_mode(options_.sync ? v1::TRAINING_MODE_SYNC : v1::TRAINING_MODE_ASYNC);
    c->set_target_policy_lag(static_cast<uint32_t>(options_.target_policy_lag));
    c->set_batch_transitions(options_.batch_transitions);
    v1::ChannelHints* h = c->mutable_channel();
    h->set_max_message_bytes(16 << 20);
    h->mutable_keepalive_time()->set_seconds(10);
    h->mutable_keepalive_timeout()->set_seconds(10);
    h->mutable_unary_deadline()->set_seconds(2);
    if (options_.reconnect_backoff_seconds > 0) {
      h->mutable_reconnect_backoff_initial()->set_seconds(options_.reconnect_backoff_seconds);
      h->mutable_reconnect_backoff_max()->set_seconds(options_.reconnect_backoff_seconds);
    } else {
      h->mutable_reconnect_backoff_initial()->set_nanos(20 * 1000 * 1000);
      h->mutable_reconnect_backoff_max()->set_nanos(200 * 1000 * 1000);
    }
    h->set_max_unacked_chunks(options_.window);
    if (options_.ack_timeout_ms > 0) {
      h->mutable_ack_timeout()->set_nanos(static_cast<int32_t>(options_.ack_timeout_ms * 1000000));
    }
    return grpc::Status::OK;
  }

  grpc::Status WatchWeights(grpc::ServerContext* context, const v1::WatchWeightsRequest* request,
                            grpc::ServerWriter<v1::WeightSnapshot>* writer) override {
    std::unique_lock<std::mutex> lock(mu_);
    std::optional<uint64_t> sent;
    if (request->has_have_version()) sent = request->have_version();
    while (true) {
      if (killed_ || context->IsCancelled()) return grpc::Status::CANCELLED;
      if (shutting_down_) return grpc::Status::OK;
      if (sessions_.count(request->session_id()) == 0) {
        return grpc::Status(grpc::StatusCode::NOT_FOUND, "unknown session");
      }
      if (!sent.has_value() || snapshot_.version() > *sent) {
        v1::WeightSnapshot copy = snapshot_;
        sent = copy.version();
        lock.unlock();
        if (!writer->Write(copy)) return grpc::Status::CANCELLED;
        lock.lock();
        continue;
      }
      // Server contexts do not signal cancellation to our cv: poll briefly.
      cv_.wait_for(lock, std::chrono::milliseconds(10));
    }
  }

  grpc::Status StreamTrajectories(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<v1::ChunkAck, v1::TrajectoryChunk>* stream) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++stream_opens_;
    }
    v1::TrajectoryChunk chunk;
    while (stream->Read(&chunk)) {
      v1::ChunkAck ack;
      {
        std::unique_lock<std::mutex> lock(mu_);
        if (break_at_seq_.has_value() && chunk.seq() == *break_at_seq_) {
          break_at_seq_.reset();
          received_.push_back(Received{chunk.session_id(), chunk, v1::CHUNK_OUTCOME_UNSPECIFIED});
          cv_.notify_all();
          return grpc::Status(grpc::StatusCode::UNAVAILABLE, "injected stream failure");
        }
        const uint64_t session = chunk.session_id();
        ack.set_seq(chunk.seq());
        if (shutting_down_) {
          ack.set_outcome(v1::CHUNK_OUTCOME_REJECTED_SHUTTING_DOWN);
        } else if (sessions_.count(session) == 0) {
          ack.set_outcome(v1::CHUNK_OUTCOME_REJECTED_UNKNOWN_SESSION);
        } else {
          auto it = next_seq_.find(session);
          const uint64_t expected = it == next_seq_.end() ? 0 : it->second;
          if (chunk.seq() < expected) {
            ack.set_outcome(v1::CHUNK_OUTCOME_DUPLICATE);
          } else if (chunk.seq() > expected) {
            ack.set_outcome(v1::CHUNK_OUTCOME_REJECTED_OUT_OF_ORDER);
          } else {
            ack.set_outcome(v1::CHUNK_OUTCOME_ACCEPTED);
            next_seq_[session] = expected + 1;
            queued_ += static_cast<uint64_t>(chunk.num_steps()) * chunk.num_envs();
            if (options_.sync && !chunk.final()) PublishLocked();
          }
          ack.set_next_expected_seq(next_seq_[session]);
        }
        ack.set_learner_policy_version(snapshot_.version());
        ack.set_queued_transitions(queued_);
        received_.push_back(Received{session, chunk, ack.outcome()});
        cv_.notify_all();
        while (hold_acks_ && !killed_ && !context->IsCancelled()) {
          cv_.wait_for(lock, std::chrono::milliseconds(10));
        }
      }
      if (!stream->Write(ack)) break;
      std::lock_guard<std::mutex> lock(mu_);
      if (shutting_down_) return grpc::Status::OK;
    }
    return grpc::Status::OK;
  }

 private:
  void PublishLocked() {
    const uint64_t next = published_ ? snapshot_.version() + 1 : 0;
    published_ = true;
    queued_ -= std::min(queued_, options_.batch_transitions);
    NormalizerState n = MakeNormalizer(shape_.obs_dim, options_.normalize_obs);
    EncodeWeights(model_, n, next, &snapshot_);
    cv_.notify_all();
  }

  const Options options_;
  PolicyShape shape_;
  ActorCritic model_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  Rng rng_;
  bool published_ = false;
  v1::WeightSnapshot snapshot_;
  grpc::Status refuse_ = grpc::Status::OK;
  std::optional<uint64_t> break_at_seq_;
  bool hold_acks_ = false;
  bool killed_ = false;
  bool shutting_down_ = false;
  std::map<std::string, uint32_t> actor_ids_;
  std::set<uint64_t> sessions_;
  std::vector<uint64_t> issued_;
  std::map<uint64_t, uint64_t> next_seq_;
  std::vector<Received> received_;
  uint64_t queued_ = 0;  // the queue model of Options::target_policy_lag
  std::vector<v1::RegisterRequest> registrations_;
  int stream_opens_ = 0;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

}  // namespace proxima::testing

#endif  // PROXIMA_TESTS_SUPPORT_FAKE_LEARNER_H_
