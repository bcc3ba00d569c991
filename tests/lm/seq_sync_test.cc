// A sequence run's learner in --mode sync (issue 25;
// learner/server/seq_learner_server.h, SeqLearnerConfig::sync) over real
// loopback gRPC with two registered actors: registration tells the actors
// the mode; the first update waits for a chunk from both (--min-actors 2)
// and trains on exactly those two, generated with the version it trains
// (its first minibatch's ratio is 1 within 1e-5); a chunk from a version
// that has passed is DROPPED_LATE_FOR_ROUND; a round whose second actor
// stays silent goes ahead after the round timeout, counting the exclusion on
// that actor; sync without training is refused at creation.
#include <grpcpp/grpcpp.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "actor/seq_generator.h"
#include "common/policy/seq_run_config.h"
#include "learner/server/seq_learner_server.h"
#include "proxima/v1/learner_service.grpc.pb.h"
#include "tests/lm/seq_chunk_cases.h"
#include "tests/lm/seq_learner_support.h"
#include "tests/support/learner_status.h"
#include "tests/support/poll.h"

namespace proxima {
namespace {

namespace support = ::proxima::seq_test;
using ::proxima::testing::PollUntil;

// One registered actor: its session, a generator seeded as the learner
// says, and its trajectory stream.
struct SyncActor {
  SyncActor(v1::Learner::Stub* stub, const std::string& name) {
    EXPECT_TRUE(support::RegisterSeqActor(stub, v1::PROTOCOL_VERSION_2, &reg, name).ok());
    absl::StatusOr<SeqRunSettings> run = SeqRunFromProto(reg.config());
    EXPECT_TRUE(run.ok()) << run.status();
    gen = *SequenceGenerator::Create(*run, reg.config().seeds().action_seed());
    EXPECT_TRUE(gen->SetWeights(support::FirstSnapshotOf(stub, reg)).ok());
    stream = std::make_unique<support::Stream>(stub, reg);
  }
  // Generates a chunk with the weights loaded and sends it as `version`'s.
  v1::ChunkOutcome Send(uint64_t version) {
    absl::StatusOr<SequenceChunk> chunk = gen->Next();
    EXPECT_TRUE(chunk.ok()) << chunk.status();
    v1::TrajectoryChunk wire = testing::ChunkOf(*chunk);
    wire.set_policy_version(version);
    return stream->Send(wire).outcome();
  }
  v1::RegisterResponse reg;
  std::unique_ptr<SequenceGenerator> gen;
  std::unique_ptr<support::Stream> stream;
};

TEST(SeqLearnerSyncTest, EachUpdateTrainsOneRoundOfEveryActorsChunkAtItsVersion) {
  SeqLearnerConfig c = support::SmallRun();
  SeqTrainingOptions t;
  t.trainer.learning_rate = 1e-3;
  c.training = t;
  c.sync = true;
  LearnerOptions o = support::LoopbackOptions();
  o.min_actors = 2;
  o.sync_round_timeout_seconds = 2;
  absl::StatusOr<support::LoopbackSeqLearner> learner = support::StartLoopbackSeqLearner(c, o);
  ASSERT_TRUE(learner.ok()) << learner.status();
  v1::Learner::Stub* const stub = learner->stub.get();
  auto status = [&] { return learner->server->Status(true); };

  SyncActor a(stub, "actor-a");
  EXPECT_EQ(a.reg.config().mode(), v1::TRAINING_MODE_SYNC);
  // One actor's chunk: the first round waits for the second actor.
  EXPECT_EQ(a.Send(0), v1::CHUNK_OUTCOME_ACCEPTED);
  SyncActor b(stub, "actor-b");
  EXPECT_EQ(b.reg.config().mode(), v1::TRAINING_MODE_SYNC);
  EXPECT_EQ(status().policy_version(), 0u);
  EXPECT_EQ(status().chunks_trained(), 0u);
  EXPECT_EQ(b.Send(0), v1::CHUNK_OUTCOME_ACCEPTED);
  ASSERT_TRUE(PollUntil([&] { return status().chunks_trained() == 2; }, absl::Seconds(30)));
  v1::LearnerStatus st = status();
  EXPECT_EQ(st.mode(), v1::TRAINING_MODE_SYNC);
  EXPECT_EQ(st.policy_version(), 1u);
  EXPECT_EQ(st.sync_rounds(), 1u);
  EXPECT_EQ(st.sync_round_exclusions(), 0u);
  // Both chunks came from the weights trained: the learner's recomputed
  // log-probs are the behaviour ones, so the first minibatch's ratio is 1.
  EXPECT_LT(st.last_update().first_minibatch_ratio_max_deviation(), 1e-5);

  // Actor a, not yet on version 1, sends another version-0 chunk: late.
  EXPECT_EQ(a.Send(0), v1::CHUNK_OUTCOME_ACCEPTED);
  ASSERT_TRUE(PollUntil(
      [&] { return testing::Dropped(status(), v1::CHUNK_OUTCOME_DROPPED_LATE_FOR_ROUND) == 1; },
      absl::Seconds(30)));
  EXPECT_EQ(status().policy_version(), 1u);

  // Round 2: only b delivers; after the round timeout it goes ahead alone.
  ASSERT_TRUE(b.gen->SetWeights(support::FirstSnapshotOf(stub, b.reg)).ok());
  EXPECT_EQ(b.gen->version(), 1u);
  EXPECT_EQ(b.Send(1), v1::CHUNK_OUTCOME_ACCEPTED);
  // (The version moves first; the chunks count as trained once it is
  // published.)
  ASSERT_TRUE(PollUntil([&] { return status().chunks_trained() == 3; }, absl::Seconds(30)));
  st = status();
  EXPECT_EQ(st.policy_version(), 2u);
  EXPECT_EQ(st.sync_rounds(), 2u);
  EXPECT_EQ(st.sync_round_exclusions(), 1u);
  uint64_t missed_a = 0, missed_b = 0;
  for (const v1::ActorInfo& actor : st.actors()) {
    (actor.name() == "actor-a" ? missed_a : missed_b) += actor.sync_rounds_missed();
  }
  EXPECT_EQ(missed_a, 1u);
  EXPECT_EQ(missed_b, 0u);
}

TEST(SeqLearnerSyncTest, SyncWithoutTrainingIsRefused) {
  SeqLearnerConfig c = support::SmallRun();
  c.sync = true;
  absl::StatusOr<std::unique_ptr<SeqLearnerServer>> s =
      SeqLearnerServer::Create(c, support::LoopbackOptions());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.status().message()), ::testing::HasSubstr("--mode sync"));
}

}  // namespace
}  // namespace proxima
