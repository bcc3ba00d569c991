// The clients of `proxima bench`'s gRPC suites (learner/cli/bench/) against a
// real LearnerServer on loopback: SyntheticActor's chunks go through the
// actor's ChunkSender and are accepted; LatencyWatcher applies every
// published version through the actor's WeightWatcher and times each one.
#include <memory>

#include "gtest/gtest.h"
#include "learner/cli/bench/latency_watcher.h"
#include "learner/cli/bench/synthetic_actor.h"
#include "tests/learner/learner_server_fixture.h"
#include "tests/support/poll.h"

namespace proxima::bench {
namespace {

class BenchGrpcClientsTest : public testing::LearnerServerFixture {};

TEST_F(BenchGrpcClientsTest, SyntheticActorFeedsTrainingAndTheWatcherTimesEachVersion) {
  StartServer();
  absl::StatusOr<Session> watch = Register(server_->address(), "watcher");
  ASSERT_TRUE(watch.ok()) << watch.status();
  LatencyWatcher watcher(*std::move(watch));
  watcher.set_recording(true);
  watcher.Start();
  absl::StatusOr<Session> feed = Register(server_->address(), "feeder");
  ASSERT_TRUE(feed.ok()) << feed.status();
  SyntheticActor feeder(*std::move(feed), /*window=*/2, /*seed=*/1);
  feeder.Start();
  ASSERT_TRUE(testing::PollUntil([&] { return feeder.learner_version() >= 8; }, absl::Seconds(60)))
      << "learner version " << feeder.learner_version() << ", " << feeder.accepted()
      << " chunks accepted, " << feeder.refused() << " refused: " << feeder.first_event();
  feeder.Stop();
  watcher.Stop();

  EXPECT_GE(feeder.accepted(), 5);
  EXPECT_EQ(feeder.refused(), 0) << feeder.first_event();
  EXPECT_EQ(watcher.failures(), 0) << watcher.first_event();
  EXPECT_GT(watcher.snapshot_bytes(), 0u);
  // Versions after the one current at subscription (latest-wins may skip
  // some), in order, each timed once, with a latency that is positive and
  // sane on one machine.
  ASSERT_GE(watcher.samples().size(), 3u);
  for (size_t i = 0; i < watcher.samples().size(); ++i) {
    const LatencyWatcher::Sample& s = watcher.samples()[i];
    EXPECT_GT(s.latency_ms, 0.0);
    EXPECT_LT(s.latency_ms, 10'000.0);
    if (i > 0) {
      EXPECT_GT(s.version, watcher.samples()[i - 1].version);
    }
  }
}

}  // namespace
}  // namespace proxima::bench
