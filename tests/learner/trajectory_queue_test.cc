// TrajectoryQueue (learner/server/trajectory_queue.h) without gRPC: capacity
// in transitions, holding and releasing in order, the consumer woken by
// Push/Wake/Close instead of polling, and Drain at shutdown.
#include "learner/server/trajectory_queue.h"

#include <thread>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "proxima/v1/learner_service.pb.h"

namespace proxima {
namespace {

QueuedChunk Chunk(uint64_t seq, int64_t transitions, uint64_t session = 1) {
  QueuedChunk c;
  c.session_id = session;
  c.seq = seq;
  c.transitions = transitions;
  return c;
}

class FakeOwner : public HeldChunkOwner {
 public:
  void Resume(const v1::ChunkAck&) override {}
};

TEST(TrajectoryQueueTest, QueuesUpToCapacityThenHoldsAndReleasesInOrder) {
  TrajectoryQueue q(100);
  auto owner = std::make_shared<FakeOwner>();
  EXPECT_EQ(q.Push(Chunk(0, 60), owner), TrajectoryQueue::PushResult::kQueued);
  EXPECT_EQ(q.Push(Chunk(1, 40), owner), TrajectoryQueue::PushResult::kQueued);
  EXPECT_EQ(q.Push(Chunk(2, 10), owner), TrajectoryQueue::PushResult::kHeld);
  // Once something is held, later chunks queue up behind it (arrival order).
  EXPECT_EQ(q.Push(Chunk(3, 1), owner), TrajectoryQueue::PushResult::kHeld);
  EXPECT_EQ(q.transitions(), 100);
  EXPECT_EQ(q.held(), 2u);

  std::vector<TrajectoryQueue::Released> released;
  std::optional<QueuedChunk> c = q.TryPop(&released);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->seq, 0u);
  ASSERT_EQ(released.size(), 2u);
  EXPECT_EQ(released[0].seq, 2u);
  EXPECT_EQ(released[1].seq, 3u);
  EXPECT_EQ(released[0].owner, owner);
  EXPECT_EQ(q.transitions(), 51);
  for (uint64_t want : {1u, 2u, 3u}) {
    c = q.TryPop(&released);
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->seq, want);
  }
  EXPECT_FALSE(q.TryPop(&released).has_value());
}

TEST(TrajectoryQueueTest, AnEmptyQueueTakesAChunkLargerThanItsCapacity) {
  TrajectoryQueue q(10);
  EXPECT_EQ(q.Push(Chunk(0, 50), nullptr), TrajectoryQueue::PushResult::kQueued);
  EXPECT_EQ(q.transitions(), 50);
}

TEST(TrajectoryQueueTest, PushWakesAWaitingConsumer) {
  TrajectoryQueue q(100);
  absl::Notification woke;
  std::thread consumer([&] {
    q.Wait(q.generation(), /*want_chunks=*/true, absl::InfiniteFuture());
    woke.Notify();
  });
  EXPECT_FALSE(woke.WaitForNotificationWithTimeout(absl::Milliseconds(50)));
  q.Push(Chunk(0, 1), nullptr);
  EXPECT_TRUE(woke.WaitForNotificationWithTimeout(absl::Seconds(10)));
  consumer.join();
}

TEST(TrajectoryQueueTest, WakeEndsAWaitThatStartedAfterTheGenerationWasRead) {
  TrajectoryQueue q(100);
  const uint64_t seen = q.generation();
  q.Wake();  // between the check and the wait: not lost
  q.Wait(seen, /*want_chunks=*/false, absl::InfiniteFuture());
  // A wait that does not want chunks is not ended by one.
  q.Push(Chunk(0, 1), nullptr);
  const absl::Time start = absl::Now();
  q.Wait(q.generation(), /*want_chunks=*/false, start + absl::Milliseconds(30));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(25));
}

TEST(TrajectoryQueueTest, CloseWakesTheConsumerRefusesPushesAndDrainTakesEverything) {
  TrajectoryQueue q(10);
  auto owner = std::make_shared<FakeOwner>();
  q.Push(Chunk(0, 8), owner);
  q.Push(Chunk(1, 8), owner);  // held
  std::thread consumer([&] {
    const uint64_t seen = q.generation();
    q.Wait(seen, /*want_chunks=*/false, absl::InfiniteFuture());
  });
  q.Close();
  consumer.join();
  EXPECT_TRUE(q.closed());
  EXPECT_EQ(q.Push(Chunk(2, 1), owner), TrajectoryQueue::PushResult::kClosed);
  std::vector<TrajectoryQueue::Released> released;
  EXPECT_FALSE(q.TryPop(&released).has_value());
  TrajectoryQueue::Drained d = q.Drain();
  ASSERT_EQ(d.queued.size(), 1u);
  EXPECT_EQ(d.queued[0].seq, 0u);
  ASSERT_EQ(d.held.size(), 1u);
  EXPECT_EQ(d.held[0].chunk.seq, 1u);
  EXPECT_EQ(d.held[0].owner, owner);
  EXPECT_EQ(q.transitions(), 0);
  EXPECT_EQ(q.held(), 0u);
}

}  // namespace
}  // namespace proxima
