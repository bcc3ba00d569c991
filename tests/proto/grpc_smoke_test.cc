// The generated gRPC code links and works: a callback Monitor service answers
// GetStatus and streams WatchMetrics over an in-process channel (no port).
// Also pins, at compile time, the generated service variants the learner is
// expected to use: callback services, and a raw callback WatchWeights so the
// publisher can send one pre-serialized snapshot buffer to every stream.
#include <chrono>
#include <memory>
#include <type_traits>
#include <vector>

#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "proxima/v1/env_service.grpc.pb.h"
#include "proxima/v1/learner_service.grpc.pb.h"
#include "proxima/v1/monitor_service.grpc.pb.h"

namespace proxima {
namespace {

static_assert(std::is_class_v<v1::Learner::CallbackService>);
static_assert(std::is_class_v<v1::Learner::WithRawCallbackMethod_WatchWeights<
                  v1::Learner::CallbackService>>);
static_assert(std::is_class_v<v1::Env::CallbackService>);

class FakeMonitor final : public v1::Monitor::CallbackService {
 public:
  grpc::ServerUnaryReactor* GetStatus(grpc::CallbackServerContext* context,
                                      const v1::GetStatusRequest* request,
                                      v1::LearnerStatus* response) override {
    response->set_policy_version(7);
    response->set_chunks_received(3);
    response->set_chunks_trained(2);
    response->set_chunks_queued(1);
    if (request->include_actors()) response->add_actors()->set_name("a0");
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  // Streams updates 1..3, then finishes with OK.
  grpc::ServerWriteReactor<v1::UpdateMetrics>* WatchMetrics(
      grpc::CallbackServerContext* /*context*/,
      const v1::WatchMetricsRequest* /*request*/) override {
    class Writer final : public grpc::ServerWriteReactor<v1::UpdateMetrics> {
     public:
      Writer() { Next(); }
      void OnWriteDone(bool ok) override {
        if (!ok) {
          Finish(grpc::Status(grpc::StatusCode::CANCELLED, "write failed"));
          return;
        }
        Next();
      }
      void OnDone() override { delete this; }

     private:
      void Next() {
        if (update_ == 3) {
          Finish(grpc::Status::OK);
          return;
        }
        ++update_;
        metrics_.set_update(update_);
        metrics_.set_policy_version(update_);
        StartWrite(&metrics_);
      }
      v1::UpdateMetrics metrics_;
      uint64_t update_ = 0;
    };
    return new Writer();
  }
};

class GrpcSmokeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = v1::Monitor::NewStub(
        server_->InProcessChannel(grpc::ChannelArguments()));
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
  }
  static std::chrono::system_clock::time_point Deadline() {
    return std::chrono::system_clock::now() + std::chrono::seconds(10);
  }

  FakeMonitor service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::Monitor::Stub> stub_;
};

TEST_F(GrpcSmokeTest, GetStatusOverInProcessChannel) {
  grpc::ClientContext ctx;
  ctx.set_deadline(Deadline());
  v1::GetStatusRequest request;
  request.set_include_actors(true);
  v1::LearnerStatus status;
  const grpc::Status s = stub_->GetStatus(&ctx, request, &status);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(status.policy_version(), 7u);
  ASSERT_EQ(status.actors_size(), 1);
  EXPECT_EQ(status.actors(0).name(), "a0");
}

TEST_F(GrpcSmokeTest, WatchMetricsStreamsInOrder) {
  grpc::ClientContext ctx;
  ctx.set_deadline(Deadline());
  std::unique_ptr<grpc::ClientReader<v1::UpdateMetrics>> reader =
      stub_->WatchMetrics(&ctx, v1::WatchMetricsRequest());
  std::vector<uint64_t> updates;
  v1::UpdateMetrics m;
  while (reader->Read(&m)) updates.push_back(m.update());
  const grpc::Status s = reader->Finish();
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(updates, (std::vector<uint64_t>{1, 2, 3}));
}

}  // namespace
}  // namespace proxima
