// PolicyLagGate: the predicted lag of an async actor's next chunk, and how
// long one wait for newer weights may last.
#include "actor/policy_lag_gate.h"

#include <optional>

#include "gtest/gtest.h"

namespace proxima {
namespace {

using AckView = PolicyLagGate::AckView;

TEST(PolicyLagGateTest, ZeroTargetOrBatchIsOff) {
  EXPECT_FALSE(PolicyLagGate(0, 512).enabled());
  EXPECT_FALSE(PolicyLagGate(1, 0).enabled());
  EXPECT_FALSE(PolicyLagGate(0, 512).ShouldWait(0, AckView{9, 100000}, 100000));
  EXPECT_TRUE(PolicyLagGate(1, 512).enabled());
}

TEST(PolicyLagGateTest, BeforeAnyAckOnlyTheOwnUnackedChunksCount) {
  const PolicyLagGate gate(1, 512);
  EXPECT_DOUBLE_EQ(gate.PredictedLag(3, std::nullopt, 0), 0);
  EXPECT_DOUBLE_EQ(gate.PredictedLag(3, std::nullopt, 256), 0.5);
  EXPECT_FALSE(gate.ShouldWait(3, std::nullopt, 511));
  EXPECT_TRUE(gate.ShouldWait(3, std::nullopt, 512));
}

TEST(PolicyLagGateTest, QueuedBatchesAndVersionsBehindAddUp) {
  const PolicyLagGate gate(2, 512);
  // Learner at 7 with a batch and a half queued, plus one unacked chunk of
  // 256: 2 batches ahead. Acting with 7: lag 2; with 6: lag 3.
  EXPECT_DOUBLE_EQ(gate.PredictedLag(7, AckView{7, 768}, 256), 2);
  EXPECT_DOUBLE_EQ(gate.PredictedLag(6, AckView{7, 768}, 256), 3);
  EXPECT_TRUE(gate.ShouldWait(7, AckView{7, 768}, 256));
  EXPECT_FALSE(gate.ShouldWait(7, AckView{7, 768}, 0));
}

TEST(PolicyLagGateTest, VersionsPublishedSinceTheAckTrainedABatchEach) {
  const PolicyLagGate gate(1, 512);
  // The ack saw 1,024 queued at version 4; the actor now holds version 6:
  // two batches were trained since, nothing is left ahead.
  EXPECT_DOUBLE_EQ(gate.PredictedLag(6, AckView{4, 1024}, 0), 0);
  EXPECT_DOUBLE_EQ(gate.PredictedLag(5, AckView{4, 1024}, 0), 1);
  // Never below zero queued: more versions than queued batches.
  EXPECT_DOUBLE_EQ(gate.PredictedLag(9, AckView{4, 1024}, 0), 0);
  // An ack newer than the snapshot the actor holds: it is behind.
  EXPECT_DOUBLE_EQ(gate.PredictedLag(4, AckView{6, 0}, 0), 2);
}

TEST(PolicyLagGateTest, MaxWaitIsFourVersionIntervalsWithinOneSecondAndAMinute) {
  PolicyLagGate gate(1, 512);
  const absl::Time t0 = absl::UnixEpoch() + absl::Hours(1);
  EXPECT_EQ(gate.MaxWait(), absl::Seconds(1));  // nothing seen yet
  gate.SawVersion(1, t0);
  gate.SawVersion(2, t0 + absl::Seconds(2));
  EXPECT_EQ(gate.MaxWait(), absl::Seconds(8));
  gate.SawVersion(2, t0 + absl::Seconds(50));  // a repeat: ignored
  EXPECT_EQ(gate.MaxWait(), absl::Seconds(8));
  gate.SawVersion(3, t0 + absl::Seconds(2.1));
  EXPECT_EQ(gate.MaxWait(), absl::Seconds(1));
  gate.SawVersion(4, t0 + absl::Seconds(100));
  EXPECT_EQ(gate.MaxWait(), absl::Seconds(60));
}

}  // namespace
}  // namespace proxima
