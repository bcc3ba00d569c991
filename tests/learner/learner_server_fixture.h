// A LearnerServer on 127.0.0.1:0 (CartPole preset, CPU) for tests that talk
// to it over real loopback gRPC, with helpers for the accounting invariant
// and for checking that the published weights are finite.
#ifndef PROXIMA_TESTS_LEARNER_LEARNER_SERVER_FIXTURE_H_
#define PROXIMA_TESTS_LEARNER_LEARNER_SERVER_FIXTURE_H_

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <memory>
#include <optional>
#include <string>

#include "gtest/gtest.h"
#include "learner/ppo_config.h"
#include "learner/server/learner_server.h"
#include "proxima/v1/learner_service.grpc.pb.h"
#include "tests/learner/test_actor.h"
#include "tests/support/learner_status.h"
#include "tests/support/poll.h"
#include "tests/test_util.h"

namespace proxima::testing {

inline void ExpectInvariant(const v1::LearnerStatus& st) {
  EXPECT_EQ(st.chunks_received(), st.chunks_trained() + DroppedTotal(st) + st.chunks_queued())
      << st.DebugString();
  uint64_t dropped_t = 0;
  for (const v1::DropCount& d : st.chunks_dropped()) dropped_t += d.transitions();
  EXPECT_EQ(st.transitions_received(),
            st.transitions_trained() + dropped_t + st.transitions_queued())
      << st.DebugString();
}

// True if every float32 / float64 tensor and every normalizer statistic of
// `snap` is finite (and it has at least one tensor).
inline bool SnapshotIsFinite(const v1::WeightSnapshot& snap) {
  if (snap.tensors_size() == 0) return false;
  for (const v1::NamedTensor& t : snap.tensors()) {
    const std::string& data = t.tensor().data();
    if (t.tensor().dtype() == v1::DTYPE_FLOAT32) {
      for (size_t i = 0; i + 4 <= data.size(); i += 4) {
        float v;
        std::memcpy(&v, data.data() + i, 4);
        if (!std::isfinite(v)) return false;
      }
    } else if (t.tensor().dtype() == v1::DTYPE_FLOAT64) {
      for (size_t i = 0; i + 8 <= data.size(); i += 8) {
        double v;
        std::memcpy(&v, data.data() + i, 8);
        if (!std::isfinite(v)) return false;
      }
    }
  }
  for (double v : snap.obs_normalizer().mean()) {
    if (!std::isfinite(v)) return false;
  }
  for (double v : snap.obs_normalizer().var()) {
    if (!std::isfinite(v)) return false;
  }
  return true;
}

// The test learner's config: the CartPole preset on the CPU, with a step
// budget no test reaches.
inline PpoConfig TestLearnerConfig() {
  PpoConfig config = *PresetFor("CartPole-v1");
  config.total_steps = 10'000'000;
  config.device = "cpu";
  return config;
}

// The test learner's options: gRPC on 127.0.0.1:0, a fresh run directory
// (MakeTempDir(run_dir_prefix)), no periodic checkpoints.
inline LearnerOptions TestLearnerOptions(const std::string& run_dir_prefix) {
  LearnerOptions options;
  options.listen = "127.0.0.1:0";
  options.run_dir = MakeTempDir(run_dir_prefix);
  options.checkpoint_every_seconds = 0;
  return options;
}

class LearnerServerFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = TestLearnerConfig();
    options_ = TestLearnerOptions("learner_server");
  }

  // Creates and starts the server, with `hooks` installed before Start().
  void StartServer(LearnerTestHooks hooks = {}) {
    auto s = LearnerServer::Create(config_, options_);
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = std::move(*s);
    server_->SetTestHooks(std::move(hooks));
    ASSERT_TRUE(server_->Start().ok());
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(-1);
    channel_ = grpc::CreateCustomChannel(server_->address(), grpc::InsecureChannelCredentials(),
                                         args);
  }

  std::unique_ptr<TestActor> Actor(const std::string& name, int num_envs = 0) {
    auto a = std::make_unique<TestActor>(channel_, name, num_envs);
    absl::Status s = a->Register();
    EXPECT_TRUE(s.ok()) << s;
    a->StartWatch();
    a->OpenStream();
    return a;
  }

  // Waits (bounded, PollUntil) until `pred(status)` holds; returns the last
  // status read.
  template <typename Pred>
  v1::LearnerStatus WaitStatus(Pred pred, double timeout = 30) {
    v1::LearnerStatus st;
    PollUntil(
        [&] {
          st = server_->Status(true);
          return pred(st);
        },
        absl::Seconds(timeout));
    return st;
  }

  // The newest published snapshot, read over WatchWeights with `actor`'s
  // session (this replaces the actor's own watch, so call it last).
  std::optional<v1::WeightSnapshot> LatestSnapshot(const TestActor& actor) {
    auto stub = v1::Learner::NewStub(channel_);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::WatchWeightsRequest req;
    req.set_actor_id(actor.registration().actor_id());
    req.set_session_id(actor.registration().session_id());
    auto reader = stub->WatchWeights(&ctx, req);
    v1::WeightSnapshot snap;
    const bool got = reader->Read(&snap);
    ctx.TryCancel();
    (void)reader->Finish();
    if (!got) return std::nullopt;
    return snap;
  }

  PpoConfig config_;
  LearnerOptions options_;
  std::unique_ptr<LearnerServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

}  // namespace proxima::testing

#endif  // PROXIMA_TESTS_LEARNER_LEARNER_SERVER_FIXTURE_H_
