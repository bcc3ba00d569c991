// The learner server over real gRPC on loopback (port 0), driven by
// TestActor clients: the Admin and Monitor services and status, health on
// shutdown, and a resumed run.
#include "learner/server/learner_server.h"

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "learner/checkpoint.h"
#include "proxima/v1/admin_service.grpc.pb.h"
#include "proxima/v1/monitor_service.grpc.pb.h"
#include "tests/learner/learner_server_fixture.h"
#include "tests/test_util.h"

namespace proxima {
namespace {

using ::proxima::testing::Dropped;
using ::proxima::testing::ExpectInvariant;
using ::proxima::testing::TestActor;
using ::testing::HasSubstr;

using LearnerServerTest = ::proxima::testing::LearnerServerFixture;

TEST_F(LearnerServerTest, AdminAndStatus) {
  StartServer();
  auto a = Actor("worker-1");
  ASSERT_TRUE(a->WaitForWeights(0));
  ASSERT_EQ(a->Send(a->Rollout())->outcome(), v1::CHUNK_OUTCOME_ACCEPTED);
  WaitStatus([](const v1::LearnerStatus& s) { return s.updates() >= 1; });

  auto admin = v1::Admin::NewStub(channel_);
  {
    grpc::ClientContext ctx;
    v1::SetHyperparametersRequest req;
    (*req.mutable_values())["learning_rate"] = "0.001";
    (*req.mutable_values())["no_such_key"] = "1";
    v1::SetHyperparametersResponse resp;
    ASSERT_TRUE(admin->SetHyperparameters(&ctx, req, &resp).ok());
    ASSERT_EQ(resp.errors_size(), 1);
    EXPECT_EQ(resp.errors(0).key(), "no_such_key");
    EXPECT_TRUE(resp.applied().empty());  // all or nothing
  }
  {
    grpc::ClientContext ctx;
    v1::SetHyperparametersRequest req;
    (*req.mutable_values())["learning-rate"] = "-1";
    v1::SetHyperparametersResponse resp;
    ASSERT_TRUE(admin->SetHyperparameters(&ctx, req, &resp).ok());
    ASSERT_EQ(resp.errors_size(), 1);
    EXPECT_THAT(resp.errors(0).message(), HasSubstr("learning-rate"));
  }
  {
    grpc::ClientContext ctx;
    v1::SetHyperparametersRequest req;
    (*req.mutable_values())["ent_coef"] = "0.05";
    v1::SetHyperparametersResponse resp;
    ASSERT_TRUE(admin->SetHyperparameters(&ctx, req, &resp).ok());
    EXPECT_EQ(resp.errors_size(), 0);
    EXPECT_EQ(resp.applied().at("ent_coef"), "0.05");
  }
  ASSERT_EQ(a->Send(a->Rollout())->outcome(), v1::CHUNK_OUTCOME_ACCEPTED);
  v1::LearnerStatus st = WaitStatus([](const v1::LearnerStatus& s) { return s.updates() >= 2; });
  EXPECT_EQ(st.hyperparameters().at("ent_coef"), "0.05");
  {
    grpc::ClientContext ctx;
    v1::SaveCheckpointResponse resp;
    ASSERT_TRUE(admin->SaveCheckpoint(&ctx, v1::SaveCheckpointRequest(), &resp).ok());
    EXPECT_EQ(resp.checkpoint().policy_version(), 2u);
    EXPECT_EQ(ListCheckpoints(options_.run_dir + "/checkpoints").size(), 1u);
  }
  {
    grpc::ClientContext ctx;
    v1::PauseResponse resp;
    ASSERT_TRUE(admin->Pause(&ctx, v1::PauseRequest(), &resp).ok());
    EXPECT_FALSE(resp.was_paused());
  }
  auto monitor = v1::Monitor::NewStub(channel_);
  grpc::ClientContext ctx;
  v1::GetStatusRequest req;
  req.set_include_actors(true);
  ASSERT_TRUE(monitor->GetStatus(&ctx, req, &st).ok());
  EXPECT_TRUE(st.paused());
  EXPECT_EQ(st.policy_version(), 2u);
  EXPECT_EQ(st.updates(), 2u);
  EXPECT_EQ(st.env_steps(), 2u * 512);
  EXPECT_EQ(st.transitions_trained(), 2u * 512);
  EXPECT_EQ(st.actors_connected(), 1u);
  ASSERT_EQ(st.actors_size(), 1);
  EXPECT_EQ(st.actors(0).name(), "worker-1");
  EXPECT_EQ(st.actors(0).env_steps(), 2u * 512);
  EXPECT_EQ(st.actors(0).num_envs(), 4u);
  EXPECT_EQ(st.actors(0).state(), v1::ACTOR_STATE_CONNECTED);
  EXPECT_EQ(st.mode(), v1::TRAINING_MODE_ASYNC);
  EXPECT_EQ(st.device(), "cpu");
  EXPECT_EQ(st.env_id(), "CartPole-v1");
  EXPECT_EQ(st.run_dir(), options_.run_dir);
  EXPECT_EQ(st.serving_state(), v1::SERVING_STATE_SERVING);
  EXPECT_EQ(st.last_checkpoint().policy_version(), 2u);
  EXPECT_EQ(st.queue_capacity(), 1024u);  // two batches of 4 × 128
  EXPECT_TRUE(st.hyperparameters().count("learning_rate"));
  ExpectInvariant(st);
}

// grpc.health.v1.Health/Check over a generic stub: the request for service ""
// is the empty message; the response is field 1 (varint status).
int HealthStatus(const std::shared_ptr<grpc::Channel>& channel) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::ByteBuffer request, response;
  grpc::Slice empty;
  request = grpc::ByteBuffer(&empty, 1);
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  grpc::Status status;
  stub.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request, &response,
                 [&](grpc::Status s) {
                   std::lock_guard<std::mutex> l(mu);
                   status = s;
                   done = true;
                   cv.notify_all();
                 });
  std::unique_lock<std::mutex> l(mu);
  cv.wait(l, [&] { return done; });
  if (!status.ok()) return -1;
  std::vector<grpc::Slice> slices;
  (void)response.Dump(&slices);
  std::string bytes;
  for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  if (bytes.size() != 2 || bytes[0] != 0x08) return bytes.empty() ? 0 : -2;
  return bytes[1];
}

TEST_F(LearnerServerTest, HealthGoesNotServingOnShutdown) {
  StartServer();
  EXPECT_EQ(HealthStatus(channel_), 1);  // SERVING
  server_->RequestStop("test");
  EXPECT_EQ(HealthStatus(channel_), 2);  // NOT_SERVING
  auto summary = server_->Wait();
  ASSERT_TRUE(summary.ok());
  EXPECT_EQ(ListCheckpoints(options_.run_dir + "/checkpoints").size(), 1u);
}

TEST_F(LearnerServerTest, ResumeContinuesTheVersionAndActorIds) {
  StartServer();
  auto a = Actor("zeta");
  auto b = Actor("alpha");
  ASSERT_TRUE(b->WaitForWeights(0));
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(b->WaitForWeights(static_cast<uint64_t>(i)));
    ASSERT_EQ(b->Send(b->Rollout())->outcome(), v1::CHUNK_OUTCOME_ACCEPTED);
  }
  WaitStatus([](const v1::LearnerStatus& s) { return s.policy_version() >= 3; });
  const uint64_t old_session = b->registration().session_id();
  server_->RequestStop("test");
  ASSERT_TRUE(server_->Wait().ok());
  a.reset();
  b.reset();
  server_.reset();

  const std::string dir = options_.run_dir;
  options_ = LearnerOptions();
  options_.listen = "127.0.0.1:0";
  options_.resume_dir = dir;
  options_.resume_changes["total_steps"] = "20000000";  // extends the run
  // The first process trained with --engine auto (fused on the CPU); the
  // resumed one continues its weights and Adam state on LibTorch.
  options_.resume_changes["engine"] = "torch";
  options_.checkpoint_every_seconds = 0;
  StartServer();
  EXPECT_EQ(LoadJsonOrDie(dir + "/config.json")["total_steps"], 20'000'000);
  EXPECT_EQ(LoadJsonOrDie(dir + "/config.json")["engine"], "torch");
  v1::LearnerStatus st = server_->Status(false);
  EXPECT_EQ(st.policy_version(), 3u);
  EXPECT_EQ(st.env_steps(), 3u * 512);
  // A chunk of the old session is unknown to the new process.
  auto c = std::make_unique<TestActor>(channel_, "alpha");
  ASSERT_TRUE(c->Register().ok());
  EXPECT_EQ(c->registration().actor_id(), 1u);  // the id 'alpha' had before
  c->StartWatch();
  c->OpenStream();
  ASSERT_TRUE(c->WaitForWeights(3));
  v1::TrajectoryChunk chunk = c->Rollout();
  chunk.set_session_id(old_session);
  auto ack = c->Send(chunk);
  ASSERT_TRUE(ack.has_value());
  EXPECT_EQ(ack->outcome(), v1::CHUNK_OUTCOME_REJECTED_UNKNOWN_SESSION);
  c->set_next_seq(0);
  ASSERT_EQ(c->Send(c->Rollout())->outcome(), v1::CHUNK_OUTCOME_ACCEPTED);
  st = WaitStatus([](const v1::LearnerStatus& s) { return s.policy_version() >= 4; });
  EXPECT_EQ(st.policy_version(), 4u);
}

}  // namespace
}  // namespace proxima
