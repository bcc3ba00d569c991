// How an actor's run ends, against FakeLearner over loopback gRPC: Stop()
// with a final chunk when the learner is gone or has shut down in order, no
// collecting while the learner is shutting down, exiting on its own once the
// learner's run has ended (exit_after_learner_done), and waiting on for a
// learner that crashed.
#include "actor/actor_client.h"

#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/actor/actor_client_test_util.h"
#include "tests/support/poll.h"

namespace proxima {
namespace {

using ::proxima::testing::ActorThread;
using ::proxima::testing::CountAccepted;
using ::proxima::testing::FakeLearner;
using ::proxima::testing::NoShutdownTimeouts;
using ::proxima::testing::OptionsFor;
using ::proxima::testing::PollUntil;
using ::proxima::testing::kEventLimit;
using ::proxima::testing::kJoinLimit;
using ::proxima::testing::kLongerThanTheTest;

TEST(ActorClientTest, StopsWhenTheLearnerIsGone) {
  // The final chunk can never be acknowledged: the actor waits for its ack
  // at most final_ack_timeout (default 3 s), then gives it up without the
  // half-close grace, which is longer than the test waits.
  auto learner = std::make_unique<FakeLearner>(FakeLearner::Options{});
  learner->Start();
  ActorClient::Options o = OptionsFor(*learner);
  o.close_grace = kLongerThanTheTest;
  ActorThread actor(o);
  ASSERT_TRUE(learner->WaitFor(CountAccepted(2)));
  learner->Kill();
  // Stop once the actor has seen its stream break.
  ASSERT_TRUE(PollUntil([&] { return actor.Logged("trajectory stream"); }, kEventLimit));
  EXPECT_TRUE(actor.StopAndJoin().ok());
  EXPECT_TRUE(actor.Logged("left unacknowledged"));
}

TEST(ActorClientTest, StopsAtOnceAfterTheLearnerShutDownInOrder) {
  // The learner said it stopped (SHUTTING_DOWN acks, streams ended with OK):
  // waiting for acks of the final chunk would only delay the exit.
  // Both shutdown timeouts are longer than the test waits.
  auto learner = std::make_unique<FakeLearner>(FakeLearner::Options{});
  learner->Start();
  ActorThread actor(NoShutdownTimeouts(*learner));
  ASSERT_TRUE(learner->WaitFor(CountAccepted(2)));
  learner->ShutDownGracefully();
  // Stop once the actor has been told: a SHUTTING_DOWN ack, or the stream
  // ended with OK.
  ASSERT_TRUE(PollUntil([&] {
    return actor.Logged("learner is shutting down") ||
           actor.Logged("trajectory stream ended by the learner");
  }, kEventLimit));
  EXPECT_TRUE(actor.StopAndJoin().ok());
  EXPECT_TRUE(actor.Logged("left unacknowledged"));
}

TEST(ActorClientTest, CollectsNothingMoreOnceTheLearnerIsShuttingDown) {
  // A learner draining at the end of its step budget refuses every chunk;
  // an actor that kept collecting would refuse nothing but burn CPU (and
  // count as data dropped at shutdown).
  FakeLearner learner({});
  learner.Start();
  ActorThread actor(OptionsFor(learner));
  ASSERT_TRUE(learner.WaitFor(CountAccepted(2)));
  learner.StartShuttingDown();
  ASSERT_TRUE(PollUntil([&] { return actor.Logged("learner is shutting down"); }, kEventLimit));
  const uint64_t chunks = actor.client().stats().chunks;
  absl::SleepFor(absl::Milliseconds(300));  // hundreds of rollouts' time
  EXPECT_LE(actor.client().stats().chunks, chunks + 1);
  actor.client().Stop();
}

// The end of the learner's run ends an actor started by hand: the learner
// said it is shutting down, then stayed away for exit_after_learner_done.
TEST(ActorClientTest, ExitsOnItsOwnOnceTheLearnersRunEndedAndItStaysAway) {
  auto learner = std::make_unique<FakeLearner>(FakeLearner::Options{});
  learner->Start();
  ActorClient::Options o = OptionsFor(*learner);
  o.exit_after_learner_done = absl::Milliseconds(300);
  ActorThread actor(o);
  ASSERT_TRUE(learner->WaitFor(CountAccepted(2)));
  learner->ShutDownGracefully();
  EXPECT_TRUE(actor.Join(kJoinLimit).ok());  // no Stop()
  EXPECT_TRUE(actor.Logged("the learner ended its run"));
}

// A learner that vanished without saying it is shutting down (a crash) may
// come back: the actor keeps reconnecting, however long exit_after_learner_done.
TEST(ActorClientTest, KeepsWaitingForALearnerThatCrashed) {
  auto learner = std::make_unique<FakeLearner>(FakeLearner::Options{});
  learner->Start();
  ActorClient::Options o = OptionsFor(*learner);
  o.exit_after_learner_done = absl::Milliseconds(100);
  o.close_grace = absl::ZeroDuration();
  o.final_ack_timeout = absl::ZeroDuration();
  ActorThread actor(o);
  ASSERT_TRUE(learner->WaitFor(CountAccepted(2)));
  learner->Kill();
  ASSERT_TRUE(PollUntil([&] { return actor.Logged("trajectory stream"); }, kEventLimit));
  absl::SleepFor(absl::Seconds(1));  // ten times exit_after_learner_done
  EXPECT_FALSE(actor.Returned());
  EXPECT_FALSE(actor.Logged("the learner ended its run"));
  EXPECT_TRUE(actor.StopAndJoin().ok());
}

}  // namespace
}  // namespace proxima
