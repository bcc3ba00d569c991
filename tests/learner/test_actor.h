// TestActor: a small, synchronous client of proxima.v1.Learner for tests of
// the learner server. It registers, watches weights (a reader thread keeps
// the newest snapshot), acts with the snapshot's policy in its own vector env
// and sends chunks one at a time, returning each ack — so a test can craft
// every kind of chunk, good or malformed, and see exactly what the learner
// answered.
#ifndef PROXIMA_TESTS_LEARNER_TEST_ACTOR_H_
#define PROXIMA_TESTS_LEARNER_TEST_ACTOR_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "common/envs/vector_env.h"
#include "common/policy/policy_inference.h"
#include "common/policy/policy_snapshot.h"
#include "common/policy/rollout_collector.h"
#include "common/wire/run_config.h"
#include "common/rng.h"
#include "proxima/v1/learner_service.grpc.pb.h"

namespace proxima::testing {

class TestActor {
 public:
  TestActor(std::shared_ptr<grpc::Channel> channel, std::string name, int num_envs = 0);
  ~TestActor();

  // Register (new session), build envs and model from the run config.
  absl::Status Register();
  // Start WatchWeights for the current session.
  void StartWatch();
  // Wait until a snapshot with version >= `min_version` arrived and load it.
  // Returns false on timeout.
  bool WaitForWeights(uint64_t min_version, double timeout_seconds = 30);
  // Opens the trajectory stream (closing any previous one).
  void OpenStream();
  // Collects one rollout of T steps with the loaded policy (the actor's own
  // RolloutCollector) into a chunk with the next seq (the caller may tamper
  // with it before sending).
  v1::TrajectoryChunk Rollout();
  // Sends `chunk` and waits for its ack; nullopt if the stream broke.
  std::optional<v1::ChunkAck> Send(const v1::TrajectoryChunk& chunk);
  // Pipelined use: write without waiting, read acks separately.
  bool Write(const v1::TrajectoryChunk& chunk) { return stream_->Write(chunk); }
  bool ReadAck(v1::ChunkAck* ack) { return stream_->Read(ack); }
  // Half-closes the stream and returns its final status.
  grpc::Status CloseStream();

  uint64_t version() const { return version_; }
  uint64_t next_seq() const { return next_seq_; }
  void set_next_seq(uint64_t s) { next_seq_ = s; }
  const v1::RegisterResponse& registration() const { return reg_; }
  const ActorRunConfig& config() const { return config_; }
  // Count of snapshots the watch thread received.
  int snapshots_received() const;
  // Versions received by the watch thread, in order.
  std::vector<uint64_t> versions_received() const;
  // Stops reading WatchWeights until Unpause (to play a slow actor).
  void PauseWatch(bool paused);

 private:
  void WatchLoop(std::unique_ptr<grpc::ClientContext> ctx);
  void StopWatch();

  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Learner::Stub> stub_;
  std::string name_;
  int num_envs_;
  v1::RegisterResponse reg_;
  ActorRunConfig config_;
  std::unique_ptr<VectorEnv> envs_;
  PolicyShape shape_;
  std::unique_ptr<PolicyInference> policy_;
  std::unique_ptr<RolloutCollector> collector_;
  Rng rng_;
  uint64_t version_ = 0;
  uint64_t next_seq_ = 0;

  std::unique_ptr<grpc::ClientContext> stream_ctx_;
  std::unique_ptr<grpc::ClientReaderWriter<v1::TrajectoryChunk, v1::ChunkAck>> stream_;

  mutable absl::Mutex mu_;
  std::optional<v1::WeightSnapshot> latest_ ABSL_GUARDED_BY(mu_);
  std::vector<uint64_t> received_ ABSL_GUARDED_BY(mu_);
  bool watch_paused_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* watch_ctx_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::thread watch_thread_;
};

}  // namespace proxima::testing

#endif  // PROXIMA_TESTS_LEARNER_TEST_ACTOR_H_
