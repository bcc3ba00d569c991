// Where the time goes (issue 18), the pure parts: the bottleneck verdict's
// rules and thresholds, the tracker's window arithmetic on an injected clock,
// the stage maps summary.json and Prometheus use, and the chunk validator's
// checks of the actor timings.
#include "learner/server/time_breakdown.h"

#include <cmath>
#include <limits>

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "common/wire/chunk_validator.h"
#include "learner/server/session_registry.h"

namespace proxima {
namespace {

// A window of `wall` seconds with the given learner and actor seconds.
v1::TimeBreakdown Window(double wait, double update, double publish, double env,
                         double inference, double send, double weights, double wall = 10) {
  v1::TimeBreakdown t;
  t.set_wall_seconds(wall);
  t.set_learner_wait_batch_seconds(wait);
  t.set_learner_update_seconds(update);
  t.set_learner_publish_seconds(publish);
  t.set_actor_env_seconds(env);
  t.set_actor_inference_seconds(inference);
  t.set_actor_send_wait_seconds(send);
  t.set_actor_weights_wait_seconds(weights);
  t.set_actor_wall_seconds(env + inference + send + weights);
  t.set_chunks(10);
  return t;
}

TEST(BottleneckVerdictTest, LearnerBoundNamesTheBusyUpdateAndWhatActorsWaitFor) {
  const std::string v = BottleneckVerdict(Window(0.5, 9.0, 0.1, 3.0, 0.6, 0.0, 6.4));
  EXPECT_EQ(v, "learner-bound: update 91% busy; actors idle 64% waiting for weights");
  EXPECT_TRUE(absl::StartsWith(BottleneckVerdict(Window(0.5, 7.0, 0.0, 5, 0, 5, 0)),
                               "learner-bound: update 70% busy; actors idle 50% waiting for "
                               "the send window"));
}

TEST(BottleneckVerdictTest, LearnerBusyAloneIsLearnerBoundAtNinetyPercent) {
  // Actors never wait (no flow control), but the trainer never rests.
  EXPECT_TRUE(absl::StartsWith(BottleneckVerdict(Window(0.5, 9.5, 0, 9, 1, 0, 0)),
                               "learner-bound"));
  EXPECT_TRUE(absl::StartsWith(BottleneckVerdict(Window(1.5, 8.5, 0, 9, 1, 0, 0)), "balanced"));
}

TEST(BottleneckVerdictTest, ActorBound) {
  EXPECT_EQ(BottleneckVerdict(Window(7.0, 2.0, 0.5, 8.5, 1.0, 0.3, 0.2)),
            "actor-bound: learner waits for data 70%; actors 85% stepping envs");
  EXPECT_EQ(BottleneckVerdict(Window(7.0, 2.0, 0.5, 1.0, 8.5, 0.3, 0.2)),
            "actor-bound: learner waits for data 70%; actors 85% in inference");
}

TEST(BottleneckVerdictTest, NetworkBoundWinsOverTheOthers) {
  // Actors wait for the send window while the learner idles: the data is
  // made but does not arrive.
  EXPECT_EQ(BottleneckVerdict(Window(7.0, 2.0, 0.0, 3.5, 0.5, 6.0, 0.0)),
            "network-bound: actors wait 60% for the send window while the learner idles 70% "
            "waiting for data");
}

TEST(BottleneckVerdictTest, LatencyBoundWhenEachSideWaitsForTheOther) {
  EXPECT_EQ(BottleneckVerdict(Window(9.0, 0.8, 0.2, 0.1, 3.4, 0.5, 6.0)),
            "latency-bound: actors wait 60% for weights while the learner idles 90% waiting for "
            "data");
  // 29% waiting for weights: not latency-bound.
  EXPECT_FALSE(absl::StartsWith(BottleneckVerdict(Window(9.0, 1, 0, 7.1, 0, 0, 2.9)),
                                "latency-bound"));
}

TEST(BottleneckVerdictTest, ThresholdsAreInclusiveAtTheirEdges) {
  // Exactly 30% send wait and 30% learner idle.
  EXPECT_TRUE(absl::StartsWith(BottleneckVerdict(Window(3, 5, 0, 7, 0, 3, 0)), "network-bound"));
  // 29% send wait: not network-bound.
  EXPECT_FALSE(
      absl::StartsWith(BottleneckVerdict(Window(3, 5, 0, 7.1, 0, 2.9, 0)), "network-bound"));
  // Busy 60% and actors waiting 20%.
  EXPECT_TRUE(absl::StartsWith(BottleneckVerdict(Window(2, 6, 0, 8, 0, 0, 2)), "learner-bound"));
  EXPECT_TRUE(absl::StartsWith(BottleneckVerdict(Window(2, 5.9, 0, 8, 0, 0, 2)), "balanced"));
  // Learner idle 40%, actors busy 50%.
  EXPECT_TRUE(absl::StartsWith(BottleneckVerdict(Window(4, 5, 0, 5, 0, 2.5, 2.5)), "actor-bound"));
  EXPECT_TRUE(absl::StartsWith(BottleneckVerdict(Window(3.9, 5, 0, 5, 0, 2.5, 2.5)), "balanced"));
}

TEST(BottleneckVerdictTest, NoActorDataSaysSo) {
  v1::TimeBreakdown t = Window(10, 0, 0, 0, 0, 0, 0);
  t.set_chunks(0);
  EXPECT_EQ(BottleneckVerdict(t),
            "no data: no actor chunks in the window; learner waits 100% for a batch");
  EXPECT_TRUE(absl::StartsWith(BottleneckVerdict(v1::TimeBreakdown()), "no data"));
}

TEST(TimeSharesTest, SharesAreClampedToOneAndZeroWithoutWall) {
  v1::TimeBreakdown t = Window(0, 0, 0, 1, 0, 0, 0, /*wall=*/10);
  t.set_learner_ingest_seconds(25);  // summed over reactor threads
  const TimeShareRow r = SharesOf(t);
  EXPECT_DOUBLE_EQ(r.ingest, 1.0);
  EXPECT_DOUBLE_EQ(r.env, 1.0);
  t.set_wall_seconds(0);
  EXPECT_DOUBLE_EQ(SharesOf(t).ingest, 0.0);
}

using Clock = ServerClock;

TEST(TimeBreakdownTrackerTest, TrainerStagesAddUpToWallIncludingTheOpenOne) {
  const Clock::time_point t0 = Clock::time_point() + std::chrono::hours(1);
  TimeBreakdownTracker tr(t0);
  using S = TimeBreakdownTracker::Stage;
  tr.Enter(S::kWaitBatch, t0);
  tr.Enter(S::kUpdate, t0 + std::chrono::seconds(2));
  tr.Enter(S::kPublish, t0 + std::chrono::seconds(5));
  tr.Enter(S::kWaitBatch, t0 + std::chrono::milliseconds(5500));
  v1::TimeBreakdown total, recent;
  tr.Snapshot(&total, &recent, t0 + std::chrono::seconds(8));
  EXPECT_DOUBLE_EQ(total.wall_seconds(), 8);
  EXPECT_NEAR(total.learner_wait_batch_seconds(), 2 + 2.5, 1e-9);  // the open wait counts
  EXPECT_NEAR(total.learner_update_seconds(), 3, 1e-9);
  EXPECT_NEAR(total.learner_publish_seconds(), 0.5, 1e-9);
  EXPECT_NEAR(recent.wall_seconds(), 8, 1e-9);  // less than a window since start
  EXPECT_NEAR(recent.learner_update_seconds(), 3, 1e-9);
}

TEST(TimeBreakdownTrackerTest, RecentWindowForgetsOldSecondsAndSpreadsLongIntervals) {
  const Clock::time_point t0 = Clock::time_point() + std::chrono::hours(1);
  TimeBreakdownTracker tr(t0);
  using S = TimeBreakdownTracker::Stage;
  tr.Enter(S::kUpdate, t0);
  tr.Enter(S::kWaitBatch, t0 + std::chrono::seconds(20));  // 20 s update
  v1::TimeBreakdown total, recent;
  tr.Snapshot(&total, &recent, t0 + std::chrono::seconds(25));
  EXPECT_NEAR(total.learner_update_seconds(), 20, 1e-9);
  EXPECT_NEAR(recent.wall_seconds(), TimeBreakdownTracker::kWindowSeconds, 1e-9);
  // Window [15 s, 25 s): 5 s of the update, 5 s of the open wait.
  EXPECT_NEAR(recent.learner_update_seconds(), 5, 1e-6);
  EXPECT_NEAR(recent.learner_wait_batch_seconds(), 5, 1e-6);
}

TEST(TimeBreakdownTrackerTest, ActorChunksAndIngestAreSummed) {
  const Clock::time_point t0 = Clock::time_point() + std::chrono::hours(1);
  TimeBreakdownTracker tr(t0);
  v1::TrajectoryChunk c;
  c.set_rollout_seconds(1.0f);
  c.set_env_seconds(0.75f);
  c.set_inference_seconds(0.25f);
  c.set_send_wait_seconds(0.5f);
  c.set_weights_wait_seconds(0.5f);
  EXPECT_DOUBLE_EQ(ActorWallSeconds(c), 2.0);
  tr.AddActorChunk(c, t0 + std::chrono::seconds(3));
  tr.AddActorChunk(c, t0 + std::chrono::seconds(5));
  tr.AddIngest(t0 + std::chrono::seconds(5), t0 + std::chrono::milliseconds(5100));
  v1::LearnerStatus st;
  tr.Fill(&st, t0 + std::chrono::seconds(6));
  EXPECT_EQ(st.time_total().chunks(), 2u);
  EXPECT_NEAR(st.time_recent().actor_wall_seconds(), 4, 1e-6);
  EXPECT_NEAR(st.time_recent().actor_env_seconds(), 1.5, 1e-6);
  EXPECT_NEAR(st.time_recent().learner_ingest_seconds(), 0.1, 1e-6);
  EXPECT_FALSE(st.bottleneck().empty());
  const std::map<std::string, double> seconds = StageSeconds(st.time_total());
  EXPECT_EQ(seconds.size(), 10u);
  EXPECT_NEAR(seconds.at("actor_send_wait"), 1.0, 1e-6);
  EXPECT_EQ(StageShares(st.time_recent()).size(), 8u);
}

// ActorInfo.time_total sums an actor's chunks over its sessions: a
// re-registration (reconnect) carries the sums over.
TEST(ActorTimeSumsTest, CarriedOverToTheActorsNextSession) {
  SessionRegistry reg(4, 0);
  v1::TrajectoryChunk c;
  c.set_rollout_seconds(1.0f);
  c.set_env_seconds(0.5f);
  c.set_send_wait_seconds(0.25f);
  for (int session = 0; session < 2; ++session) {
    SessionRegistry::NewSession n;
    n.name = "a0";
    n.num_envs = 1;
    absl::StatusOr<SessionRegistry::Registered> r = reg.Register(std::move(n));
    ASSERT_TRUE(r.ok()) << r.status();
    reg.WithSession(r->session_id, [&](Session* s) {
      s->time.Add(c);
      return 0;
    });
  }
  v1::LearnerStatus st;
  reg.FillStatus(true, &st);
  ASSERT_EQ(st.actors_size(), 1);
  const v1::TimeBreakdown& t = st.actors(0).time_total();
  EXPECT_EQ(t.chunks(), 2u);
  EXPECT_DOUBLE_EQ(t.actor_env_seconds(), 1.0);
  EXPECT_DOUBLE_EQ(t.actor_send_wait_seconds(), 0.5);
  EXPECT_DOUBLE_EQ(t.actor_wall_seconds(), 2.5);
}

TEST(ChunkTimingValidationTest, NegativeOrNonFiniteTimingsAreRejectedByName) {
  ChunkSpec spec;
  spec.obs_dim = 4;
  spec.action_space = Space::Discrete(2);
  spec.num_envs = 1;
  spec.rollout_length = 1;
  v1::TrajectoryChunk c;
  c.set_env_seconds(-1);
  absl::Status st = ValidateChunkPayload(c, spec);
  EXPECT_TRUE(absl::StartsWith(st.message(), "env_seconds: -1")) << st;
  c.set_env_seconds(0);
  c.set_weights_wait_seconds(std::numeric_limits<float>::infinity());
  st = ValidateChunkPayload(c, spec);
  EXPECT_TRUE(absl::StartsWith(st.message(), "weights_wait_seconds: inf")) << st;
  c.set_weights_wait_seconds(0);
  c.set_send_wait_seconds(std::nanf(""));
  st = ValidateChunkPayload(c, spec);
  EXPECT_TRUE(absl::StartsWith(st.message(), "send_wait_seconds: nan")) << st;
  c.set_send_wait_seconds(0);
  st = ValidateChunkPayload(c, spec);  // timings fine: fails later, on counts
  EXPECT_TRUE(absl::StartsWith(st.message(), "num_envs")) << st;
}

}  // namespace
}  // namespace proxima
