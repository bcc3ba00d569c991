// ActorClient's registration against FakeLearner over loopback gRPC: retried
// until the learner comes up, cut short by Stop() (also in the middle of a
// long backoff), and a refusal that ends Run() with the learner's reason.
#include "actor/actor_client.h"

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/actor/actor_client_test_util.h"
#include "tests/support/poll.h"

namespace proxima {
namespace {

using ::proxima::testing::ActorThread;
using ::proxima::testing::CountAccepted;
using ::proxima::testing::FakeLearner;
using ::proxima::testing::OptionsFor;
using ::proxima::testing::PollUntil;
using ::proxima::testing::kEventLimit;
using ::testing::HasSubstr;

TEST(ActorClientTest, StopWhileWaitingForTheFirstRegistration) {
  // A port with nothing behind it: the actor keeps retrying until stopped.
  int free_port;
  {
    FakeLearner probe({});
    probe.Start();
    free_port = probe.port();
  }
  ActorClient::Options o;
  o.learner_address = "127.0.0.1:" + std::to_string(free_port);
  ActorThread actor(o);
  // Stop while it retries: after its first failed attempt was logged.
  ASSERT_TRUE(PollUntil([&] { return !actor.log().empty(); }, kEventLimit));
  EXPECT_TRUE(actor.StopAndJoin().ok());
  EXPECT_EQ(actor.client().stats().registrations, 0);
}

TEST(ActorClientTest, StopCutsTheRegistrationBackoffShort) {
  // The learner's hints set a 10-minute reconnect backoff. It forgets the
  // session and refuses (retryably) to register the actor again: the actor
  // sleeps at least 5 minutes before its next attempt, unless Stop() ends
  // that sleep.
  FakeLearner::Options lo;
  lo.reconnect_backoff_seconds = 600;
  FakeLearner learner(lo);
  learner.Start();
  ActorThread actor(OptionsFor(learner));
  ASSERT_TRUE(learner.WaitFor(CountAccepted(2)));
  learner.RefuseRegistrations(grpc::Status(grpc::StatusCode::UNAVAILABLE, "restarting"));
  learner.ForgetSessions();
  // Logged just before the backoff sleep.
  ASSERT_TRUE(PollUntil([&] { return actor.Logged("cannot register"); }, kEventLimit));
  EXPECT_TRUE(actor.StopAndJoin().ok());
  EXPECT_EQ(learner.registrations().size(), 2u);
}

TEST(ActorClientTest, RetriesRegistrationUntilTheLearnerComesUp) {
  int port;
  {
    FakeLearner probe({});
    probe.Start();
    port = probe.port();
  }
  ActorClient::Options o;
  o.learner_address = "127.0.0.1:" + std::to_string(port);
  o.name = "late";
  ActorThread actor(o);
  // The learner comes up only after the actor has failed to register.
  ASSERT_TRUE(PollUntil([&] { return !actor.log().empty(); }, kEventLimit));
  FakeLearner learner({});
  learner.Start(port);
  ASSERT_TRUE(learner.WaitFor(CountAccepted(2), std::chrono::seconds(30)));
  EXPECT_TRUE(actor.StopAndJoin().ok());
  EXPECT_FALSE(actor.log().empty());
  EXPECT_THAT(actor.log().front(), HasSubstr("cannot register"));
}

TEST(ActorClientTest, ARefusedRegistrationIsAnError) {
  FakeLearner learner({});
  learner.RefuseRegistrations(
      grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "env Foo-v0 not available"));
  learner.Start();
  ActorThread actor(OptionsFor(learner));
  const absl::Status st = actor.Join(absl::Seconds(10));
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition) << st;
  EXPECT_THAT(std::string(st.message()), HasSubstr("env Foo-v0 not available"));
}

}  // namespace
}  // namespace proxima
