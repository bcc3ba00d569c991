// ThroughputLog (actor/throughput_log.h): when a line is due, what it says,
// and that rates and counts are over the interval since the previous line.
#include "actor/throughput_log.h"

#include "gtest/gtest.h"

namespace proxima {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1000);

TEST(ThroughputLogTest, IsDueEveryIntervalOrWhenForced) {
  ThroughputLog log(absl::Seconds(10));
  log.Start(kT0);
  EXPECT_FALSE(log.Due(kT0 + absl::Seconds(9), false));
  EXPECT_TRUE(log.Due(kT0 + absl::Seconds(9), true));
  EXPECT_TRUE(log.Due(kT0 + absl::Seconds(10), false));
  log.Line(kT0 + absl::Seconds(10), {});
  EXPECT_FALSE(log.Due(kT0 + absl::Seconds(15), false));  // the next interval started
  EXPECT_TRUE(log.Due(kT0 + absl::Seconds(20), false));
}

TEST(ThroughputLogTest, AZeroIntervalIsNeverDue) {
  ThroughputLog log(absl::ZeroDuration());
  log.Start(kT0);
  EXPECT_FALSE(log.Due(kT0 + absl::Hours(1), false));
  EXPECT_FALSE(log.Due(kT0 + absl::Hours(1), true));
}

TEST(ThroughputLogTest, ReportsTheIntervalSinceThePreviousLine) {
  ThroughputLog log(absl::Seconds(10));
  log.Start(kT0);
  ThroughputLog::Sample s;
  s.env_steps = 1000;
  s.policy_version = 3;
  s.learner_version = 5;
  s.chunks_acked = 7;
  s.unacked = 2;
  s.episodes = 4;
  s.flow_control_wait_seconds = 1;
  log.AddEpisodeReturn(1);
  log.AddEpisodeReturn(2);
  EXPECT_EQ(log.Line(kT0 + absl::Seconds(10), s),
            "100 env steps/s, acting with version 3 (learner at 5), 7 chunks acked, 2 unacked, "
            "4 episodes, 10% waiting for newer weights, mean return 1.5");
  // Five seconds later: 500 more steps, one more episode, no returns since
  // (no mean), 4 s more of waiting.
  s.env_steps = 1500;
  s.episodes = 5;
  s.chunks_acked = 9;
  s.unacked = 0;
  s.flow_control_wait_seconds = 5;
  EXPECT_EQ(log.Line(kT0 + absl::Seconds(15), s),
            "100 env steps/s, acting with version 3 (learner at 5), 9 chunks acked, 0 unacked, "
            "1 episodes, 80% waiting for newer weights");
}

}  // namespace
}  // namespace proxima
