// ChunkAccounting (learner/server/chunk_accounting.h) without gRPC: every
// move keeps received = trained + dropped + queued, and the fate hook sees
// every accepted chunk once.
#include "learner/server/chunk_accounting.h"

#include <map>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace proxima {
namespace {

TEST(ChunkAccountingTest, EveryMoveKeepsTheInvariant) {
  ChunkAccounting a;
  std::map<v1::ChunkOutcome, int> fates;
  a.SetFateHook([&](const std::string&, uint64_t, int64_t, v1::ChunkOutcome f) { ++fates[f]; });
  a.Rejected(v1::CHUNK_OUTCOME_REJECTED_INVALID, 5);
  EXPECT_TRUE(a.CheckInvariant().ok());
  a.Accepted(10);
  a.Accepted(20);
  a.Accepted(30);
  EXPECT_TRUE(a.CheckInvariant().ok());
  a.Trained("a", 0, 10);
  a.Dropped("a", 1, 20, v1::CHUNK_OUTCOME_DROPPED_POLICY_LAG);
  a.AcceptedEmpty("a", 2);
  a.Duplicate();
  a.RateLimited();
  EXPECT_TRUE(a.CheckInvariant().ok()) << a.CheckInvariant();
  const ChunkAccounting::Counts c = a.counts();
  EXPECT_EQ(c.chunks_received, 5u);
  EXPECT_EQ(c.chunks_trained, 2u);
  EXPECT_EQ(c.chunks_queued, 1u);
  EXPECT_EQ(c.transitions_queued, 30);
  EXPECT_EQ(c.transitions_trained, 10);
  EXPECT_EQ(c.duplicates, 1u);
  EXPECT_EQ(c.rate_limited, 1u);
  EXPECT_EQ(c.dropped.at(v1::CHUNK_OUTCOME_REJECTED_INVALID), std::make_pair(1ul, int64_t{5}));
  EXPECT_EQ(fates[v1::CHUNK_OUTCOME_ACCEPTED], 2);
  EXPECT_EQ(fates[v1::CHUNK_OUTCOME_DROPPED_POLICY_LAG], 1);
  EXPECT_EQ(fates.count(v1::CHUNK_OUTCOME_REJECTED_INVALID), 0u);  // never accepted

  v1::LearnerStatus st;
  a.FillStatus(&st);
  EXPECT_EQ(st.chunks_received(), 5u);
  EXPECT_EQ(st.chunks_queued(), 1u);
  EXPECT_EQ(st.transitions_received(), 65u);
  EXPECT_EQ(st.chunks_dropped_size(), 2);
}

TEST(ChunkAccountingTest, CheckInvariantSaysWhatIsWrong) {
  ChunkAccounting a;
  a.Trained("a", 0, 3);  // trained without being accepted
  const absl::Status s = a.CheckInvariant();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("queued below zero"), std::string::npos) << s;
}

TEST(ChunkAccountingTest, ConcurrentReadersNeverSeeHalfAMove) {
  ChunkAccounting a;
  std::thread writer([&] {
    for (int i = 0; i < 20000; ++i) {
      a.Accepted(4);
      if (i % 2) {
        a.Trained("a", i, 4);
      } else {
        a.Dropped("a", i, 4, v1::CHUNK_OUTCOME_DROPPED_AT_SHUTDOWN);
      }
    }
  });
  for (int i = 0; i < 20000; ++i) ASSERT_TRUE(a.CheckInvariant().ok());
  writer.join();
  EXPECT_TRUE(a.CheckInvariant().ok());
  EXPECT_EQ(a.counts().chunks_queued, 0u);
}

}  // namespace
}  // namespace proxima
