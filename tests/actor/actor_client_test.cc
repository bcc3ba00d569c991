// ActorClient end to end against FakeLearner over loopback gRPC, while the
// learner is up: registration, weights, chunk sequence and contents,
// sync-mode waiting, backpressure, resend after a broken stream,
// re-registration after a learner restart, two actors side by side. How a
// run ends: actor_client_shutdown_test.cc; registering:
// actor_client_registration_test.cc; async flow control:
// flow_control_wait_test.cc.
#include "actor/actor_client.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/actor/actor_client_test_util.h"
#include "tests/support/poll.h"

namespace proxima {
namespace {

using ::proxima::testing::Accepted;
using ::proxima::testing::ActorThread;
using ::proxima::testing::CountAccepted;
using ::proxima::testing::FakeLearner;
using ::proxima::testing::NoShutdownTimeouts;
using ::proxima::testing::OptionsFor;
using ::proxima::testing::PollUntil;
using ::proxima::testing::Received;
using ::proxima::testing::View;
using ::proxima::testing::kEventLimit;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(ActorClientTest, RegistersStreamsChunksAndEndsWithAFinalChunk) {
  FakeLearner learner({});
  learner.Start();
  ActorThread actor(NoShutdownTimeouts(learner));
  ASSERT_TRUE(learner.WaitFor(CountAccepted(5)));
  learner.Publish();
  learner.Publish();
  ASSERT_TRUE(learner.WaitFor([&](const View& v) {
    return !v.received.empty() && v.received.back().chunk.policy_version() == 2;
  }));
  // Returns in time only through the final ack and the learner's end of the
  // stream: both timeouts are longer than the wait.
  ASSERT_TRUE(actor.StopAndJoin().ok());
  EXPECT_FALSE(actor.Logged("left unacknowledged"));

  const auto regs = learner.registrations();
  ASSERT_EQ(regs.size(), 1u);
  EXPECT_EQ(regs[0].actor_name(), "a0");
  EXPECT_EQ(regs[0].protocol_version(), 2u);  // revision 2 (sequence runs) also serves MLP runs
  EXPECT_EQ(regs[0].num_envs(), 0u);
  EXPECT_EQ(regs[0].pid(), static_cast<uint32_t>(getpid()));
  EXPECT_THAT(std::vector<std::string>(regs[0].available_env_ids().begin(),
                                       regs[0].available_env_ids().end()),
              ::testing::Contains("CartPole-v1"));

  const uint64_t session = learner.issued_sessions().at(0);
  const std::vector<Received> received = learner.received();
  const auto chunks = Accepted(received, session);
  ASSERT_GE(chunks.size(), 6u);
  uint64_t last_version = 0;
  for (size_t i = 0; i < chunks.size(); ++i) {
    const v1::TrajectoryChunk& c = *chunks[i];
    EXPECT_EQ(c.seq(), i);
    EXPECT_EQ(c.session_id(), session);
    EXPECT_EQ(c.actor_id(), 0u);
    EXPECT_EQ(c.num_envs(), 2u);
    EXPECT_GE(c.policy_version(), last_version);  // versions only move forward
    last_version = c.policy_version();
    const bool last = i + 1 == chunks.size();
    EXPECT_EQ(c.final(), last) << "seq " << i;
    if (!last) {
      EXPECT_EQ(c.num_steps(), 16u);
    }
    EXPECT_LE(c.num_steps(), 16u);
    EXPECT_GE(c.rollout_seconds(), 0.0f);
  }
  EXPECT_EQ(last_version, 2u);
  // The stats the client reports agree.
  const ActorClient::Stats s = actor.client().stats();
  EXPECT_EQ(s.registrations, 1);
  EXPECT_EQ(s.chunks, chunks.size());
  EXPECT_EQ(s.chunks_accepted, chunks.size());  // the final one included
  EXPECT_EQ(s.session_id, session);
}

TEST(ActorClientTest, SyncModeActsWithANewVersionForEveryChunk) {
  FakeLearner::Options o;
  o.sync = true;
  FakeLearner learner(o);  // publishes version + 1 after each accepted chunk
  learner.Start();
  ActorThread actor(OptionsFor(learner));
  ASSERT_TRUE(learner.WaitFor(CountAccepted(8)));
  ASSERT_TRUE(actor.StopAndJoin().ok());
  const std::vector<Received> received = learner.received();
  const auto chunks = Accepted(received, learner.issued_sessions().at(0));
  ASSERT_GE(chunks.size(), 8u);
  for (size_t i = 0; i + 1 < chunks.size(); ++i) {
    // Chunk i was acted with version i: the actor waited for each new one.
    EXPECT_EQ(chunks[i]->policy_version(), i) << "seq " << i;
  }
  EXPECT_TRUE(chunks.back()->final());
}

// An actor with a window of 3 chunks, all unacknowledged: the learner holds
// its acks. Chunks 0-2 fill the window; the stepping loop encodes chunk 3
// (its 4th) and must then wait in Push for room.
class FullWindowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    learner_.HoldAcks(true);
    learner_.Start();
    actor_ = std::make_unique<ActorThread>(OptionsFor(learner_));
    ASSERT_TRUE(PollUntil([&] { return actor_->client().stats().chunks >= 4; }, kEventLimit));
  }
  static FakeLearner::Options WindowOf3() {
    FakeLearner::Options o;
    o.window = 3;
    return o;
  }

  FakeLearner learner_{WindowOf3()};
  std::unique_ptr<ActorThread> actor_;  // destroyed before the learner
};

TEST_F(FullWindowTest, StopsTheSteppingLoop) {
  ActorThread& actor = *actor_;
  FakeLearner& learner = learner_;
  // Stop, still holding the acks. A loop waiting for room turns the rollout
  // it holds into the final chunk: seq 3, a full rollout. A loop that had
  // pushed chunk 3 into the full window would go round again and end with a
  // further (empty) final chunk, seq 4 or later, however soon Stop() came.
  actor.client().Stop();
  learner.HoldAcks(false);
  ASSERT_TRUE(actor.StopAndJoin().ok());
  const ActorClient::Stats s = actor.client().stats();
  EXPECT_EQ(s.chunks, 4u);
  EXPECT_EQ(s.env_steps, 4 * 16 * 2);
  const std::vector<Received> received = learner.received();
  const auto chunks = Accepted(received, learner.issued_sessions().at(0));
  ASSERT_EQ(chunks.size(), 4u);
  for (size_t i = 0; i < chunks.size(); ++i) EXPECT_EQ(chunks[i]->seq(), i);
  EXPECT_TRUE(chunks.back()->final());
  EXPECT_EQ(chunks.back()->num_steps(), 16u);
}

TEST_F(FullWindowTest, TheSteppingLoopMovesAgainOnceAcksFlow) {
  learner_.HoldAcks(false);
  ASSERT_TRUE(learner_.WaitFor(CountAccepted(10)));
  ASSERT_TRUE(actor_->StopAndJoin().ok());
}

TEST(ActorClientTest, ResendsUnacknowledgedChunksAfterABrokenStream) {
  FakeLearner learner({});
  learner.BreakStreamOnceAtSeq(2);
  learner.Start();
  ActorThread actor(OptionsFor(learner));
  ASSERT_TRUE(learner.WaitFor(CountAccepted(6)));
  ASSERT_TRUE(actor.StopAndJoin().ok());
  EXPECT_EQ(learner.registrations().size(), 1u);  // same session throughout
  EXPECT_GE(learner.stream_opens(), 2);
  const uint64_t session = learner.issued_sessions().at(0);
  const std::vector<Received> received = learner.received();
  const auto chunks = Accepted(received, session);
  for (size_t i = 0; i < chunks.size(); ++i) EXPECT_EQ(chunks[i]->seq(), i);
  int seq2 = 0;
  for (const Received& r : learner.received()) seq2 += r.chunk.seq() == 2;
  EXPECT_GE(seq2, 2);  // lost with the stream, then resent
  bool logged = false;
  for (const std::string& line : actor.log()) logged |= absl::StrContains(line, "reconnecting");
  EXPECT_TRUE(logged);
}

TEST(ActorClientTest, RegistersAgainWhenTheLearnerForgetsTheSession) {
  FakeLearner learner({});
  learner.Start();
  ActorThread actor(OptionsFor(learner));
  ASSERT_TRUE(learner.WaitFor(CountAccepted(3)));
  learner.ForgetSessions();  // as a restarted learner would
  ASSERT_TRUE(learner.WaitFor([](const View& v) { return v.sessions.size() >= 2; }));
  const uint64_t second = learner.issued_sessions().at(1);
  ASSERT_TRUE(learner.WaitFor(
      [&](const View& v) { return Accepted(v.received, second).size() >= 3; }));
  ASSERT_TRUE(actor.StopAndJoin().ok());
  EXPECT_EQ(learner.registrations().size(), 2u);
  EXPECT_EQ(learner.registrations()[1].actor_name(), "a0");
  const std::vector<Received> received = learner.received();
  const auto chunks = Accepted(received, second);
  for (size_t i = 0; i < chunks.size(); ++i) EXPECT_EQ(chunks[i]->seq(), i);  // seq restarts
  EXPECT_EQ(actor.client().stats().registrations, 2);
  // The log says why the session was lost: never "session lost ()", nor an
  // empty reason after a colon.
  bool named = false;
  for (const std::string& line : actor.log()) {
    if (!absl::StrContains(line, "session lost")) continue;
    EXPECT_THAT(line, ::testing::ContainsRegex("session lost \\(.*[^ (]\\); dropping")) << line;
    EXPECT_THAT(line, Not(HasSubstr(": )"))) << line;
    named = true;
  }
  EXPECT_TRUE(named);
}

TEST(ActorClientTest, TwoActorsGetTheirOwnSessionsAndSeeds) {
  FakeLearner learner({});
  learner.Start();
  {
    ActorThread a(OptionsFor(learner, "a"));
    ActorThread b(OptionsFor(learner, "b"));
    ASSERT_TRUE(learner.WaitFor([](const View& v) {
      return v.sessions.size() >= 2 && Accepted(v.received, v.sessions[0]).size() >= 3 &&
             Accepted(v.received, v.sessions[1]).size() >= 3;
    }));
    EXPECT_TRUE(a.StopAndJoin().ok());
    EXPECT_TRUE(b.StopAndJoin().ok());
  }
  const auto sessions = learner.issued_sessions();
  ASSERT_EQ(sessions.size(), 2u);
  const auto all = learner.received();
  const auto first = Accepted(all, sessions[0]), second = Accepted(all, sessions[1]);
  EXPECT_NE(first[0]->actor_id(), second[0]->actor_id());
  // Different env seeds: different first observations.
  EXPECT_NE(first[0]->observations().data(), second[0]->observations().data());
  EXPECT_TRUE(first.back()->final());
  EXPECT_TRUE(second.back()->final());
}

}  // namespace
}  // namespace proxima
