// The learner's limits over real loopback gRPC (docs/learner.md "Limits"):
// --max-message-bytes (a chunk above it is rejected with a reason and
// counted; far above it gRPC refuses it unread) and --max-chunks-per-second
// (a fast actor is slowed by backpressure and counted, a normal one is not
// touched, and a real ActorClient keeps its session and loses no chunk).
// Asserts count outcomes; the one time bound is a lower one that a slower
// machine only makes easier to meet.
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "actor/actor_client.h"
#include "gmock/gmock.h"
#include "google/protobuf/unknown_field_set.h"
#include "gtest/gtest.h"
#include "tests/learner/learner_server_fixture.h"

namespace proxima {
namespace {

using ::proxima::testing::Dropped;
using ::proxima::testing::ExpectInvariant;
using ::proxima::testing::SnapshotIsFinite;
using ::proxima::testing::TestActor;
using ::testing::HasSubstr;

using SteadyClock = std::chrono::steady_clock;

double SecondsSince(SteadyClock::time_point t) {
  return std::chrono::duration<double>(SteadyClock::now() - t).count();
}

// Pads `chunk` with an unknown field (number 800, not reserved) so that its
// serialized size is `target` bytes give or take a few, leaving every known
// field valid.
void PadTo(v1::TrajectoryChunk* chunk, size_t target) {
  const size_t now = chunk->ByteSizeLong();
  ASSERT_GT(target, now + 16);
  chunk->GetReflection()->MutableUnknownFields(chunk)->AddLengthDelimited(
      800, std::string(target - now - 8, 'x'));
}

const v1::ActorInfo* FindActor(const v1::LearnerStatus& st, const std::string& name) {
  for (const v1::ActorInfo& a : st.actors()) {
    if (a.name() == name) return &a;
  }
  return nullptr;
}

class LearnerLimitsTest : public ::proxima::testing::LearnerServerFixture {};

TEST_F(LearnerLimitsTest, OversizedChunkIsRejectedWithAReasonAndCounted) {
  options_.max_message_bytes = 1 << 16;  // 64 KiB; gRPC refuses above 80 KiB
  StartServer();
  auto a = Actor("a");
  ASSERT_TRUE(a->WaitForWeights(0));

  // Somewhat too large (a valid chunk padded to 72 KiB): read, rejected with
  // a reason naming the flag, counted; the seq is consumed and the stream
  // carries on.
  v1::TrajectoryChunk big = a->Rollout();
  PadTo(&big, 72 << 10);
  ASSERT_GT(big.ByteSizeLong(), size_t{1} << 16);
  auto ack = a->Send(big);
  ASSERT_TRUE(ack.has_value());
  EXPECT_EQ(ack->outcome(), v1::CHUNK_OUTCOME_REJECTED_TOO_LARGE) << ack->reason();
  EXPECT_THAT(ack->reason(), HasSubstr("--max-message-bytes=65536"));
  EXPECT_EQ(ack->next_expected_seq(), big.seq() + 1);
  ack = a->Send(a->Rollout());
  ASSERT_TRUE(ack.has_value());
  EXPECT_EQ(ack->outcome(), v1::CHUNK_OUTCOME_ACCEPTED) << ack->reason();

  // Exactly at the limit is fine.
  v1::TrajectoryChunk fits = a->Rollout();
  PadTo(&fits, (1 << 16) - 64);
  ack = a->Send(fits);
  ASSERT_TRUE(ack.has_value());
  EXPECT_EQ(ack->outcome(), v1::CHUNK_OUTCOME_ACCEPTED) << ack->reason();

  // Far too large: gRPC refuses it before the learner sees it (memory
  // protection); the stream ends RESOURCE_EXHAUSTED and the session goes on
  // over a new stream.
  v1::TrajectoryChunk huge = a->Rollout();
  PadTo(&huge, 200 << 10);
  EXPECT_FALSE(a->Send(huge).has_value());
  EXPECT_EQ(a->CloseStream().error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  a->OpenStream();
  a->set_next_seq(huge.seq());
  ack = a->Send(a->Rollout());
  ASSERT_TRUE(ack.has_value());
  EXPECT_EQ(ack->outcome(), v1::CHUNK_OUTCOME_ACCEPTED) << ack->reason();

  v1::LearnerStatus st = WaitStatus(
      [](const v1::LearnerStatus& s) { return s.chunks_queued() == 0 && s.chunks_trained() >= 3; });
  EXPECT_EQ(Dropped(st, v1::CHUNK_OUTCOME_REJECTED_TOO_LARGE), 1u);
  EXPECT_EQ(st.chunks_received(), 4u);
  EXPECT_EQ(st.chunks_trained(), 3u);
  ExpectInvariant(st);
  const v1::ActorInfo* info = FindActor(st, "a");
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->chunks_dropped(), 1u);
  std::optional<v1::WeightSnapshot> snap = LatestSnapshot(*a);
  ASSERT_TRUE(snap.has_value());
  EXPECT_TRUE(SnapshotIsFinite(*snap));
}

// Sends `chunks` pipelined (a writer thread) and returns the seconds until
// the last ack; every ack's outcome is appended to `outcomes`.
double Blast(TestActor* a, const std::vector<v1::TrajectoryChunk>& chunks,
             std::vector<v1::ChunkOutcome>* outcomes) {
  const auto t0 = SteadyClock::now();
  std::thread writer([&] {
    for (const v1::TrajectoryChunk& c : chunks) {
      if (!a->Write(c)) return;
    }
  });
  v1::ChunkAck ack;
  while (outcomes->size() < chunks.size() && a->ReadAck(&ack)) outcomes->push_back(ack.outcome());
  const double took = SecondsSince(t0);
  writer.join();
  return took;
}

TEST_F(LearnerLimitsTest, FastActorIsSlowedAndCountedNormalActorIsNot) {
  options_.max_chunks_per_second = 20;  // burst 20
  options_.queue_capacity = 1 << 16;    // the queue never pushes back here
  options_.max_policy_lag = 1000;
  StartServer();
  auto fast = Actor("fast");
  auto normal = Actor("normal");
  ASSERT_TRUE(fast->WaitForWeights(0));
  ASSERT_TRUE(normal->WaitForWeights(0));
  std::vector<v1::TrajectoryChunk> chunks;
  constexpr int kChunks = 70;
  for (int i = 0; i < kChunks; ++i) chunks.push_back(fast->Rollout());

  // Meanwhile a normal actor sends a chunk at most every 100 ms (10/s at
  // most, under the limit: a slower machine only sends fewer), from when the
  // fast actor is first held back until the blast is over and it has sent at
  // least 3. Its own bucket never empties, so none of its chunks is held.
  std::atomic<bool> done{false};
  std::vector<v1::ChunkOutcome> normal_outcomes;
  std::thread normal_thread([&] {
    WaitStatus([](const v1::LearnerStatus& s) { return s.chunks_rate_limited() > 0; });
    while (!done.load() || normal_outcomes.size() < 3) {
      auto ack = normal->Send(normal->Rollout());
      if (!ack.has_value()) return;
      normal_outcomes.push_back(ack->outcome());
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });

  std::vector<v1::ChunkOutcome> outcomes;
  const double took = Blast(fast.get(), chunks, &outcomes);
  done = true;
  normal_thread.join();

  // All acked on the one stream: nothing rejected for speed.
  ASSERT_EQ(outcomes.size(), static_cast<size_t>(kChunks));
  for (v1::ChunkOutcome o : outcomes) EXPECT_EQ(o, v1::CHUNK_OUTCOME_ACCEPTED);
  // Held back, and counted: every chunk past the burst of 20 (two of slack
  // for tokens that refilled while the first ones were read) waited...
  v1::LearnerStatus st = server_->Status(true);
  EXPECT_GE(st.chunks_rate_limited(), static_cast<uint64_t>(kChunks - 20 - 2));
  // ...for its token: at 20/s after the burst the last ack cannot come
  // before (70 - 20) / 20 = 2.5 s. A lower bound only: slowness cannot fail it.
  EXPECT_GE(took, 2.2);
  const v1::ActorInfo* f = FindActor(st, "fast");
  const v1::ActorInfo* n = FindActor(st, "normal");
  ASSERT_NE(f, nullptr);
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(f->chunks_rate_limited(), st.chunks_rate_limited());
  EXPECT_EQ(f->state(), v1::ACTOR_STATE_CONNECTED);
  EXPECT_EQ(n->chunks_rate_limited(), 0u);
  ASSERT_GE(normal_outcomes.size(), 3u);
  for (v1::ChunkOutcome o : normal_outcomes) EXPECT_EQ(o, v1::CHUNK_OUTCOME_ACCEPTED);
  st = WaitStatus([](const v1::LearnerStatus& s) { return s.chunks_queued() == 0; });
  ExpectInvariant(st);
}

TEST_F(LearnerLimitsTest, RateLimitZeroMeansUnlimited) {
  options_.max_chunks_per_second = 0;
  options_.queue_capacity = 1 << 16;
  options_.max_policy_lag = 1000;
  StartServer();
  auto a = Actor("a");
  ASSERT_TRUE(a->WaitForWeights(0));
  std::vector<v1::TrajectoryChunk> chunks;
  for (int i = 0; i < 60; ++i) chunks.push_back(a->Rollout());
  std::vector<v1::ChunkOutcome> outcomes;
  Blast(a.get(), chunks, &outcomes);
  ASSERT_EQ(outcomes.size(), chunks.size());
  EXPECT_EQ(server_->Status(false).chunks_rate_limited(), 0u);
}

TEST_F(LearnerLimitsTest, DefaultLimitNeverTouchesAnHonestActor) {
  StartServer();  // --max-chunks-per-second 1000 (default)
  ASSERT_EQ(options_.max_chunks_per_second, 1000);
  auto a = Actor("a");
  ASSERT_TRUE(a->WaitForWeights(0));
  for (int i = 0; i < 100; ++i) {
    (void)a->WaitForWeights(a->version(), 0.01);
    auto ack = a->Send(a->Rollout());
    ASSERT_TRUE(ack.has_value());
  }
  EXPECT_EQ(server_->Status(false).chunks_rate_limited(), 0u);
}

// The real actor under a tight limit: it is held back again and again and
// keeps its one session and stream, and every chunk it made is accepted once
// (none dropped, none resent). That its stepping loop waits in Push while the
// window is full is shown exactly by actor_client_test's
// AFullWindowStopsTheSteppingLoop.
TEST_F(LearnerLimitsTest, RateLimitedActorClientWaitsAndKeepsItsSession) {
  options_.max_chunks_per_second = 10;  // burst 10
  options_.queue_capacity = 1 << 16;
  options_.max_policy_lag = 1000;
  StartServer();
  ActorClient::Options ao;
  ao.learner_address = server_->address();
  ao.name = "limited";
  ao.num_envs = 1;
  ao.log_interval = absl::ZeroDuration();
  ao.log = [](absl::string_view) {};
  // Wait for every ack at shutdown, however slowly the limit lets them come.
  ao.final_ack_timeout = absl::Minutes(5);
  ActorClient actor(ao);
  absl::Status run_status;
  std::thread runner([&] { run_status = actor.Run(); });
  // Run until the limiter has held the actor back 20 times (past the burst
  // of 10).
  constexpr uint64_t kLimited = 20;
  v1::LearnerStatus st = WaitStatus(
      [](const v1::LearnerStatus& s) { return s.chunks_rate_limited() >= kLimited; }, 120);
  EXPECT_GE(st.chunks_rate_limited(), kLimited);
  actor.Stop();
  runner.join();
  ASSERT_TRUE(run_status.ok()) << run_status;

  ActorClient::Stats stats = actor.stats();
  EXPECT_EQ(stats.registrations, 1);
  EXPECT_EQ(stats.reconnects, 0u);
  // Every chunk it made (the final one included) was received and accepted
  // exactly once.
  EXPECT_GT(stats.chunks, kLimited);
  EXPECT_EQ(stats.chunks_acked, stats.chunks);
  EXPECT_EQ(stats.chunks_accepted, stats.chunks);
  EXPECT_EQ(stats.duplicate_acks, 0u);
  // (A few 1-env chunks stay queued: less than one batch.)
  st = server_->Status(true);
  EXPECT_EQ(st.chunks_received(), stats.chunks);
  EXPECT_EQ(st.chunks_duplicate(), 0u);
  EXPECT_TRUE(st.chunks_dropped().empty());
  const v1::ActorInfo* info = FindActor(st, "limited");
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->chunks_rate_limited(), st.chunks_rate_limited());
  ExpectInvariant(st);
}

}  // namespace
}  // namespace proxima
