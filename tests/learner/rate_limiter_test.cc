// TokenBucket (learner/server/rate_limiter.h) with a hand-driven clock, and
// the range checks of the learner's limit options.
#include "learner/server/rate_limiter.h"

#include <chrono>
#include <cmath>
#include <limits>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "learner/server/learner_options.h"

namespace proxima {
namespace {

using Clock = TokenBucket::Clock;
using ::testing::HasSubstr;

double Secs(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

TEST(TokenBucketTest, BurstIsFreeThenOneTokenPerInterval) {
  const Clock::time_point t0{};
  TokenBucket b(/*rate=*/10, /*burst=*/3, t0);
  EXPECT_EQ(b.Take(t0), Clock::duration::zero());
  EXPECT_EQ(b.Take(t0), Clock::duration::zero());
  EXPECT_EQ(b.Take(t0), Clock::duration::zero());
  // Empty: the fourth chunk is taken on credit; the next read waits 0.1 s.
  EXPECT_NEAR(Secs(b.Take(t0)), 0.1, 1e-9);
  EXPECT_NEAR(b.Available(t0), -1, 1e-9);
  // After the wait the debt is paid and the next take waits another 0.1 s.
  const Clock::time_point t1 = t0 + std::chrono::milliseconds(100);
  EXPECT_NEAR(b.Available(t1), 0, 1e-9);
  EXPECT_NEAR(Secs(b.Take(t1)), 0.1, 1e-9);
}

TEST(TokenBucketTest, SustainedRateMatchesTheLimit) {
  // A sender that always waits as told gets exactly `rate` per second after
  // the burst.
  Clock::time_point t{};
  TokenBucket b(/*rate=*/50, /*burst=*/50, t);
  int taken = 0;
  const Clock::time_point end = t + std::chrono::seconds(10);
  while (t < end) {
    t += b.Take(t);
    ++taken;
  }
  EXPECT_NEAR(taken, 50 + 50 * 10, 2);
}

TEST(TokenBucketTest, RefillsUpToTheBurstOnly) {
  const Clock::time_point t0{};
  TokenBucket b(/*rate=*/100, /*burst=*/5, t0);
  for (int i = 0; i < 5; ++i) b.Take(t0);
  // An hour idle refills 5 tokens, not 360000.
  const Clock::time_point later = t0 + std::chrono::hours(1);
  EXPECT_NEAR(b.Available(later), 5, 1e-9);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(b.Take(later), Clock::duration::zero());
  EXPECT_GT(b.Take(later), Clock::duration::zero());
}

TEST(TokenBucketTest, DefaultBurstIsOneSecondAtLeastOne) {
  EXPECT_EQ(DefaultChunkBurst(1000), 1000);
  EXPECT_EQ(DefaultChunkBurst(0.25), 1);
}

TEST(LearnerOptionsLimitsTest, DefaultsAreDocumentedValues) {
  LearnerOptions o;
  EXPECT_EQ(o.max_message_bytes, 64 << 20);
  EXPECT_EQ(o.max_actors, 1024);
  EXPECT_EQ(o.max_chunks_per_second, 1000);
  EXPECT_TRUE(o.Validate().ok());
}

TEST(LearnerOptionsLimitsTest, ChunkRateIsRangeChecked) {
  LearnerOptions o;
  o.max_chunks_per_second = 0;  // unlimited
  EXPECT_TRUE(o.Validate().ok());
  o.max_chunks_per_second = 1e6;
  EXPECT_TRUE(o.Validate().ok());
  for (double bad : {-1.0, 1e6 + 1, std::nan("")}) {
    o.max_chunks_per_second = bad;
    absl::Status s = o.Validate();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(std::string(s.message()), HasSubstr("--max-chunks-per-second")) << bad;
  }
}

TEST(LearnerOptionsLimitsTest, TransportLimitLeavesRoomToCountOversizedChunks) {
  LearnerOptions o;
  o.max_message_bytes = 64 << 20;
  EXPECT_EQ(o.TransportMessageLimit(), 80 << 20);
  o.max_message_bytes = (int64_t{1} << 31) - 1;  // the largest allowed: capped
  EXPECT_EQ(o.TransportMessageLimit(), std::numeric_limits<int>::max());
}

}  // namespace
}  // namespace proxima
