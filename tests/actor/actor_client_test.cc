// ActorClient end to end against FakeLearner over loopback gRPC: registration,
// weights, chunk sequence and contents, sync-mode waiting, backpressure,
// resend after a broken stream, re-registration after a learner restart,
// shutdown with a final chunk (learner up or gone), refusal and retry.
#include "actor/actor_client.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/fake_learner.h"
#include "tests/support/poll.h"
#include "tests/test_util.h"

namespace proxima {
namespace {

using ::proxima::testing::FakeLearner;
using ::testing::HasSubstr;
using ::testing::Not;
using Received = FakeLearner::Received;
using ::proxima::testing::PollUntil;

// Timing in these tests: no assert depends on how fast the machine is. Waits
// are for events (a chunk arrived, a line was logged) with generous deadlines;
// where a test shows that the actor does NOT wait out a timeout, that timeout
// is set far above kJoinLimit, so only the behaviour under test can make
// Run() return in time.
constexpr absl::Duration kJoinLimit = absl::Seconds(30);
constexpr absl::Duration kLongerThanTheTest = absl::Minutes(2);
// Bound of each wait for an event (PollUntil).
constexpr absl::Duration kEventLimit = absl::Seconds(30);

// Runs an ActorClient on its own thread.
class ActorThread {
 public:
  explicit ActorThread(ActorClient::Options options) : client_(Quiet(std::move(options))) {
    thread_ = std::thread([this] {
      status_ = client_.Run();
      done_.Notify();
    });
  }
  ~ActorThread() {
    client_.Stop();
    if (thread_.joinable()) thread_.join();
  }

  // Stops the actor and waits for Run() to return; fails after `limit`
  // (then still joins: Run() returns when its own timeouts expire).
  absl::Status StopAndJoin(absl::Duration limit = kJoinLimit) {
    client_.Stop();
    EXPECT_TRUE(done_.WaitForNotificationWithTimeout(limit))
        << "Run() did not return within " << limit << " of Stop()";
    thread_.join();
    return status_;
  }
  absl::Status Join(absl::Duration limit) {
    EXPECT_TRUE(done_.WaitForNotificationWithTimeout(limit)) << "Run() did not return";
    thread_.join();
    return status_;
  }

  ActorClient& client() { return client_; }
  bool Returned() const { return done_.HasBeenNotified(); }
  std::vector<std::string> log() const {
    std::lock_guard<std::mutex> lock(*log_mu_);
    return *log_;
  }
  bool Logged(absl::string_view part) const {
    for (const std::string& line : log()) {
      if (absl::StrContains(line, part)) return true;
    }
    return false;
  }

 private:
  ActorClient::Options Quiet(ActorClient::Options o) {
    o.log = [mu = log_mu_, log = log_](absl::string_view line) {
      std::lock_guard<std::mutex> lock(*mu);
      log->emplace_back(line);
      std::fprintf(stderr, "  [actor] %s\n", std::string(line).c_str());
    };
    o.log_interval = absl::Milliseconds(300);
    return o;
  }

  std::shared_ptr<std::mutex> log_mu_ = std::make_shared<std::mutex>();
  std::shared_ptr<std::vector<std::string>> log_ = std::make_shared<std::vector<std::string>>();
  ActorClient client_;
  std::thread thread_;
  absl::Notification done_;
  absl::Status status_;
};

ActorClient::Options OptionsFor(const FakeLearner& learner, const std::string& name = "a0") {
  ActorClient::Options o;
  o.learner_address = learner.address();
  o.name = name;
  return o;
}

// As OptionsFor, with shutdown timeouts no test waits out: Run() can return
// within kJoinLimit of Stop() only if the final ack came (or the actor saw
// it never will) and, with nothing left unacknowledged, the learner ended
// the half-closed stream.
ActorClient::Options NoShutdownTimeouts(const FakeLearner& learner) {
  ActorClient::Options o = OptionsFor(learner);
  o.final_ack_timeout = kLongerThanTheTest;
  o.close_grace = kLongerThanTheTest;
  return o;
}

// Chunks the learner accepted (or will count), in arrival order.
// Pointers into `all`, which must outlive them (hence no temporaries).
std::vector<const v1::TrajectoryChunk*> Accepted(std::vector<Received>&& all,
                                                 uint64_t session) = delete;
std::vector<const v1::TrajectoryChunk*> Accepted(const std::vector<Received>& all,
                                                 uint64_t session) {
  std::vector<const v1::TrajectoryChunk*> out;
  for (const Received& r : all) {
    if (r.session == session && r.outcome == v1::CHUNK_OUTCOME_ACCEPTED) out.push_back(&r.chunk);
  }
  return out;
}

using View = FakeLearner::View;

auto CountAccepted(size_t n) {
  return [n](const View& v) {
    size_t k = 0;
    for (const Received& r : v.received) k += r.outcome == v1::CHUNK_OUTCOME_ACCEPTED;
    return k >= n;
  };
}

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
  EXPECT_EQ(regs[0].protocol_version(), 1u);
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
