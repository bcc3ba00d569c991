// A sequence run's learner (learner/server/seq_learner_server.h) over real
// loopback gRPC: registration needs protocol revision 2, the snapshot loads
// into an actor-side SeqPolicy, every malformed sequence-chunk class is
// rejected with its reason and counted by class, and chunks generated with
// the published weights are accepted, counted, and recomputed by the
// learner to within 1e-4 of the behaviour log-probs (the ratio-1 check).
#include <grpcpp/grpcpp.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "actor/seq_generator.h"
#include "common/policy/seq_run_config.h"
#include "common/policy/weight_codec.h"
#include "common/wire/seq_chunk_codec.h"
#include "common/lm/char_tokenizer.h"
#include "learner/lm/seq_checkpoint.h"
#include "learner/server/prometheus_exporter.h"
#include "learner/server/seq_learner_server.h"
#include "proxima/v1/learner_service.grpc.pb.h"
#include "tests/lm/seq_chunk_cases.h"
#include "tests/lm/seq_learner_support.h"
#include "tests/support/learner_status.h"
#include "tests/support/poll.h"
#include "tests/test_util.h"

namespace proxima {
namespace {

using ::proxima::seq_test::FirstSnapshotOf;
using ::proxima::seq_test::LoopbackOptions;
using ::proxima::seq_test::LoopbackSeqLearner;
using ::proxima::seq_test::RegisteredSeqLearner;
using ::proxima::seq_test::RegisterSeqActor;
using ::proxima::seq_test::SmallRun;
using ::proxima::seq_test::Stream;
using ::proxima::testing::ChunkOf;
using ::proxima::testing::MalformedSequenceCases;
using ::proxima::testing::PollUntil;
using ::proxima::testing::SeqCase;
using ::proxima::testing::ValidSequences;
using ::testing::HasSubstr;
using ::testing::StartsWith;

class SeqLearnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<SeqLearnerServer>> s =
        SeqLearnerServer::Create(SmallRun(), LoopbackOptions());
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = std::move(*s);
    ASSERT_TRUE(server_->Start().ok());
    channel_ = grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials());
    stub_ = v1::Learner::NewStub(channel_);
  }

  grpc::Status Register(uint32_t protocol, v1::RegisterResponse* resp) {
    return RegisterSeqActor(stub_.get(), protocol, resp);
  }
  v1::WeightSnapshot FirstSnapshot(const v1::RegisterResponse& reg) {
    return FirstSnapshotOf(stub_.get(), reg);
  }

  std::unique_ptr<SeqLearnerServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Learner::Stub> stub_;
};

uint64_t RejectedInvalid(const v1::LearnerStatus& st) {
  return testing::Dropped(st, v1::CHUNK_OUTCOME_REJECTED_INVALID);
}

TEST_F(SeqLearnerTest, RegistrationNeedsRevisionTwoAndCarriesTheSequenceConfig) {
  v1::RegisterResponse resp;
  grpc::Status old = Register(v1::PROTOCOL_VERSION_1, &resp);
  EXPECT_EQ(old.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(old.error_message(), HasSubstr("protocol revision 2"));

  ASSERT_TRUE(Register(v1::PROTOCOL_VERSION_2, &resp).ok());
  EXPECT_EQ(resp.protocol_version(), static_cast<uint32_t>(v1::PROTOCOL_VERSION_2));
  EXPECT_EQ(resp.config().env_id(), "lm/Addition-v0");
  absl::StatusOr<SeqRunSettings> run = SeqRunFromProto(resp.config());
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->model.d_model, 32);
  EXPECT_EQ(run->model.vocab_size, 19);
  EXPECT_EQ(run->group_size, 2);

  // The snapshot fills a model built from the config, checksum verified.
  v1::WeightSnapshot snap = FirstSnapshot(resp);
  EXPECT_EQ(snap.version(), 0u);
  lm::SeqPolicy actor_model(run->model, /*init_seed=*/99);
  EXPECT_TRUE(ApplyModuleWeights(snap, *actor_model).ok());
  snap.mutable_tensors(0)->mutable_tensor()->mutable_data()->at(0) ^= 1;
  EXPECT_EQ(ApplyModuleWeights(snap, *actor_model).code(), absl::StatusCode::kDataLoss);
}

TEST_F(SeqLearnerTest, EveryMalformedClassIsRejectedWithItsReasonAndCounted) {
  v1::RegisterResponse reg;
  ASSERT_TRUE(Register(v1::PROTOCOL_VERSION_2, &reg).ok());
  std::map<std::string, uint64_t> want;
  const std::vector<SeqCase> cases = MalformedSequenceCases();
  {
    Stream stream(stub_.get(), reg);
    for (const SeqCase& c : cases) {
      v1::TrajectoryChunk chunk = ChunkOf(ValidSequences());
      c.spoil(&chunk);
      v1::ChunkAck ack = stream.Send(chunk);
      EXPECT_EQ(ack.outcome(), v1::CHUNK_OUTCOME_REJECTED_INVALID) << c.name;
      EXPECT_THAT(ack.reason(), StartsWith(c.rule + ": ")) << c.name;
      ++want[c.rule];
    }
    // The valid chunk itself is accepted on the same stream afterwards.
    EXPECT_EQ(stream.Send(ChunkOf(ValidSequences())).outcome(), v1::CHUNK_OUTCOME_ACCEPTED);
  }
  ASSERT_TRUE(PollUntil([&] { return server_->Status(false).sequences().chunks() == 1; },
                        absl::Seconds(30)));
  const v1::LearnerStatus st = server_->Status(false);
  std::map<std::string, uint64_t> got(st.sequences().rejected().begin(),
                                      st.sequences().rejected().end());
  EXPECT_EQ(got, want);
  // The same counts on /metrics, labelled by rule.
  std::map<std::string, uint64_t> exported;
  for (const prometheus::MetricFamily& f : StatusMetricFamilies(st)) {
    if (f.name != "proxima_sequence_chunks_rejected_total") continue;
    for (const prometheus::ClientMetric& m : f.metric) {
      ASSERT_EQ(m.label.size(), 1u);
      exported[m.label[0].value] = static_cast<uint64_t>(m.counter.value);
    }
  }
  EXPECT_EQ(exported, want);
  EXPECT_EQ(RejectedInvalid(st), cases.size());
  EXPECT_EQ(st.chunks_received(), cases.size() + 1);
  EXPECT_EQ(st.chunks_received(), st.chunks_trained() + RejectedInvalid(st) + st.chunks_queued());
  EXPECT_EQ(st.sequences().sequences(), 4u);
  EXPECT_EQ(st.sequences().tokens(), 8u);
  EXPECT_DOUBLE_EQ(st.sequences().mean_reward(), 0.5);
  EXPECT_DOUBLE_EQ(st.sequences().mean_completion_length(), 2.0);
}

// What an actor does (actor/seq_generator.h): load the published weights,
// generate G completions of train prompts, score them, send them.
TEST_F(SeqLearnerTest, GeneratedChunksAreAcceptedAndTheLogProbGapIsZero) {
  v1::RegisterResponse reg;
  ASSERT_TRUE(Register(v1::PROTOCOL_VERSION_2, &reg).ok());
  absl::StatusOr<SeqRunSettings> run = SeqRunFromProto(reg.config());
  ASSERT_TRUE(run.ok()) << run.status();
  // A second generator samples at another temperature with top-k: the
  // learner recomputes at what each chunk records.
  SeqRunSettings topk = *run;
  topk.temperature = 0.7;
  topk.top_k = 5;
  const v1::WeightSnapshot snap = FirstSnapshot(reg);
  std::vector<std::unique_ptr<SequenceGenerator>> gens;
  for (const SeqRunSettings& s : {*run, topk}) {
    absl::StatusOr<std::unique_ptr<SequenceGenerator>> g =
        SequenceGenerator::Create(s, reg.config().seeds().action_seed());
    ASSERT_TRUE(g.ok()) << g.status();
    EXPECT_EQ((*g)->Next().status().code(), absl::StatusCode::kFailedPrecondition);
    ASSERT_TRUE((*g)->SetWeights(snap).ok());
    gens.push_back(std::move(*g));
  }
  constexpr int kChunks = 4;
  double reward_sum = 0;
  int64_t tokens = 0;
  {
    Stream stream(stub_.get(), reg);
    for (int k = 0; k < kChunks; ++k) {
      absl::StatusOr<SequenceChunk> chunk = gens[k % 2]->Next();
      ASSERT_TRUE(chunk.ok()) << chunk.status();
      ASSERT_EQ(chunk->sequences.size(),
                static_cast<size_t>(run->prompts_per_chunk * run->group_size));
      for (const SequenceRecord& r : chunk->sequences) reward_sum += r.reward;
      tokens += chunk->completion_tokens();
      v1::TrajectoryChunk wire = ChunkOf(*chunk);
      wire.set_policy_version(gens[k % 2]->version());
      v1::ChunkAck ack = stream.Send(wire);
      EXPECT_EQ(ack.outcome(), v1::CHUNK_OUTCOME_ACCEPTED) << ack.reason();
    }
  }
  ASSERT_TRUE(PollUntil([&] { return server_->Status(false).sequences().chunks() == kChunks; },
                        absl::Seconds(30)));
  const v1::LearnerStatus st = server_->Status(false);
  const v1::SequenceStatus& s = st.sequences();
  const int n = kChunks * run->prompts_per_chunk * run->group_size;
  EXPECT_EQ(s.sequences(), static_cast<uint64_t>(n));
  EXPECT_EQ(s.tokens(), static_cast<uint64_t>(tokens));
  EXPECT_NEAR(s.mean_reward(), reward_sum / n, 1e-6);
  EXPECT_TRUE(s.rejected().empty());
  EXPECT_EQ(RejectedInvalid(st), 0u);
  EXPECT_EQ(st.chunks_trained(), static_cast<uint64_t>(kChunks));
  // The ratio-1 check: same weights, same temperature and top-k.
  EXPECT_LT(s.max_abs_log_prob_gap(), 1e-4);
  EXPECT_LT(s.mean_abs_log_prob_gap(), 1e-4);
}

// The gap measures something: chunks sampled from other weights (another
// seed) are accepted but far from the learner's log-probs.
TEST_F(SeqLearnerTest, ChunksFromOtherWeightsShowAGap) {
  v1::RegisterResponse reg;
  ASSERT_TRUE(Register(v1::PROTOCOL_VERSION_2, &reg).ok());
  absl::StatusOr<SeqRunSettings> run = SeqRunFromProto(reg.config());
  ASSERT_TRUE(run.ok()) << run.status();
  lm::SeqPolicy other(run->model, /*init_seed=*/12345);
  v1::WeightSnapshot snap;
  EncodeModuleWeights(*other, 0, &snap);
  absl::StatusOr<std::unique_ptr<SequenceGenerator>> gen = SequenceGenerator::Create(*run, 3);
  ASSERT_TRUE(gen.ok()) << gen.status();
  ASSERT_TRUE((*gen)->SetWeights(snap).ok());
  absl::StatusOr<SequenceChunk> chunk = (*gen)->Next();
  ASSERT_TRUE(chunk.ok()) << chunk.status();
  {
    Stream stream(stub_.get(), reg);
    EXPECT_EQ(stream.Send(ChunkOf(*chunk)).outcome(), v1::CHUNK_OUTCOME_ACCEPTED);
  }
  ASSERT_TRUE(PollUntil([&] { return server_->Status(false).sequences().chunks() == 1; },
                        absl::Seconds(30)));
  EXPECT_GT(server_->Status(false).sequences().max_abs_log_prob_gap(), 1e-3);
}

// --init-checkpoint: the published version 0 is the checkpoint's model
// (same checksum as encoding it here), and its shape reaches the actors.
TEST(SeqLearnerCheckpointTest, StartsFromASequenceCheckpoint) {
  SeqLearnerConfig c = SmallRun();
  lm::SeqPolicyConfig shape = c.run.model;
  shape.vocab_size = 19;
  shape.d_model = 16;  // differs from the run's flags: the checkpoint wins
  shape.d_ff = 32;
  lm::SeqPolicy saved(shape, /*init_seed=*/4242);
  lm::SeqCheckpointInfo info;
  info.config = shape;
  info.tokenizer = lm::CharTokenizer().spec();
  info.task_id = "lm/Addition-v0";
  const std::string dir = MakeTempDir("seq_init_ckpt");
  absl::StatusOr<std::string> path = lm::SaveSeqCheckpoint(dir, *saved, info, "sft");
  ASSERT_TRUE(path.ok()) << path.status();
  v1::WeightSnapshot want;
  EncodeModuleWeights(*saved, 0, &want);

  c.init_checkpoint = dir;
  c.held_out_every = 1;  // and the held-out accuracy after each chunk
  c.held_out_prompts = 20;
  absl::StatusOr<LoopbackSeqLearner> learner = RegisteredSeqLearner(c);
  ASSERT_TRUE(learner.ok()) << learner.status();
  SeqLearnerServer* const s = learner->server.get();
  v1::Learner::Stub* const stub = learner->stub.get();
  const v1::RegisterResponse& reg = learner->reg;
  EXPECT_EQ(reg.config().sequence().model().d_model(), 16u);
  const v1::WeightSnapshot got = FirstSnapshotOf(stub, reg);
  EXPECT_EQ(got.checksum(), want.checksum());
  EXPECT_TRUE(std::isnan(s->Status(false).sequences().held_out_accuracy()));
  {
    Stream stream(stub, reg);
    EXPECT_EQ(stream.Send(ChunkOf(ValidSequences())).outcome(), v1::CHUNK_OUTCOME_ACCEPTED);
  }
  ASSERT_TRUE(PollUntil([&] { return !std::isnan(s->Status(false).sequences().held_out_accuracy()); },
                        absl::Seconds(60)));
  const double acc = s->Status(false).sequences().held_out_accuracy();
  EXPECT_GE(acc, 0.0);
  EXPECT_LE(acc, 1.0);

  // A checkpoint of another task is refused, naming both.
  c.run.task_id = "lm/Reverse-v0";
  absl::StatusOr<std::unique_ptr<SeqLearnerServer>> other =
      SeqLearnerServer::Create(c, LoopbackOptions());
  EXPECT_EQ(other.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(other.status().message()), HasSubstr("lm/Addition-v0"));
}

// Training (issue 25): every 2 accepted chunks are one GRPO update, a new
// version published to WatchWeights; the chunks count as trained only then,
// and a chunk more than max_policy_lag versions old is dropped for lag.
TEST(SeqLearnerTrainingTest, UpdatesPublishVersionsAndSettleTheirChunks) {
  SeqLearnerConfig c = SmallRun();
  SeqTrainingOptions t;
  t.trainer.learning_rate = 1e-3;
  t.chunks_per_update = 2;
  t.max_policy_lag = 1;
  c.training = t;
  absl::StatusOr<LoopbackSeqLearner> learner = RegisteredSeqLearner(c);
  ASSERT_TRUE(learner.ok()) << learner.status();
  SeqLearnerServer* const s = learner->server.get();
  v1::Learner::Stub* const stub = learner->stub.get();
  const v1::RegisterResponse& reg = learner->reg;
  absl::StatusOr<SeqRunSettings> run = SeqRunFromProto(reg.config());
  ASSERT_TRUE(run.ok()) << run.status();
  absl::StatusOr<std::unique_ptr<SequenceGenerator>> gen =
      SequenceGenerator::Create(*run, reg.config().seeds().action_seed());
  ASSERT_TRUE(gen.ok()) << gen.status();
  const v1::WeightSnapshot v0 = FirstSnapshotOf(stub, reg);
  ASSERT_TRUE((*gen)->SetWeights(v0).ok());
  auto version = [&] { return s->Status(false).policy_version(); };
  Stream stream(stub, reg);
  auto send = [&](uint64_t behaviour_version) {
    absl::StatusOr<SequenceChunk> chunk = (*gen)->Next();
    ASSERT_TRUE(chunk.ok()) << chunk.status();
    v1::TrajectoryChunk wire = ChunkOf(*chunk);
    wire.set_policy_version(behaviour_version);
    EXPECT_EQ(stream.Send(wire).outcome(), v1::CHUNK_OUTCOME_ACCEPTED);
  };
  send(0);
  // One chunk of a batch of two: taken off the queue, not trained yet.
  ASSERT_TRUE(PollUntil([&] { return s->Status(false).sequences().chunks() == 1; },
                        absl::Seconds(30)));
  EXPECT_EQ(version(), 0u);
  EXPECT_EQ(s->Status(false).chunks_trained(), 0u);
  send(0);
  // The version moves before the snapshot is published; the chunks count as
  // trained only after that, so wait for them before reading the snapshot.
  ASSERT_TRUE(PollUntil([&] { return s->Status(false).chunks_trained() == 2; },
                        absl::Seconds(30)));
  EXPECT_EQ(version(), 1u);
  const v1::WeightSnapshot v1w = FirstSnapshotOf(stub, reg);
  EXPECT_EQ(v1w.version(), 1u);
  EXPECT_NE(v1w.checksum(), v0.checksum());  // the update changed the weights
  ASSERT_TRUE((*gen)->SetWeights(v1w).ok());
  send(1);
  send(0);  // within the lag limit (1 version behind): trained
  ASSERT_TRUE(PollUntil([&] { return version() == 2; }, absl::Seconds(30)));
  send(0);  // 2 versions behind: dropped for lag
  ASSERT_TRUE(PollUntil(
      [&] { return testing::Dropped(s->Status(false), v1::CHUNK_OUTCOME_DROPPED_POLICY_LAG) == 1; },
      absl::Seconds(30)));
  const v1::LearnerStatus st = s->Status(false);
  EXPECT_EQ(st.chunks_trained(), 4u);
  EXPECT_EQ(st.chunks_received(), 5u);
  EXPECT_EQ(st.sequences().algorithm(), "grpo");
  EXPECT_EQ(st.sequences().updates(), 2u);
  EXPECT_GT(st.sequences().last_groups(), 0u);
  EXPECT_GE(st.sequences().last_kl_to_ref(), 0.0);
  // The gap to the behaviour log-probs comes from the update's pre-pass
  // (the evaluator does not recompute while training): measured, and within
  // the lag's reach.
  EXPECT_TRUE(std::isfinite(st.sequences().mean_abs_log_prob_gap()));
  EXPECT_GE(st.sequences().max_abs_log_prob_gap(), st.sequences().mean_abs_log_prob_gap());
  EXPECT_EQ(st.updates(), 2u);

  // Bad training options are refused at creation, naming the option.
  c.training->chunks_per_update = 0;
  absl::StatusOr<std::unique_ptr<SeqLearnerServer>> bad = SeqLearnerServer::Create(c, LoopbackOptions());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("chunks per update"));
}

TEST(SeqLearnerConfigTest, BadSettingsNameTheField) {
  SeqLearnerConfig c = SmallRun();
  c.run.max_new_tokens = 9;  // 1 + 7 prompt chars + 9 > 16 positions
  absl::StatusOr<std::unique_ptr<SeqLearnerServer>> s =
      SeqLearnerServer::Create(c, LoopbackOptions());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("max_new_tokens"));
  c = SmallRun();
  c.run.task_id = "lm/Nope-v0";
  EXPECT_EQ(SeqLearnerServer::Create(c, LoopbackOptions()).status().code(),
            absl::StatusCode::kInvalidArgument);
  c = SmallRun();
  c.run.temperature = 0;
  s = SeqLearnerServer::Create(c, LoopbackOptions());
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("temperature"));
}

}  // namespace
}  // namespace proxima
