// Async flow control by policy version through a whole ActorClient against
// FakeLearner (which models a learner's queue): the actor waits for a newer
// version while a batch is queued ahead of its next chunk
// (actor/flow_control_wait.h), and gives the wait up after the gate's
// MaxWait (actor/policy_lag_gate.h).
#include "actor/actor_client.h"

#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/actor/actor_client_test_util.h"

namespace proxima {
namespace {

using ::proxima::testing::Accepted;
using ::proxima::testing::ActorThread;
using ::proxima::testing::CountAccepted;
using ::proxima::testing::FakeLearner;
using ::proxima::testing::OptionsFor;
using ::proxima::testing::Received;

// Async flow control by policy version. Chunks are 2 envs x 16 steps = 32
// transitions and a batch is 64, so with a target lag of 1 the actor collects
// two chunks with a version (the second is predicted to join the next batch
// at lag 0.5), then waits: a third would be trained a full version stale.
FakeLearner::Options FlowControlled() {
  FakeLearner::Options o;
  o.target_policy_lag = 1;
  o.batch_transitions = 64;
  return o;
}

TEST(FlowControlTest, WaitsForANewerVersionWhileABatchIsQueuedAhead) {
  FakeLearner learner(FlowControlled());
  learner.Start();
  ActorThread actor(OptionsFor(learner));
  ASSERT_TRUE(learner.WaitFor(CountAccepted(2)));
  // Well inside the gate's one-second MaxWait: no third chunk.
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(actor.client().stats().chunks, 2u);
  learner.Publish();  // version 1 trains the queued batch
  ASSERT_TRUE(learner.WaitFor(CountAccepted(4)));
  ASSERT_TRUE(actor.StopAndJoin().ok());
  const ActorClient::Stats s = actor.client().stats();
  EXPECT_GE(s.flow_control_waits, 1u);
  EXPECT_GT(s.flow_control_wait_seconds, 0.25);
  EXPECT_EQ(s.flow_control_timeouts, 0u);
  const std::vector<Received> received = learner.received();
  const auto chunks = Accepted(received, learner.issued_sessions().at(0));
  ASSERT_GE(chunks.size(), 4u);
  EXPECT_EQ(chunks[0]->policy_version(), 0u);
  EXPECT_EQ(chunks[1]->policy_version(), 0u);
  EXPECT_EQ(chunks[2]->policy_version(), 1u);
  EXPECT_EQ(chunks[3]->policy_version(), 1u);
}

// A learner whose queue drained without a new version (chunks dropped for
// lag, a failed update) must not stall its actors: the wait gives up after
// MaxWait and the actor collects with the version it has.
TEST(FlowControlTest, GivesUpWaitingAfterMaxWait) {
  FakeLearner learner(FlowControlled());
  learner.Start();
  ActorThread actor(OptionsFor(learner));
  ASSERT_TRUE(learner.WaitFor(CountAccepted(3)));
  ASSERT_TRUE(actor.StopAndJoin().ok());
  const ActorClient::Stats s = actor.client().stats();
  EXPECT_GE(s.flow_control_timeouts, 1u);
  EXPECT_GE(s.flow_control_wait_seconds, 0.9);
  const std::vector<Received> received = learner.received();
  const auto chunks = Accepted(received, learner.issued_sessions().at(0));
  ASSERT_GE(chunks.size(), 3u);
  EXPECT_EQ(chunks[2]->policy_version(), 0u);
}

}  // namespace
}  // namespace proxima
