// The learner server over real gRPC on loopback (port 0), driven by
// TestActor clients: registration, sync and async training, malformed chunks,
// backpressure, latest-wins weights (admin, status, health and resume are in
// learner_admin_test.cc).
#include "learner/server/learner_server.h"

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cmath>
#include <optional>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "learner/ppo_config.h"
#include "learner/checkpoint.h"
#include "proxima/v1/admin_service.grpc.pb.h"
#include "proxima/v1/monitor_service.grpc.pb.h"
#include "tests/learner/learner_server_fixture.h"
#include "tests/learner/test_actor.h"
#include "tests/test_util.h"

namespace proxima {
namespace {

using ::proxima::testing::TestActor;
using ::testing::HasSubstr;
using ::testing::StartsWith;

using ::proxima::testing::Dropped;
using ::proxima::testing::ExpectInvariant;

using LearnerServerTest = ::proxima::testing::LearnerServerFixture;

TEST_F(LearnerServerTest, RegisterHandsOutConfigAndVerifiedWeights) {
  StartServer();
  auto a = Actor("a");
  const v1::RunConfig& rc = a->registration().config();
  EXPECT_EQ(rc.env_id(), "CartPole-v1");
  EXPECT_EQ(rc.num_envs(), 4u);  // the PPO config's num_envs by default
  EXPECT_EQ(rc.rollout_length(), 128u);
  EXPECT_EQ(rc.mode(), v1::TRAINING_MODE_ASYNC);
  EXPECT_NE(a->registration().session_id(), 0u);
  ASSERT_TRUE(a->WaitForWeights(0));
  EXPECT_EQ(a->version(), 0u);
  // The same name keeps its id; a new registration gets a new session.
  const uint64_t first_session = a->registration().session_id();
  ASSERT_TRUE(a->Register().ok());
  EXPECT_EQ(a->registration().actor_id(), 0u);
  EXPECT_NE(a->registration().session_id(), first_session);
  auto b = Actor("b");
  EXPECT_EQ(b->registration().actor_id(), 1u);
}

TEST_F(LearnerServerTest, RegistrationTellsActorsTheSendWindow) {
  options_.max_unacked_chunks = 3;
  StartServer();
  auto a = Actor("a");
  EXPECT_EQ(a->registration().config().channel().max_unacked_chunks(), 3u);
}

TEST_F(LearnerServerTest, RegisterRefusesBadRequests) {
  StartServer();
  auto stub = v1::Learner::NewStub(channel_);
  v1::RegisterRequest req;
  v1::RegisterResponse resp;
  {
    grpc::ClientContext ctx;
    req.set_protocol_version(1);
    EXPECT_EQ(stub->Register(&ctx, req, &resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  }
  {
    grpc::ClientContext ctx;
    req.set_actor_name("x");
    req.set_protocol_version(7);
    grpc::Status s = stub->Register(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
    EXPECT_THAT(s.error_message(), HasSubstr("protocol_version 7"));
  }
  {
    grpc::ClientContext ctx;
    req.set_protocol_version(1);
    req.add_available_env_ids("Pendulum-v1");
    EXPECT_EQ(stub->Register(&ctx, req, &resp).error_code(),
              grpc::StatusCode::FAILED_PRECONDITION);
  }
}

// Sync mode: one rollout per actor per update, lag 0, importance ratio 1 on
// the first minibatch, versions strictly increasing.
TEST_F(LearnerServerTest, SyncRoundsAreOnPolicyWithRatioOne) {
  options_.mode = TrainingModeKind::kSync;
  StartServer();
  auto a = Actor("a", 2);
  auto b = Actor("b", 2);
  uint64_t v = 0;
  for (int round = 0; round < 5; ++round) {
    ASSERT_TRUE(a->WaitForWeights(v));
    ASSERT_TRUE(b->WaitForWeights(v));
    ASSERT_EQ(a->version(), v);
    auto ack_a = a->Send(a->Rollout());
    ASSERT_TRUE(ack_a.has_value());
    EXPECT_EQ(ack_a->outcome(), v1::CHUNK_OUTCOME_ACCEPTED) << ack_a->reason();
    // Not trained until b delivered too.
    EXPECT_EQ(server_->Status(false).policy_version(), v);
    auto ack_b = b->Send(b->Rollout());
    ASSERT_TRUE(ack_b.has_value());
    EXPECT_EQ(ack_b->outcome(), v1::CHUNK_OUTCOME_ACCEPTED) << ack_b->reason();
    v1::LearnerStatus st = WaitStatus([&](const v1::LearnerStatus& s) {
      return s.policy_version() > v;
    });
    ASSERT_EQ(st.policy_version(), v + 1);
    const v1::UpdateMetrics& m = st.last_update();
    EXPECT_EQ(m.batch_chunks(), 2u);
    EXPECT_EQ(m.batch_transitions(), 2u * 2 * 128);
    EXPECT_EQ(m.max_lag(), 0u);
    EXPECT_LT(m.first_minibatch_ratio_max_deviation(), 1e-5);
    ExpectInvariant(st);
    v = st.policy_version();
  }
  EXPECT_EQ(server_->Status(false).sync_rounds(), 5u);
}

// A stream that goes away (actor killed) is not waited for in sync mode.
TEST_F(LearnerServerTest, SyncRoundDoesNotWaitForADeadActor) {
  options_.mode = TrainingModeKind::kSync;
  options_.sync_round_timeout_seconds = 600;  // a stall would time the test out
  StartServer();
  auto a = Actor("a", 2);
  auto b = Actor("b", 2);
  ASSERT_TRUE(a->WaitForWeights(0));
  ASSERT_TRUE(b->WaitForWeights(0));
  // b sends once so the learner knows its stream, then dies.
  auto ack = b->Send(b->Rollout());
  ASSERT_TRUE(ack.has_value());
  b.reset();  // cancels its streams
  ASSERT_TRUE(a->Send(a->Rollout()).has_value());
  v1::LearnerStatus st = WaitStatus([](const v1::LearnerStatus& s) { return s.policy_version() >= 1; });
  EXPECT_EQ(st.policy_version(), 1u);
  ASSERT_TRUE(a->WaitForWeights(1));
  ASSERT_TRUE(a->Send(a->Rollout()).has_value());
  st = WaitStatus([](const v1::LearnerStatus& s) { return s.policy_version() >= 2; });
  EXPECT_EQ(st.policy_version(), 2u);
  EXPECT_EQ(st.actors_connected(), 1u);
  ExpectInvariant(st);
}

TEST_F(LearnerServerTest, MalformedChunksAreRejectedCountedAndHarmless) {
  options_.max_message_bytes = 1 << 16;
  StartServer();
  auto a = Actor("a");
  ASSERT_TRUE(a->WaitForWeights(0));
  struct Case {
    const char* name;
    std::function<void(v1::TrajectoryChunk*)> tamper;
    v1::ChunkOutcome outcome;
    const char* reason_prefix;
  };
  const std::vector<Case> cases = {
      {"wrong shape", [](v1::TrajectoryChunk* c) { c->mutable_observations()->set_shape(2, 5); },
       v1::CHUNK_OUTCOME_REJECTED_INVALID, "observations"},
      {"wrong dtype",
       [](v1::TrajectoryChunk* c) { c->mutable_rewards()->set_dtype(v1::DTYPE_FLOAT64); },
       v1::CHUNK_OUTCOME_REJECTED_INVALID, "rewards"},
      {"short data",
       [](v1::TrajectoryChunk* c) { c->mutable_behaviour_log_probs()->mutable_data()->resize(8); },
       v1::CHUNK_OUTCOME_REJECTED_INVALID, "behaviour_log_probs"},
      {"NaN reward",
       [](v1::TrajectoryChunk* c) {
         const float nan = std::nanf("");
         std::memcpy(c->mutable_rewards()->mutable_data()->data() + 4 * 7, &nan, 4);
       },
       v1::CHUNK_OUTCOME_REJECTED_INVALID, "rewards"},
      {"Inf observation",
       [](v1::TrajectoryChunk* c) {
         const float inf = INFINITY;
         std::memcpy(c->mutable_observations()->mutable_data()->data(), &inf, 4);
       },
       v1::CHUNK_OUTCOME_REJECTED_INVALID, "observations"},
      {"action out of range",
       [](v1::TrajectoryChunk* c) {
         const int64_t bad = 2;
         std::memcpy(c->mutable_actions()->mutable_data()->data(), &bad, 8);
       },
       v1::CHUNK_OUTCOME_REJECTED_INVALID, "actions"},
      {"wrong step count", [](v1::TrajectoryChunk* c) { c->set_num_steps(64); },
       v1::CHUNK_OUTCOME_REJECTED_INVALID, ""},
      {"version from the future", [](v1::TrajectoryChunk* c) { c->set_policy_version(99); },
       v1::CHUNK_OUTCOME_REJECTED_INVALID, "policy_version"},
      {"wrong actor id", [](v1::TrajectoryChunk* c) { c->set_actor_id(42); },
       v1::CHUNK_OUTCOME_REJECTED_INVALID, "actor_id"},
      {"unknown session", [](v1::TrajectoryChunk* c) { c->set_session_id(12345); },
       v1::CHUNK_OUTCOME_REJECTED_UNKNOWN_SESSION, "session_id"},
      {"sequence gap", [](v1::TrajectoryChunk* c) { c->set_seq(c->seq() + 5); },
       v1::CHUNK_OUTCOME_REJECTED_OUT_OF_ORDER, "seq"},
  };
  uint64_t invalid = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    v1::TrajectoryChunk chunk = a->Rollout();
    const uint64_t seq = chunk.seq();
    c.tamper(&chunk);
    auto ack = a->Send(chunk);
    ASSERT_TRUE(ack.has_value());
    EXPECT_EQ(ack->outcome(), c.outcome) << ack->reason();
    EXPECT_THAT(ack->reason(), StartsWith(c.reason_prefix));
    if (c.outcome == v1::CHUNK_OUTCOME_REJECTED_INVALID) ++invalid;
    // A rejected payload consumes its seq (exactly-once); a gap, an unknown
    // session or a wrong actor do not.
    if (c.outcome != v1::CHUNK_OUTCOME_REJECTED_INVALID ||
        std::string(c.name) == "wrong actor id") {
      a->set_next_seq(seq);
    }
    if (c.outcome == v1::CHUNK_OUTCOME_REJECTED_OUT_OF_ORDER) {
      EXPECT_EQ(ack->next_expected_seq(), seq);
    }
  }
  // A good chunk, then the same chunk again: accepted once, then duplicate.
  v1::TrajectoryChunk good = a->Rollout();
  auto ack = a->Send(good);
  ASSERT_TRUE(ack.has_value());
  EXPECT_EQ(ack->outcome(), v1::CHUNK_OUTCOME_ACCEPTED) << ack->reason();
  ack = a->Send(good);
  ASSERT_TRUE(ack.has_value());
  EXPECT_EQ(ack->outcome(), v1::CHUNK_OUTCOME_DUPLICATE);

  // Oversized: gRPC refuses the message and ends the stream; the session
  // carries on over a new stream.
  v1::TrajectoryChunk big = a->Rollout();
  big.mutable_observations()->mutable_data()->append(1 << 17, '\0');
  EXPECT_FALSE(a->Send(big).has_value());
  EXPECT_EQ(a->CloseStream().error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  a->OpenStream();
  a->set_next_seq(big.seq());
  ack = a->Send(a->Rollout());
  ASSERT_TRUE(ack.has_value());
  EXPECT_EQ(ack->outcome(), v1::CHUNK_OUTCOME_ACCEPTED) << ack->reason();

  v1::LearnerStatus st = WaitStatus(
      [](const v1::LearnerStatus& s) { return s.chunks_queued() == 0 && s.updates() >= 2; });
  EXPECT_EQ(Dropped(st, v1::CHUNK_OUTCOME_REJECTED_INVALID), invalid);
  EXPECT_EQ(Dropped(st, v1::CHUNK_OUTCOME_REJECTED_UNKNOWN_SESSION), 1u);
  EXPECT_EQ(Dropped(st, v1::CHUNK_OUTCOME_REJECTED_OUT_OF_ORDER), 1u);
  EXPECT_EQ(st.chunks_trained(), 2u);
  ExpectInvariant(st);
  // The weights stayed finite.
  ASSERT_TRUE(a->WaitForWeights(st.policy_version()));
  EXPECT_EQ(a->version(), st.policy_version());
}

// The learner stops reading a full queue: acks stop, memory stays bounded,
// and everything flows again on resume.
TEST_F(LearnerServerTest, BackpressureBoundsTheQueue) {
  options_.queue_capacity = 1024;  // two chunks of 4 × 128
  options_.max_policy_lag = 100;   // every queued chunk is trained, none too old
  StartServer();
  server_->SetPaused(true);
  auto a = Actor("a");
  ASSERT_TRUE(a->WaitForWeights(0));
  constexpr int kChunks = 12;
  std::vector<v1::TrajectoryChunk> chunks;
  for (int i = 0; i < kChunks; ++i) chunks.push_back(a->Rollout());
  std::atomic<int> acks{0};
  std::thread reader([&] {
    v1::ChunkAck ack;
    while (acks.load() < kChunks && a->ReadAck(&ack)) {
      EXPECT_EQ(ack.outcome(), v1::CHUNK_OUTCOME_ACCEPTED) << ack.reason();
      ++acks;
    }
  });
  std::thread writer([&] {
    for (const auto& c : chunks) {
      if (!a->Write(c)) break;
    }
  });
  v1::LearnerStatus st = WaitStatus([](const v1::LearnerStatus& s) { return s.chunks_received() >= 3; });
  // Two chunks fill the queue; the third is held (no ack, no further reads).
  // Before looking, give the learner something later to do on the same
  // connection: a second actor's chunk (out of order, so it is answered at
  // once without a place in the queue). By the time its ack is back, a read
  // of a's fourth chunk (already on its way: the writer sends all 12), or an
  // ack of a's third, would have happened.
  auto b = Actor("b");
  ASSERT_TRUE(b->WaitForWeights(0));
  b->set_next_seq(5);
  const std::optional<v1::ChunkAck> b_ack = b->Send(b->Rollout());
  ASSERT_TRUE(b_ack.has_value());
  EXPECT_EQ(b_ack->outcome(), v1::CHUNK_OUTCOME_REJECTED_OUT_OF_ORDER);
  st = server_->Status(false);
  EXPECT_EQ(acks.load(), 2);
  EXPECT_EQ(st.chunks_received(), 4u);  // a's three and b's one
  EXPECT_LE(st.queue_transitions(), 1024u);
  EXPECT_TRUE(st.paused());
  ExpectInvariant(st);
  server_->SetPaused(false);
  writer.join();
  reader.join();
  EXPECT_EQ(acks.load(), kChunks);
  st = WaitStatus([](const v1::LearnerStatus& s) { return s.chunks_trained() == kChunks; });
  EXPECT_EQ(st.chunks_trained(), static_cast<uint64_t>(kChunks));
  EXPECT_EQ(Dropped(st, v1::CHUNK_OUTCOME_REJECTED_OUT_OF_ORDER), 1u);
  ExpectInvariant(st);
}

// Async: chunks older than --max-policy-lag are dropped with the lag reason.
TEST_F(LearnerServerTest, StaleChunksAreDroppedByLag) {
  options_.max_policy_lag = 1;
  StartServer();
  auto a = Actor("a");
  ASSERT_TRUE(a->WaitForWeights(0));
  v1::TrajectoryChunk old = a->Rollout();  // acted with version 0
  a->set_next_seq(0);
  for (int i = 0; i < 2; ++i) {
    ASSERT_EQ(a->Send(a->Rollout())->outcome(), v1::CHUNK_OUTCOME_ACCEPTED);
    WaitStatus([&](const v1::LearnerStatus& s) { return s.policy_version() >= uint64_t(i + 1); });
  }
  // `old` now has lag 2 > 1. Its seq is 0, already used: give it a fresh one.
  old.set_seq(a->next_seq());
  a->set_next_seq(a->next_seq() + 1);
  auto ack = a->Send(old);
  ASSERT_TRUE(ack.has_value());
  EXPECT_EQ(ack->outcome(), v1::CHUNK_OUTCOME_DROPPED_POLICY_LAG);
  v1::LearnerStatus st = server_->Status(true);
  EXPECT_EQ(Dropped(st, v1::CHUNK_OUTCOME_DROPPED_POLICY_LAG), 1u);
  ASSERT_EQ(st.actors_size(), 1);
  EXPECT_EQ(st.actors(0).lag(), 2u);
  ExpectInvariant(st);
}

// A slow WatchWeights reader gets the newest version, not a backlog.
TEST_F(LearnerServerTest, WeightsAreLatestWinsForASlowActor) {
  config_.model.hidden_sizes = {512, 512};  // ~2 MB snapshots: buffers fill fast
  StartServer();
  auto slow = Actor("slow");
  auto fast = Actor("fast");
  ASSERT_TRUE(slow->WaitForWeights(0));
  ASSERT_TRUE(fast->WaitForWeights(0));
  slow->PauseWatch(true);
  constexpr int kUpdates = 40;
  for (int i = 0; i < kUpdates; ++i) {
    ASSERT_TRUE(fast->WaitForWeights(static_cast<uint64_t>(i)));
    ASSERT_EQ(fast->Send(fast->Rollout())->outcome(), v1::CHUNK_OUTCOME_ACCEPTED);
  }
  WaitStatus([](const v1::LearnerStatus& s) { return s.policy_version() >= kUpdates; });
  slow->PauseWatch(false);
  ASSERT_TRUE(slow->WaitForWeights(kUpdates));
  const std::vector<uint64_t> got = slow->versions_received();
  EXPECT_EQ(got.back(), static_cast<uint64_t>(kUpdates));
  EXPECT_LT(got.size(), static_cast<size_t>(kUpdates) / 2) << "received a backlog";
  for (size_t i = 1; i < got.size(); ++i) EXPECT_GT(got[i], got[i - 1]);
}

}  // namespace
}  // namespace proxima
