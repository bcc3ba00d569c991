// Batcher (learner/server/batcher.h) without gRPC: the async lag cut, sync
// rounds (all live sessions, min actors, the round timeout), requests served
// between chunks, and Close() ending a wait.
#include "learner/server/batcher.h"

#include <atomic>
#include <map>
#include <thread>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace proxima {
namespace {

QueuedChunk Chunk(uint64_t session, uint32_t actor, uint64_t version, int64_t transitions) {
  QueuedChunk c;
  c.session_id = session;
  c.actor_id = actor;
  c.policy_version = version;
  c.transitions = transitions;
  return c;
}

class BatcherTest : public ::testing::Test {
 protected:
  Batcher::Callbacks Callbacks() {
    Batcher::Callbacks cb;
    cb.paused = [this] { return paused_.load(); };
    cb.has_requests = [this] { return requests_.load() > 0; };
    cb.serve = [this] {
      requests_ = 0;
      ++served_;
    };
    cb.max_policy_lag = [] { return 1; };
    cb.drop = [this](const QueuedChunk&, v1::ChunkOutcome why) { ++drops_[why]; };
    cb.released = [](std::vector<TrajectoryQueue::Released>) {};
    cb.live_sessions = [this] { return live_; };
    cb.missed_round = [this](const std::vector<uint64_t>& m) { missed_ = m; };
    return cb;
  }

  TrajectoryQueue queue_{1000};
  std::atomic<bool> paused_{false};
  std::atomic<int> requests_{0};
  int served_ = 0;
  std::map<v1::ChunkOutcome, int> drops_;
  std::vector<uint64_t> live_;
  std::vector<uint64_t> missed_;
};

TEST_F(BatcherTest, AsyncCutsChunksBeyondTheLagLimitAndFillsTheBatch) {
  Batcher b(&queue_, Callbacks(), {});
  queue_.Push(Chunk(1, 0, /*version=*/3, 10), nullptr);  // lag 2 > 1: dropped
  queue_.Push(Chunk(1, 0, 4, 10), nullptr);
  queue_.Push(Chunk(2, 1, 5, 10), nullptr);
  queue_.Push(Chunk(2, 1, 5, 10), nullptr);
  std::vector<QueuedChunk> parts;
  ASSERT_TRUE(b.AssembleAsync(/*want=*/20, /*version=*/5, &parts));
  EXPECT_EQ(parts.size(), 2u);
  EXPECT_EQ(drops_[v1::CHUNK_OUTCOME_DROPPED_POLICY_LAG], 1);
  EXPECT_EQ(queue_.size(), 1u);  // the rest waits for the next batch
}

TEST_F(BatcherTest, AsyncServesRequestsAndWakesOnPushAndEndsOnClose) {
  Batcher b(&queue_, Callbacks(), {});
  requests_ = 1;
  std::vector<QueuedChunk> parts;
  absl::Notification done;
  bool got = true;
  std::thread trainer([&] {
    got = b.AssembleAsync(30, 0, &parts);
    done.Notify();
  });
  queue_.Push(Chunk(1, 0, 0, 10), nullptr);
  EXPECT_FALSE(done.WaitForNotificationWithTimeout(absl::Milliseconds(50)));
  queue_.Close();
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  trainer.join();
  EXPECT_FALSE(got);
  EXPECT_EQ(served_, 1);
  EXPECT_EQ(parts.size(), 1u);  // taken before the close; the caller drops it
}

TEST_F(BatcherTest, AsyncTakesNothingWhilePausedAndResumesOnWake) {
  Batcher b(&queue_, Callbacks(), {});
  paused_ = true;
  queue_.Push(Chunk(1, 0, 0, 10), nullptr);
  std::vector<QueuedChunk> parts;
  absl::Notification done;
  std::thread trainer([&] {
    EXPECT_TRUE(b.AssembleAsync(10, 0, &parts));
    done.Notify();
  });
  EXPECT_FALSE(done.WaitForNotificationWithTimeout(absl::Milliseconds(50)));
  EXPECT_EQ(queue_.size(), 1u);
  paused_ = false;
  queue_.Wake();
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  trainer.join();
  EXPECT_EQ(parts.size(), 1u);
}

TEST_F(BatcherTest, SyncRoundWaitsForEveryLiveSessionAndSortsByActor) {
  live_ = {1, 2};
  Batcher b(&queue_, Callbacks(), {/*min_actors=*/1, absl::Seconds(60)});
  queue_.Push(Chunk(2, 7, 4, 10), nullptr);
  queue_.Push(Chunk(1, 3, 3, 10), nullptr);  // an older version: late
  std::vector<QueuedChunk> parts;
  absl::Notification done;
  std::thread trainer([&] {
    EXPECT_TRUE(b.AssembleSync(4, &parts));
    done.Notify();
  });
  EXPECT_FALSE(done.WaitForNotificationWithTimeout(absl::Milliseconds(50)));
  queue_.Push(Chunk(1, 3, 4, 10), nullptr);
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  trainer.join();
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0].actor_id, 3u);
  EXPECT_EQ(parts[1].actor_id, 7u);
  EXPECT_EQ(drops_[v1::CHUNK_OUTCOME_DROPPED_LATE_FOR_ROUND], 1);
  EXPECT_EQ(b.rounds(), 1u);
  EXPECT_EQ(b.exclusions(), 0u);
}

TEST_F(BatcherTest, SyncRoundGoesAheadWithoutAMissingSessionAfterTheTimeout) {
  live_ = {1, 2};
  Batcher b(&queue_, Callbacks(), {/*min_actors=*/1, absl::Milliseconds(100)});
  queue_.Push(Chunk(1, 0, 0, 10), nullptr);
  std::vector<QueuedChunk> parts;
  const absl::Time start = absl::Now();
  ASSERT_TRUE(b.AssembleSync(0, &parts));  // woken by the round's deadline
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(100));
  EXPECT_EQ(parts.size(), 1u);
  EXPECT_EQ(missed_, std::vector<uint64_t>{2});
  EXPECT_EQ(b.exclusions(), 1u);
}

TEST_F(BatcherTest, SyncFirstRoundWaitsForMinActors) {
  live_ = {1};
  Batcher b(&queue_, Callbacks(), {/*min_actors=*/2, absl::Seconds(60)});
  queue_.Push(Chunk(1, 0, 0, 10), nullptr);
  std::vector<QueuedChunk> parts;
  absl::Notification done;
  std::thread trainer([&] {
    EXPECT_TRUE(b.AssembleSync(0, &parts));
    done.Notify();
  });
  EXPECT_FALSE(done.WaitForNotificationWithTimeout(absl::Milliseconds(50)));
  queue_.Push(Chunk(2, 1, 0, 10), nullptr);
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  trainer.join();
  EXPECT_EQ(parts.size(), 2u);
}

// A local cluster's short async run is not over before its last actor is
// in: the first batch waits for --min-actors live sessions ...
TEST_F(BatcherTest, AsyncFirstBatchWaitsForMinActors) {
  std::atomic<int> live{1};
  Batcher::Callbacks cb = Callbacks();
  cb.live_sessions = [&] { return std::vector<uint64_t>(live.load(), 1); };
  Batcher b(&queue_, cb, {/*min_actors=*/2, absl::Seconds(60)});
  queue_.Push(Chunk(1, 0, 0, 10), nullptr);
  queue_.Push(Chunk(1, 0, 0, 10), nullptr);
  std::vector<QueuedChunk> parts;
  absl::Notification done;
  std::thread trainer([&] {
    EXPECT_TRUE(b.AssembleAsync(20, 0, &parts));
    done.Notify();
  });
  EXPECT_FALSE(done.WaitForNotificationWithTimeout(absl::Milliseconds(50)));
  EXPECT_EQ(queue_.size(), 2u);
  live = 2;
  queue_.Wake();  // as a registration does
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  trainer.join();
  EXPECT_EQ(parts.size(), 2u);
  // ... once: later batches take what is there.
  live = 1;
  queue_.Push(Chunk(1, 0, 1, 10), nullptr);
  parts.clear();
  ASSERT_TRUE(b.AssembleAsync(10, 1, &parts));
  EXPECT_EQ(parts.size(), 1u);
}

// ... and goes ahead without the missing ones after the round timeout.
TEST_F(BatcherTest, AsyncFirstBatchGoesAheadAfterTheTimeout) {
  live_ = {1};
  Batcher b(&queue_, Callbacks(), {/*min_actors=*/2, absl::Milliseconds(100)});
  queue_.Push(Chunk(1, 0, 0, 10), nullptr);
  std::vector<QueuedChunk> parts;
  const absl::Time start = absl::Now();
  ASSERT_TRUE(b.AssembleAsync(10, 0, &parts));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(100));
  EXPECT_EQ(parts.size(), 1u);
}

}  // namespace
}  // namespace proxima
